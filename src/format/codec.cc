// Chunk codecs (zstd, zlib, lzma/.xz) and the byte-shuffle filter
// (docs/FORMAT.md §3.1, §3.2).
//
// Compression is deterministic: the output depends only on the input bytes,
// the codec and its level (for a given library version). Decompression runs
// on untrusted bytes: the caller supplies `out` sized from the checked
// manifest, every decoder writes only into `out`, nothing is allocated from a
// size read out of a stream, and a stream must decode to exactly out.size()
// bytes and end exactly at the end of `stored`, or kCodecError is thrown.
//
// Thread safety: all functions may run concurrently; codec contexts are
// per-thread.
#include "ark/format/codec.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

#include "ark/format/error.h"
#include "ark/format/limits.h"

namespace ark::format {
namespace {

[[noreturn]] void CodecFail(const char* codec, const std::string& why) {
  throw Error(ErrorCode::kCodecError, std::string(codec) + " chunk: " + why);
}

std::string Bytes(size_t n) { return std::to_string(n) + " bytes"; }

// ---- zstd ------------------------------------------------------------------

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

std::vector<std::byte> ZstdCompress(int level, std::span<const std::byte> raw) {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) throw std::bad_alloc();
  // Resetting the parameters first keeps a reused context from carrying
  // settings between calls. The frame records its content size (checked on
  // read) and an XXH64 checksum, so a corrupt chunk fails in the codec, like
  // zlib's Adler-32 and xz's CRC64, before the blob's SHA-256 is computed.
  ZSTD_CCtx* c = cctx.get();
  size_t rc = ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(rc)) CodecFail("zstd", std::string("setup failed: ") + ZSTD_getErrorName(rc));
  std::vector<std::byte> stored(ZSTD_compressBound(raw.size()));
  const size_t n = ZSTD_compress2(c, stored.data(), stored.size(), raw.data(), raw.size());
  if (ZSTD_isError(n))
    CodecFail("zstd", std::string("compression failed: ") + ZSTD_getErrorName(n));
  stored.resize(n);
  return stored;
}

void ZstdDecompress(std::span<const std::byte> stored, std::span<std::byte> out) {
  // One frame per chunk: refuse concatenated or skippable extra frames and
  // trailing bytes, which ZSTD_decompressDCtx would otherwise accept.
  const size_t frame = ZSTD_findFrameCompressedSize(stored.data(), stored.size());
  if (ZSTD_isError(frame)) {
    CodecFail("zstd", std::string("invalid frame: ") + ZSTD_getErrorName(frame));
  }
  if (frame != stored.size()) {
    CodecFail("zstd", Bytes(stored.size() - frame) + " after the end of the frame");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) CodecFail("zstd", "invalid frame header");
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != out.size()) {
    CodecFail("zstd", "frame declares " + std::to_string(content) + " bytes, expected " +
                          Bytes(out.size()));
  }
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) throw std::bad_alloc();
  // Decoding straight into `out` bounds the output and needs no window
  // buffer, whatever window size the frame claims.
  const size_t n =
      ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(n)) {
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) {
      CodecFail("zstd", "decodes to more than the expected " + Bytes(out.size()));
    }
    CodecFail("zstd", std::string("invalid stream: ") + ZSTD_getErrorName(n));
  }
  if (n != out.size()) {
    CodecFail("zstd", "decodes to " + Bytes(n) + ", expected " + Bytes(out.size()));
  }
}

// ---- zlib ------------------------------------------------------------------

std::vector<std::byte> ZlibCompress(int level, std::span<const std::byte> raw) {
  uLongf size = compressBound(raw.size());
  std::vector<std::byte> stored(size);
  const int rc = compress2(reinterpret_cast<Bytef*>(stored.data()), &size,
                           reinterpret_cast<const Bytef*>(raw.data()), raw.size(), level);
  if (rc != Z_OK) CodecFail("zlib", "compression failed with code " + std::to_string(rc));
  stored.resize(size);
  return stored;
}

struct Inflater {
  z_stream z{};
  Inflater() {
    if (inflateInit(&z) != Z_OK) throw std::bad_alloc();
  }
  ~Inflater() { inflateEnd(&z); }
};

