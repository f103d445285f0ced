// MappedFile: a read-only, private memory mapping of a whole regular file.
//
// Open() throws ark::Error(kIo) when the file cannot be opened, is not a
// regular file, or cannot be mapped. An empty file maps to an empty span.
// The mapping lives as long as the MappedFile; callers share ownership through
// shared_ptr so that views into it can outlive whoever opened it.
// Thread safety: immutable after Open; bytes() may be read concurrently.
// Caveat: as with any mapping, truncating the file on disk while it is mapped
// makes later access fault; ark never does that to its own files.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace ark::format {

class MappedFile {
 public:
  static std::shared_ptr<MappedFile> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  MappedFile(const std::byte* data, size_t size) : data_(data), size_(size) {}
  const std::byte* data_;
  size_t size_;
};

}  // namespace ark::format
