// ark::model::Value and its JSON encoding (docs/FORMAT.md §5).
//
// Contract: ToJson emits the one canonical encoding of a tree; FromJson
// accepts exactly the encodings ToJson can emit (plus harmless key-order
// freedom inside an object node) and throws ark::Error(kBadManifest) naming
// the JSON path of the first problem. The strictness matters because the
// model digest hashes the JSON: two spellings of one model would give two
// identities, and a lenient reader would let a file hide data in spellings
// the loader does not look at.
#include "ark/model/value.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <set>
#include <string_view>
#include <unordered_set>

#include "ark/format/error.h"
#include "ark/format/limits.h"

namespace ark::model {

using Json = nlohmann::ordered_json;

// Heap part of the kinds that own variable-size data. Scalars live inline in
// Value so that a list of a million ints costs no per-item allocation.
struct Value::Node {
  std::string text;                            // kString, kBytes, kBigInt digits, kObject type name
  std::vector<Value> items;                    // kList, kTuple
  std::vector<std::pair<Value, Value>> pairs;  // kDict
  Value state;                                 // kObject
  std::optional<int64_t> id;                   // kObject
};

namespace {

// The tree sits inside the manifest object, so its root is JSON level 2 of
// the document whose depth the reader limits (FORMAT.md §7).
constexpr int kRootDepth = 2;

constexpr uint64_t kCanonicalNanBits = 0x7ff8000000000000ull;

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kBadManifest, path + ": " + what);
}

[[noreturn]] void Misuse(const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, what);
}

// Digits of an integer that does not fit int64: optional '-', no leading
// zeros, and really outside int64 (inside it the plain JSON integer is the
// only spelling).
bool IsBigIntDigits(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  if (digits.empty() || (digits.front() == '0')) return false;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int64_t parsed = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
  return ec == std::errc::result_out_of_range;
}

// Python qualified names: identifiers joined by single dots.
bool IsTypeName(std::string_view s) {
  if (s.empty()) return false;
  bool segment_start = true;
  for (char c : s) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (segment_start) return false;
      segment_start = true;
    } else if (alpha || (digit && !segment_start)) {
      segment_start = false;
    } else {
      return false;
    }
  }
  return !segment_start;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Strict RFC 4648 decoding: padded, no whitespace, and the unused low bits of
// the last symbol must be zero, so every byte string has exactly one spelling.
bool Base64Decode(std::string_view in, std::string* out) {
  static constexpr std::array<int8_t, 256> kDecode = [] {
    std::array<int8_t, 256> table{};
    table.fill(-1);
    for (int k = 0; k < 64; ++k) table[static_cast<unsigned char>(kBase64Alphabet[k])] = k;
    return table;
  }();
  if (in.size() % 4 != 0) return false;
  size_t padding = 0;
  if (!in.empty() && in.back() == '=') padding = (in[in.size() - 2] == '=') ? 2 : 1;
  out->clear();
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    size_t symbols = last ? 4 - padding : 4;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int8_t d = 0;
      if (k < symbols) {
        d = kDecode[static_cast<unsigned char>(in[i + k])];
        if (d < 0) return false;
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (symbols >= 3) out->push_back(static_cast<char>((v >> 8) & 0xff));
    if (symbols == 4) out->push_back(static_cast<char>(v & 0xff));
    if (symbols == 2 && (v & 0xffff) != 0) return false;
    if (symbols == 3 && (v & 0xff) != 0) return false;
  }
  return true;
}

std::string HexBits(uint64_t bits) {
  char buf[19] = "0x";
  for (int k = 0; k < 16; ++k) buf[2 + k] = "0123456789abcdef"[(bits >> (60 - 4 * k)) & 15];
  return std::string(buf, 18);
}

// A dict takes the plain JSON-object form only when that form is unambiguous:
// every key a string, none starting with '$' (which would read as a tag).
bool IsPlainObjectDict(const std::vector<std::pair<Value, Value>>& pairs) {
  return std::all_of(pairs.begin(), pairs.end(), [](const auto& kv) {
    return kv.first.is(Kind::kString) &&
           (kv.first.as_string().empty() || kv.first.as_string()[0] != '$');
  });
}

