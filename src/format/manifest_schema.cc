// Implementation of manifest_schema.h.
#include "manifest_schema.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "ark/format/codec.h"
#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "layout.h"

namespace ark::format {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kDigestPrefix = "sha256:";
constexpr size_t kHexDigestLength = 64;

// Builds an ordered_json document from SAX events. nlohmann's own DOM
// builder looks every key up in the ordered map before inserting it, which
// is quadratic in the size of an object: a hostile manifest with millions of
// keys would hang the reader. Here keys go into a hash set per open object.
class LinearDomBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool value) { return Put(Json(value)); }
  bool number_integer(number_integer_t value) { return Put(Json(value)); }
  bool number_unsigned(number_unsigned_t value) { return Put(Json(value)); }
  bool number_float(number_float_t value, const string_t& text) {
    if (!std::isfinite(value)) return Fail("number " + text + " is out of the range of a double");
    return Put(Json(value));
  }
  bool string(string_t& value) { return Put(Json(std::move(value))); }
  bool binary(binary_t&) { return Fail("binary values are not JSON"); }

  bool start_object(std::size_t) {
    Json* object = Insert(Json::object());
    if (object == nullptr) return false;
    stack_.push_back({object, {}, {}});
    return true;
  }
  bool key(string_t& name) {
    Frame& frame = stack_.back();
    if (!frame.keys.insert(name).second) return Fail("duplicate key \"" + name + "\"");
    frame.pending_key = std::move(name);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    Json* array = Insert(Json::array());
    if (array == nullptr) return false;
    stack_.push_back({array, {}, {}});
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) {
    return Fail(error.what());
  }

  Json TakeResult() { return std::move(result_); }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    Json* container;
    std::unordered_set<std::string> keys;
    std::string pending_key;
  };

  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool Put(Json value) { return Insert(std::move(value)) != nullptr; }

  // Places `value` where the grammar says it goes; returns where it now lives.
  Json* Insert(Json value) {
    if (stack_.empty()) {
      result_ = std::move(value);
      return &result_;
    }
    Json& parent = *stack_.back().container;
    if (parent.is_array()) {
      auto& items = parent.get_ref<Json::array_t&>();
      items.push_back(std::move(value));
      return &items.back();
    }
    // Append through the underlying vector: the key is known to be new.
    auto& members = static_cast<Json::object_t::Container&>(parent.get_ref<Json::object_t&>());
    members.emplace_back(std::move(stack_.back().pending_key), std::move(value));
    return &members.back().second;
  }

  Json result_;
  std::vector<Frame> stack_;
  std::string error_;
};

// ---- simdjson DOM helpers ----------------------------------------------------

using Element = simdjson::dom::element;
using ElementType = simdjson::dom::element_type;

// The document was validated by the parser, so typed reads below cannot fail;
// value_unsafe() skips re-checking what element.type() already established.
bool IsString(const Element& e) { return e.type() == ElementType::STRING; }
bool IsObject(const Element& e) { return e.type() == ElementType::OBJECT; }
bool IsArray(const Element& e) { return e.type() == ElementType::ARRAY; }
std::string_view StringOf(const Element& e) { return e.get_string().value_unsafe(); }
simdjson::dom::object ObjectOf(const Element& e) { return e.get_object().value_unsafe(); }
simdjson::dom::array ArrayOf(const Element& e) { return e.get_array().value_unsafe(); }

// nlohmann's is_number_unsigned(): a non-negative JSON integer.
bool IsUnsigned(const Element& e) {
  if (e.type() == ElementType::UINT64) return true;
  return e.type() == ElementType::INT64 && e.get_int64().value_unsafe() >= 0;
}
uint64_t UnsignedOf(const Element& e) {
  return e.type() == ElementType::UINT64 ? e.get_uint64().value_unsafe()
                                         : static_cast<uint64_t>(e.get_int64().value_unsafe());
}
bool IsInteger(const Element& e) {
  return e.type() == ElementType::INT64 || e.type() == ElementType::UINT64;
}

