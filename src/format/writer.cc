// Implementation of writer.h.
//
// Pipeline: AddBlob validates on the caller's thread, queues chunk
// compression on a worker pool, and hands the blob to one I/O thread that
// writes blobs strictly in table order (offsets depend on the sizes before
// them). Meanwhile the caller computes the blob's SHA-256, so hashing,
// compressing and writing overlap, within a blob and across blobs.
//
// Dedup needs the hash before AddBlob can return an index. To keep hashing
// off the critical path, a blob is hashed *before* being queued only when an
// earlier blob has the same dtype, shape and aux (the only case where it can
// be a duplicate); otherwise it is queued first and hashed while it is written.
#include "ark/format/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/format/limits.h"
#include "ark/format/reader.h"
#include "layout.h"
#include "manifest_schema.h"
#include "parallel.h"

namespace ark::format {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kTempNameAttempts = 16;
// With fsync on, the kernel is asked to start writing back every this many
// bytes, so that the final fsync finds little left to do: disk writes then
// overlap hashing and compression instead of following them.
constexpr size_t kWritebackSegment = 8u << 20;
const std::byte kZeroPadding[kAlignment] = {};

[[noreturn]] void ThrowIo(const std::string& what, const std::string& path, int error) {
  throw Error(ErrorCode::kIo, what + " '" + path + "': " + std::strerror(error));
}

// Where the file's bytes go. Append is called by one thread at a time.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Append(std::span<const std::byte> bytes) = 0;
  // Makes the written bytes the destination's content.
  virtual void Publish(bool fsync) = 0;
};

class FileSink final : public Sink {
 public:
  static std::unique_ptr<FileSink> Create(const std::string& path, bool fsync) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name.empty()) {
      throw Error(ErrorCode::kInvalidArgument, "cannot write '" + path + "': not a file name");
    }
    std::random_device entropy;
    for (int attempt = 0; attempt < kTempNameAttempts; ++attempt) {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, "%ld-%08x", static_cast<long>(::getpid()),
                    static_cast<unsigned>(entropy()));
      const std::string temp =
          (slash == std::string::npos ? "" : dir) + "." + name + ".tmp-" + suffix;
      const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) return std::unique_ptr<FileSink>(new FileSink(path, temp, dir, fd, fsync));
      if (errno != EEXIST) ThrowIo("cannot create a temporary file beside", path, errno);
    }
    throw Error(ErrorCode::kIo, "cannot create a temporary file beside '" + path +
                                    "': every candidate name exists");
  }

  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
    if (!published_) ::unlink(temp_path_.c_str());
  }

  void Append(std::span<const std::byte> bytes) override {
    while (!bytes.empty()) {
      const size_t piece = std::min(bytes.size(), kWritebackSegment);
      const ssize_t written = ::write(fd_, bytes.data(), piece);
      if (written < 0) {
        if (errno == EINTR) continue;
        ThrowIo("cannot write", temp_path_, errno);
      }
      bytes = bytes.subspan(static_cast<size_t>(written));
      written_ += static_cast<uint64_t>(written);
      if (fsync_ && written_ - writeback_from_ >= kWritebackSegment) {
        // Only a hint: errors surface in the fsync at Publish.
        ::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                          static_cast<off_t>(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
        writeback_from_ = written_;
      }
    }
  }

  void Publish(bool fsync) override {
    if (fsync && ::fsync(fd_) != 0) ThrowIo("cannot fsync", temp_path_, errno);
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) ThrowIo("cannot close", temp_path_, errno);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      ThrowIo("cannot rename the temporary file onto", path_, errno);
    }
    published_ = true;
    if (fsync) {
      // The rename is durable only once the directory entry is.
      const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd < 0) ThrowIo("cannot open directory", dir_, errno);
      const int result = ::fsync(dir_fd);
      const int error = errno;
      ::close(dir_fd);
      if (result != 0) ThrowIo("cannot fsync directory", dir_, error);
    }
  }

 private:
  FileSink(std::string path, std::string temp, std::string dir, int fd, bool fsync)
      : path_(std::move(path)),
        temp_path_(std::move(temp)),
        dir_(std::move(dir)),
        fd_(fd),
        fsync_(fsync) {}

  std::string path_;
  std::string temp_path_;
  std::string dir_;
  int fd_;
  bool fsync_;
  bool published_ = false;
  uint64_t written_ = 0;
  uint64_t writeback_from_ = 0;
};

