// ark::format::Writer: builds an .ark file (docs/FORMAT.md) blob by blob.
//
// Bytes stream to a temporary file beside the destination (or to memory);
// Finish() writes the manifest and footer, fsyncs, and renames the file into
// place, so readers see the old file or the whole new one, never a part.
// Destroying a Writer without a successful Finish() removes the temporary
// file: a failed write leaves nothing behind.
//
// Output is deterministic: the same calls with the same options give the same
// bytes. Identical arrays (same dtype, shape and bytes) are stored once.
//
// Thread safety: a Writer is used from one thread at a time. It compresses on
// its own worker threads internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ark/format/codec.h"
#include "ark/format/sha256.h"

namespace ark::format {

struct BlobOptions {
  Codec codec;                      // none by default: the blob is mmap-able
  Filter filter = Filter::kNone;    // kShuffle requires a compressed codec
  uint64_t chunk_size = 0;          // 0: kDefaultChunkSize (rounded to the itemsize for shuffle)
  bool aux = false;                 // not part of the model digest (validation rows, ...)
};

struct WriterOptions {
  int threads = 0;     // compression threads; 0: one per core
  bool fsync = true;   // fsync file and directory before publishing
};

class Writer {
 public:
  // Starts writing `path` (created or replaced at Finish).
  // Throws ark::Error(kIo) when the temporary file cannot be created.
  static std::unique_ptr<Writer> ToFile(const std::string& path, const WriterOptions& options = {});
  // Builds the file in memory; take it with TakeBuffer() after Finish().
  static std::unique_ptr<Writer> ToMemory(const WriterOptions& options = {});

  virtual ~Writer();

  // Adds an array and returns its blob index (an earlier index when an
  // identical array was already added with the same `aux`).
  // `dtype` is a descriptor of FORMAT.md §4; data.size() must equal
  // itemsize × Π shape. Throws ark::Error(kInvalidArgument / kUnknownDtype /
  // kSizeOverflow) for inconsistent input, kIo when writing fails.
  // REQUIRES: `data` stays valid and unchanged until Finish() returns or the
  // writer is destroyed (compression may run in the background).
  virtual uint64_t AddBlob(const nlohmann::ordered_json& dtype, const std::vector<uint64_t>& shape,
                           std::span<const std::byte> data, const BlobOptions& options) = 0;

  // Writes the manifest (root, sections) and footer, then publishes.
  // `root` is the object tree in its JSON form (FORMAT.md §5); `sections` a
  // JSON object (or null) of extension sections. REQUIRES: called once.
  virtual void Finish(const nlohmann::ordered_json& root, const nlohmann::ordered_json& sections) = 0;

  // After Finish(): the digests of what was written.
  virtual Digest file_digest() const = 0;
  virtual std::string model_digest() const = 0;  // "sha256:<hex>"
  virtual uint64_t file_size() const = 0;

  // ToMemory writers only, after Finish(): the file's bytes.
  virtual std::vector<std::byte> TakeBuffer() = 0;
};

// The model digest of FORMAT.md §6, shared by writer and reader.
std::string ComputeModelDigest(const nlohmann::ordered_json& root,
                               const nlohmann::ordered_json& blob_table);

}  // namespace ark::format