// The element as ordered_json, keys in document order. Used for sections,
// dtype descriptors and error messages; the document has no duplicate keys
// (checked first), so members are appended without a lookup.
Json ToJson(const Element& e) {
  switch (e.type()) {
    case ElementType::ARRAY: {
      Json out = Json::array();
      auto& items = out.get_ref<Json::array_t&>();
      for (Element item : ArrayOf(e)) items.push_back(ToJson(item));
      return out;
    }
    case ElementType::OBJECT: {
      Json out = Json::object();
      auto& members = static_cast<Json::object_t::Container&>(out.get_ref<Json::object_t&>());
      for (auto [key, value] : ObjectOf(e)) members.emplace_back(std::string(key), ToJson(value));
      return out;
    }
    case ElementType::INT64:
      return e.get_int64().value_unsafe();
    case ElementType::UINT64:
      return e.get_uint64().value_unsafe();
    case ElementType::DOUBLE:
      return e.get_double().value_unsafe();
    case ElementType::STRING:
      return std::string(StringOf(e));
    case ElementType::BOOL:
      return e.get_bool().value_unsafe();
    case ElementType::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

std::string Dump(const Element& e) { return ToJson(e).dump(); }

// Objects with more members than this are checked for duplicate keys with a
// hash set; smaller ones (nearly all) by comparing with the earlier keys.
constexpr size_t kLinearKeyCheck = 16;

[[noreturn]] void DuplicateKey(std::string_view key) {
  throw Error(ErrorCode::kBadManifest,
              "manifest is not valid JSON: duplicate key \"" + std::string(key) + "\"");
}

// simdjson keeps every member of an object, duplicates included; the format
// allows each key once (FORMAT.md §2), anywhere in the document.
void CheckUniqueKeys(const Element& e) {
  if (IsArray(e)) {
    for (Element item : ArrayOf(e)) {
      if (IsArray(item) || IsObject(item)) CheckUniqueKeys(item);
    }
    return;
  }
  if (!IsObject(e)) return;
  const simdjson::dom::object object = ObjectOf(e);
  if (object.size() <= kLinearKeyCheck) {
    std::string_view keys[kLinearKeyCheck];
    size_t count = 0;
    for (auto [key, value] : object) {
      for (size_t k = 0; k < count; ++k) {
        if (keys[k] == key) DuplicateKey(key);
      }
      keys[count++] = key;
      if (IsArray(value) || IsObject(value)) CheckUniqueKeys(value);
    }
    return;
  }
  std::unordered_set<std::string_view> keys;
  keys.reserve(object.size());
  for (auto [key, value] : object) {
    if (!keys.insert(key).second) DuplicateKey(key);
    if (IsArray(value) || IsObject(value)) CheckUniqueKeys(value);
  }
}

// ---- schema ----------------------------------------------------------------

[[noreturn]] void Fail(ErrorCode code, const std::string& where, const std::string& what) {
  throw Error(code, "manifest: " + where + ": " + what);
}

[[noreturn]] void BadSchema(const std::string& where, const std::string& what) {
  Fail(ErrorCode::kBadManifest, where, what);
}

std::string VersionText(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// The members of one object by name; `nullptr` when absent.
template <size_t N>
class Members {
 public:
  explicit Members(const std::array<std::string_view, N>& names) : names_(names) {}

  // Returns false (and the unknown key) when `object` has a key not in names.
  bool Collect(const simdjson::dom::object& object, std::string_view* unknown) {
    size_t position = 0;
    for (auto [key, value] : object) {
      size_t k = 0;
      while (k < N && names_[k] != key) ++k;
      if (k == N) {
        *unknown = key;
        return false;
      }
      if (present_[k]) DuplicateKey(key);
      values_[k] = value;
      present_[k] = true;
      positions_[k] = position++;
    }
    return true;
  }

  const Element* Get(size_t k) const { return present_[k] ? &values_[k] : nullptr; }
  // Where member `k` came in the object. REQUIRES: Get(k) != nullptr.
  size_t PositionOf(size_t k) const { return positions_[k]; }

 private:
  const std::array<std::string_view, N>& names_;
  std::array<Element, N> values_{};
  std::array<bool, N> present_{};
  std::array<size_t, N> positions_{};
};

constexpr std::array<std::string_view, 5> kTopKeys = {"ark", "blobs", "root", "model_digest",
                                                      "sections"};
enum TopKey { kArk, kBlobs, kRoot, kModelDigest, kSections };

constexpr std::array<std::string_view, 11> kBlobKeys = {
    "offset", "stored_size", "raw_size", "dtype",  "shape", "codec",
    "filter", "chunk_size",  "chunks",   "sha256", "aux"};
enum BlobKey {
  kOffset,
  kStoredSize,
  kRawSize,
  kDtype,
  kShape,
  kCodec,
  kFilter,
  kChunkSize,
  kChunks,
  kSha256,
  kAux
};

constexpr std::array<std::string_view, 2> kCodecKeys = {"name", "level"};

class Validator {
 public:
  explicit Validator(const ManifestPlacement& placement) : placement_(placement) {}

  // Fills everything of `out` but root_text; returns the position of the
  // root among the top-level members.
  size_t Run(const Element& manifest, ParsedManifest* out) {
    if (!IsObject(manifest)) BadSchema("top level", "must be a JSON object");
    Members<kTopKeys.size()> top(kTopKeys);
    std::string_view unknown;
    if (!top.Collect(ObjectOf(manifest), &unknown)) {
      Unknown("top level", "key \"" + std::string(unknown) + "\"");
    }
    // Objects the schema reads are checked for duplicate keys as they are
    // read (Members, DtypeOf); the free-form values here, all at once.
    if (const Element* root = top.Get(kRoot)) CheckUniqueKeys(*root);
    if (const Element* sections = top.Get(kSections)) CheckUniqueKeys(*sections);
    CheckArkVersion(Require(top, kArk, kTopKeys, "top level"));
    out->blobs = ParseBlobTable(Require(top, kBlobs, kTopKeys, "top level"));
    Require(top, kRoot, kTopKeys, "top level");
    out->model_digest = ParseModelDigest(Require(top, kModelDigest, kTopKeys, "top level"));
    const Element& sections = Require(top, kSections, kTopKeys, "top level");
    if (!IsObject(sections)) BadSchema("sections", "must be a JSON object");
    out->sections = ToJson(sections);
    CheckLayout(out->blobs);
    return top.PositionOf(kRoot);
  }

 private:
  // Something this reader does not know: a corrupt file, or one written by a
  // newer minor version that uses a feature this reader lacks.
  [[noreturn]] void Unknown(const std::string& where, const std::string& what) const {
    if (placement_.file_minor > kMinorVersion) {
      Fail(ErrorCode::kUnsupportedVersion, where,
           what + " is unknown to this reader (format " +
               VersionText(kMajorVersion, kMinorVersion) + "); the file is format " +
               VersionText(placement_.file_major, placement_.file_minor) +
               ": upgrade ark to read it");
    }
    BadSchema(where, what + " is not part of format " +
                         VersionText(placement_.file_major, placement_.file_minor));
  }

  template <size_t N>
  static const Element& Require(const Members<N>& members, size_t k,
                                const std::array<std::string_view, N>& names,
                                const std::string& where) {
    const Element* value = members.Get(k);
    if (value == nullptr) {
      BadSchema(where, "missing key \"" + std::string(names[k]) + "\"");
    }
    return *value;
  }

  static uint64_t RequireCount(const Members<kBlobKeys.size()>& entry, size_t k,
                               const std::string& where) {
    const Element& value = Require(entry, k, kBlobKeys, where);
    if (!IsUnsigned(value)) {
      BadSchema(where + "." + std::string(kBlobKeys[k]),
                "must be a non-negative integer, not " + Dump(value));
    }
    return UnsignedOf(value);
  }

  void CheckArkVersion(const Element& ark) const {
    if (!IsObject(ark)) BadSchema("ark", "must be a JSON object");
    static constexpr std::array<std::string_view, 1> kArkKeys = {"version"};
    Members<1> members(kArkKeys);
    std::string_view unknown;
    if (!members.Collect(ObjectOf(ark), &unknown)) {
      Unknown("ark", "key \"" + std::string(unknown) + "\"");
    }
    const Element& version = Require(members, 0, kArkKeys, "ark");
    bool ok = IsArray(version) && ArrayOf(version).size() == 2;
    if (ok) {
      const Element major = ArrayOf(version).at(0).value_unsafe();
      const Element minor = ArrayOf(version).at(1).value_unsafe();
      ok = IsUnsigned(major) && IsUnsigned(minor) && UnsignedOf(major) == placement_.file_major &&
           UnsignedOf(minor) == placement_.file_minor;
    }
    if (!ok) {
      BadSchema("ark.version", Dump(version) + " does not match the header's version [" +
                                   std::to_string(placement_.file_major) + ", " +
                                   std::to_string(placement_.file_minor) + "]");
    }
  }

  static std::string ParseModelDigest(const Element& value) {
    if (IsString(value)) {
      const std::string_view text = StringOf(value);
      Digest unused;
      if (text.size() == kDigestPrefix.size() + kHexDigestLength &&
          text.starts_with(kDigestPrefix) && FromHex(text.substr(kDigestPrefix.size()), &unused)) {
        return std::string(text);
      }
    }
    BadSchema("model_digest", "must be \"sha256:<64 hex digits>\", not " + Dump(value));
  }

  std::vector<BlobInfo> ParseBlobTable(const Element& table) {
    if (!IsArray(table)) BadSchema("blobs", "must be a JSON array");
    const simdjson::dom::array entries = ArrayOf(table);
    const size_t count = entries.size();
    if (count > kMaxBlobs) {
      Fail(ErrorCode::kLimitExceeded, "blobs",
           std::to_string(count) + " blobs exceed the limit of " + std::to_string(kMaxBlobs));
    }
    std::vector<BlobInfo> blobs;
    blobs.reserve(count);
    size_t i = 0;
    for (Element entry : entries) blobs.push_back(ParseBlob(entry, i++));
    return blobs;
  }

  // Equal descriptors (every tree of a forest shares one structured dtype)
  // are validated once; the key is the descriptor's compact JSON.
  Dtype DtypeOf(const Element& descr, const std::string& where) {
    std::string key = IsString(descr) ? std::string(StringOf(descr)) : simdjson::minify(descr);
    if (!IsString(descr)) key.insert(0, 1, '\0');  // cannot collide with a string descriptor
    auto it = dtypes_.find(key);
    if (it != dtypes_.end()) return it->second;
    CheckUniqueKeys(descr);
    Dtype dtype;
    try {
      dtype = ParseDtype(ToJson(descr));
    } catch (const Error& error) {
      Fail(error.code(), where + ".dtype", error.what());
    } catch (const nlohmann::json::exception& error) {
      Fail(ErrorCode::kUnknownDtype, where + ".dtype", error.what());
    }
    return dtypes_.emplace(std::move(key), std::move(dtype)).first->second;
  }

  BlobInfo ParseBlob(const Element& element, size_t index) {
    const std::string where = "blobs[" + std::to_string(index) + "]";
    if (!IsObject(element)) BadSchema(where, "must be a JSON object");
    Members<kBlobKeys.size()> entry(kBlobKeys);
    std::string_view unknown;
    if (!entry.Collect(ObjectOf(element), &unknown)) {
      Unknown(where, "key \"" + std::string(unknown) + "\"");
    }
    BlobInfo blob;
    blob.offset = RequireCount(entry, kOffset, where);
    blob.stored_size = RequireCount(entry, kStoredSize, where);
    blob.raw_size = RequireCount(entry, kRawSize, where);
    blob.dtype = DtypeOf(Require(entry, kDtype, kBlobKeys, where), where);

    const Element& shape = Require(entry, kShape, kBlobKeys, where);
    if (!IsArray(shape)) BadSchema(where + ".shape", "must be an array of dimensions");
    const simdjson::dom::array dims = ArrayOf(shape);
    if (dims.size() > kMaxDims) {
      Fail(ErrorCode::kLimitExceeded, where + ".shape",
           std::to_string(dims.size()) + " dimensions exceed the limit of " +
               std::to_string(kMaxDims));
    }
    blob.shape.reserve(dims.size());
    for (Element dim : dims) {
      if (!IsUnsigned(dim)) {
        BadSchema(where + ".shape", "dimensions must be non-negative integers, not " + Dump(dim));
      }
      blob.shape.push_back(UnsignedOf(dim));
    }
    uint64_t expected_raw = 0;
    try {
      expected_raw = ByteCountOf(blob.dtype.itemsize, blob.shape);
    } catch (const Error& error) {
      Fail(error.code(), where + ".shape", error.what());
    }
    if (blob.raw_size != expected_raw) {
      BadSchema(where + ".raw_size", std::to_string(blob.raw_size) + " bytes, but dtype " +
                                         blob.dtype.descr.dump() + " and shape " + Dump(shape) +
                                         " make " + std::to_string(expected_raw));
    }

    ParseCodec(Require(entry, kCodec, kBlobKeys, where), where + ".codec", &blob.codec);
    const Element& filter = Require(entry, kFilter, kBlobKeys, where);
    const std::string_view filter_name = IsString(filter) ? StringOf(filter) : std::string_view();
    if (IsString(filter) && filter_name == "none") {
      blob.filter = Filter::kNone;
    } else if (IsString(filter) && filter_name == "shuffle") {
      blob.filter = Filter::kShuffle;
      if (blob.codec.kind == CodecKind::kNone) {
        BadSchema(where + ".filter", "\"shuffle\" requires a compressed codec");
      }
    } else {
      Unknown(where + ".filter", "filter " + Dump(filter));
    }

    if (blob.codec.kind == CodecKind::kNone) {
      if (entry.Get(kChunkSize) != nullptr || entry.Get(kChunks) != nullptr) {
        BadSchema(where, "an uncompressed blob has no chunk_size or chunks");
      }
      if (blob.stored_size != blob.raw_size) {
        BadSchema(where + ".stored_size",
                  std::to_string(blob.stored_size) + " differs from raw_size " +
                      std::to_string(blob.raw_size) + " in an uncompressed blob");
      }
    } else {
      ParseChunks(entry, where, &blob);
    }

    const Element& sha = Require(entry, kSha256, kBlobKeys, where);
    if (!IsString(sha) || !FromHex(StringOf(sha), &blob.sha256)) {
      BadSchema(where + ".sha256", "must be 64 hex digits, not " + Dump(sha));
    }
    if (const Element* aux = entry.Get(kAux)) {
      if (aux->type() != ElementType::BOOL) BadSchema(where + ".aux", "must be true or false");
      blob.aux = aux->get_bool().value_unsafe();
    }
    return blob;
  }

  void ParseCodec(const Element& codec, const std::string& where, Codec* out) const {
    if (!IsObject(codec)) BadSchema(where, "must be an object such as {\"name\": \"none\"}");
    Members<kCodecKeys.size()> members(kCodecKeys);
    std::string_view unknown;
    if (!members.Collect(ObjectOf(codec), &unknown)) {
      Unknown(where, "key \"" + std::string(unknown) + "\"");
    }
    const Element& name = Require(members, 0, kCodecKeys, where);
    std::optional<CodecKind> kind;
    for (CodecKind known :
         {CodecKind::kNone, CodecKind::kZstd, CodecKind::kZlib, CodecKind::kLzma}) {
      if (IsString(name) && StringOf(name) == CodecName(known)) kind = known;
    }
    if (!kind) Unknown(where + ".name", "codec " + Dump(name));
    out->kind = *kind;
    const Element* level = members.Get(1);
    if (*kind == CodecKind::kNone) {
      if (level != nullptr) BadSchema(where, "codec \"none\" takes no level");
      out->level = 0;
      return;
    }
    if (level == nullptr) BadSchema(where, "missing key \"level\"");
    if (!IsInteger(*level)) BadSchema(where + ".level", "must be an integer");
    const int64_t value =
        level->type() == ElementType::UINT64 ? INT64_MAX : level->get_int64().value_unsafe();
    if (value < INT32_MIN || value > INT32_MAX) {
      BadSchema(where + ".level", Dump(*level) + " is out of range");
    }
    out->level = static_cast<int>(value);
    try {
      CheckLevel(*out);
    } catch (const Error& error) {
      BadSchema(where + ".level", error.what());
    }
  }

  static void ParseChunks(const Members<kBlobKeys.size()>& entry, const std::string& where,
                          BlobInfo* blob) {
    blob->chunk_size = RequireCount(entry, kChunkSize, where);
    if (blob->chunk_size < kMinChunkSize || blob->chunk_size > kMaxChunkSize) {
      Fail(ErrorCode::kLimitExceeded, where + ".chunk_size",
           std::to_string(blob->chunk_size) + " is outside the allowed " +
               std::to_string(kMinChunkSize) + " to " + std::to_string(kMaxChunkSize) + " bytes");
    }
    if (blob->filter == Filter::kShuffle && blob->chunk_size % blob->dtype.itemsize != 0) {
      BadSchema(where + ".chunk_size", "must be a multiple of the item size " +
                                           std::to_string(blob->dtype.itemsize) +
                                           " for the shuffle filter");
    }
    const Element& chunks = Require(entry, kChunks, kBlobKeys, where);
    if (!IsArray(chunks)) BadSchema(where + ".chunks", "must be an array of sizes");
    const simdjson::dom::array sizes = ArrayOf(chunks);
    const size_t count = sizes.size();
    const uint64_t expected_count =
        blob->raw_size / blob->chunk_size + (blob->raw_size % blob->chunk_size != 0 ? 1 : 0);
    if (count != expected_count) {
      BadSchema(where + ".chunks", "has " + std::to_string(count) + " entries; raw_size " +
                                       std::to_string(blob->raw_size) + " in chunks of " +
                                       std::to_string(blob->chunk_size) + " needs " +
                                       std::to_string(expected_count));
    }
    blob->chunks.reserve(count);
    uint64_t total = 0;
    size_t k = 0;
    for (Element size : sizes) {
      if (!IsUnsigned(size)) {
        BadSchema(where + ".chunks[" + std::to_string(k) + "]", "must be a non-negative integer");
      }
      const uint64_t stored = UnsignedOf(size);
      const uint64_t raw = std::min(blob->chunk_size, blob->raw_size - k * blob->chunk_size);
      // raw <= kMaxExpansion * stored, without the multiplication overflowing.
      if ((raw + kMaxExpansion - 1) / kMaxExpansion > stored) {
        Fail(ErrorCode::kLimitExceeded, where + ".chunks[" + std::to_string(k) + "]",
             std::to_string(stored) + " stored bytes claim to expand to " + std::to_string(raw) +
                 ", beyond the limit of " + std::to_string(kMaxExpansion) + "x");
      }
      if (__builtin_add_overflow(total, stored, &total)) {
        Fail(ErrorCode::kSizeOverflow, where + ".chunks", "chunk sizes overflow 64 bits");
      }
      blob->chunks.push_back(stored);
      ++k;
    }
    if (total != blob->stored_size) {
      BadSchema(where + ".chunks", "sizes add up to " + std::to_string(total) +
                                       ", not stored_size " + std::to_string(blob->stored_size));
    }
  }

  void CheckLayout(const std::vector<BlobInfo>& blobs) const {
    uint64_t expected = kHeaderSize;
    for (size_t i = 0; i < blobs.size(); ++i) {
      const BlobInfo& blob = blobs[i];
      const std::string where = "blobs[" + std::to_string(i) + "]";
      uint64_t end = 0;
      if (__builtin_add_overflow(blob.offset, blob.stored_size, &end) ||
          end > placement_.footer_offset) {
        Fail(ErrorCode::kOutOfBounds, where,
             "bytes [" + std::to_string(blob.offset) + ", +" + std::to_string(blob.stored_size) +
                 ") reach past the end of the file's data (" +
                 std::to_string(placement_.footer_offset) + " bytes)");
      }
      if (blob.offset != expected) {
        std::string what;
        if (blob.offset < expected) {
          what = "overlaps the " + std::string(i == 0 ? "header" : "previous blob");
        } else if (blob.offset % kAlignment != 0) {
          what = "is not aligned to " + std::to_string(kAlignment) + " bytes";
        } else {
          what = "leaves a hole of " + std::to_string(blob.offset - expected) + " bytes before it";
        }
        Fail(ErrorCode::kOverlap, where + ".offset",
             std::to_string(blob.offset) + " " + what + " (expected " + std::to_string(expected) +
                 ")");
      }
      if (end > placement_.manifest_offset) {
        Fail(ErrorCode::kOverlap, where,
             "ends at " + std::to_string(end) + ", inside the manifest (offset " +
                 std::to_string(placement_.manifest_offset) + ")");
      }
      expected = *AlignUp(end);  // end <= manifest_offset, itself aligned: cannot overflow
    }
    if (placement_.manifest_offset != expected) {
      Fail(ErrorCode::kOverlap, "layout",
           "the manifest starts at " + std::to_string(placement_.manifest_offset) +
               " but the blobs end at " + std::to_string(expected) +
               ": the file has a hole or is misaligned");
    }
  }

  ManifestPlacement placement_;
  std::unordered_map<std::string, Dtype> dtypes_;
};

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One pass over JSON text that needs no valid JSON (it runs before any
// parser): returns the deepest nesting of arrays and objects outside strings,
// stopping early (with a value > limit) once `limit` is exceeded, and, when
// `top_values` is given, appends the [begin, end) byte range of the value of
// each member of a top-level object, in document order. The ranges mean
// something only for text a parser then accepts.
int ScanJson(std::string_view text, int limit, std::vector<std::pair<size_t, size_t>>* top_values) {
  const char* p = text.data();
  const size_t n = text.size();
  int depth = 0;
  int deepest = 0;
  size_t value_begin = 0;
  bool in_value = false;
  auto close_value = [&](size_t end) {
    size_t begin = value_begin;
    while (begin < end && IsJsonSpace(p[begin])) ++begin;
    while (end > begin && IsJsonSpace(p[end - 1])) --end;
    top_values->emplace_back(begin, end);
    in_value = false;
  };
  for (size_t i = 0; i < n; ++i) {
    switch (p[i]) {
      case '"': {
        // Skip the string: brackets inside it are not nesting. Its end is
        // the first quote after an even number of backslashes.
        const char* const start = p + i + 1;
        const char* quote = start;
        i = n;  // unterminated: the rest is string
        while ((quote = static_cast<const char*>(
                    std::memchr(quote, '"', static_cast<size_t>(p + n - quote)))) != nullptr) {
          const char* run = quote;
          while (run > start && run[-1] == '\\') --run;
          if ((quote - run) % 2 == 0) {
            i = static_cast<size_t>(quote - p);
            break;
          }
          ++quote;
        }
        break;
      }
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return deepest;
        }
        break;
      case ']':
      case '}':
        if (depth == 1 && in_value && top_values != nullptr) close_value(i);
        // Unbalanced closers are the parser's to report.
        if (depth > 0) --depth;
        break;
      case ':':
        if (depth == 1) {
          value_begin = i + 1;
          in_value = true;
        }
        break;
      case ',':
        if (depth == 1 && in_value && top_values != nullptr) close_value(i);
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace

int JsonNestingDepth(std::string_view text, int limit) { return ScanJson(text, limit, nullptr); }

nlohmann::ordered_json ParseManifestJson(std::string_view text) {
  if (JsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    throw Error(ErrorCode::kLimitExceeded, "manifest: JSON nesting deeper than the limit of " +
                                               std::to_string(kMaxJsonDepth) + " levels");
  }
  LinearDomBuilder builder;
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                         /*strict=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& error) {
    throw Error(ErrorCode::kBadManifest,
                std::string("manifest is not valid JSON: ") + error.what());
  }
  if (!ok) {
    throw Error(ErrorCode::kBadManifest, "manifest is not valid JSON: " + builder.error());
  }
  return builder.TakeResult();
}

ParsedManifest ParseManifest(std::string_view text, const ManifestPlacement& placement) {
  std::vector<std::pair<size_t, size_t>> top_values;
  if (ScanJson(text, kMaxJsonDepth, &top_values) > kMaxJsonDepth) {
    throw Error(ErrorCode::kLimitExceeded, "manifest: JSON nesting deeper than the limit of " +
                                               std::to_string(kMaxJsonDepth) + " levels");
  }
  const simdjson::padded_string padded(text.data(), text.size());
  simdjson::dom::parser parser;
  // The scan above bounds the depth; the parser's own limit is a backstop.
  if (parser.allocate(padded.size(), kMaxJsonDepth + 1) != simdjson::SUCCESS) {
    throw std::bad_alloc();
  }
  Element manifest;
  if (const auto error = parser.parse(padded).get(manifest); error != simdjson::SUCCESS) {
    if (error == simdjson::MEMALLOC) throw std::bad_alloc();
    throw Error(ErrorCode::kBadManifest,
                std::string("manifest is not valid JSON: ") + simdjson::error_message(error));
  }
  ParsedManifest out;
  const size_t root_member = Validator(placement).Run(manifest, &out);
  // The parser accepted the text, so the scan saw its members as they are.
  if (root_member >= top_values.size()) {
    throw Error(ErrorCode::kBadManifest, "manifest: cannot locate the root value");
  }
  const auto [begin, end] = top_values[root_member];
  out.root_text = text.substr(begin, end - begin);
  return out;
}

nlohmann::ordered_json BlobEntryToJson(const BlobInfo& blob) {
  Json entry = Json::object();
  entry["offset"] = blob.offset;
  entry["stored_size"] = blob.stored_size;
  entry["raw_size"] = blob.raw_size;
  entry["dtype"] = blob.dtype.descr;
  Json shape = Json::array();
  for (uint64_t dim : blob.shape) shape.push_back(dim);
  entry["shape"] = std::move(shape);
  Json codec = Json::object();
  codec["name"] = CodecName(blob.codec.kind);
  if (blob.codec.kind != CodecKind::kNone) codec["level"] = blob.codec.level;
  entry["codec"] = std::move(codec);
  entry["filter"] = blob.filter == Filter::kShuffle ? "shuffle" : "none";
  if (blob.codec.kind != CodecKind::kNone) {
    entry["chunk_size"] = blob.chunk_size;
    Json chunks = Json::array();
    for (uint64_t size : blob.chunks) chunks.push_back(size);
    entry["chunks"] = std::move(chunks);
  }
  entry["sha256"] = ToHex(blob.sha256);
  if (blob.aux) entry["aux"] = true;
  return entry;
}

}  // namespace ark::format