void ZlibDecompress(std::span<const std::byte> stored, std::span<std::byte> out) {
  Inflater inflater;
  z_stream& z = inflater.z;
  // zlib counts in uInt; feed and drain in pieces so chunks of any size work.
  constexpr size_t kStep = UINT_MAX;
  size_t in_pos = 0;
  size_t out_pos = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && in_pos < stored.size()) {
      const size_t n = std::min(kStep, stored.size() - in_pos);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(stored.data() + in_pos));
      z.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (z.avail_out == 0 && out_pos < out.size()) {
      const size_t n = std::min(kStep, out.size() - out_pos);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
      z.avail_out = static_cast<uInt>(n);
      out_pos += n;
    }
    Bytef probe;
    const bool out_full = z.avail_out == 0;
    if (out_full) {
      // `out` is full but the stream has not ended: decode into a one-byte
      // probe to tell "too long" from "truncated".
      z.next_out = &probe;
      z.avail_out = 1;
    }
    rc = inflate(&z, Z_NO_FLUSH);
    if (out_full) {
      if (z.avail_out == 0) {
        CodecFail("zlib", "decodes to more than the expected " + Bytes(out.size()));
      }
      z.avail_out = 0;
      z.next_out = nullptr;
    }
    switch (rc) {
      case Z_OK:
      case Z_STREAM_END:
        break;
      case Z_BUF_ERROR:
        // No progress possible: out of input (out of output was probed above).
        if (z.avail_in == 0 && in_pos == stored.size()) {
          CodecFail("zlib",
                    "truncated stream after " + Bytes(z.total_out) + " of " + Bytes(out.size()));
        }
        break;
      case Z_NEED_DICT:
        CodecFail("zlib", "stream needs a preset dictionary");
      case Z_MEM_ERROR:
        throw std::bad_alloc();
      default:
        CodecFail("zlib", std::string("invalid stream: ") + (z.msg ? z.msg : "data error"));
    }
  }
  if (z.total_out != out.size()) {
    CodecFail("zlib", "decodes to " + Bytes(z.total_out) + ", expected " + Bytes(out.size()));
  }
  const size_t consumed = in_pos - z.avail_in;
  if (consumed != stored.size()) {
    CodecFail("zlib", Bytes(stored.size() - consumed) + " after the end of the stream");
  }
}

// ---- lzma (.xz) ------------------------------------------------------------

// Enough for the largest dictionary of any preset (64 MiB at level 9) with
// room for the decoder's own state; a stream asking for more is hostile.
constexpr uint64_t kLzmaMemLimit = 96ull << 20;
constexpr size_t kLzmaMinDict = 4096;  // LZMA_DICT_SIZE_MIN

