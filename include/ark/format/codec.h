// Codecs and filters for blob bytes (docs/FORMAT.md §3.1, §3.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ark::format {

enum class CodecKind { kNone, kZstd, kZlib, kLzma };
enum class Filter { kNone, kShuffle };

struct Codec {
  CodecKind kind = CodecKind::kNone;
  int level = 0;  // ignored for kNone

  static Codec None() { return {}; }
  static Codec Zstd(int level = 3) { return {CodecKind::kZstd, level}; }
  static Codec Zlib(int level = 3) { return {CodecKind::kZlib, level}; }
  static Codec Lzma(int level = 3) { return {CodecKind::kLzma, level}; }
  bool operator==(const Codec&) const = default;
};

const char* CodecName(CodecKind kind);  // "none", "zstd", "zlib", "lzma"
// Parses "zstd" etc.; throws ark::Error(kInvalidArgument) for unknown names.
CodecKind ParseCodecName(const std::string& name);
// Throws kInvalidArgument when the level is outside the codec's range.
void CheckLevel(const Codec& codec);

// Compresses one chunk. Deterministic for the same input and codec.
// REQUIRES: codec.kind != kNone.
std::vector<std::byte> CompressChunk(const Codec& codec, std::span<const std::byte> raw);

// Decompresses one chunk into `out`, which has exactly the expected raw size.
// Throws ark::Error(kCodecError) when the stream is invalid or decodes to a
// different size; never writes past `out`.
void DecompressChunk(CodecKind kind, std::span<const std::byte> stored, std::span<std::byte> out);

// Byte transpose for items of `itemsize` bytes (FORMAT.md §3.2).
// REQUIRES: in.size() == out.size(), a multiple of itemsize.
void Shuffle(std::span<const std::byte> in, std::span<std::byte> out, size_t itemsize);
void Unshuffle(std::span<const std::byte> in, std::span<std::byte> out, size_t itemsize);

}  // namespace ark::format
