// ark::format::Reader: opens an .ark file (docs/FORMAT.md) safely.
//
// Open() maps the file and reads only the footer and the manifest; it checks
// every structural rule of the format (magic, versions, limits, the blob
// table's offsets, sizes, alignment and dtypes) before returning, so that a
// hostile or corrupt file is refused with an ark::Error naming the problem,
// never with a crash, a hang, or an allocation the file size does not justify.
// Blob bytes are read only when asked for.
//
// Thread safety: all const methods may be called concurrently.
// Lifetime: BlobView keeps what it points to alive (the mapping or a buffer),
// so views may outlive the Reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ark/format/codec.h"
#include "ark/format/dtype.h"
#include "ark/format/sha256.h"

namespace ark::format {

struct BlobInfo {
  uint64_t offset = 0;
  uint64_t stored_size = 0;
  uint64_t raw_size = 0;
  Dtype dtype;
  std::vector<uint64_t> shape;
  Codec codec;
  Filter filter = Filter::kNone;
  uint64_t chunk_size = 0;           // compressed blobs only
  std::vector<uint64_t> chunks;      // stored size of each chunk
  Digest sha256{};
  bool aux = false;
};

// Bytes of one decoded blob. Either a view into the mapped file (zero_copy)
// or a buffer decoded for this call; `owner` keeps either alive.
struct BlobView {
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> owner;
  bool zero_copy = false;
};

struct ReaderOptions {
  bool verify_on_access = true;  // check a blob's SHA-256 the first time it is read
  int threads = 0;               // decompression threads; 0: one per core
};

class Reader {
 public:
  // Maps `path`. Throws ark::Error (kIo, kTruncated, kBadMagic, ...) on failure.
  static std::shared_ptr<Reader> Open(const std::string& path, const ReaderOptions& options = {});
  // Reads a file held in memory (ark.loads); the buffer is kept alive.
  static std::shared_ptr<Reader> FromBuffer(std::shared_ptr<const std::vector<std::byte>> buffer,
                                            const ReaderOptions& options = {});

  virtual ~Reader() = default;

  virtual uint16_t major_version() const = 0;
  virtual uint16_t minor_version() const = 0;
  virtual uint64_t file_size() const = 0;
  virtual const Digest& file_digest() const = 0;        // from the footer
  virtual const std::string& model_digest() const = 0;  // as stored in the manifest
  virtual std::string_view manifest_bytes() const = 0;
  // The exact bytes of the manifest's `root` value (a view into
  // manifest_bytes(), valid as long as the Reader). Open() has checked that
  // it is valid JSON within the depth limit, with no duplicate keys and no
  // integer beyond 64 bits; the tree's own rules are model::FromJsonText's.
  virtual std::string_view root_json_text() const = 0;
  // The same value parsed into ordered_json, built on the first call (which
  // costs a full parse: decoders of the tree should read root_json_text()).
  virtual const nlohmann::ordered_json& root() const = 0;
  virtual const nlohmann::ordered_json& sections() const = 0;  // an object, possibly empty
  virtual const std::vector<BlobInfo>& blobs() const = 0;

  // Decodes blob `index` (zero-copy when uncompressed). Verifies its SHA-256
  // on first access when options.verify_on_access. Throws kInvalidArgument
  // for a bad index, kCodecError, kChecksumMismatch.
  virtual BlobView ReadBlob(uint64_t index) const = 0;

  // Checks everything: the file digest, every blob's SHA-256 (decoding it),
  // zero padding, and the model digest. Throws the first problem found.
  // `progress(done_bytes, total_bytes)` is called as blobs are checked.
  virtual void VerifyAll(const std::function<void(uint64_t, uint64_t)>& progress = {}) const = 0;
};

}  // namespace ark::format
