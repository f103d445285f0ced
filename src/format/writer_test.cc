// Tests of the Writer: round trips through the Reader for every codec,
// filter and dtype, dedup, deterministic bytes, manifest layout, atomicity.
#include "ark/format/writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ark/format/reader.h"
#include "test_util.h"

namespace ark::format {
namespace {

using testing::Bytes;
using testing::CodeOf;
using testing::Json;
using testing::OpenBytes;

std::vector<std::byte> ViewBytes(const BlobView& view) {
  return {view.bytes.begin(), view.bytes.end()};
}

struct CodecCase {
  Codec codec;
  Filter filter;
  uint64_t chunk_size;
};

TEST(WriterTest, RoundTripsEveryCodecAndFilter) {
  const std::vector<CodecCase> cases = {
      {Codec::None(), Filter::kNone, 0},         {Codec::Zstd(1), Filter::kNone, 0},
      {Codec::Zstd(19), Filter::kShuffle, 4096}, {Codec::Zstd(3), Filter::kNone, 4096},
      {Codec::Zlib(1), Filter::kNone, 4096},     {Codec::Zlib(9), Filter::kShuffle, 0},
      {Codec::Lzma(0), Filter::kNone, 8192},     {Codec::Lzma(6), Filter::kShuffle, 4096},
  };
  const Bytes ramp = testing::RampDoubles(10'000);
  const Bytes noise = testing::NoiseBytes(80'000, 7);
  for (const CodecCase& c : cases) {
    SCOPED_TRACE(std::string(CodecName(c.codec.kind)) + " level " + std::to_string(c.codec.level) +
                 (c.filter == Filter::kShuffle ? " shuffle" : ""));
    BlobOptions options{c.codec, c.filter, c.chunk_size, false};
    auto writer = Writer::ToMemory();
    EXPECT_EQ(writer->AddBlob("<f8", {10'000}, ramp, options), 0u);
    EXPECT_EQ(writer->AddBlob("<u4", {100, 200}, noise, options), 1u);
    writer->Finish(Json::array({Json{{"$array", 0}}, Json{{"$array", 1}}}), nullptr);
    auto reader = OpenBytes(writer->TakeBuffer());
    ASSERT_EQ(reader->blobs().size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const BlobInfo& info = reader->blobs()[i];
      EXPECT_EQ(info.codec, c.codec);
      EXPECT_EQ(info.filter, c.filter);
      EXPECT_EQ(info.offset % kAlignment, 0u);
      if (c.codec.kind != CodecKind::kNone) {
        EXPECT_EQ(info.chunk_size, c.chunk_size == 0 ? kDefaultChunkSize : c.chunk_size);
      }
      const BlobView view = reader->ReadBlob(i);
      EXPECT_EQ(view.zero_copy, c.codec.kind == CodecKind::kNone);
      EXPECT_EQ(ViewBytes(view), i == 0 ? ramp : noise);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(view.bytes.data()) % 16, 0u);
    }
    reader->VerifyAll();
  }
}

TEST(WriterTest, RoundTripsEveryDtype) {
  const std::vector<std::pair<Json, uint64_t>> dtypes = {
      {"|b1", 1},
      {"|i1", 1},
      {"<i2", 2},
      {"<i4", 4},
      {"<i8", 8},
      {"|u1", 1},
      {"<u2", 2},
      {"<u4", 4},
      {"<u8", 8},
      {"<f2", 2},
      {"<f4", 4},
      {"<f8", 8},
      {"<c8", 8},
      {"<c16", 16},
      {"<U5", 20},
      {"|S7", 7},
      {"|V3", 3},
      {"<M8[ns]", 8},
      {"<m8[10s]", 8},
      {Json::parse(R"({"names": ["a", "b"], "formats": ["<f8", "<i4"], "offsets": [0, 8],
                       "itemsize": 16})"),
       16},
      {Json::parse(R"({"names": ["v", "s"], "formats": [["<f4", [2, 2]], "|S3"],
                       "offsets": [0, 16], "itemsize": 20})"),
       20},
  };
  for (const auto& [dtype, itemsize] : dtypes) {
    SCOPED_TRACE(dtype.dump());
    for (const Codec codec : {Codec::None(), Codec::Zstd(3)}) {
      const Bytes data = testing::NoiseBytes(itemsize * 6, 11);
      auto writer = Writer::ToMemory();
      BlobOptions options;
      options.codec = codec;
      writer->AddBlob(dtype, {2, 3}, data, options);
      writer->Finish(nullptr, nullptr);
      auto reader = OpenBytes(writer->TakeBuffer());
      EXPECT_EQ(reader->blobs()[0].dtype.descr, dtype);
      EXPECT_EQ(reader->blobs()[0].dtype.itemsize, itemsize);
      EXPECT_EQ(ViewBytes(reader->ReadBlob(0)), data);
      reader->VerifyAll();
    }
  }
}

TEST(WriterTest, ZeroDimensionalAndEmptyArrays) {
  auto writer = Writer::ToMemory();
  const Bytes scalar = testing::RampDoubles(1);
  BlobOptions zstd;
  zstd.codec = Codec::Zstd(3);
  EXPECT_EQ(writer->AddBlob("<f8", {}, scalar, {}), 0u);
  EXPECT_EQ(writer->AddBlob("<f8", {0}, {}, {}), 1u);
  EXPECT_EQ(writer->AddBlob("<i4", {3, 0, 2}, {}, zstd), 2u);
  EXPECT_EQ(writer->AddBlob("<f8", {}, scalar, zstd), 0u);  // dedup ignores the codec
  writer->Finish(nullptr, nullptr);
  const Bytes file = writer->TakeBuffer();
  auto reader = OpenBytes(file);
  ASSERT_EQ(reader->blobs().size(), 3u);
  EXPECT_TRUE(reader->blobs()[0].shape.empty());
  EXPECT_EQ(ViewBytes(reader->ReadBlob(0)), scalar);
  EXPECT_TRUE(reader->ReadBlob(1).bytes.empty());
  EXPECT_TRUE(reader->ReadBlob(2).bytes.empty());
  EXPECT_TRUE(reader->blobs()[2].chunks.empty());
  reader->VerifyAll();
  EXPECT_NE(testing::ManifestText(file).find(R"("shape":[])"), std::string::npos);
}

TEST(WriterTest, DeduplicatesIdenticalArrays) {
  const Bytes a = testing::NoiseBytes(4096, 1);
  Bytes b = a;
  b.back() ^= std::byte{1};
  auto writer = Writer::ToMemory();
  BlobOptions aux;
  aux.aux = true;
  EXPECT_EQ(writer->AddBlob("<f8", {512}, a, {}), 0u);
  EXPECT_EQ(writer->AddBlob("<f8", {512}, a, {}), 0u);
  EXPECT_EQ(writer->AddBlob("<f8", {512}, b, {}), 1u);     // other bytes
  EXPECT_EQ(writer->AddBlob("<f8", {256, 2}, a, {}), 2u);  // other shape
  EXPECT_EQ(writer->AddBlob("<i8", {512}, a, {}), 3u);     // other dtype
  EXPECT_EQ(writer->AddBlob("<f8", {512}, a, aux), 4u);    // other aux
  EXPECT_EQ(writer->AddBlob("<f8", {512}, a, aux), 4u);
  EXPECT_EQ(writer->AddBlob("<f8", {512}, b, {}), 1u);
  writer->Finish(nullptr, nullptr);
  auto reader = OpenBytes(writer->TakeBuffer());
  EXPECT_EQ(reader->blobs().size(), 5u);
  EXPECT_TRUE(reader->blobs()[4].aux);
  reader->VerifyAll();
}

TEST(WriterTest, OutputIsDeterministic) {
  WriterOptions one_thread;
  one_thread.threads = 1;
  WriterOptions two_threads;
  two_threads.threads = 2;
  const Bytes first = testing::SampleFile(one_thread);
  EXPECT_EQ(testing::SampleFile(two_threads), first);
  EXPECT_EQ(testing::SampleFile(), first);

  testing::TempDir dir;
  auto writer = Writer::ToFile(dir.File("sample.ark"));
  const auto arrays = testing::SampleArrays();
  for (const auto& array : arrays) {
    writer->AddBlob(array.dtype, array.shape, array.data, array.options);
  }
  writer->Finish(testing::SampleRoot(), Json{{"metadata", {{"created_at", "2024-01-01"}}}});
  EXPECT_EQ(testing::ReadFileBytes(dir.File("sample.ark")), first);
  EXPECT_EQ(writer->file_size(), first.size());
}

TEST(WriterTest, ManifestKeysAreInSpecOrder) {
  auto writer = Writer::ToMemory();
  BlobOptions zstd;
  zstd.codec = Codec::Zstd(3);
  BlobOptions aux;
  aux.aux = true;
  const Bytes two = testing::RampDoubles(2), three = testing::RampDoubles(3),
              four = testing::RampDoubles(4);
  writer->AddBlob("<f8", {2}, two, {});
  writer->AddBlob("<f8", {3}, three, zstd);
  writer->AddBlob("<f8", {4}, four, aux);
  writer->Finish(Json{{"k", 1}}, nullptr);
  const std::string text = testing::ManifestText(writer->TakeBuffer());
  const Json manifest = Json::parse(text);
  EXPECT_EQ(manifest.dump(), text);  // compact
  std::vector<std::string> keys;
  for (const auto& [key, value] : manifest.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"ark", "blobs", "root", "model_digest", "sections"}));
  EXPECT_EQ(manifest["sections"], Json::object());
  EXPECT_EQ(manifest["ark"].dump(), R"({"version":[1,0]})");
  auto entry_keys = [&](size_t i) {
    std::vector<std::string> names;
    for (const auto& [key, value] : manifest["blobs"][i].items()) names.push_back(key);
    return names;
  };
  EXPECT_EQ(entry_keys(0), (std::vector<std::string>{"offset", "stored_size", "raw_size", "dtype",
                                                     "shape", "codec", "filter", "sha256"}));
  EXPECT_EQ(entry_keys(1),
            (std::vector<std::string>{"offset", "stored_size", "raw_size", "dtype", "shape",
                                      "codec", "filter", "chunk_size", "chunks", "sha256"}));
  EXPECT_EQ(entry_keys(2).back(), "aux");
  EXPECT_EQ(manifest["blobs"][0]["codec"].dump(), R"({"name":"none"})");
  EXPECT_EQ(manifest["blobs"][1]["codec"].dump(), R"({"name":"zstd","level":3})");
}

TEST(WriterTest, ModelDigestIgnoresCodecsSectionsAndAuxBlobs) {
  const Bytes data = testing::RampDoubles(5000);
  auto digest_of = [&](Codec codec, const Json& sections, bool with_aux) {
    auto writer = Writer::ToMemory();
    BlobOptions options;
    options.codec = codec;
    writer->AddBlob("<f8", {5000}, data, options);
    const Bytes aux_data = testing::NoiseBytes(80, 5);
    if (with_aux) {
      BlobOptions aux;
      aux.aux = true;
      writer->AddBlob("<i8", {10}, aux_data, aux);
    }
    writer->Finish(Json{{"$array", 0}}, sections);
    const std::string digest = writer->model_digest();
    auto reader = OpenBytes(writer->TakeBuffer());
    EXPECT_EQ(reader->model_digest(), digest);
    EXPECT_EQ(ComputeModelDigest(reader->root(), Json::parse(reader->manifest_bytes())["blobs"]),
              digest);
    return digest;
  };
  const std::string base = digest_of(Codec::None(), nullptr, false);
  EXPECT_EQ(base.rfind("sha256:", 0), 0u);
  EXPECT_EQ(digest_of(Codec::Lzma(1), nullptr, false), base);
  EXPECT_EQ(digest_of(Codec::None(), Json{{"metadata", {{"t", 1}}}}, true), base);
}

TEST(WriterTest, ModelDigestFollowsSpecFormula) {
  auto writer = Writer::ToMemory();
  const Bytes data = testing::RampDoubles(3);
  writer->AddBlob("<f8", {3}, data, {});
  const Json root = Json::parse(R"({"w": {"$array": 0}, "f": 0.1})");
  writer->Finish(root, nullptr);
  const std::string expected_json = R"({"root":{"w":{"$array":0},"f":0.1},"blobs":[["<f8",[3],")" +
                                    ToHex(Sha256Of(data)) + R"("]]})";
  EXPECT_EQ(writer->model_digest(), "sha256:" + ToHex(Sha256Of(expected_json)));
}

