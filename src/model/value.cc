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

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
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
void AppendKey(std::string& path, const std::string& key) {
  bool simple = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
  });
  if (simple) {
    path += '.';
    path += key;
  } else {
    path += '[';
    path += Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
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

class Decoder {
 public:
  explicit Decoder(uint64_t blob_count) : blob_count_(blob_count) {}

  // `depth` is the JSON nesting level of `j` (root: kRootDepth).
  Value Decode(const Json& j, int depth) {
    if (j.is_structured()) CheckDepth(depth);
    switch (j.type()) {
      case Json::value_t::null:
        return Value::Null();
      case Json::value_t::boolean:
        return Value::Bool(j.get<bool>());
      case Json::value_t::number_integer:
        return Value::Int(j.get<int64_t>());
      case Json::value_t::number_unsigned: {
        uint64_t u = j.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          Fail(path_, "integer " + std::to_string(u) +
                          " is outside int64; such integers are written as {\"$int\": \"...\"}");
        }
        return Value::Int(static_cast<int64_t>(u));
      }
      case Json::value_t::number_float: {
        double d = j.get<double>();
        if (!std::isfinite(d)) Fail(path_, "number out of float64 range");
        return Value::Float(d);
      }
      case Json::value_t::string:
        return Value::String(j.get<std::string>());
      case Json::value_t::array:
        return Value::List(DecodeItems(j, depth + 1));
      case Json::value_t::object:
        if (!j.empty() && IsTag(j.begin().key())) return DecodeTagged(j, depth);
        return DecodePlainDict(j, depth);
      case Json::value_t::binary:
      case Json::value_t::discarded:
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

  static bool IsTag(const std::string& key) { return !key.empty() && key[0] == '$'; }

  std::vector<Value> DecodeItems(const Json& array, int depth) {
    std::vector<Value> items;
    items.reserve(array.size());
    for (size_t i = 0; i < array.size(); ++i) {
      PathScope scope(path_);
      AppendIndex(path_, i);
      items.push_back(Decode(array[i], depth));
    }
    return items;
  }

  Value DecodePlainDict(const Json& j, int depth) {
    std::vector<std::pair<Value, Value>> pairs;
    pairs.reserve(j.size());
    for (auto it = j.begin(); it != j.end(); ++it) {
      PathScope scope(path_);
      AppendKey(path_, it.key());
      if (IsTag(it.key())) {
        Fail(path_, "key starting with '$' in a plain dict; such dicts are written as $dict");
      }
      pairs.emplace_back(Value::String(it.key()), Decode(it.value(), depth + 1));
    }
    return Value::Dict(std::move(pairs));
  }

  Value DecodeTagged(const Json& j, int depth) {
    const std::string& tag = j.begin().key();
    const Json& payload = j.begin().value();
    if (tag == "$object") return DecodeObject(j, depth);
    if (tag != "$int" && tag != "$float" && tag != "$bytes" && tag != "$tuple" && tag != "$dict" &&
        tag != "$array" && tag != "$ref") {
      Fail(path_, "unknown tag " + tag);
    }
    if (j.size() != 1) {
      auto extra = std::next(j.begin());
      Fail(path_, "unexpected key \"" + extra.key() + "\" beside " + tag);
    }
    PathScope scope(path_);
    path_ += '.';
    path_ += tag;
    if (tag == "$int") {
      if (!payload.is_string() || !IsBigIntDigits(payload.get_ref<const std::string&>())) {
        Fail(path_, "expected a string of decimal digits outside int64 (no leading zeros)");
      }
      return Value::BigInt(payload.get<std::string>());
    }
    if (tag == "$float") return DecodeSpecialFloat(payload);
    if (tag == "$bytes") {
      std::string bytes;
      if (!payload.is_string() || !Base64Decode(payload.get_ref<const std::string&>(), &bytes)) {
        Fail(path_, "expected padded base64 (RFC 4648)");
      }
      return Value::Bytes(std::move(bytes));
    }
    if (payload.is_structured()) CheckDepth(depth + 1);
    if (tag == "$tuple") {
      if (!payload.is_array()) Fail(path_, "expected an array");
      return Value::Tuple(DecodeItems(payload, depth + 2));
    }
    if (tag == "$dict") return DecodeTaggedDict(payload, depth);
    if (tag == "$array") {
      if (!payload.is_number_integer()) Fail(path_, "expected a blob index");
      if (payload.is_number_unsigned() || payload.get<int64_t>() >= 0) {
        uint64_t index = payload.get<uint64_t>();
        if (index < blob_count_) return Value::Array(index);
        Fail(path_, "blob index " + std::to_string(index) + " out of range (the file has " +
                        std::to_string(blob_count_) + " blobs)");
      }
      Fail(path_, "negative blob index");
    }
    // $ref
    int64_t id = DecodeId(payload);
    if (!defined_ids_.contains(id)) {
      Fail(path_, "reference to id " + std::to_string(id) +
                      ", which no enclosing or earlier object defines");
    }
    return Value::Ref(id);
  }

  int64_t DecodeId(const Json& j) {
    if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
    if (j.is_number_unsigned() &&
        j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(j.get<uint64_t>());
    }
    Fail(path_, "expected an integer id in int64");
  }

  Value DecodeSpecialFloat(const Json& payload) {
    if (!payload.is_string()) Fail(path_, "expected \"nan\", \"inf\", \"-inf\" or \"0x<16 hex>\"");
    const std::string& s = payload.get_ref<const std::string&>();
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
      Fail(path_, s + " is not a non-canonical NaN; write it as a number or \"nan\"");
    }
    return Value::Float(d);
  }

  Value DecodeTaggedDict(const Json& payload, int depth) {
    if (!payload.is_array()) Fail(path_, "expected an array of [key, value] pairs");
    std::vector<std::pair<Value, Value>> pairs;
    pairs.reserve(payload.size());
    for (size_t i = 0; i < payload.size(); ++i) {
      PathScope scope(path_);
      AppendIndex(path_, i);
      const Json& pair = payload[i];
      if (!pair.is_array() || pair.size() != 2) Fail(path_, "expected a [key, value] pair");
      CheckDepth(depth + 2);
      Value key, value;
      {
        PathScope key_scope(path_);
        path_ += "[0]";
        key = Decode(pair[0], depth + 3);
      }
      {
        PathScope value_scope(path_);
        path_ += "[1]";
        value = Decode(pair[1], depth + 3);
      }
      pairs.emplace_back(std::move(key), std::move(value));
    }
    if (IsPlainObjectDict(pairs)) {
      Fail(path_, "dict with only plain string keys must be written as a JSON object");
    }
    return Value::Dict(std::move(pairs));
  }

  Value DecodeObject(const Json& j, int depth) {
    const Json& type = j.begin().value();
    const Json* state = nullptr;
    const Json* id_json = nullptr;
    for (auto it = std::next(j.begin()); it != j.end(); ++it) {
      if (it.key() == "state" && !state) {
        state = &it.value();
      } else if (it.key() == "id" && !id_json) {
        id_json = &it.value();
      } else {
        Fail(path_, "unexpected key \"" + it.key() + "\" in $object");
      }
    }
    if (!type.is_string() || !IsTypeName(type.get_ref<const std::string&>())) {
      Fail(path_,
           "$object needs a dotted type name such as \"sklearn.tree.DecisionTreeClassifier\"");
    }
    if (!state) Fail(path_, "$object without \"state\"");
    std::optional<int64_t> id;
    if (id_json) {
      PathScope scope(path_);
      path_ += ".id";
      id = DecodeId(*id_json);
      // Defined on entry, before the state, so that the state may refer
      // back to its own object (cycles).
      if (!defined_ids_.insert(*id).second) Fail(path_, "duplicate id " + std::to_string(*id));
    }
    PathScope scope(path_);
    path_ += ".state";
    Value state_value = Decode(*state, depth + 1);
    return Value::Object(type.get<std::string>(), std::move(state_value), id);
  }

  uint64_t blob_count_;
  std::unordered_set<int64_t> defined_ids_;
  std::string path_ = "root";
};

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
  return Decoder(blob_count).Decode(json, kRootDepth);
}

}  // namespace ark::model
