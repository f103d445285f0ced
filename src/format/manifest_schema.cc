// Implementation of manifest_schema.h.
#include "manifest_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
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

[[noreturn]] void Fail(ErrorCode code, const std::string& where, const std::string& what) {
  throw Error(code, "manifest: " + where + ": " + what);
}

[[noreturn]] void BadSchema(const std::string& where, const std::string& what) {
  Fail(ErrorCode::kBadManifest, where, what);
}

std::string VersionText(uint16_t major, uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

class Validator {
 public:
  explicit Validator(const ManifestPlacement& placement) : placement_(placement) {}

  ValidatedManifest Run(const Json& manifest) {
    if (!manifest.is_object()) BadSchema("top level", "must be a JSON object");
    for (const auto& [name, value] : manifest.items()) {
      if (name != "ark" && name != "blobs" && name != "root" && name != "model_digest" &&
          name != "sections") {
        Unknown("top level", "key \"" + name + "\"");
      }
    }
    CheckArkVersion(Require(manifest, "ark", "top level"));
    ValidatedManifest result;
    result.blobs = ParseBlobTable(Require(manifest, "blobs", "top level"));
    Require(manifest, "root", "top level");
    result.model_digest = ParseModelDigest(Require(manifest, "model_digest", "top level"));
    if (!Require(manifest, "sections", "top level").is_object()) {
      BadSchema("sections", "must be a JSON object");
    }
    CheckLayout(result.blobs);
    return result;
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

  static const Json& Require(const Json& object, const char* key, const std::string& where) {
    auto it = object.find(key);
    if (it == object.end()) BadSchema(where, std::string("missing key \"") + key + "\"");
    return *it;
  }

  static uint64_t RequireCount(const Json& object, const char* key, const std::string& where) {
    const Json& value = Require(object, key, where);
    if (!value.is_number_unsigned()) {
      BadSchema(where + "." + key, "must be a non-negative integer, not " + value.dump());
    }
    return value.get<uint64_t>();
  }

  void CheckArkVersion(const Json& ark) const {
    if (!ark.is_object()) BadSchema("ark", "must be a JSON object");
    for (const auto& [name, value] : ark.items()) {
      if (name != "version") Unknown("ark", "key \"" + name + "\"");
    }
    const Json& version = Require(ark, "version", "ark");
    if (!version.is_array() || version.size() != 2 || !version[0].is_number_unsigned() ||
        !version[1].is_number_unsigned() || version[0].get<uint64_t>() != placement_.file_major ||
        version[1].get<uint64_t>() != placement_.file_minor) {
      BadSchema("ark.version", version.dump() + " does not match the header's version [" +
                                   std::to_string(placement_.file_major) + ", " +
                                   std::to_string(placement_.file_minor) + "]");
    }
  }

  static std::string ParseModelDigest(const Json& value) {
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      Digest unused;
      if (text.size() == kDigestPrefix.size() + kHexDigestLength &&
          text.starts_with(kDigestPrefix) &&
          FromHex(std::string_view(text).substr(kDigestPrefix.size()), &unused)) {
        return text;
      }
    }
    BadSchema("model_digest", "must be \"sha256:<64 hex digits>\", not " + value.dump());
  }

  std::vector<BlobInfo> ParseBlobTable(const Json& table) const {
    if (!table.is_array()) BadSchema("blobs", "must be a JSON array");
    if (table.size() > kMaxBlobs) {
      Fail(
          ErrorCode::kLimitExceeded, "blobs",
          std::to_string(table.size()) + " blobs exceed the limit of " + std::to_string(kMaxBlobs));
    }
    std::vector<BlobInfo> blobs;
    blobs.reserve(table.size());
    for (size_t i = 0; i < table.size(); ++i) blobs.push_back(ParseBlob(table[i], i));
    return blobs;
  }

  BlobInfo ParseBlob(const Json& entry, size_t index) const {
    const std::string where = "blobs[" + std::to_string(index) + "]";
    if (!entry.is_object()) BadSchema(where, "must be a JSON object");
    for (const auto& [name, value] : entry.items()) {
      if (name != "offset" && name != "stored_size" && name != "raw_size" && name != "dtype" &&
          name != "shape" && name != "codec" && name != "filter" && name != "chunk_size" &&
          name != "chunks" && name != "sha256" && name != "aux") {
        Unknown(where, "key \"" + name + "\"");
      }
    }
    BlobInfo blob;
    blob.offset = RequireCount(entry, "offset", where);
    blob.stored_size = RequireCount(entry, "stored_size", where);
    blob.raw_size = RequireCount(entry, "raw_size", where);

    try {
      blob.dtype = ParseDtype(Require(entry, "dtype", where));
    } catch (const Error& error) {
      Fail(error.code(), where + ".dtype", error.what());
    } catch (const nlohmann::json::exception& error) {
      Fail(ErrorCode::kUnknownDtype, where + ".dtype", error.what());
    }

    const Json& shape = Require(entry, "shape", where);
    if (!shape.is_array()) BadSchema(where + ".shape", "must be an array of dimensions");
    if (shape.size() > kMaxDims) {
      Fail(ErrorCode::kLimitExceeded, where + ".shape",
           std::to_string(shape.size()) + " dimensions exceed the limit of " +
               std::to_string(kMaxDims));
    }
    for (const Json& dim : shape) {
      if (!dim.is_number_unsigned()) {
        BadSchema(where + ".shape", "dimensions must be non-negative integers, not " + dim.dump());
      }
      blob.shape.push_back(dim.get<uint64_t>());
    }
    uint64_t expected_raw = 0;
    try {
      expected_raw = ByteCountOf(blob.dtype.itemsize, blob.shape);
    } catch (const Error& error) {
      Fail(error.code(), where + ".shape", error.what());
    }
    if (blob.raw_size != expected_raw) {
      BadSchema(where + ".raw_size", std::to_string(blob.raw_size) + " bytes, but dtype " +
                                         blob.dtype.descr.dump() + " and shape " + shape.dump() +
                                         " make " + std::to_string(expected_raw));
    }

    ParseCodec(Require(entry, "codec", where), where + ".codec", &blob.codec);
    const Json& filter = Require(entry, "filter", where);
    if (filter == "none") {
      blob.filter = Filter::kNone;
    } else if (filter == "shuffle") {
      blob.filter = Filter::kShuffle;
      if (blob.codec.kind == CodecKind::kNone) {
        BadSchema(where + ".filter", "\"shuffle\" requires a compressed codec");
      }
    } else {
      Unknown(where + ".filter", "filter " + filter.dump());
    }

    if (blob.codec.kind == CodecKind::kNone) {
      if (entry.contains("chunk_size") || entry.contains("chunks")) {
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

    const Json& sha = Require(entry, "sha256", where);
    if (!sha.is_string() || !FromHex(sha.get_ref<const std::string&>(), &blob.sha256)) {
      BadSchema(where + ".sha256", "must be 64 hex digits, not " + sha.dump());
    }
    if (auto aux = entry.find("aux"); aux != entry.end()) {
      if (!aux->is_boolean()) BadSchema(where + ".aux", "must be true or false");
      blob.aux = aux->get<bool>();
    }
    return blob;
  }

  void ParseCodec(const Json& codec, const std::string& where, Codec* out) const {
    if (!codec.is_object()) BadSchema(where, "must be an object such as {\"name\": \"none\"}");
    for (const auto& [name, value] : codec.items()) {
      if (name != "name" && name != "level") Unknown(where, "key \"" + name + "\"");
    }
    const Json& name = Require(codec, "name", where);
    std::optional<CodecKind> kind;
    for (CodecKind known :
         {CodecKind::kNone, CodecKind::kZstd, CodecKind::kZlib, CodecKind::kLzma}) {
      if (name == CodecName(known)) kind = known;
    }
    if (!kind) Unknown(where + ".name", "codec " + name.dump());
    out->kind = *kind;
    auto level = codec.find("level");
    if (*kind == CodecKind::kNone) {
      if (level != codec.end()) BadSchema(where, "codec \"none\" takes no level");
      out->level = 0;
      return;
    }
    if (level == codec.end()) BadSchema(where, "missing key \"level\"");
    if (!level->is_number_integer()) BadSchema(where + ".level", "must be an integer");
    const int64_t value = level->is_number_unsigned() && level->get<uint64_t>() > INT32_MAX
                              ? INT64_MAX
                              : level->get<int64_t>();
    if (value < INT32_MIN || value > INT32_MAX) {
      BadSchema(where + ".level", level->dump() + " is out of range");
    }
    out->level = static_cast<int>(value);
    try {
      CheckLevel(*out);
    } catch (const Error& error) {
      BadSchema(where + ".level", error.what());
    }
  }

  static void ParseChunks(const Json& entry, const std::string& where, BlobInfo* blob) {
    blob->chunk_size = RequireCount(entry, "chunk_size", where);
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
    const Json& chunks = Require(entry, "chunks", where);
    if (!chunks.is_array()) BadSchema(where + ".chunks", "must be an array of sizes");
    const uint64_t expected_count =
        blob->raw_size / blob->chunk_size + (blob->raw_size % blob->chunk_size != 0 ? 1 : 0);
    if (chunks.size() != expected_count) {
      BadSchema(where + ".chunks", "has " + std::to_string(chunks.size()) + " entries; raw_size " +
                                       std::to_string(blob->raw_size) + " in chunks of " +
                                       std::to_string(blob->chunk_size) + " needs " +
                                       std::to_string(expected_count));
    }
    blob->chunks.reserve(chunks.size());
    uint64_t total = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
      const Json& size = chunks[k];
      if (!size.is_number_unsigned()) {
        BadSchema(where + ".chunks[" + std::to_string(k) + "]", "must be a non-negative integer");
      }
      const uint64_t stored = size.get<uint64_t>();
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
};

}  // namespace

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > limit) return deepest;
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to report.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

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

ValidatedManifest ValidateManifest(const nlohmann::ordered_json& manifest,
                                   const ManifestPlacement& placement) {
  return Validator(placement).Run(manifest);
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