class MemorySink final : public Sink {
 public:
  void Append(std::span<const std::byte> bytes) override {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }
  void Publish(bool) override {}
  std::vector<std::byte> Take() { return std::move(buffer_); }

 private:
  std::vector<std::byte> buffer_;
};

// One AddBlob call's work in flight. The caller thread owns `info.sha256`;
// the I/O thread fills the placement fields (offset, sizes, chunks).
struct PendingBlob {
  BlobInfo info;
  std::span<const std::byte> data;
  std::vector<std::vector<std::byte>> compressed;  // one per chunk
  std::unique_ptr<std::latch> compressed_all;      // null when uncompressed
  std::mutex error_mutex;
  std::exception_ptr error;  // first compression failure
};

uint64_t ChooseChunkSize(const BlobOptions& options, uint64_t itemsize) {
  uint64_t chunk = options.chunk_size == 0 ? kDefaultChunkSize : options.chunk_size;
  if (chunk < kMinChunkSize || chunk > kMaxChunkSize) {
    throw Error(ErrorCode::kInvalidArgument, "chunk_size " + std::to_string(chunk) +
                                                 " is outside the allowed " +
                                                 std::to_string(kMinChunkSize) + " to " +
                                                 std::to_string(kMaxChunkSize) + " bytes");
  }
  if (options.filter == Filter::kShuffle && chunk % itemsize != 0) {
    // Shuffled chunks must hold whole items; prefer the smaller neighbour.
    const uint64_t down = chunk / itemsize * itemsize;
    const uint64_t up = down + itemsize;
    if (down >= kMinChunkSize) {
      chunk = down;
    } else if (up <= kMaxChunkSize) {
      chunk = up;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "the shuffle filter cannot handle items of " + std::to_string(itemsize) +
                      " bytes (chunks are at most " + std::to_string(kMaxChunkSize) +
                      "); use filter none");
    }
  }
  return chunk;
}

// raw <= kMaxExpansion * stored, the reader's rule (FORMAT.md §7).
bool WithinExpansionLimit(uint64_t raw, uint64_t stored) {
  return (raw + kMaxExpansion - 1) / kMaxExpansion <= stored;
}

std::string DedupShapeKey(const Json& dtype, const std::vector<uint64_t>& shape, bool aux) {
  std::string key = dtype.dump();
  key += aux ? "|aux|" : "|model|";
  for (uint64_t dim : shape) key += std::to_string(dim) + ",";
  return key;
}

class WriterImpl final : public Writer {
 public:
  WriterImpl(std::unique_ptr<Sink> sink, bool is_memory, const WriterOptions& options)
      : options_(options),
        is_memory_(is_memory),
        sink_(std::move(sink)),
        pool_(std::make_unique<WorkerPool>(ResolveThreadCount(options.threads))) {
    const auto header = EncodeHeader(Header{});
    sink_->Append(header);
    position_ = header.size();
    io_thread_ = std::thread([this] { RunIo(); });
  }

  ~WriterImpl() override {
    aborted_.store(true);
    StopIo();
    pool_.reset();  // tasks point into blobs_: finish them first
    // sink_ (declared after blobs_) removes the temporary file if unpublished.
  }

