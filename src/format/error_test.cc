// Tests of ark::Error and ErrorCodeName: the names are a stable interface
// (CLI, Python, HTTP), so each one is pinned here.
#include "ark/format/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ark {
namespace {

TEST(ErrorTest, CodeNamesAreStable) {
  const std::vector<std::pair<ErrorCode, std::string>> expected = {
      {ErrorCode::kIo, "io"},
      {ErrorCode::kInvalidArgument, "invalid_argument"},
      {ErrorCode::kTruncated, "truncated"},
      {ErrorCode::kBadMagic, "bad_magic"},
      {ErrorCode::kUnsupportedVersion, "unsupported_version"},
      {ErrorCode::kOutOfBounds, "out_of_bounds"},
      {ErrorCode::kOverlap, "overlap"},
      {ErrorCode::kLimitExceeded, "limit_exceeded"},
      {ErrorCode::kBadManifest, "bad_manifest"},
      {ErrorCode::kUnknownDtype, "unknown_dtype"},
      {ErrorCode::kSizeOverflow, "size_overflow"},
      {ErrorCode::kChecksumMismatch, "checksum_mismatch"},
      {ErrorCode::kCodecError, "codec_error"},
      {ErrorCode::kUnsupported, "unsupported"},
  };
  std::set<std::string> seen;
  for (const auto& [code, name] : expected) {
    EXPECT_EQ(ErrorCodeName(code), name);
    EXPECT_TRUE(seen.insert(name).second) << "duplicate name " << name;
  }
}

TEST(ErrorTest, OutOfRangeCodeStillHasAName) {
  EXPECT_STREQ(ErrorCodeName(static_cast<ErrorCode>(999)), "unknown");
}

TEST(ErrorTest, CarriesCodeAndMessage) {
  try {
    throw Error(ErrorCode::kChecksumMismatch, "blob 3: sha256 mismatch");
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "blob 3: sha256 mismatch");
    const auto* error = dynamic_cast<const Error*>(&e);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->code(), ErrorCode::kChecksumMismatch);
  }
}

}  // namespace
}  // namespace ark