// Appends ".key" for identifier-like keys, else ["key"] (JSON-escaped), so
// the path in a message can be pasted back into a JSON tool.
void AppendKey(std::string& path, std::string_view key) {
  bool simple = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
  });
  if (simple) {
    path += '.';
    path += key;
  } else {
    path += '[';
    path += Json(std::string(key)).dump(-1, ' ', false, Json::error_handler_t::replace);
    path += ']';
  }
}

void AppendIndex(std::string& path, size_t index) {
  path += '[';
  path += std::to_string(index);
  path += ']';
}

// Restores the path to its length at construction, so a path is built only
// along the current branch and costs nothing to unwind.
class PathScope {
 public:
  explicit PathScope(std::string& path) : path_(path), length_(path.size()) {}
  ~PathScope() { path_.resize(length_); }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;

 private:
  std::string& path_;
  size_t length_;
};

class Encoder {
 public:
  // `depth` is the JSON nesting level the value's encoding sits at (root: kRootDepth).
  Json Encode(const Value& v, int depth) {
    bool scalar = v.is(Kind::kNull) || v.is(Kind::kBool) || v.is(Kind::kInt) ||
                  v.is(Kind::kString) || (v.is(Kind::kFloat) && std::isfinite(v.as_float()));
    if (!scalar) CheckDepth(depth);
    switch (v.kind()) {
      case Kind::kNull:
        return nullptr;
      case Kind::kBool:
        return v.as_bool();
      case Kind::kInt:
        return v.as_int();
      case Kind::kBigInt:
        return Tagged("$int", v.as_string());
      case Kind::kFloat:
        return EncodeFloat(v.as_float());
      case Kind::kString:
        CheckUtf8(v.as_string());
        return v.as_string();
      case Kind::kBytes:
        return Tagged("$bytes", Base64Encode(v.as_string()));
      case Kind::kList:
        return EncodeItems(v.items(), depth + 1);
      case Kind::kTuple: {
        PathScope scope(path_);
        path_ += ".$tuple";
        CheckDepth(depth + 1);
        return Tagged("$tuple", EncodeItems(v.items(), depth + 2));
      }
      case Kind::kDict:
        return EncodeDict(v.dict_items(), depth);
      case Kind::kObject: {
        Json out = Json::object();
        out["$object"] = v.type_name();
        PathScope scope(path_);
        path_ += ".state";
        out["state"] = Encode(v.state(), depth + 1);
        if (v.object_id()) out["id"] = *v.object_id();
        return out;
      }
      case Kind::kArray:
        return Tagged("$array", v.blob_index());
      case Kind::kRef:
        return Tagged("$ref", v.ref_id());
    }
    Misuse("corrupt value kind");
  }

 private:
  static Json Tagged(const char* tag, Json payload) {
    Json out = Json::object();
    out[tag] = std::move(payload);
    return out;
  }

  static Json EncodeFloat(double d) {
    if (std::isfinite(d)) return d;  // nlohmann prints round-trip digits with '.' or 'e'
    if (std::isinf(d)) return Tagged("$float", d > 0 ? "inf" : "-inf");
    uint64_t bits = std::bit_cast<uint64_t>(d);
    return Tagged("$float", bits == kCanonicalNanBits ? std::string("nan") : HexBits(bits));
  }

  Json EncodeItems(const std::vector<Value>& items, int depth) {
    Json out = Json::array();
    out.get_ref<Json::array_t&>().reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      PathScope scope(path_);
      AppendIndex(path_, i);
      out.push_back(Encode(items[i], depth));
    }
    return out;
  }

  Json EncodeDict(const std::vector<std::pair<Value, Value>>& pairs, int depth) {
    if (IsPlainObjectDict(pairs)) {
      Json out = Json::object();
      for (const auto& [key, value] : pairs) {
        CheckUtf8(key.as_string());
        PathScope scope(path_);
        AppendKey(path_, key.as_string());
        // emplace, not operator[]: a repeated key would silently merge.
        if (!out.emplace(key.as_string(), Encode(value, depth + 1)).second) {
          Misuse("dict has the key \"" + key.as_string() + "\" twice at " + path_);
        }
      }
      return out;
    }
    PathScope scope(path_);
    path_ += ".$dict";
    CheckDepth(depth + 2);
    Json list = Json::array();
    for (size_t i = 0; i < pairs.size(); ++i) {
      PathScope item_scope(path_);
      AppendIndex(path_, i);
      Json pair = Json::array();
      pair.push_back(Encode(pairs[i].first, depth + 3));
      pair.push_back(Encode(pairs[i].second, depth + 3));
      list.push_back(std::move(pair));
    }
    return Tagged("$dict", std::move(list));
  }

  // A tree the reader would refuse must not be written in the first place.
  void CheckDepth(int depth) {
    if (depth > format::kMaxJsonDepth) {
      Misuse("object tree nested deeper than " + std::to_string(format::kMaxJsonDepth) +
             " levels at " + path_);
    }
  }

  void CheckUtf8(const std::string& s) {
    if (!IsValidUtf8(s)) Misuse("string is not valid UTF-8 at " + path_);
  }

  std::string path_ = "root";
};