  uint64_t AddBlob(const Json& dtype, const std::vector<uint64_t>& shape,
                   std::span<const std::byte> data, const BlobOptions& options) override {
    if (finished_ || stopped_) {
      throw Error(ErrorCode::kInvalidArgument, "AddBlob called after Finish");
    }
    RethrowIoError();
    auto blob = std::make_unique<PendingBlob>();
    BlobInfo& info = blob->info;
    info.dtype = ParseDtype(dtype);
    info.dtype.descr = dtype;  // stored as given, so the caller's bytes are what is hashed
    if (shape.size() > kMaxDims) {
      throw Error(ErrorCode::kInvalidArgument, std::to_string(shape.size()) +
                                                   " dimensions exceed the limit of " +
                                                   std::to_string(kMaxDims));
    }
    info.shape = shape;
    info.raw_size = ByteCountOf(info.dtype.itemsize, shape);
    if (data.size() != info.raw_size) {
      throw Error(ErrorCode::kInvalidArgument,
                  "array data has " + std::to_string(data.size()) + " bytes but dtype " +
                      dtype.dump() + " and its shape need " + std::to_string(info.raw_size));
    }
    info.codec = options.codec;
    info.filter = options.filter;
    info.aux = options.aux;
    if (info.codec.kind == CodecKind::kNone) {
      info.codec.level = 0;
      if (info.filter != Filter::kNone) {
        throw Error(ErrorCode::kInvalidArgument,
                    "the shuffle filter needs a compressed codec (zstd, zlib or lzma)");
      }
    } else {
      CheckLevel(info.codec);
      info.chunk_size = ChooseChunkSize(options, info.dtype.itemsize);
    }
    if (blobs_.size() >= kMaxBlobs) {
      throw Error(ErrorCode::kLimitExceeded,
                  "a file holds at most " + std::to_string(kMaxBlobs) + " blobs");
    }
    blob->data = data;

    const std::string shape_key = DedupShapeKey(dtype, shape, options.aux);
    const bool may_duplicate = shape_keys_.contains(shape_key);
    if (may_duplicate) {
      info.sha256 = Sha256Of(data);
      auto it = known_.find(shape_key + ToHex(info.sha256));
      if (it != known_.end()) return it->second;
    }

    const uint64_t index = blobs_.size();
    PendingBlob* pending = blob.get();
    blobs_.push_back(std::move(blob));
    StartCompression(pending);
    Enqueue(pending);
    if (!may_duplicate) info.sha256 = Sha256Of(data);  // overlaps the I/O thread's work
    shape_keys_.insert(shape_key);
    known_.emplace(shape_key + ToHex(info.sha256), index);
    return index;
  }

