// ReadPickle / ReadPickleFile (include/ark/interop/pickle.h): codec detection,
// then the data-only machine (pickle_machine.h) over the whole stream.
//
// Bytes after STOP are refused (kBadManifest): joblib writes its arrays
// between opcodes, never after STOP, so trailing bytes are either damage or a
// second pickle that a loader calling pickle.load in a loop would run and a
// scanner would not see.
#include <cerrno>
#include <cstdio>
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

PickleGraph Parse(std::shared_ptr<const std::string> bytes, const PickleLimits& limits) {
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
    graph.source = std::make_shared<const std::string>(
        Decompress(graph.compression, *bytes, limits.max_decompressed_bytes));
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

PickleGraph ReadPickle(std::shared_ptr<const std::string> bytes, const PickleLimits& limits) {
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

PickleGraph ReadPickleFile(const std::string& path, const PickleLimits& limits) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    throw Error(ErrorCode::kIo, "pickle: cannot open '" + path + "': no such file");
  }
  if (fs::is_directory(status)) {
    throw Error(ErrorCode::kIo, "pickle: cannot read '" + path + "': it is a directory");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    throw Error(ErrorCode::kIo, "pickle: cannot open '" + path + "': " + std::strerror(errno));
  }
  auto bytes = std::make_shared<std::string>();
  char buffer[1 << 16];
  for (;;) {
    const size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
    bytes->append(buffer, n);
    if (n < sizeof buffer) break;
    if (bytes->size() > limits.max_decompressed_bytes) {
      throw Error(ErrorCode::kLimitExceeded, "pickle: '" + path + "' is larger than the limit of " +
                                                 std::to_string(limits.max_decompressed_bytes) +
                                                 " bytes");
    }
  }
  if (std::ferror(file.get())) {
    throw Error(ErrorCode::kIo, "pickle: cannot read '" + path + "': " + std::strerror(errno));
  }
  return ReadPickle(std::move(bytes), limits);
}

}  // namespace ark::interop