// ---------------------------------------------------------------------------
// Decoding. One decoder serves two JSON representations (nlohmann's
// ordered_json and simdjson's DOM), each seen through an adapter of static
// functions over a cheap handle, and two outputs: Values (kBuild) or only the
// type names of a trust audit. Every path runs the same checks.

enum class JsonKind { kNull, kBool, kInt, kUint, kFloat, kString, kArray, kObject, kOther };

struct OrderedJsonTree {
  using Handle = const Json*;

  static JsonKind KindOf(Handle j) {
    switch (j->type()) {
      case Json::value_t::null:
        return JsonKind::kNull;
      case Json::value_t::boolean:
        return JsonKind::kBool;
      case Json::value_t::number_integer:
        return JsonKind::kInt;
      case Json::value_t::number_unsigned:
        return JsonKind::kUint;
      case Json::value_t::number_float:
        return JsonKind::kFloat;
      case Json::value_t::string:
        return JsonKind::kString;
      case Json::value_t::array:
        return JsonKind::kArray;
      case Json::value_t::object:
        return JsonKind::kObject;
      case Json::value_t::binary:
      case Json::value_t::discarded:
        break;
    }
    return JsonKind::kOther;
  }
  static bool BoolOf(Handle j) { return j->get<bool>(); }
  static int64_t IntOf(Handle j) { return j->get<int64_t>(); }
  static uint64_t UintOf(Handle j) { return j->get<uint64_t>(); }
  static double FloatOf(Handle j) { return j->get<double>(); }
  static std::string_view StringOf(Handle j) { return j->get_ref<const std::string&>(); }
  static size_t SizeOf(Handle j) { return j->size(); }
  static Handle At(Handle j, size_t i) { return &(*j)[i]; }
  template <typename F>
  static void ForEachItem(Handle j, F&& f) {
    for (const Json& item : *j) f(&item);
  }
  template <typename F>
  static void ForEachMember(Handle j, F&& f) {
    for (auto it = j->begin(); it != j->end(); ++it) f(std::string_view(it.key()), &it.value());
  }
  // REQUIRES: a non-empty object.
  static std::pair<std::string_view, Handle> FirstMember(Handle j) {
    return {j->begin().key(), &j->begin().value()};
  }
};

struct SimdjsonTree {
  using Handle = simdjson::dom::element;
  using Type = simdjson::dom::element_type;

  // The parser validated the document, so the typed reads below cannot fail.
  static JsonKind KindOf(Handle j) {
    switch (j.type()) {
      case Type::NULL_VALUE:
        return JsonKind::kNull;
      case Type::BOOL:
        return JsonKind::kBool;
      case Type::INT64:
        return JsonKind::kInt;
      case Type::UINT64:
        return JsonKind::kUint;
      case Type::DOUBLE:
        return JsonKind::kFloat;
      case Type::STRING:
        return JsonKind::kString;
      case Type::ARRAY:
        return JsonKind::kArray;
      case Type::OBJECT:
        return JsonKind::kObject;
    }
    return JsonKind::kOther;
  }
  static bool BoolOf(Handle j) { return j.get_bool().value_unsafe(); }
  static int64_t IntOf(Handle j) { return j.get_int64().value_unsafe(); }
  static uint64_t UintOf(Handle j) { return j.get_uint64().value_unsafe(); }
  static double FloatOf(Handle j) { return j.get_double().value_unsafe(); }
  static std::string_view StringOf(Handle j) { return j.get_string().value_unsafe(); }
  static size_t SizeOf(Handle j) {
    return j.type() == Type::ARRAY ? j.get_array().value_unsafe().size()
                                   : j.get_object().value_unsafe().size();
  }
  static Handle At(Handle j, size_t i) { return j.get_array().value_unsafe().at(i).value_unsafe(); }
  template <typename F>
  static void ForEachItem(Handle j, F&& f) {
    const simdjson::dom::array array = j.get_array().value_unsafe();
    for (Handle item : array) f(item);
  }
  template <typename F>
  static void ForEachMember(Handle j, F&& f) {
    const simdjson::dom::object object = j.get_object().value_unsafe();
    for (auto [key, value] : object) f(key, value);
  }
  // REQUIRES: a non-empty object.
  static std::pair<std::string_view, Handle> FirstMember(Handle j) {
    const simdjson::dom::object object = j.get_object().value_unsafe();
    const auto first = object.begin();
    return {first.key(), first.value()};
  }
};

