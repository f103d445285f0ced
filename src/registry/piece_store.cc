// The pack files of a registry (piece_store.h).
#include "piece_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include "ark/format/error.h"
#include "util.h"

namespace ark::registry::internal {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "ARKPACK1";
constexpr char kSuffix[] = ".pack";
constexpr size_t kBufferSize = 4 << 20;

bool IsPackId(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

const char kHexDigits[] = "0123456789abcdef";

std::string NewPackId() {
  std::random_device entropy;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t r = entropy();
    for (int j = 0; j < 8; ++j) {
      id.push_back(kHexDigits[r & 15]);
      r >>= 4;
    }
  }
  return id;
}

size_t PutVarint(uint64_t v, std::byte* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<std::byte>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<std::byte>(v);
  return n;
}

// Reads exactly n bytes at `offset`; false on a short read (end of file).
bool PreadAll(int fd, std::byte* p, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
    if (r == 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------- PackStore

PackStore::PackStore(std::string root) : root_(std::move(root)) {}

std::string PackStore::PathOf(const std::string& id) const { return root_ + "/" + id + kSuffix; }

std::vector<PackStore::PackFile> PackStore::List() const {
  std::vector<PackFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 32 + sizeof(kSuffix) - 1 || name.substr(32) != kSuffix) continue;
    const std::string id = name.substr(0, 32);
    if (!IsPackId(id)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    out.push_back({id, static_cast<uint64_t>(st.st_size), MtimeMs(st)});
  }
  return out;
}

std::vector<PieceLocation> PackStore::Records(const std::string& id) const {
  const std::string path = PathOf(id);
  std::vector<PieceLocation> out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  try {
    struct stat st {};
    const uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    uint64_t at = kPackHeaderSize;
    std::byte head[10];
    while (at < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof(head), size - at));
      if (!PreadAll(fd, head, want, at, path)) break;
      uint64_t n = 0;
      size_t used = 0;
      bool done = false;
      for (; used < want && used < 10; ++used) {
        const auto b = static_cast<uint64_t>(head[used]);
        n |= (b & 0x7f) << (7 * used);
        if ((b & 0x80) == 0) {
          done = true;
          ++used;
          break;
        }
      }
      if (!done) break;  // torn tail
      const uint64_t data = at + used;
      if (n > size - data) break;  // torn tail
      out.push_back({"", id, data, n});
      at = data + n;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return out;
}

uint64_t PackStore::Remove(const std::string& id) {
  const std::string path = PathOf(id);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return 0;
    throw Error(ErrorCode::kIo, "cannot remove " + path + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

uint64_t PackStore::RemoveStaleTemporaries(int64_t older_than_ms) {
  uint64_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (entry.path().filename().string().find(".tmp-") == std::string::npos) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0 || MtimeMs(st) >= older_than_ms) continue;
    if (::unlink(entry.path().c_str()) == 0) removed += static_cast<uint64_t>(st.st_size);
  }
  return removed;
}

// ---------------------------------------------------------------- PackWriter

PackWriter::PackWriter(const PackStore& store) : store_(store), id_(NewPackId()) {}

PackWriter::~PackWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty() && !finished_) ::unlink(tmp_.c_str());
}

void PackWriter::Open() {
  static std::atomic<uint64_t> counter{0};
  tmp_ = store_.PathOf(id_) + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    tmp_.clear();
    throw Error(ErrorCode::kIo, "cannot create " + store_.PathOf(id_) + ": " + std::strerror(err));
  }
  buf_.reserve(kBufferSize);
  const auto* magic = reinterpret_cast<const std::byte*>(kMagic);
  buf_.insert(buf_.end(), magic, magic + kPackHeaderSize);
  size_ = kPackHeaderSize;
}

void PackWriter::WriteAll(const std::byte* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      throw Error(ErrorCode::kIo, "cannot write " + tmp_ + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void PackWriter::Flush() {
  WriteAll(buf_.data(), buf_.size());
  buf_.clear();
}

uint64_t PackWriter::Add(const std::string& hex, std::span<const std::byte> bytes) {
  if (const auto it = offsets_.find(hex); it != offsets_.end()) return it->second;
  if (fd_ < 0) Open();
  std::byte head[10];
  const size_t head_size = PutVarint(bytes.size(), head);
  buf_.insert(buf_.end(), head, head + head_size);
  const uint64_t offset = size_ + head_size;
  if (buf_.size() + bytes.size() > kBufferSize) {
    Flush();
    if (bytes.size() >= kBufferSize / 2) {
      WriteAll(bytes.data(), bytes.size());
    } else {
      buf_.insert(buf_.end(), bytes.begin(), bytes.end());
    }
  } else {
    buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  }
  size_ = offset + bytes.size();
  offsets_[hex] = offset;
  return offset;
}

std::string PackWriter::Finish() {
  if (fd_ < 0) Open();
  Flush();
  if (::fsync(fd_) != 0) {
    throw Error(ErrorCode::kIo, "cannot write " + tmp_ + ": " + std::strerror(errno));
  }
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw Error(ErrorCode::kIo, "cannot write " + tmp_ + ": " + std::strerror(errno));
  const std::string path = store_.PathOf(id_);
  if (::rename(tmp_.c_str(), path.c_str()) != 0) {
    throw Error(ErrorCode::kIo, "cannot rename " + tmp_ + " to " + path + ": " + std::strerror(errno));
  }
  finished_ = true;
  SyncDir(store_.root());
  return id_;
}

// ---------------------------------------------------------------- PackReader

PackReader::~PackReader() {
  for (const auto& [id, fd] : fds_) ::close(fd);
}

void PackReader::Read(const PieceLocation& where, std::vector<std::byte>* out) {
  const std::string path = store_.PathOf(where.pack);
  auto it = fds_.find(where.pack);
  if (it == fds_.end()) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw Error(ErrorCode::kIo, "pack " + path + " of piece " + where.sha + " is missing: " +
                                      std::strerror(errno));
    }
    it = fds_.emplace(where.pack, fd).first;
  }
  out->resize(where.size);
  if (!PreadAll(it->second, out->data(), out->size(), where.offset, path)) {
    throw Error(ErrorCode::kIo, "cannot read piece " + where.sha + " from " + path +
                                    ": the pack is shorter than the index says");
  }
}

}  // namespace ark::registry::internal
