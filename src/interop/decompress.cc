#include "decompress.h"

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

#include "ark/format/error.h"

namespace ark::interop {
namespace {

// liblzma allocates the dictionary the stream header asks for: cap it (xz -9
// needs ~65 MiB).
constexpr uint64_t kLzmaMemLimit = uint64_t{256} << 20;
constexpr size_t kFirstChunk = size_t{1} << 16;
// zlib and bzip2 count in 32-bit units.
constexpr size_t kMaxStep = size_t{1} << 30;

bool StartsWith(std::string_view bytes, std::string_view prefix) {
  return bytes.substr(0, prefix.size()) == prefix;
}

[[noreturn]] void Fail(ErrorCode code, const std::string& codec, const std::string& what) {
  throw Error(code, "pickle: " + codec + " stream: " + what);
}

// A malloc'd buffer that owns decompressed bytes: realloc grows it without
// zero-filling, and for large blocks without copying (glibc moves the pages).
struct MallocBytes {
  explicit MallocBytes(char* data) : data(data) {}
  ~MallocBytes() { std::free(data); }
  MallocBytes(const MallocBytes&) = delete;
  MallocBytes& operator=(const MallocBytes&) = delete;
  char* data;
};

// Output buffer growing geometrically up to max_bytes + 1 (the extra byte
// tells "exactly the limit" from "over it").
class Output {
 public:
  // `hint`: the compressed size, to start the buffer at a plausible size.
  Output(const std::string& codec, uint64_t max_bytes, size_t hint)
      : codec_(codec), max_(max_bytes), hint_(hint) {}
  ~Output() { std::free(buffer_); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Room for the next step of the decoder: pointer and size.
  char* Room(size_t* size) {
    if (used_ == capacity_) {
      const uint64_t cap = max_ == std::numeric_limits<uint64_t>::max() ? max_ : max_ + 1;
      if (capacity_ >= cap) {
        Fail(ErrorCode::kLimitExceeded, codec_,
             "decompresses to more than the limit of " + std::to_string(max_) + " bytes");
      }
      // First 4x the compressed size (joblib's zlib-3 output is ~5x), then
      // doubling.
      const uint64_t first = std::max<uint64_t>(kFirstChunk, std::min<uint64_t>(hint_, kMaxHint) * 4);
      const uint64_t grown = capacity_ == 0 ? first : uint64_t{capacity_} * 2;
      const auto next = static_cast<size_t>(std::min(grown, cap));
      char* moved = static_cast<char*>(std::realloc(buffer_, next));
      if (moved == nullptr) throw std::bad_alloc();
      buffer_ = moved;
      capacity_ = next;
    }
    *size = std::min(capacity_ - used_, kMaxStep);
    return buffer_ + used_;
  }
  void Commit(size_t n) {
    used_ += n;
    if (used_ > max_) {
      Fail(ErrorCode::kLimitExceeded, codec_,
           "decompresses to more than the limit of " + std::to_string(max_) + " bytes");
    }
  }
  PickleSource Take() {
    // Give back the unused tail (cheap: no copy for large blocks).
    if (used_ > 0 && used_ < capacity_) {
      if (char* shrunk = static_cast<char*>(std::realloc(buffer_, used_))) buffer_ = shrunk;
    }
    auto owner = std::make_shared<const MallocBytes>(buffer_);
    const std::string_view bytes(buffer_ != nullptr ? buffer_ : "", used_);
    buffer_ = nullptr;
    capacity_ = used_ = 0;
    return PickleSource(std::shared_ptr<const void>(std::move(owner)), bytes);
  }

 private:
  static constexpr uint64_t kMaxHint = uint64_t{1} << 30;
  std::string codec_;
  uint64_t max_;
  size_t hint_;
  char* buffer_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

PickleSource InflateZlib(const std::string& codec, std::string_view in, uint64_t max_bytes) {
  const bool gzip = codec == "gzip";
  Output out(codec, max_bytes, in.size());
  size_t pos = 0;
  do {
    z_stream z{};
    if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
      Fail(ErrorCode::kCodecError, codec, "cannot initialise zlib");
    }
    int rc = Z_OK;
    try {
      while (rc != Z_STREAM_END) {
        const size_t in_step = std::min(in.size() - pos, kMaxStep);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
        z.avail_in = static_cast<uInt>(in_step);
        size_t room = 0;
        char* dst = out.Room(&room);
        z.next_out = reinterpret_cast<Bytef*>(dst);
        z.avail_out = static_cast<uInt>(room);
        rc = inflate(&z, Z_NO_FLUSH);
        pos += in_step - z.avail_in;
        out.Commit(room - z.avail_out);
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && pos == in.size() && z.avail_out != 0) {
          Fail(ErrorCode::kTruncated, codec, "the input ends inside the compressed stream");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
          Fail(ErrorCode::kCodecError, codec, z.msg != nullptr ? z.msg : "invalid data");
        }
      }
    } catch (...) {
      inflateEnd(&z);
      throw;
    }
    inflateEnd(&z);
  } while (gzip && pos < in.size() && StartsWith(in.substr(pos), "\x1f\x8b"));
  if (pos != in.size()) {
    Fail(ErrorCode::kCodecError, codec,
         std::to_string(in.size() - pos) + " bytes follow the end of the compressed stream");
  }
  return out.Take();
}

PickleSource InflateBz2(std::string_view in, uint64_t max_bytes) {
  const std::string codec = "bz2";
  Output out(codec, max_bytes, in.size());
  size_t pos = 0;
  do {
    bz_stream z{};
    if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
      Fail(ErrorCode::kCodecError, codec, "cannot initialise bzip2");
    int rc = BZ_OK;
    try {
      while (rc != BZ_STREAM_END) {
        const size_t in_step = std::min(in.size() - pos, kMaxStep);
        z.next_in = const_cast<char*>(in.data() + pos);
        z.avail_in = static_cast<unsigned>(in_step);
        size_t room = 0;
        z.next_out = out.Room(&room);
        z.avail_out = static_cast<unsigned>(room);
        rc = BZ2_bzDecompress(&z);
        pos += in_step - z.avail_in;
        out.Commit(room - z.avail_out);
        if (rc == BZ_STREAM_END) break;
        if (rc != BZ_OK)
          Fail(ErrorCode::kCodecError, codec, "invalid data (code " + std::to_string(rc) + ")");
        if (pos == in.size() && z.avail_out != 0) {
          Fail(ErrorCode::kTruncated, codec, "the input ends inside the compressed stream");
        }
      }
    } catch (...) {
      BZ2_bzDecompressEnd(&z);
      throw;
    }
    BZ2_bzDecompressEnd(&z);
  } while (pos < in.size() && StartsWith(in.substr(pos), "BZh"));
  if (pos != in.size()) {
    Fail(ErrorCode::kCodecError, codec,
         std::to_string(in.size() - pos) + " bytes follow the end of the compressed stream");
  }
  return out.Take();
}

PickleSource InflateLzma(const std::string& codec, std::string_view in, uint64_t max_bytes) {
  const bool xz = codec == "xz";
  Output out(codec, max_bytes, in.size());
  size_t pos = 0;
  for (;;) {
    lzma_stream z = LZMA_STREAM_INIT;
    const lzma_ret init =
        xz ? lzma_stream_decoder(&z, kLzmaMemLimit, 0) : lzma_alone_decoder(&z, kLzmaMemLimit);
    if (init != LZMA_OK) Fail(ErrorCode::kCodecError, codec, "cannot initialise liblzma");
    try {
      lzma_ret rc = LZMA_OK;
      while (rc != LZMA_STREAM_END) {
        const size_t in_step = std::min(in.size() - pos, kMaxStep);
        z.next_in = reinterpret_cast<const uint8_t*>(in.data() + pos);
        z.avail_in = in_step;
        size_t room = 0;
        z.next_out = reinterpret_cast<uint8_t*>(out.Room(&room));
        z.avail_out = room;
        rc = lzma_code(&z, LZMA_RUN);
        pos += in_step - z.avail_in;
        out.Commit(room - z.avail_out);
        if (rc == LZMA_STREAM_END) break;
        if (rc == LZMA_MEMLIMIT_ERROR) {
          Fail(ErrorCode::kLimitExceeded, codec,
               "needs more than " + std::to_string(kLzmaMemLimit >> 20) + " MiB to decode");
        }
        if (rc != LZMA_OK && rc != LZMA_BUF_ERROR) {
          Fail(ErrorCode::kCodecError, codec,
               "invalid data (liblzma code " + std::to_string(rc) + ")");
        }
        if (pos == in.size() && z.avail_out != 0) {
          Fail(ErrorCode::kTruncated, codec, "the input ends inside the compressed stream");
        }
      }
    } catch (...) {
      lzma_end(&z);
      throw;
    }
    lzma_end(&z);
    if (!xz) break;
    // Between and after .xz streams: stream padding (zero bytes, a multiple of 4).
    size_t padding = 0;
    while (pos + padding < in.size() && in[pos + padding] == '\0') ++padding;
    if (padding % 4 == 0) pos += padding;
    if (pos == in.size() || !StartsWith(in.substr(pos), "\xfd\x37\x7a\x58\x5a")) break;
  }
  if (pos != in.size()) {
    Fail(ErrorCode::kCodecError, codec,
         std::to_string(in.size() - pos) + " bytes follow the end of the compressed stream");
  }
  return out.Take();
}

}  // namespace

std::string DetectCompression(std::string_view bytes) {
  if (StartsWith(bytes, "\x1f\x8b")) return "gzip";
  if (StartsWith(bytes, "\x78")) return "zlib";
  if (StartsWith(bytes, "BZ")) return "bz2";
  if (StartsWith(bytes, "\xfd\x37\x7a\x58\x5a")) return "xz";
  if (StartsWith(bytes, std::string_view("\x5d\x00", 2))) return "lzma";
  if (StartsWith(bytes, "\x04\x22\x4d\x18")) {
    throw Error(ErrorCode::kUnsupported,
                "pickle: lz4-compressed joblib file; this build cannot read lz4");
  }
  if (StartsWith(bytes, "ZF")) {
    throw Error(ErrorCode::kUnsupported,
                "pickle: a joblib < 0.9.3 'ZF' file; load and re-save it with a recent joblib");
  }
  return "";
}

PickleSource Decompress(const std::string& codec, std::string_view bytes, uint64_t max_bytes) {
  if (codec == "zlib" || codec == "gzip") return InflateZlib(codec, bytes, max_bytes);
  if (codec == "bz2") return InflateBz2(bytes, max_bytes);
  if (codec == "xz" || codec == "lzma") return InflateLzma(codec, bytes, max_bytes);
  throw Error(ErrorCode::kInvalidArgument, "pickle: unknown codec '" + codec + "'");
}

}  // namespace ark::interop