// Object keys are unique in a tree (FORMAT.md §2). Objects with more keys
// than this are checked with a hash set, smaller ones (nearly all) by
// comparing with the earlier keys.
constexpr size_t kLinearKeyCheck = 16;

// Names gathered by CollectTypeNames; heterogeneous lookup keeps a name seen
// again from costing an allocation.
struct NameSets {
  std::set<std::string, std::less<>> types;
  std::set<std::string, std::less<>> globals;
  bool malformed_global = false;

  static void Add(std::set<std::string, std::less<>>& set, std::string_view name) {
    if (set.find(name) == set.end()) set.emplace(name);
  }
};

template <typename Tree, bool kBuild>
class Decoder {
 public:
  using Handle = typename Tree::Handle;

  // REQUIRES: names != nullptr unless kBuild.
  Decoder(uint64_t blob_count, NameSets* names) : blob_count_(blob_count), names_(names) {}

  // `depth` is the JSON nesting level of `j` (root: kRootDepth).
  Value Decode(Handle j, int depth) {
    switch (Tree::KindOf(j)) {
      case JsonKind::kNull:
        return Value::Null();
      case JsonKind::kBool:
        return kBuild ? Value::Bool(Tree::BoolOf(j)) : Value();
      case JsonKind::kInt:
        return kBuild ? Value::Int(Tree::IntOf(j)) : Value();
      case JsonKind::kUint: {
        uint64_t u = Tree::UintOf(j);
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          Fail(path_, "integer " + std::to_string(u) +
                          " is outside int64; such integers are written as {\"$int\": \"...\"}");
        }
        return kBuild ? Value::Int(static_cast<int64_t>(u)) : Value();
      }
      case JsonKind::kFloat: {
        double d = Tree::FloatOf(j);
        if (!std::isfinite(d)) Fail(path_, "number out of float64 range");
        return kBuild ? Value::Float(d) : Value();
      }
      case JsonKind::kString:
        if constexpr (kBuild) return Value::String(std::string(Tree::StringOf(j)));
        return Value();
      case JsonKind::kArray:
        CheckDepth(depth);
        if constexpr (kBuild) return Value::List(DecodeItems(j, depth + 1));
        DecodeItems(j, depth + 1);
        return Value();
      case JsonKind::kObject: {
        CheckDepth(depth);
        const size_t size = Tree::SizeOf(j);
        if (size == 0) return kBuild ? Value::Dict({}) : Value();
        const auto [first, payload] = Tree::FirstMember(j);
        if (IsTag(first)) return DecodeTagged(j, first, payload, size, depth);
        return DecodePlainDict(j, size, depth);
      }
      case JsonKind::kOther:
        break;
    }
    Fail(path_, "not a JSON value of the manifest");
  }

 private:
  void CheckDepth(int depth) {
    if (depth > format::kMaxJsonDepth) {
      Fail(path_, "nested deeper than " + std::to_string(format::kMaxJsonDepth) + " levels");
    }
  }

  static bool IsTag(std::string_view key) { return !key.empty() && key[0] == '$'; }

  std::vector<Value> DecodeItems(Handle array, int depth) {
    std::vector<Value> items;
    if constexpr (kBuild) items.reserve(Tree::SizeOf(array));
    size_t i = 0;
    Tree::ForEachItem(array, [&](Handle item) {
      PathScope scope(path_);
      AppendIndex(path_, i++);
      if constexpr (kBuild) {
        items.push_back(Decode(item, depth));
      } else {
        Decode(item, depth);
      }
    });
    return items;
  }

  Value DecodePlainDict(Handle j, size_t size, int depth) {
    std::vector<std::pair<Value, Value>> pairs;
    if constexpr (kBuild) pairs.reserve(size);
    std::string_view few[kLinearKeyCheck];
    size_t count = 0;
    std::unordered_set<std::string_view> many;
    if (size > kLinearKeyCheck) many.reserve(size);
    Tree::ForEachMember(j, [&](std::string_view key, Handle value) {
      PathScope scope(path_);
      AppendKey(path_, key);
      if (IsTag(key)) {
        Fail(path_, "key starting with '$' in a plain dict; such dicts are written as $dict");
      }
      bool repeated = false;
      if (size <= kLinearKeyCheck) {
        repeated = std::find(few, few + count, key) != few + count;
        few[count++] = key;
      } else {
        repeated = !many.insert(key).second;
      }
      if (repeated) Fail(path_, "duplicate key in a dict");
      if constexpr (kBuild) {
        pairs.emplace_back(Value::String(std::string(key)), Decode(value, depth + 1));
      } else {
        Decode(value, depth + 1);
      }
    });
    return kBuild ? Value::Dict(std::move(pairs)) : Value();
  }

  Value DecodeTagged(Handle j, std::string_view tag, Handle payload, size_t size, int depth) {
    if (tag == "$object") return DecodeObject(j, payload, depth);
    if (tag != "$int" && tag != "$float" && tag != "$bytes" && tag != "$tuple" && tag != "$dict" &&
        tag != "$array" && tag != "$ref") {
      Fail(path_, "unknown tag " + std::string(tag));
    }
    if (size != 1) {
      std::string_view extra;
      size_t k = 0;
      Tree::ForEachMember(j, [&](std::string_view key, Handle) {
        if (k++ == 1) extra = key;
      });
      Fail(path_, "unexpected key \"" + std::string(extra) + "\" beside " + std::string(tag));
    }
    PathScope scope(path_);
    path_ += '.';
    path_ += tag;
    const JsonKind kind = Tree::KindOf(payload);
    if (tag == "$int") {
      if (kind != JsonKind::kString || !IsBigIntDigits(Tree::StringOf(payload))) {
        Fail(path_, "expected a string of decimal digits outside int64 (no leading zeros)");
      }
      return kBuild ? Value::BigInt(std::string(Tree::StringOf(payload))) : Value();
    }
    if (tag == "$float") return DecodeSpecialFloat(payload);
    if (tag == "$bytes") {
      std::string bytes;
      if (kind != JsonKind::kString || !Base64Decode(Tree::StringOf(payload), &bytes)) {
        Fail(path_, "expected padded base64 (RFC 4648)");
      }
      return kBuild ? Value::Bytes(std::move(bytes)) : Value();
    }
    if (kind == JsonKind::kArray || kind == JsonKind::kObject) CheckDepth(depth + 1);
    if (tag == "$tuple") {
      if (kind != JsonKind::kArray) Fail(path_, "expected an array");
      if constexpr (kBuild) return Value::Tuple(DecodeItems(payload, depth + 2));
      DecodeItems(payload, depth + 2);
      return Value();
    }
    if (tag == "$dict") return DecodeTaggedDict(payload, depth);
    if (tag == "$array") {
      if (kind == JsonKind::kUint || (kind == JsonKind::kInt && Tree::IntOf(payload) >= 0)) {
        uint64_t index = kind == JsonKind::kUint ? Tree::UintOf(payload)
                                                 : static_cast<uint64_t>(Tree::IntOf(payload));
        if (index < blob_count_) return kBuild ? Value::Array(index) : Value();
        Fail(path_, "blob index " + std::to_string(index) + " out of range (the file has " +
                        std::to_string(blob_count_) + " blobs)");
      }
      if (kind == JsonKind::kInt) Fail(path_, "negative blob index");
      Fail(path_, "expected a blob index");
    }
    // $ref
    int64_t id = DecodeId(payload);
    if (!defined_ids_.contains(id)) {
      Fail(path_, "reference to id " + std::to_string(id) +
                      ", which no enclosing or earlier object defines");
    }
    return kBuild ? Value::Ref(id) : Value();
  }

  int64_t DecodeId(Handle j) {
    const JsonKind kind = Tree::KindOf(j);
    if (kind == JsonKind::kInt) return Tree::IntOf(j);
    if (kind == JsonKind::kUint &&
        Tree::UintOf(j) <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(Tree::UintOf(j));
    }
    Fail(path_, "expected an integer id in int64");
  }

  Value DecodeSpecialFloat(Handle payload) {
    if (Tree::KindOf(payload) != JsonKind::kString) {
      Fail(path_, "expected \"nan\", \"inf\", \"-inf\" or \"0x<16 hex>\"");
    }
    const std::string_view s = Tree::StringOf(payload);
    if (s == "nan") return Value::Float(std::bit_cast<double>(kCanonicalNanBits));
    if (s == "inf") return Value::Float(std::numeric_limits<double>::infinity());
    if (s == "-inf") return Value::Float(-std::numeric_limits<double>::infinity());
    bool hex_form = s.size() == 18 && s[0] == '0' && s[1] == 'x' &&
                    std::all_of(s.begin() + 2, s.end(), [](char c) {
                      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                    });
    if (!hex_form) Fail(path_, "expected \"nan\", \"inf\", \"-inf\" or \"0x<16 lowercase hex>\"");
    uint64_t bits = 0;
    std::from_chars(s.data() + 2, s.data() + s.size(), bits, 16);
    double d = std::bit_cast<double>(bits);
    // Only NaN payloads need the hex form; anything else has a shorter
    // canonical spelling, and accepting both would give one model two digests.
    if (!std::isnan(d) || bits == kCanonicalNanBits) {
      Fail(path_, std::string(s) + " is not a non-canonical NaN; write it as a number or \"nan\"");
    }
    return Value::Float(d);
  }

  Value DecodeTaggedDict(Handle payload, int depth) {
    if (Tree::KindOf(payload) != JsonKind::kArray) {
      Fail(path_, "expected an array of [key, value] pairs");
    }
    std::vector<std::pair<Value, Value>> pairs;
    if constexpr (kBuild) pairs.reserve(Tree::SizeOf(payload));
    bool all_plain = true;
    size_t i = 0;
    Tree::ForEachItem(payload, [&](Handle pair) {
      PathScope scope(path_);
      AppendIndex(path_, i++);
      if (Tree::KindOf(pair) != JsonKind::kArray || Tree::SizeOf(pair) != 2) {
        Fail(path_, "expected a [key, value] pair");
      }
      CheckDepth(depth + 2);
      Value key, value;
      {
        PathScope key_scope(path_);
        path_ += "[0]";
        const Handle key_json = Tree::At(pair, 0);
        // Only a JSON string decodes to a string key.
        const bool plain_key =
            Tree::KindOf(key_json) == JsonKind::kString && !IsTag(Tree::StringOf(key_json));
        all_plain = all_plain && plain_key;
        key = Decode(key_json, depth + 3);
      }
      {
        PathScope value_scope(path_);
        path_ += "[1]";
        value = Decode(Tree::At(pair, 1), depth + 3);
      }
      if constexpr (kBuild) pairs.emplace_back(std::move(key), std::move(value));
    });
    if (all_plain) {
      Fail(path_, "dict with only plain string keys must be written as a JSON object");
    }
    return kBuild ? Value::Dict(std::move(pairs)) : Value();
  }

  Value DecodeObject(Handle j, Handle type, int depth) {
    Handle state{};
    Handle id_json{};
    bool has_state = false;
    bool has_id = false;
    bool first = true;
    Tree::ForEachMember(j, [&](std::string_view key, Handle value) {
      if (first) {
        first = false;
      } else if (key == "state" && !has_state) {
        state = value;
        has_state = true;
      } else if (key == "id" && !has_id) {
        id_json = value;
        has_id = true;
      } else {
        Fail(path_, "unexpected key \"" + std::string(key) + "\" in $object");
      }
    });
    if (Tree::KindOf(type) != JsonKind::kString || !IsTypeName(Tree::StringOf(type))) {
      Fail(path_,
           "$object needs a dotted type name such as \"sklearn.tree.DecisionTreeClassifier\"");
    }
    if (!has_state) Fail(path_, "$object without \"state\"");
    const std::string_view type_name = Tree::StringOf(type);
    std::optional<int64_t> id;
    if (has_id) {
      PathScope scope(path_);
      path_ += ".id";
      id = DecodeId(id_json);
      // Defined on entry, before the state, so that the state may refer
      // back to its own object (cycles).
      if (!defined_ids_.insert(*id).second) Fail(path_, "duplicate id " + std::to_string(*id));
    }
    if constexpr (!kBuild) {
      if (type_name == kGlobalTypeName) {
        if (Tree::KindOf(state) == JsonKind::kString) {
          NameSets::Add(names_->globals, Tree::StringOf(state));
        } else {
          names_->malformed_global = true;
        }
      } else {
        NameSets::Add(names_->types, type_name);
      }
    }
    PathScope scope(path_);
    path_ += ".state";
    Value state_value = Decode(state, depth + 1);
    return kBuild ? Value::Object(std::string(type_name), std::move(state_value), id) : Value();
  }

  uint64_t blob_count_;
  NameSets* names_;
  std::unordered_set<int64_t> defined_ids_;
  std::string path_ = "root";
};

