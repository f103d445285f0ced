// PackStore: the pack files of a registry, <registry>/packs/<id>.pack.
//
// A piece is a run of bytes of a registered .ark file, named by the SHA-256
// of those bytes. Pieces live in pack files; the metadata store's piece index
// (sha -> pack, offset, size) says where each stored piece is. A pack is
// written once by a PackWriter (temporary file, writes, one fsync, rename, one
// directory fsync) and is immutable afterwards; only Gc removes it.
//
// Pack file format:
//   "ARKPACK1"                                  8 bytes
//   per piece: its size as an unsigned LEB128 varint, then its bytes
// The index records the offset of a piece's bytes. The size prefixes let Gc
// (and tests) walk the pieces of a pack nothing indexes.
//
// Thread safety: a PackWriter or PackReader is used by one thread; PackStore
// methods may be called concurrently (from several processes too): a rename
// publishes a whole pack or nothing.
// Errors: ark::Error(kIo) naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace ark::registry::internal {

// Where a stored piece is.
struct PieceLocation {
  std::string sha;   // hex (empty from PackStore::Records)
  std::string pack;  // pack id
  uint64_t offset = 0;  // of the data in the pack file
  uint64_t size = 0;
};

constexpr uint64_t kPackHeaderSize = 8;
// Bytes of the size prefix of a piece of `size` bytes.
inline uint64_t PackRecordHeaderSize(uint64_t size) {
  uint64_t n = 1;
  while (size >= 0x80) {
    size >>= 7;
    ++n;
  }
  return n;
}

class PackStore {
 public:
  explicit PackStore(std::string root);  // root = <registry>/packs

  const std::string& root() const { return root_; }
  std::string PathOf(const std::string& id) const;
  struct PackFile {
    std::string id;
    uint64_t size = 0;
    int64_t mtime_ms = 0;
  };
  // Every published pack (temporary files and foreign names are skipped).
  std::vector<PackFile> List() const;
  // The pieces (offset, size; sha empty) of a pack, from its size prefixes
  // (stops at a torn tail).
  std::vector<PieceLocation> Records(const std::string& id) const;
  // Removes a pack; returns its size (0 if it was already gone).
  uint64_t Remove(const std::string& id);
  // Removes temporary files (*.tmp-*) older than `older_than_ms`; returns
  // their total size.
  uint64_t RemoveStaleTemporaries(int64_t older_than_ms);

 private:
  std::string root_;
};

// Writes one new pack. Nothing is visible until Finish(); the destructor of
// an unfinished writer removes its temporary file.
class PackWriter {
 public:
  explicit PackWriter(const PackStore& store);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends a piece (REQUIRES: hex = SHA-256 of bytes) unless this pack holds
  // it already; returns the offset of its data in the pack.
  uint64_t Add(const std::string& hex, std::span<const std::byte> bytes);
  bool Contains(const std::string& hex) const { return offsets_.count(hex) != 0; }
  bool empty() const { return offsets_.empty(); }
  uint64_t size() const { return size_; }
  const std::string& id() const { return id_; }
  // fsync, rename to <id>.pack, fsync of the folder. Returns the id.
  std::string Finish();

 private:
  void Open();
  void Flush();
  void WriteAll(const std::byte* p, size_t n);

  const PackStore& store_;
  std::string id_;
  std::string tmp_;
  int fd_ = -1;
  bool finished_ = false;
  uint64_t size_ = 0;
  std::vector<std::byte> buf_;
  std::map<std::string, uint64_t> offsets_;
};

// Reads pieces from packs, keeping each pack open once opened.
class PackReader {
 public:
  explicit PackReader(const PackStore& store) : store_(store) {}
  ~PackReader();
  PackReader(const PackReader&) = delete;
  PackReader& operator=(const PackReader&) = delete;
  // Reads the piece's bytes into *out. Throws kIo (missing pack, short read);
  // does not check the SHA-256 (the caller does).
  void Read(const PieceLocation& where, std::vector<std::byte>* out);

 private:
  const PackStore& store_;
  std::map<std::string, int> fds_;
};

}  // namespace ark::registry::internal
