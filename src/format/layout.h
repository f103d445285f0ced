// Fixed-size structures of the .ark byte layout (docs/FORMAT.md §1): the
// header and footer codecs, little-endian integer access and alignment.
// Decoding never validates: callers (the reader) check each field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ark/format/limits.h"
#include "ark/format/sha256.h"

namespace ark::format {

struct Header {
  uint16_t major = kMajorVersion;
  uint16_t minor = kMinorVersion;
};

struct Footer {
  uint64_t manifest_offset = 0;
  uint64_t manifest_size = 0;
  Digest file_digest{};
  uint16_t major = kMajorVersion;
  uint16_t minor = kMinorVersion;
  uint32_t flags = 0;
};

// Byte offsets of the fields inside the header and footer.
inline constexpr size_t kHeaderMajorAt = 8;
inline constexpr size_t kHeaderMinorAt = 10;
inline constexpr size_t kHeaderReservedAt = 12;
inline constexpr size_t kFooterManifestOffsetAt = 0;
inline constexpr size_t kFooterManifestSizeAt = 8;
inline constexpr size_t kFooterDigestAt = 16;
inline constexpr size_t kFooterMajorAt = 48;
inline constexpr size_t kFooterMinorAt = 50;
inline constexpr size_t kFooterFlagsAt = 52;
inline constexpr size_t kFooterMagicAt = 56;

inline uint64_t LoadLe(std::span<const std::byte> bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= static_cast<uint64_t>(bytes[at + i]) << (8 * i);
  }
  return value;
}

inline void StoreLe(std::span<std::byte> bytes, size_t at, size_t width, uint64_t value) {
  for (size_t i = 0; i < width; ++i) bytes[at + i] = static_cast<std::byte>(value >> (8 * i));
}

// Rounds up to the blob alignment; nullopt when that overflows 64 bits.
inline std::optional<uint64_t> AlignUp(uint64_t value) {
  const uint64_t rounded = (value + (kAlignment - 1)) & ~(kAlignment - 1);
  if (rounded < value) return std::nullopt;
  return rounded;
}

std::array<std::byte, kHeaderSize> EncodeHeader(const Header& header);
std::array<std::byte, kFooterSize> EncodeFooter(const Footer& footer);

// REQUIRES: bytes.size() == kFooterSize. The magic is not checked.
Footer DecodeFooter(std::span<const std::byte> bytes);

}  // namespace ark::format
