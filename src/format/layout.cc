// Implementation of layout.h.
#include "layout.h"

#include <algorithm>

namespace ark::format {

std::array<std::byte, kHeaderSize> EncodeHeader(const Header& header) {
  std::array<std::byte, kHeaderSize> bytes{};
  std::transform(std::begin(kHeaderMagic), std::end(kHeaderMagic), bytes.begin(),
                 [](unsigned char c) { return static_cast<std::byte>(c); });
  StoreLe(bytes, kHeaderMajorAt, 2, header.major);
  StoreLe(bytes, kHeaderMinorAt, 2, header.minor);
  return bytes;
}

std::array<std::byte, kFooterSize> EncodeFooter(const Footer& footer) {
  std::array<std::byte, kFooterSize> bytes{};
  StoreLe(bytes, kFooterManifestOffsetAt, 8, footer.manifest_offset);
  StoreLe(bytes, kFooterManifestSizeAt, 8, footer.manifest_size);
  for (size_t i = 0; i < footer.file_digest.size(); ++i) {
    bytes[kFooterDigestAt + i] = static_cast<std::byte>(footer.file_digest[i]);
  }
  StoreLe(bytes, kFooterMajorAt, 2, footer.major);
  StoreLe(bytes, kFooterMinorAt, 2, footer.minor);
  StoreLe(bytes, kFooterFlagsAt, 4, footer.flags);
  std::transform(std::begin(kFooterMagic), std::end(kFooterMagic), bytes.begin() + kFooterMagicAt,
                 [](unsigned char c) { return static_cast<std::byte>(c); });
  return bytes;
}

Footer DecodeFooter(std::span<const std::byte> bytes) {
  Footer footer;
  footer.manifest_offset = LoadLe(bytes, kFooterManifestOffsetAt, 8);
  footer.manifest_size = LoadLe(bytes, kFooterManifestSizeAt, 8);
  for (size_t i = 0; i < footer.file_digest.size(); ++i) {
    footer.file_digest[i] = static_cast<uint8_t>(bytes[kFooterDigestAt + i]);
  }
  footer.major = static_cast<uint16_t>(LoadLe(bytes, kFooterMajorAt, 2));
  footer.minor = static_cast<uint16_t>(LoadLe(bytes, kFooterMinorAt, 2));
  footer.flags = static_cast<uint32_t>(LoadLe(bytes, kFooterFlagsAt, 4));
  return footer;
}

}  // namespace ark::format
