// PieceStore: the content-addressed files of a registry, blobs/ab/<sha256 hex>.
//
// A piece is a run of bytes of a registered .ark file, named by the SHA-256
// of those bytes. Put() writes a piece durably (temporary file, fsync,
// rename, directory fsync) unless a file of that name exists already, so
// each distinct run of bytes is stored once. Pieces are immutable; only Gc
// removes them.
//
// Thread safety: all methods may be called concurrently (from several
// processes too): a rename publishes a whole piece or nothing.
// Errors: ark::Error(kIo) naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace ark::registry::internal {

class PieceStore {
 public:
  explicit PieceStore(std::string root);  // root = <registry>/blobs

  // Stores `bytes` under `hex` (REQUIRES: hex = SHA-256 of bytes). Returns
  // true when this call wrote the file, false when it existed already (its
  // modification time is then refreshed, so that a concurrent Gc keeps it).
  bool Put(const std::string& hex, std::span<const std::byte> bytes);
  bool Exists(const std::string& hex) const;
  std::string PathOf(const std::string& hex) const;
  // Calls fn(hex, size, mtime_ms) for every piece file (temporary files and
  // foreign names are skipped).
  void ForEach(const std::function<void(const std::string&, uint64_t, int64_t)>& fn) const;
  // Removes a piece; returns its size (0 if it was already gone).
  uint64_t Remove(const std::string& hex);
  // Removes temporary files (*.tmp-*) older than `older_than_ms`.
  uint64_t RemoveStaleTemporaries(int64_t older_than_ms);

 private:
  std::string root_;
};

}  // namespace ark::registry::internal