std::vector<std::byte> LzmaCompress(int level, std::span<const std::byte> raw) {
  lzma_options_lzma options;
  if (lzma_lzma_preset(&options, static_cast<uint32_t>(level))) {
    CodecFail("lzma", "unsupported preset " + std::to_string(level));
  }
  // A dictionary larger than the chunk finds no extra matches but costs the
  // encoder (up to ~670 MiB at level 9) and every decoder memory; clamping it
  // to the chunk size, as xz does for small files, keeps output a function of
  // (input, level) while bounding memory by the chunk size.
  const uint64_t wanted = std::max<uint64_t>(raw.size(), kLzmaMinDict);
  if (wanted < options.dict_size) options.dict_size = static_cast<uint32_t>(wanted);
  lzma_filter filters[] = {{LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
  std::vector<std::byte> stored(lzma_stream_buffer_bound(raw.size()));
  size_t out_pos = 0;
  const lzma_ret rc = lzma_stream_buffer_encode(
      filters, LZMA_CHECK_CRC64, nullptr, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
      reinterpret_cast<uint8_t*>(stored.data()), &out_pos, stored.size());
  if (rc == LZMA_MEM_ERROR) throw std::bad_alloc();
  if (rc != LZMA_OK) CodecFail("lzma", "compression failed with code " + std::to_string(rc));
  stored.resize(out_pos);
  return stored;
}

void LzmaDecompress(std::span<const std::byte> stored, std::span<std::byte> out) {
  // Stream header: 6 magic bytes, then flags 0x00 and the check id.
  constexpr size_t kCheckIdOffset = 7;
  if (stored.size() > kCheckIdOffset &&
      std::memcmp(stored.data(),
                  "\xFD"
                  "7zXZ\0",
                  6) == 0 &&
      (stored[6] != std::byte{0} || stored[kCheckIdOffset] != std::byte{LZMA_CHECK_CRC64})) {
    CodecFail("lzma", ".xz stream does not use the CRC64 check");
  }
  uint64_t memlimit = kLzmaMemLimit;
  size_t in_pos = 0;
  size_t out_pos = 0;
  // Without LZMA_CONCATENATED exactly one stream is decoded and in_pos tells
  // where it ended, so trailing bytes (even xz stream padding) are caught.
  const lzma_ret rc = lzma_stream_buffer_decode(
      &memlimit, 0, nullptr, reinterpret_cast<const uint8_t*>(stored.data()), &in_pos,
      stored.size(), reinterpret_cast<uint8_t*>(out.data()), &out_pos, out.size());
  switch (rc) {
    case LZMA_OK:
      break;
    case LZMA_BUF_ERROR:
      // liblzma reports a full `out` with an unfinished stream this way;
      // a truncated input with room left in `out` is LZMA_DATA_ERROR.
      CodecFail("lzma", "does not end within the expected " + Bytes(out.size()) +
                            " (stream too long or truncated)");
    case LZMA_MEMLIMIT_ERROR:
      CodecFail("lzma", "stream needs " + std::to_string(memlimit) +
                            " bytes of memory to decode, over the limit of " +
                            std::to_string(kLzmaMemLimit));
    case LZMA_MEM_ERROR:
      throw std::bad_alloc();
    case LZMA_FORMAT_ERROR:
      CodecFail("lzma", "not an .xz stream");
    case LZMA_OPTIONS_ERROR:
      CodecFail("lzma", "unsupported .xz options");
    case LZMA_DATA_ERROR:
      CodecFail("lzma", "corrupt or truncated stream");
    default:
      CodecFail("lzma", "decoder failed with code " + std::to_string(rc));
  }
  if (out_pos != out.size()) {
    CodecFail("lzma", "decodes to " + Bytes(out_pos) + ", expected " + Bytes(out.size()));
  }
  if (in_pos != stored.size()) {
    CodecFail("lzma", Bytes(stored.size() - in_pos) + " after the end of the stream");
  }
}

// ---- shuffle ---------------------------------------------------------------

// The transpose runs over tiles of kTileItems items × up to kTileBytes bytes
// of each item, so both the strided side (one cache line per item) and the
// contiguous side (one run per byte plane) of a tile stay in L1, whatever
// the item size: 56-byte tree nodes and 4 KiB opaque items alike.
constexpr size_t kTileBytes = 64;
constexpr size_t kTileItems = 128;

void CheckShuffleArgs(const char* what, std::span<const std::byte> in, std::span<std::byte> out,
                      size_t itemsize) {
  if (itemsize == 0 || in.size() != out.size() || in.size() % itemsize != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + ": sizes " + std::to_string(in.size()) + " and " +
                    std::to_string(out.size()) + " do not fit item size " +
                    std::to_string(itemsize));
  }
  // Compared as integers: relational operators on pointers into different
  // objects are unspecified.
  const auto a = reinterpret_cast<uintptr_t>(in.data());
  const auto b = reinterpret_cast<uintptr_t>(out.data());
  if (!in.empty() && a < b + out.size() && b < a + in.size()) {
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": input and output overlap");
  }
}

// kSize is the item size when known at compile time (letting the compiler
// unroll and vectorise the common 2/4/8/16-byte cases), or 0 to use
// `itemsize`. The inner loops carry no dependence between iterations.
template <size_t kSize>
void ShuffleImpl(const std::byte* in, std::byte* out, size_t n, size_t itemsize) {
  const size_t s = kSize != 0 ? kSize : itemsize;
  for (size_t i0 = 0; i0 < n; i0 += kTileItems) {
    const size_t count = std::min(kTileItems, n - i0);
    for (size_t b0 = 0; b0 < s; b0 += kTileBytes) {
      const size_t b_end = std::min(s, b0 + kTileBytes);
      for (size_t b = b0; b < b_end; ++b) {
        const std::byte* src = in + i0 * s + b;
        std::byte* dst = out + b * n + i0;
        for (size_t i = 0; i < count; ++i) dst[i] = src[i * s];
      }
    }
  }
}

template <size_t kSize>
void UnshuffleImpl(const std::byte* in, std::byte* out, size_t n, size_t itemsize) {
  const size_t s = kSize != 0 ? kSize : itemsize;
  for (size_t i0 = 0; i0 < n; i0 += kTileItems) {
    const size_t count = std::min(kTileItems, n - i0);
    for (size_t b0 = 0; b0 < s; b0 += kTileBytes) {
      const size_t b_end = std::min(s, b0 + kTileBytes);
      if constexpr (kSize != 0) {
        // Plane-major: contiguous loads the compiler vectorises.
        for (size_t b = b0; b < b_end; ++b) {
          const std::byte* src = in + b * n + i0;
          std::byte* dst = out + i0 * s + b;
          for (size_t i = 0; i < count; ++i) dst[i * s] = src[i];
        }
      } else {
        // Item-major: each item's bytes are written in one run, which for
        // odd and large item sizes beats scattering a byte per item.
        for (size_t i = 0; i < count; ++i) {
          const std::byte* src = in + i0 + i;
          std::byte* dst = out + (i0 + i) * s;
          for (size_t b = b0; b < b_end; ++b) dst[b] = src[b * n];
        }
      }
    }
  }
}

}  // namespace

