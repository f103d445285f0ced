// Limits a reader enforces and constants of the byte layout
// (docs/FORMAT.md §1 and §7). Changing one changes the format.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ark::format {

inline constexpr uint16_t kMajorVersion = 1;
inline constexpr uint16_t kMinorVersion = 0;

inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kFooterSize = 64;
inline constexpr uint64_t kAlignment = 64;
inline constexpr unsigned char kHeaderMagic[8] = {0x89, 'A', 'R', 'K', '\r', '\n', 0x1a, '\n'};
inline constexpr unsigned char kFooterMagic[8] = {'A', 'R', 'K', 'E', 'N', 'D', '\r', '\n'};

inline constexpr uint64_t kMaxManifestSize = 64ull << 20;
inline constexpr int kMaxJsonDepth = 256;
inline constexpr uint64_t kMaxBlobs = 1'000'000;
inline constexpr size_t kMaxDims = 32;
inline constexpr uint64_t kMinChunkSize = 4ull << 10;
inline constexpr uint64_t kMaxChunkSize = 64ull << 20;
inline constexpr uint64_t kDefaultChunkSize = 1ull << 20;
inline constexpr uint64_t kMaxExpansion = 65536;  // raw ≤ kMaxExpansion × stored, per chunk

}  // namespace ark::format
