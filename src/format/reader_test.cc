// Tests of the Reader on valid files: file and buffer sources, zero-copy
// views and their lifetime, on-access verification, concurrency, versions.
#include "ark/format/reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.h"

namespace ark::format {
namespace {

using testing::Bytes;
using testing::CodeOf;
using testing::Json;
using testing::OpenBytes;

Bytes ViewBytes(const BlobView& view) { return {view.bytes.begin(), view.bytes.end()}; }

TEST(ReaderTest, OpenAndFromBufferAgree) {
  const Bytes file = testing::SampleFile();
  testing::TempDir dir;
  testing::WriteFileBytes(dir.File("s.ark"), file);
  auto mapped = Reader::Open(dir.File("s.ark"));
  auto buffered = OpenBytes(file);
  EXPECT_EQ(mapped->file_size(), file.size());
  EXPECT_EQ(mapped->major_version(), 1);
  EXPECT_EQ(mapped->minor_version(), 0);
  EXPECT_EQ(mapped->file_digest(), buffered->file_digest());
  EXPECT_EQ(mapped->model_digest(), buffered->model_digest());
  EXPECT_EQ(mapped->manifest_bytes(), testing::ManifestText(file));
  EXPECT_EQ(mapped->root(), testing::SampleRoot());
  EXPECT_EQ(mapped->sections()["metadata"]["created_at"], "2024-01-01");
  const auto arrays = testing::SampleArrays();
  ASSERT_EQ(mapped->blobs().size(), arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ(ViewBytes(mapped->ReadBlob(i)), arrays[i].data);
    EXPECT_EQ(ViewBytes(buffered->ReadBlob(i)), arrays[i].data);
    EXPECT_EQ(mapped->blobs()[i].shape, arrays[i].shape);
    EXPECT_EQ(mapped->blobs()[i].sha256, Sha256Of(arrays[i].data));
  }
  mapped->VerifyAll();
}

TEST(ReaderTest, ZeroCopyViewPointsIntoTheFileAndOutlivesTheReader) {
  const Bytes file = testing::SampleFile();
  testing::TempDir dir;
  testing::WriteFileBytes(dir.File("s.ark"), file);
  BlobView view;
  {
    auto reader = Reader::Open(dir.File("s.ark"));
    view = reader->ReadBlob(0);
    EXPECT_TRUE(view.zero_copy);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.bytes.data()) % kAlignment, 0u);
  }
  EXPECT_EQ(ViewBytes(view), testing::SampleArrays()[0].data);  // mapping still alive
}

TEST(ReaderTest, DecodedViewOutlivesTheReader) {
  BlobView view;
  {
    auto reader = OpenBytes(testing::SampleFile());
    view = reader->ReadBlob(testing::kSampleZstdBlob);
    EXPECT_FALSE(view.zero_copy);
  }
  EXPECT_EQ(ViewBytes(view), testing::SampleArrays()[testing::kSampleZstdBlob].data);
}

TEST(ReaderTest, VerifyOnAccessCanBeTurnedOff) {
  Bytes file = testing::SampleFile();
  auto clean = OpenBytes(file);
  file[clean->blobs()[0].offset] ^= std::byte{0x40};
  ReaderOptions trusting;
  trusting.verify_on_access = false;
  auto unchecked = OpenBytes(file, trusting);
  EXPECT_NE(ViewBytes(unchecked->ReadBlob(0)), testing::SampleArrays()[0].data);
  EXPECT_EQ(CodeOf([&] { unchecked->VerifyAll(); }), ErrorCode::kChecksumMismatch);
  auto checked = OpenBytes(file);
  EXPECT_EQ(CodeOf([&] { checked->ReadBlob(0); }), ErrorCode::kChecksumMismatch);
  EXPECT_EQ(CodeOf([&] { checked->ReadBlob(0); }), ErrorCode::kChecksumMismatch);  // not cached
  EXPECT_NO_THROW(checked->ReadBlob(1));
}

TEST(ReaderTest, ConcurrentReadsAgree) {
  const Bytes payload = testing::NoiseBytes(3 << 20, 17);
  auto writer = Writer::ToMemory();
  BlobOptions zstd;
  zstd.codec = Codec::Zstd(1);
  zstd.chunk_size = 256 << 10;
  writer->AddBlob("|u1", {payload.size()}, payload, zstd);
  writer->AddBlob("<f8", {payload.size() / 8}, payload, {});
  writer->Finish(nullptr, nullptr);
  ReaderOptions options;
  options.threads = 2;
  auto reader = OpenBytes(writer->TakeBuffer(), options);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        if (ViewBytes(reader->ReadBlob((t + round) % 2)) == payload) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 12);
}