  void Finish(const Json& root, const Json& sections) override {
    if (finished_ || stopped_) throw Error(ErrorCode::kInvalidArgument, "Finish called twice");
    if (!sections.is_null() && !sections.is_object()) {
      throw Error(ErrorCode::kInvalidArgument, "sections must be a JSON object or null, not " +
                                                   std::string(sections.type_name()));
    }
    StopIo();
    RethrowIoError();

    Json table = Json::array();
    for (const auto& blob : blobs_) table.push_back(BlobEntryToJson(blob->info));
    Json manifest = Json::object();
    manifest["ark"] = Json::object({{"version", Json::array({kMajorVersion, kMinorVersion})}});
    manifest["blobs"] = std::move(table);
    manifest["root"] = root;
    model_digest_ = ComputeModelDigest(root, manifest["blobs"]);
    manifest["model_digest"] = model_digest_;
    manifest["sections"] = sections.is_null() ? Json::object() : sections;
    std::string text;
    try {
      text = manifest.dump();
    } catch (const nlohmann::json::exception& error) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("the tree or sections cannot be stored as JSON: ") + error.what());
    }
    // Refuse to write what no reader would open.
    if (text.size() > kMaxManifestSize) {
      throw Error(ErrorCode::kLimitExceeded,
                  "the manifest would be " + std::to_string(text.size()) +
                      " bytes, over the limit of " + std::to_string(kMaxManifestSize) +
                      "; store large data as arrays");
    }
    if (JsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
      throw Error(ErrorCode::kLimitExceeded, "the tree nests deeper than the limit of " +
                                                 std::to_string(kMaxJsonDepth) + " levels");
    }

    PadToAlignment();
    Footer footer;
    footer.manifest_offset = position_;
    footer.manifest_size = text.size();
    footer.file_digest = Sha256Of(text);
    sink_->Append(std::as_bytes(std::span(text)));
    const auto footer_bytes = EncodeFooter(footer);
    sink_->Append(footer_bytes);
    position_ += text.size() + footer_bytes.size();
    sink_->Publish(options_.fsync);
    file_digest_ = footer.file_digest;
    finished_ = true;
  }

  Digest file_digest() const override {
    RequireFinished("file_digest");
    return file_digest_;
  }
  std::string model_digest() const override {
    RequireFinished("model_digest");
    return model_digest_;
  }
  uint64_t file_size() const override {
    RequireFinished("file_size");
    return position_;
  }
  std::vector<std::byte> TakeBuffer() override {
    RequireFinished("TakeBuffer");
    if (!is_memory_) {
      throw Error(ErrorCode::kInvalidArgument, "TakeBuffer needs a writer made by ToMemory");
    }
    return static_cast<MemorySink&>(*sink_).Take();
  }

 private:
  void RequireFinished(const char* what) const {
    if (!finished_) {
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + " is known only after Finish");
    }
  }

  void StartCompression(PendingBlob* blob) {
    const BlobInfo& info = blob->info;
    if (info.codec.kind == CodecKind::kNone) return;
    const uint64_t chunk = info.chunk_size;
    const size_t count = info.raw_size / chunk + (info.raw_size % chunk != 0 ? 1 : 0);
    blob->compressed.resize(count);
    blob->compressed_all = std::make_unique<std::latch>(static_cast<std::ptrdiff_t>(count));
    for (size_t k = 0; k < count; ++k) {
      pool_->Submit([this, blob, k, chunk] {
        if (!aborted_.load(std::memory_order_relaxed)) {
          try {
            const BlobInfo& info = blob->info;
            auto raw =
                blob->data.subspan(k * chunk, std::min<uint64_t>(chunk, info.raw_size - k * chunk));
            if (info.filter == Filter::kShuffle) {
              std::vector<std::byte> shuffled(raw.size());
              Shuffle(raw, shuffled, info.dtype.itemsize);
              blob->compressed[k] = CompressChunk(info.codec, shuffled);
            } else {
              blob->compressed[k] = CompressChunk(info.codec, raw);
            }
          } catch (...) {
            std::lock_guard lock(blob->error_mutex);
            if (!blob->error) blob->error = std::current_exception();
          }
        }
        blob->compressed_all->count_down();
      });
    }
  }

  void Enqueue(PendingBlob* blob) {
    {
      std::lock_guard lock(io_mutex_);
      io_queue_.push_back(blob);
    }
    io_wake_.notify_one();
  }

  // Ends the I/O thread after it has handled everything queued.
  void StopIo() {
    {
      std::lock_guard lock(io_mutex_);
      stopped_ = true;
    }
    io_wake_.notify_one();
    if (io_thread_.joinable()) io_thread_.join();
  }

  void RethrowIoError() {
    std::lock_guard lock(io_mutex_);
    if (io_error_) std::rethrow_exception(io_error_);
  }

  void RunIo() {
    for (;;) {
      PendingBlob* blob = nullptr;
      {
        std::unique_lock lock(io_mutex_);
        io_wake_.wait(lock, [this] { return stopped_ || !io_queue_.empty(); });
        if (io_queue_.empty()) return;
        blob = io_queue_.front();
        io_queue_.pop_front();
      }
      if (blob->compressed_all) blob->compressed_all->wait();
      bool failed = false;
      {
        std::lock_guard lock(io_mutex_);
        failed = io_error_ != nullptr;
      }
      if (failed || aborted_.load()) continue;
      try {
        WriteBlob(blob);
      } catch (...) {
        std::lock_guard lock(io_mutex_);
        io_error_ = std::current_exception();
      }
    }
  }

  // Runs on the I/O thread.
  void WriteBlob(PendingBlob* blob) {
    if (blob->error) std::rethrow_exception(blob->error);
    BlobInfo& info = blob->info;
    PadToAlignment();
    info.offset = position_;
    if (info.codec.kind != CodecKind::kNone) {
      bool expandable = true;
      for (size_t k = 0; k < blob->compressed.size(); ++k) {
        const uint64_t raw = std::min(info.chunk_size, info.raw_size - k * info.chunk_size);
        expandable = expandable && WithinExpansionLimit(raw, blob->compressed[k].size());
      }
      if (!expandable) {
        // A reader would refuse the chunk as a decompression bomb.
        info.codec = Codec::None();
        info.filter = Filter::kNone;
        info.chunk_size = 0;
      }
    }
    if (info.codec.kind == CodecKind::kNone) {
      sink_->Append(blob->data);
      info.stored_size = info.raw_size;
    } else {
      info.stored_size = 0;
      for (const auto& chunk : blob->compressed) {
        sink_->Append(chunk);
        info.chunks.push_back(chunk.size());
        info.stored_size += chunk.size();
      }
    }
    position_ += info.stored_size;
    std::vector<std::vector<std::byte>>().swap(blob->compressed);
  }

  void PadToAlignment() {
    const uint64_t aligned = *AlignUp(position_);
    sink_->Append(std::span(kZeroPadding, aligned - position_));
    position_ = aligned;
  }

  WriterOptions options_;
  bool is_memory_;
  std::vector<std::unique_ptr<PendingBlob>> blobs_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<WorkerPool> pool_;
  std::atomic<bool> aborted_{false};

  std::mutex io_mutex_;
  std::condition_variable io_wake_;
  std::deque<PendingBlob*> io_queue_;  // guarded by io_mutex_
  bool stopped_ = false;               // guarded by io_mutex_
  std::exception_ptr io_error_;        // guarded by io_mutex_
  std::thread io_thread_;
  uint64_t position_ = 0;  // the I/O thread's while it runs, Finish's after

  std::set<std::string> shape_keys_;
  std::map<std::string, uint64_t> known_;
  bool finished_ = false;
  Digest file_digest_{};
  std::string model_digest_;
};

}  // namespace

