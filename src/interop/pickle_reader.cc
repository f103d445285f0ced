// ReadPickle / ReadPickleFile (include/ark/interop/pickle.h): codec detection,
// then the data-only machine (pickle_machine.h) over the whole stream.
//
// Bytes after STOP are refused (kBadManifest): joblib writes its arrays
// between opcodes, never after STOP, so trailing bytes are either damage or a
// second pickle that a loader calling pickle.load in a loop would run and a
// scanner would not see.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>

#include "ark/format/error.h"
#include "ark/interop/pickle.h"
#include "decompress.h"
#include "pickle_machine.h"

namespace ark::interop {

std::string PickleGraph::GlobalName(NodeId id) const {
  const PickleNode& n = at(id);
  if (n.kind != PickleKind::kGlobal) {
    throw Error(ErrorCode::kInvalidArgument,
                "pickle: node " + std::to_string(id) + " is not a global");
  }
  return n.module + "." + n.name;
}

namespace {

// A read-only private mapping of a whole file.
class MappedBytes {
 public:
  MappedBytes(void* data, size_t size) : data_(data), size_(size) {}
  ~MappedBytes() { ::munmap(data_, size_); }
  MappedBytes(const MappedBytes&) = delete;
  MappedBytes& operator=(const MappedBytes&) = delete;
  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_;
  size_t size_;
};

[[noreturn]] void FailIo(const std::string& what, const std::string& path, int error) {
  throw Error(ErrorCode::kIo, "pickle: cannot " + what + " '" + path + "': " + std::strerror(error));
}

[[noreturn]] void FailTooLarge(const std::string& path, uint64_t max_bytes) {
  throw Error(ErrorCode::kLimitExceeded, "pickle: '" + path + "' is larger than the limit of " +
                                             std::to_string(max_bytes) + " bytes");
}

// The contents of an open descriptor that cannot be mapped (a pipe, a
// special file), read to the end.
PickleSource ReadAll(int fd, const std::string& path, uint64_t max_bytes) {
  auto bytes = std::make_shared<std::string>();
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      FailIo("read", path, errno);
    }
    if (n == 0) break;
    bytes->append(buffer, static_cast<size_t>(n));
    if (bytes->size() > max_bytes) FailTooLarge(path, max_bytes);
  }
  return PickleSource(std::shared_ptr<const std::string>(std::move(bytes)));
}

PickleGraph Parse(PickleSource bytes, const PickleLimits& limits) {
  PickleGraph graph;
  graph.compression = DetectCompression(*bytes);
  if (graph.compression.empty()) {
    if (bytes->size() > limits.max_decompressed_bytes) {
      throw Error(ErrorCode::kLimitExceeded, "pickle: " + std::to_string(bytes->size()) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits.max_decompressed_bytes));
    }
    graph.source = std::move(bytes);
  } else {
    graph.source = Decompress(graph.compression, *bytes, limits.max_decompressed_bytes);
    bytes = nullptr;  // the compressed bytes are not needed any more
  }
  const std::string_view data = *graph.source;
  PickleShared shared;
  PickleMachine machine(&graph, &shared, data, limits, /*joblib_hooks=*/true);
  uint64_t end = 0;
  graph.root = machine.Run(0, &end, /*record_protocol=*/true);
  if (end != data.size()) {
    throw Error(ErrorCode::kBadManifest, "pickle: " + std::to_string(data.size() - end) +
                                             " bytes after STOP at offset " + HexOffset(end));
  }
  return graph;
}

}  // namespace

PickleGraph ReadPickle(PickleSource bytes, const PickleLimits& limits) {
  if (bytes == nullptr) throw Error(ErrorCode::kInvalidArgument, "pickle: no bytes given");
  try {
    return Parse(std::move(bytes), limits);
  } catch (const std::bad_alloc&) {
    // The limits bound every allocation by the input, but a caller's limits
    // may exceed the machine's memory (a highly compressible file).
    throw Error(ErrorCode::kLimitExceeded,
                "pickle: out of memory while reading; lower PickleLimits");
  }
}

PickleSource ReadPickleSource(const std::string& path, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    throw Error(ErrorCode::kIo, "pickle: cannot open '" + path + "': no such file");
  }
  if (fs::is_directory(status)) {
    throw Error(ErrorCode::kIo, "pickle: cannot read '" + path + "': it is a directory");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) FailIo("open", path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) FailIo("read", path, errno);
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) return ReadAll(fd, path, max_bytes);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) FailTooLarge(path, max_bytes);
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED) return ReadAll(fd, path, max_bytes);
  // Read front to back once (the parser, then the arrays): read ahead.
  ::madvise(data, size, MADV_SEQUENTIAL);
  ::madvise(data, size, MADV_WILLNEED);
  auto mapped = std::make_shared<const MappedBytes>(data, size);
  const std::string_view bytes = mapped->bytes();
  return PickleSource(std::shared_ptr<const void>(std::move(mapped)), bytes);
}

PickleGraph ReadPickleFile(const std::string& path, const PickleLimits& limits) {
  return ReadPickle(ReadPickleSource(path, limits.max_decompressed_bytes), limits);
}

}  // namespace ark::interop
