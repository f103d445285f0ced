// The content-addressed piece files (piece_store.h).
#include "piece_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "ark/format/error.h"
#include "util.h"

namespace ark::registry::internal {
namespace fs = std::filesystem;

namespace {
bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}
}  // namespace

PieceStore::PieceStore(std::string root) : root_(std::move(root)) {}

std::string PieceStore::PathOf(const std::string& hex) const {
  return root_ + "/" + hex.substr(0, 2) + "/" + hex;
}

bool PieceStore::Exists(const std::string& hex) const {
  struct stat st {};
  return ::stat(PathOf(hex).c_str(), &st) == 0;
}

bool PieceStore::Put(const std::string& hex, std::span<const std::byte> bytes) {
  const std::string path = PathOf(hex);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == bytes.size()) {
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // now: a running Gc keeps it
    return false;
  }
  const std::string dir = root_ + "/" + hex.substr(0, 2);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw Error(ErrorCode::kIo, "cannot create " + dir + ": " + std::strerror(errno));
  }
  WriteFileAtomic(path, bytes);
  SyncDir(root_);
  return true;
}

void PieceStore::ForEach(
    const std::function<void(const std::string&, uint64_t, int64_t)>& fn) const {
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(root_, ec)) {
    if (!sub.is_directory()) continue;
    std::error_code ec2;
    for (const auto& entry : fs::directory_iterator(sub.path(), ec2)) {
      const std::string name = entry.path().filename().string();
      if (!IsHex64(name)) continue;
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) continue;
      fn(name, static_cast<uint64_t>(st.st_size), MtimeMs(st));
    }
  }
}

uint64_t PieceStore::Remove(const std::string& hex) {
  const std::string path = PathOf(hex);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return 0;
    throw Error(ErrorCode::kIo, "cannot remove " + path + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

uint64_t PieceStore::RemoveStaleTemporaries(int64_t older_than_ms) {
  uint64_t removed = 0;
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(root_, ec)) {
    if (!sub.is_directory()) continue;
    std::error_code ec2;
    for (const auto& entry : fs::directory_iterator(sub.path(), ec2)) {
      if (entry.path().filename().string().find(".tmp-") == std::string::npos) continue;
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0 || MtimeMs(st) >= older_than_ms) continue;
      if (::unlink(entry.path().c_str()) == 0) ++removed;
    }
  }
  return removed;
}

}  // namespace ark::registry::internal
