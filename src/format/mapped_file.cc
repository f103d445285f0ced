// Implementation of mapped_file.h (POSIX mmap).
#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ark/format/error.h"

namespace ark::format {
namespace {

[[noreturn]] void ThrowIo(const std::string& what, const std::string& path, int error) {
  throw Error(ErrorCode::kIo, what + " '" + path + "': " + std::strerror(error));
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowIo("cannot open", path, errno);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    ThrowIo("cannot stat", path, error);
  }
  // Devices, pipes and directories have no meaningful size to validate
  // against; refuse them rather than map or block on them.
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(ErrorCode::kIo, "cannot read '" + path + "': not a regular file");
  }
  const size_t size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    ::close(fd);
    return std::shared_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);  // the mapping keeps the file referenced
  if (data == MAP_FAILED) ThrowIo("cannot map", path, error);
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<const std::byte*>(data), size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace ark::format