// Parses the text of a tree. The parser's own depth limit is far above the
// format's, so that the decoder reports nesting with a path.
simdjson::dom::element ParseTreeText(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(text.data(), text.size()).get(root);
  if (error == simdjson::SUCCESS) return root;
  if (error == simdjson::MEMALLOC) throw std::bad_alloc();
  if (error == simdjson::DEPTH_ERROR) {
    Fail("root", "nested deeper than " + std::to_string(format::kMaxJsonDepth) + " levels");
  }
  Fail("root", std::string("not valid JSON: ") + simdjson::error_message(error));
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kBigInt:
      return "bigint";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "string";
    case Kind::kBytes:
      return "bytes";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
    case Kind::kDict:
      return "dict";
    case Kind::kObject:
      return "object";
    case Kind::kArray:
      return "array";
    case Kind::kRef:
      return "ref";
  }
  return "unknown";
}

Value::Value() = default;

Value Value::Null() { return Value(); }

Value Value::Bool(bool v) {
  Value out;
  out.kind_ = Kind::kBool;
  out.scalar_ = v ? 1 : 0;
  return out;
}

Value Value::Int(int64_t v) {
  Value out;
  out.kind_ = Kind::kInt;
  out.scalar_ = static_cast<uint64_t>(v);
  return out;
}