TEST(WriterTest, ShuffleChunkSizeIsAMultipleOfTheItemSize) {
  auto writer = Writer::ToMemory();
  BlobOptions options;
  options.codec = Codec::Zstd(3);
  options.filter = Filter::kShuffle;
  options.chunk_size = 4096;
  const Bytes data = testing::NoiseBytes(3 * 5000, 9);
  writer->AddBlob("|V3", {5000}, data, options);
  const Bytes complex = testing::NoiseBytes(16'000, 3);
  writer->AddBlob("<c16", {1000}, complex, options);
  writer->Finish(nullptr, nullptr);
  auto reader = OpenBytes(writer->TakeBuffer());
  EXPECT_EQ(reader->blobs()[0].chunk_size, 4098u);  // 4095 is below the minimum
  EXPECT_EQ(reader->blobs()[1].chunk_size, 4096u);
  EXPECT_EQ(ViewBytes(reader->ReadBlob(0)), data);
  reader->VerifyAll();
}

TEST(WriterTest, ManyBlobsOfMixedCodecsOverlapCorrectly) {
  std::vector<Bytes> arrays;
  for (uint32_t i = 0; i < 40; ++i) {
    arrays.push_back(i % 3 == 0 ? testing::RampDoubles(100 + i * 997)
                                : testing::NoiseBytes(8 * (100 + i * 997), i));
  }
  WriterOptions options;
  options.threads = 2;
  auto writer = Writer::ToMemory(options);
  for (size_t i = 0; i < arrays.size(); ++i) {
    BlobOptions blob;
    const Codec codecs[] = {Codec::None(), Codec::Zstd(3), Codec::Zlib(1), Codec::Lzma(0)};
    blob.codec = codecs[i % 4];
    blob.chunk_size = 4096 * (1 + i % 5);
    EXPECT_EQ(writer->AddBlob("<f8", {arrays[i].size() / 8}, arrays[i], blob), i);
  }
  writer->Finish(nullptr, nullptr);
  auto reader = OpenBytes(writer->TakeBuffer());
  for (size_t i = 0; i < arrays.size(); ++i) EXPECT_EQ(ViewBytes(reader->ReadBlob(i)), arrays[i]);
  reader->VerifyAll();
}

TEST(WriterTest, RefusesInconsistentInput) {
  auto writer = Writer::ToMemory();
  const Bytes data = testing::RampDoubles(4);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", {5}, data, {}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f3", {4}, data, {}); }), ErrorCode::kUnknownDtype);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob(">f8", {4}, data, {}); }), ErrorCode::kUnknownDtype);
  EXPECT_EQ(CodeOf([&] {
              writer->AddBlob("<f8", {1ull << 62, 1ull << 62}, data, {});
            }),
            ErrorCode::kSizeOverflow);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", std::vector<uint64_t>(33, 1), {}, {}); }),
            ErrorCode::kInvalidArgument);
  BlobOptions shuffle_only;
  shuffle_only.filter = Filter::kShuffle;
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", {4}, data, shuffle_only); }),
            ErrorCode::kInvalidArgument);
  BlobOptions bad_level;
  bad_level.codec = Codec::Zstd(42);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", {4}, data, bad_level); }),
            ErrorCode::kInvalidArgument);
  BlobOptions tiny_chunks;
  tiny_chunks.codec = Codec::Zstd(3);
  tiny_chunks.chunk_size = 100;
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", {4}, data, tiny_chunks); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { writer->Finish(nullptr, Json::array()); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { writer->file_digest(); }), ErrorCode::kInvalidArgument);
}

