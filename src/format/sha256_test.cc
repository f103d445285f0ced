// Tests of ark::format SHA-256: NIST FIPS 180-2 example vectors through the
// one-shot and incremental paths, split points, the spent-hasher contract,
// and the hex round trip.
#include "ark/format/sha256.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ark/format/error.h"

namespace ark::format {
namespace {

struct Vector {
  std::string message;
  const char* hex;
};

std::vector<Vector> NistVectors() {
  return {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
       "opqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
}

std::span<const std::byte> AsBytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

TEST(Sha256Test, OneShotMatchesNistVectors) {
  for (const Vector& v : NistVectors()) {
    EXPECT_EQ(ToHex(Sha256Of(v.message)), v.hex) << v.message.substr(0, 20);
    EXPECT_EQ(ToHex(Sha256Of(AsBytes(v.message))), v.hex);
  }
}

TEST(Sha256Test, IncrementalMatchesNistVectorsAtEverySplit) {
  for (const Vector& v : NistVectors()) {
    if (v.message.size() > 200) continue;  // the million-a case is split below
    for (size_t split = 0; split <= v.message.size(); ++split) {
      Sha256 hasher;
      hasher.Update(std::string_view(v.message).substr(0, split));
      hasher.Update(AsBytes(v.message).subspan(split));
      EXPECT_EQ(ToHex(hasher.Finish()), v.hex) << "split at " << split;
    }
  }
}

TEST(Sha256Test, MillionAInOddPieces) {
  Sha256 hasher;
  const std::string piece(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, piece.size());
    hasher.Update(std::string_view(piece).substr(0, n));
    left -= n;
  }
  EXPECT_EQ(ToHex(hasher.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, EmptyUpdatesChangeNothing) {
  Sha256 hasher;
  hasher.Update(std::string_view());
  hasher.Update(std::span<const std::byte>());
  hasher.Update("abc");
  hasher.Update(std::string_view());
  EXPECT_EQ(ToHex(hasher.Finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, SpentHasherRefusesFurtherUse) {
  Sha256 hasher;
  hasher.Update("abc");
  hasher.Finish();
  try {
    hasher.Finish();
    FAIL() << "second Finish accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_THROW(hasher.Update("x"), Error);
}

TEST(Sha256Test, UnfinishedHasherIsDestroyedCleanly) {
  Sha256 hasher;
  hasher.Update("left unfinished");
}

TEST(Sha256Test, HexRoundTrip) {
  Digest digest{};
  for (size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<uint8_t>(i * 37 + 5);
  const std::string hex = ToHex(digest);
  ASSERT_EQ(hex.size(), 64u);
  for (char c : hex) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
  Digest parsed{};
  ASSERT_TRUE(FromHex(hex, &parsed));
  EXPECT_EQ(parsed, digest);
}

TEST(Sha256Test, FromHexAcceptsUpperCase) {
  Digest parsed{};
  ASSERT_TRUE(FromHex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &parsed));
  EXPECT_EQ(parsed, Sha256Of("abc"));
  ASSERT_TRUE(FromHex("Ba7816bF8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD", &parsed));
  EXPECT_EQ(parsed, Sha256Of("abc"));
}

TEST(Sha256Test, FromHexRefusesMalformedInputAndLeavesOutputAlone) {
  const std::string good = ToHex(Sha256Of("abc"));
  Digest sentinel{};
  sentinel.fill(0xEE);
  const std::vector<std::string> bad = {
      "",
      good.substr(0, 63),
      good + "0",
      good.substr(0, 63) + "g",
      " " + good.substr(1),
      good.substr(0, 62) + "0x",
      std::string(64, '-'),
      std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\0", 64),
      "sha256:" + good.substr(7),
  };
  for (const std::string& text : bad) {
    Digest out = sentinel;
    EXPECT_FALSE(FromHex(text, &out)) << text;
    EXPECT_EQ(out, sentinel) << text;
  }
}

TEST(Sha256Test, BinaryInputWithZeroBytes) {
  std::vector<std::byte> data(256);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
  Sha256 hasher;
  hasher.Update(std::span<const std::byte>(data).first(100));
  hasher.Update(std::span<const std::byte>(data).subspan(100));
  // Independently computed: hashlib.sha256(bytes(range(256))).hexdigest()
  EXPECT_EQ(ToHex(hasher.Finish()), ToHex(Sha256Of(data)));
  EXPECT_EQ(ToHex(Sha256Of(data)),
            "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880");
}

}  // namespace
}  // namespace ark::format