TEST(ReaderTest, VerifyAllReportsProgress) {
  auto reader = OpenBytes(testing::SampleFile());
  uint64_t total_raw = 0;
  for (const auto& blob : reader->blobs()) total_raw += blob.raw_size;
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  reader->VerifyAll([&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  ASSERT_EQ(calls.size(), reader->blobs().size() + 1);
  EXPECT_EQ(calls.front(), std::make_pair(uint64_t{0}, total_raw));
  EXPECT_EQ(calls.back(), std::make_pair(total_raw, total_raw));
}

TEST(ReaderTest, BadIndexIsAnInvalidArgument) {
  auto reader = OpenBytes(testing::SampleFile());
  EXPECT_EQ(CodeOf([&] { reader->ReadBlob(reader->blobs().size()); }), ErrorCode::kInvalidArgument);
}

TEST(ReaderTest, MissingFileIsAnIoError) {
  testing::TempDir dir;
  EXPECT_EQ(CodeOf([&] { Reader::Open(dir.File("absent.ark")); }), ErrorCode::kIo);
  EXPECT_EQ(CodeOf([&] { Reader::Open(dir.File("")); }), ErrorCode::kIo);  // a directory
  EXPECT_EQ(CodeOf([&] { Reader::FromBuffer(nullptr); }), ErrorCode::kInvalidArgument);
}

TEST(ReaderTest, EmptyFileIsTruncated) {
  testing::TempDir dir;
  testing::WriteFileBytes(dir.File("empty.ark"), {});
  EXPECT_EQ(CodeOf([&] { Reader::Open(dir.File("empty.ark")); }), ErrorCode::kTruncated);
}

TEST(ReaderTest, ReadsANewerMinorVersionThatUsesNothingNew) {
  const Bytes file = testing::WithVersion(testing::SampleFile(), 1, 3);
  auto reader = OpenBytes(file);
  EXPECT_EQ(reader->minor_version(), 3);
  EXPECT_EQ(ViewBytes(reader->ReadBlob(0)), testing::SampleArrays()[0].data);
  reader->VerifyAll();
}

TEST(ReaderTest, NewerMinorVersionWithUnknownFeatureIsUnsupported) {
  const Bytes newer = testing::WithVersion(testing::SampleFile(), 1, 1);
  std::string message;
  const Bytes codec = testing::EditManifest(
      newer, [](Json& m) { m["blobs"][testing::kSampleZstdBlob]["codec"]["name"] = "brotli"; });
  EXPECT_EQ(testing::OpenError(codec, &message), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(message.find("1.1"), std::string::npos) << message;
  const Bytes key = testing::EditManifest(newer, [](Json& m) { m["signatures"] = 1; });
  EXPECT_EQ(testing::OpenError(key), ErrorCode::kUnsupportedVersion);
}

TEST(ReaderTest, IgnoresUnknownSections) {
  const Bytes file = testing::EditManifest(testing::SampleFile(), [](Json& m) {
    m["sections"]["from_the_future"] = {{"x", 1}};
  });
  auto reader = OpenBytes(file);
  EXPECT_EQ(reader->sections()["from_the_future"]["x"], 1);
  reader->VerifyAll();  // sections are outside the model digest
}

TEST(ReaderTest, JsonDepthScanIgnoresBracketsInStrings) {
  const std::string brackets(5000, '[');
  const Bytes file = testing::EditManifest(
      testing::SampleFile(), [&](Json& m) { m["sections"]["text"] = brackets + "\"{"; });
  auto reader = OpenBytes(file);
  EXPECT_EQ(reader->sections()["text"], brackets + "\"{");
}

TEST(ReaderTest, ObjectsWithManyKeysParseInLinearTime) {
  std::string text = R"({"k0":0)";
  for (int i = 1; i < 300'000; ++i) text += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  text += "}";
  const auto start = std::chrono::steady_clock::now();
  const Bytes file = testing::EditManifest(testing::SampleFile(),
                                           [&](Json& m) { m["sections"]["big"] = "placeholder"; });
  // Splice the object in as text: nlohmann's own parser would be quadratic.
  std::string manifest = testing::ManifestText(file);
  manifest.replace(manifest.find("\"placeholder\""), 13, text);
  auto reader = OpenBytes(testing::ReplaceManifest(file, manifest));
  EXPECT_EQ(reader->sections()["big"].size(), 300'000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace ark::format