TEST(WriterTest, RefusesCallsAfterFinish) {
  auto writer = Writer::ToMemory();
  writer->Finish(nullptr, nullptr);
  const Bytes data = testing::RampDoubles(1);
  EXPECT_EQ(CodeOf([&] { writer->AddBlob("<f8", {1}, data, {}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([&] { writer->Finish(nullptr, nullptr); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(writer->TakeBuffer().size(), writer->file_size());
}

TEST(WriterTest, RefusesTreesNoReaderCouldOpen) {
  auto writer = Writer::ToMemory();
  Json deep = 1;
  for (int i = 0; i < kMaxJsonDepth; ++i) deep = Json::array({deep});
  EXPECT_EQ(CodeOf([&] { writer->Finish(deep, nullptr); }), ErrorCode::kLimitExceeded);
  auto other = Writer::ToMemory();
  EXPECT_EQ(CodeOf([&] { other->Finish(Json("\xff\xfe"), nullptr); }), ErrorCode::kInvalidArgument);
}

TEST(WriterTest, EmptyFileHasManifestAtHeaderEnd) {
  auto writer = Writer::ToMemory();
  writer->Finish(nullptr, nullptr);
  const Bytes file = writer->TakeBuffer();
  EXPECT_EQ(testing::FooterOf(file).manifest_offset, kHeaderSize);
  auto reader = OpenBytes(file);
  EXPECT_TRUE(reader->blobs().empty());
  EXPECT_TRUE(reader->root().is_null());
  reader->VerifyAll();
}

// ---- atomicity ---------------------------------------------------------------

TEST(WriterAtomicityTest, FinishReplacesTheDestinationAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  const std::string path = dir.File("model.ark");
  const Bytes four = testing::RampDoubles(4);
  testing::WriteFileBytes(path, testing::NoiseBytes(10, 1));
  auto writer = Writer::ToFile(path);
  writer->AddBlob("<f8", {4}, four, {});
  writer->Finish(nullptr, nullptr);
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"model.ark"});
  auto reader = Reader::Open(path);
  EXPECT_EQ(reader->file_digest(), writer->file_digest());
  reader->VerifyAll();
}

TEST(WriterAtomicityTest, DestroyingWithoutFinishLeavesTheDestinationUntouched) {
  testing::TempDir dir;
  const std::string path = dir.File("model.ark");
  const Bytes old_content = testing::NoiseBytes(100, 4);
  testing::WriteFileBytes(path, old_content);
  const Bytes data = testing::NoiseBytes(1 << 20, 5);
  {
    auto writer = Writer::ToFile(path);
    BlobOptions zstd;
    zstd.codec = Codec::Zstd(3);
    zstd.chunk_size = kMinChunkSize;
    writer->AddBlob("<f8", {data.size() / 8}, data, zstd);
    writer->AddBlob("|u1", {data.size()}, data, {});
    EXPECT_EQ(dir.Entries().size(), 2u);  // the temporary file exists meanwhile
  }
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"model.ark"});
  EXPECT_EQ(testing::ReadFileBytes(path), old_content);
}

TEST(WriterAtomicityTest, FailedFinishRemovesTheTemporaryFile) {
  testing::TempDir dir;
  const Bytes four = testing::RampDoubles(4);
  const std::string path = dir.File("model.ark");
  {
    auto writer = Writer::ToFile(path);
    writer->AddBlob("<f8", {4}, four, {});
    EXPECT_EQ(CodeOf([&] { writer->Finish(Json("\xc3"), nullptr); }), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(dir.Entries().empty());
}

TEST(WriterAtomicityTest, MissingDirectoryIsAnIoError) {
  testing::TempDir dir;
  std::string message;
  EXPECT_EQ(CodeOf([&] { Writer::ToFile(dir.File("no/such/dir/model.ark")); }, &message),
            ErrorCode::kIo);
  EXPECT_NE(message.find("model.ark"), std::string::npos) << message;
}

TEST(WriterAtomicityTest, RelativePathsWork) {
  testing::TempDir dir;
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.File(""));
  {
    auto writer = Writer::ToFile("relative.ark", {.threads = 1, .fsync = false});
    writer->Finish(nullptr, nullptr);
  }
  std::filesystem::current_path(previous);
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"relative.ark"});
}

}  // namespace
}  // namespace ark::format