Value Value::BigInt(std::string digits) {
  if (!IsBigIntDigits(digits)) {
    Misuse("Value::BigInt needs decimal digits of an integer outside int64, got \"" + digits +
           "\"");
  }
  Value out;
  out.kind_ = Kind::kBigInt;
  auto node = std::make_shared<Node>();
  node->text = std::move(digits);
  out.node_ = std::move(node);
  return out;
}

Value Value::Float(double v) {
  Value out;
  out.kind_ = Kind::kFloat;
  out.scalar_ = std::bit_cast<uint64_t>(v);
  return out;
}

Value Value::String(std::string v) {
  Value out;
  out.kind_ = Kind::kString;
  auto node = std::make_shared<Node>();
  node->text = std::move(v);
  out.node_ = std::move(node);
  return out;
}

Value Value::Bytes(std::string v) {
  Value out = String(std::move(v));
  out.kind_ = Kind::kBytes;
  return out;
}

Value Value::List(std::vector<Value> items) {
  Value out;
  out.kind_ = Kind::kList;
  auto node = std::make_shared<Node>();
  node->items = std::move(items);
  out.node_ = std::move(node);
  return out;
}

Value Value::Tuple(std::vector<Value> items) {
  Value out = List(std::move(items));
  out.kind_ = Kind::kTuple;
  return out;
}