const char* CodecName(CodecKind kind) {
  switch (kind) {
    case CodecKind::kNone:
      return "none";
    case CodecKind::kZstd:
      return "zstd";
    case CodecKind::kZlib:
      return "zlib";
    case CodecKind::kLzma:
      return "lzma";
  }
  return "unknown";
}

CodecKind ParseCodecName(const std::string& name) {
  for (CodecKind kind : {CodecKind::kNone, CodecKind::kZstd, CodecKind::kZlib, CodecKind::kLzma}) {
    if (name == CodecName(kind)) return kind;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "unknown codec '" + name.substr(0, 64) + "' (known: none, zstd, zlib, lzma)");
}

void CheckLevel(const Codec& codec) {
  int low = 0;
  int high = 0;
  switch (codec.kind) {
    case CodecKind::kNone:
      return;
    case CodecKind::kZstd:
      low = 1, high = 19;
      break;
    case CodecKind::kZlib:
      low = 1, high = 9;
      break;
    case CodecKind::kLzma:
      low = 0, high = 9;
      break;
    default:
      throw Error(ErrorCode::kInvalidArgument, "unknown codec kind");
  }
  if (codec.level < low || codec.level > high) {
    throw Error(ErrorCode::kInvalidArgument, std::string(CodecName(codec.kind)) + " level " +
                                                 std::to_string(codec.level) + " is outside " +
                                                 std::to_string(low) + ".." + std::to_string(high));
  }
}

std::vector<std::byte> CompressChunk(const Codec& codec, std::span<const std::byte> raw) {
  CheckLevel(codec);
  switch (codec.kind) {
    case CodecKind::kZstd:
      return ZstdCompress(codec.level, raw);
    case CodecKind::kZlib:
      return ZlibCompress(codec.level, raw);
    case CodecKind::kLzma:
      return LzmaCompress(codec.level, raw);
    default:
      throw Error(ErrorCode::kInvalidArgument, "CompressChunk needs a compressing codec");
  }
}

void DecompressChunk(CodecKind kind, std::span<const std::byte> stored, std::span<std::byte> out) {
  switch (kind) {
    case CodecKind::kZstd:
      return ZstdDecompress(stored, out);
    case CodecKind::kZlib:
      return ZlibDecompress(stored, out);
    case CodecKind::kLzma:
      return LzmaDecompress(stored, out);
    default:
      throw Error(ErrorCode::kInvalidArgument, "DecompressChunk needs a compressing codec");
  }
}

void Shuffle(std::span<const std::byte> in, std::span<std::byte> out, size_t itemsize) {
  CheckShuffleArgs("Shuffle", in, out, itemsize);
  const size_t n = in.size() / itemsize;
  switch (itemsize) {
    case 1:
      if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
      return;
    case 2:
      return ShuffleImpl<2>(in.data(), out.data(), n, 2);
    case 4:
      return ShuffleImpl<4>(in.data(), out.data(), n, 4);
    case 8:
      return ShuffleImpl<8>(in.data(), out.data(), n, 8);
    case 16:
      return ShuffleImpl<16>(in.data(), out.data(), n, 16);
    default:
      return ShuffleImpl<0>(in.data(), out.data(), n, itemsize);
  }
}

void Unshuffle(std::span<const std::byte> in, std::span<std::byte> out, size_t itemsize) {
  CheckShuffleArgs("Unshuffle", in, out, itemsize);
  const size_t n = in.size() / itemsize;
  switch (itemsize) {
    case 1:
      if (!in.empty()) std::memcpy(out.data(), in.data(), in.size());
      return;
    case 2:
      return UnshuffleImpl<2>(in.data(), out.data(), n, 2);
    case 4:
      return UnshuffleImpl<4>(in.data(), out.data(), n, 4);
    case 8:
      return UnshuffleImpl<8>(in.data(), out.data(), n, 8);
    case 16:
      return UnshuffleImpl<16>(in.data(), out.data(), n, 16);
    default:
      return UnshuffleImpl<0>(in.data(), out.data(), n, itemsize);
  }
}

}  // namespace ark::format
