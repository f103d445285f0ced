// SHA-256 through OpenSSL's EVP interface.
//
// Each Sha256 owns one EVP_MD_CTX; Finish frees it and leaves the hasher
// spent, so a second Finish or a late Update is reported as a caller error
// instead of hashing garbage. OpenSSL failures here mean the library could
// not allocate or initialise its digest, which the caller cannot fix, so they
// surface as ark::Error(kIo) with the operation named.
#include "ark/format/sha256.h"

#include <openssl/evp.h>

#include "ark/format/error.h"

namespace ark::format {
namespace {

EVP_MD_CTX* Ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

[[noreturn]] void Fail(const char* what) {
  throw Error(ErrorCode::kIo, std::string("SHA-256: OpenSSL ") + what + " failed");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) Fail("EVP_MD_CTX_new");
  if (EVP_DigestInit_ex(Ctx(ctx_), EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(Ctx(ctx_));
    Fail("EVP_DigestInit_ex");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(Ctx(ctx_)); }

void Sha256::Update(std::span<const std::byte> data) {
  if (ctx_ == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "SHA-256: Update after Finish");
  }
  if (data.empty()) return;
  if (EVP_DigestUpdate(Ctx(ctx_), data.data(), data.size()) != 1) Fail("EVP_DigestUpdate");
}

void Sha256::Update(std::string_view data) {
  Update(std::as_bytes(std::span<const char>(data.data(), data.size())));
}

Digest Sha256::Finish() {
  if (ctx_ == nullptr) {
    throw Error(ErrorCode::kInvalidArgument, "SHA-256: Finish called twice");
  }
  Digest digest{};
  unsigned int length = 0;
  const int ok = EVP_DigestFinal_ex(Ctx(ctx_), digest.data(), &length);
  EVP_MD_CTX_free(Ctx(ctx_));
  ctx_ = nullptr;
  if (ok != 1 || length != digest.size()) Fail("EVP_DigestFinal_ex");
  return digest;
}

Digest Sha256Of(std::span<const std::byte> data) {
  Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    Fail("EVP_Digest");
  }
  return digest;
}

Digest Sha256Of(std::string_view data) {
  return Sha256Of(std::as_bytes(std::span<const char>(data.data(), data.size())));
}

std::string ToHex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(digest.size() * 2, '\0');
  for (size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kDigits[digest[i] >> 4];
    hex[2 * i + 1] = kDigits[digest[i] & 0x0f];
  }
  return hex;
}

bool FromHex(std::string_view hex, Digest* out) {
  Digest parsed{};
  if (hex.size() != parsed.size() * 2) return false;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    parsed[i] = static_cast<uint8_t>(high << 4 | low);
  }
  // *out is left untouched on failure so a caller's previous value survives.
  *out = parsed;
  return true;
}

}  // namespace ark::format