Value Value::Dict(std::vector<std::pair<Value, Value>> items) {
  Value out;
  out.kind_ = Kind::kDict;
  auto node = std::make_shared<Node>();
  node->pairs = std::move(items);
  out.node_ = std::move(node);
  return out;
}

Value Value::Object(std::string type_name, Value state, std::optional<int64_t> id) {
  Value out;
  out.kind_ = Kind::kObject;
  auto node = std::make_shared<Node>();
  node->text = std::move(type_name);
  node->state = std::move(state);
  node->id = id;
  out.node_ = std::move(node);
  return out;
}

Value Value::Array(uint64_t blob_index) {
  Value out;
  out.kind_ = Kind::kArray;
  out.scalar_ = blob_index;
  return out;
}

Value Value::Ref(int64_t id) {
  Value out;
  out.kind_ = Kind::kRef;
  out.scalar_ = static_cast<uint64_t>(id);
  return out;
}

void Value::Expect(Kind k) const {
  if (kind_ != k) {
    Misuse(std::string("value is a ") + KindName(kind_) + ", not a " + KindName(k));
  }
}

bool Value::as_bool() const {
  Expect(Kind::kBool);
  return scalar_ != 0;
}

int64_t Value::as_int() const {
  Expect(Kind::kInt);
  return static_cast<int64_t>(scalar_);
}

