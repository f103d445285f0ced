// SHA-256 digests (OpenSSL underneath) and their hex form.
// Thread-safe: every call uses its own context.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ark::format {

using Digest = std::array<uint8_t, 32>;

// Incremental hasher for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::span<const std::byte> data);
  void Update(std::string_view data);
  // REQUIRES: called once; the hasher is spent afterwards.
  Digest Finish();

 private:
  void* ctx_;  // EVP_MD_CTX*
};

Digest Sha256Of(std::span<const std::byte> data);
Digest Sha256Of(std::string_view data);

// 64 lowercase hex digits.
std::string ToHex(const Digest& digest);
// Parses 64 hex digits (either case); returns false on any other input.
bool FromHex(std::string_view hex, Digest* out);

}  // namespace ark::format