std::unique_ptr<Writer> Writer::ToFile(const std::string& path, const WriterOptions& options) {
  return std::make_unique<WriterImpl>(FileSink::Create(path, options.fsync), /*is_memory=*/false,
                                      options);
}

std::unique_ptr<Writer> Writer::ToMemory(const WriterOptions& options) {
  return std::make_unique<WriterImpl>(std::make_unique<MemorySink>(), /*is_memory=*/true, options);
}

Writer::~Writer() = default;

std::string ComputeModelDigest(const nlohmann::ordered_json& root,
                               const nlohmann::ordered_json& blob_table) {
  // Streams the compact form of {"root": root, "blobs": [[dtype, shape,
  // sha256], ...]} into the hash instead of building a copy of the tree.
  Sha256 hash;
  try {
    hash.Update(std::string_view("{\"root\":"));
    hash.Update(root.dump());
    hash.Update(std::string_view(",\"blobs\":["));
    bool first = true;
    for (const Json& entry : blob_table) {
      auto aux = entry.find("aux");
      if (aux != entry.end() && *aux == true) continue;
      const Json item = Json::array({entry.at("dtype"), entry.at("shape"), entry.at("sha256")});
      if (!first) hash.Update(std::string_view(","));
      hash.Update(item.dump());
      first = false;
    }
    hash.Update(std::string_view("]}"));
  } catch (const nlohmann::json::exception& error) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("cannot compute the model digest: ") + error.what());
  }
  return "sha256:" + ToHex(hash.Finish());
}

}  // namespace ark::format