double Value::as_float() const {
  Expect(Kind::kFloat);
  return std::bit_cast<double>(scalar_);
}

const std::string& Value::as_string() const {
  if (kind_ != Kind::kString && kind_ != Kind::kBytes && kind_ != Kind::kBigInt) {
    Misuse(std::string("value is a ") + KindName(kind_) + ", not a string, bytes or bigint");
  }
  return node_->text;
}

const std::vector<Value>& Value::items() const {
  if (kind_ != Kind::kList && kind_ != Kind::kTuple) {
    Misuse(std::string("value is a ") + KindName(kind_) + ", not a list or tuple");
  }
  return node_->items;
}

const std::vector<std::pair<Value, Value>>& Value::dict_items() const {
  Expect(Kind::kDict);
  return node_->pairs;
}

const std::string& Value::type_name() const {
  Expect(Kind::kObject);
  return node_->text;
}

const Value& Value::state() const {
  Expect(Kind::kObject);
  return node_->state;
}

std::optional<int64_t> Value::object_id() const {
  Expect(Kind::kObject);
  return node_->id;
}

uint64_t Value::blob_index() const {
  Expect(Kind::kArray);
  return scalar_;
}

int64_t Value::ref_id() const {
  Expect(Kind::kRef);
  return static_cast<int64_t>(scalar_);
}

const Value* Value::Find(const std::string& key) const {
  if (kind_ != Kind::kDict) return nullptr;
  for (const auto& [k, v] : node_->pairs) {
    if (k.kind_ == Kind::kString && k.node_->text == key) return &v;
  }
  return nullptr;
}

bool Value::operator==(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:  // by bits: NaN equals itself, -0.0 differs from 0.0
    case Kind::kArray:
    case Kind::kRef:
      return scalar_ == other.scalar_;
    case Kind::kBigInt:
    case Kind::kString:
    case Kind::kBytes:
      return node_->text == other.node_->text;
    case Kind::kList:
    case Kind::kTuple:
      return node_ == other.node_ || node_->items == other.node_->items;
    case Kind::kDict:
      return node_ == other.node_ || node_->pairs == other.node_->pairs;
    case Kind::kObject:
      return node_ == other.node_ ||
             (node_->text == other.node_->text && node_->id == other.node_->id &&
              node_->state == other.node_->state);
  }
  return false;
}

nlohmann::ordered_json ToJson(const Value& value) { return Encoder().Encode(value, kRootDepth); }

Value FromJson(const nlohmann::ordered_json& json, uint64_t blob_count) {
  return Decoder<OrderedJsonTree, true>(blob_count, nullptr).Decode(&json, kRootDepth);
}

Value FromJsonText(std::string_view json_text, uint64_t blob_count) {
  simdjson::dom::parser parser;
  const simdjson::dom::element root = ParseTreeText(parser, json_text);
  return Decoder<SimdjsonTree, true>(blob_count, nullptr).Decode(root, kRootDepth);
}

TypeNames CollectTypeNames(std::string_view json_text, uint64_t blob_count) {
  simdjson::dom::parser parser;
  const simdjson::dom::element root = ParseTreeText(parser, json_text);
  NameSets names;
  Decoder<SimdjsonTree, false>(blob_count, &names).Decode(root, kRootDepth);
  TypeNames out;
  out.types.assign(names.types.begin(), names.types.end());
  out.globals.assign(names.globals.begin(), names.globals.end());
  out.malformed_global = names.malformed_global;
  return out;
}

}  // namespace ark::model
