// The golden file of format 1.0 (tests/golden/v1_0.ark): every future reader
// must read it (FORMAT.md §9), and today's writer must still produce it byte
// for byte from the same input — a change in those bytes is a format change.
//
// To regenerate after an intentional change (a new format version, or a codec
// library whose output changed): ARK_UPDATE_GOLDEN=1 ark_format_test
// --gtest_filter='GoldenTest.*', then review and commit the new file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "ark/format/reader.h"
#include "ark/format/writer.h"
#include "test_util.h"

namespace ark::format {
namespace {

using testing::Bytes;
using testing::Json;

std::string GoldenPath() { return testing::SourceDir() + "/tests/golden/v1_0.ark"; }

struct GoldenArray {
  Json dtype;
  std::vector<uint64_t> shape;
  Bytes data;
  BlobOptions options;
};

Bytes Int64Ramp(size_t count) {
  std::vector<int64_t> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = static_cast<int64_t>(i * i) - 5000;
  return testing::AsBytes(values);
}

// Records of {f8 x, i4 n, S2 tag} at offsets 0, 8, 12 in a 16-byte item.
Bytes StructuredRecords(size_t count) {
  Bytes bytes(count * 16);
  for (size_t i = 0; i < count; ++i) {
    const double x = static_cast<double>(i) / 8;
    const int32_t n = static_cast<int32_t>(i % 7);
    std::memcpy(&bytes[i * 16], &x, 8);
    std::memcpy(&bytes[i * 16 + 8], &n, 4);
    bytes[i * 16 + 12] = static_cast<std::byte>('a' + i % 26);
    bytes[i * 16 + 13] = static_cast<std::byte>('A' + i % 26);
  }
  return bytes;
}

Bytes Text(std::string_view text) {
  const auto* data = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(data, data + text.size());
}

Bytes Utf32(std::u32string_view text) {
  const auto* data = reinterpret_cast<const std::byte*>(text.data());
  return Bytes(data, data + text.size() * 4);
}

std::vector<GoldenArray> GoldenArrays() {
  BlobOptions zstd_shuffle;
  zstd_shuffle.codec = Codec::Zstd(5);
  zstd_shuffle.filter = Filter::kShuffle;
  zstd_shuffle.chunk_size = 4096;
  BlobOptions zstd;
  zstd.codec = Codec::Zstd(3);
  zstd.chunk_size = 4096;
  BlobOptions zlib;
  zlib.codec = Codec::Zlib(6);
  BlobOptions lzma;
  lzma.codec = Codec::Lzma(2);
  BlobOptions aux;
  aux.aux = true;
  std::vector<GoldenArray> arrays;
  arrays.push_back({"<f8", {2, 3}, testing::RampDoubles(6), {}});
  arrays.push_back({"<i8", {1000}, Int64Ramp(1000), zstd});
  arrays.push_back({Json::parse(R"({"names":["x","n","tag"],"formats":["<f8","<i4","|S2"],)"
                                R"("offsets":[0,8,12],"itemsize":16})"),
                    {600},
                    StructuredRecords(600),
                    zstd_shuffle});
  arrays.push_back({"|S4", {3}, Text(std::string_view("ark\0v1.0seal", 12)), lzma});
  arrays.push_back({"<U3", {2}, Utf32(U"h\u00e9\u20acyo!"), zlib});
  arrays.push_back({"|b1", {}, Bytes{std::byte{1}}, {}});
  arrays.push_back({"<f4", {0, 4}, {}, {}});
  arrays.push_back({"<f8", {2, 3}, testing::RampDoubles(6), aux});  // validation rows
  return arrays;
}

Json GoldenRoot() {
  return Json::parse(R"({"$object": "sklearn.pipeline.Pipeline", "id": 1, "state": {
    "steps": [{"$tuple": ["scale", {"$object": "sklearn.preprocessing.StandardScaler", "id": 2,
                                    "state": {"mean_": {"$array": 0}, "with_std": true}}]},
              {"$tuple": ["model", {"$object": "sklearn.tree.DecisionTreeClassifier", "id": 3,
                                    "state": {"nodes": {"$array": 2}, "order": {"$array": 1},
                                              "labels": {"$array": 3}, "names": {"$array": 4},
                                              "flag": {"$array": 5}, "empty": {"$array": 6},
                                              "parent": {"$ref": 1}}}]}],
    "floats": [1.0, 0.1, -0.0, 1e+300, 2.5e-300, {"$float": "nan"}, {"$float": "-inf"},
               {"$float": "0x7ff8000000000001"}],
    "ints": [0, -9223372036854775808, 9223372036854775807, {"$int": "123456789012345678901234567890"}],
    "bytes": {"$bytes": "AAECAw=="}, "text": "caf\u00e9 \u2603", "none": null,
    "mapping": {"$dict": [[1, "one"], [{"$tuple": [2, 3]}, "pair"]]}}})");
}

Json GoldenSections() {
  return Json::parse(R"({"metadata": {"created_at": "2024-06-01T12:00:00Z", "ark_version": "0.1.0",
                                     "tags": {"team": "fraud"}, "metrics": {"accuracy": 0.97}},
                        "validation": {"X": {"$array": 7}}})");
}

Bytes BuildGolden() {
  auto writer = Writer::ToMemory();
  const auto arrays = GoldenArrays();
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ(writer->AddBlob(arrays[i].dtype, arrays[i].shape, arrays[i].data, arrays[i].options),
              i);
  }
  writer->Finish(GoldenRoot(), GoldenSections());
  return writer->TakeBuffer();
}

// Digests of the committed golden file; they change only with the format.
constexpr char kGoldenFileDigest[] =
    "8eb8a104856276848ff6c536a1c13f0c75c8d1a5287d861711dbebb7dbff9de1";
constexpr char kGoldenModelDigest[] =
    "sha256:02e9d7dce5909a1fbea8d3ca7211b92b4d83c27efc16317ae72d040d61463c37";

TEST(GoldenTest, ReadsTheGoldenFile) {
  if (const char* update = std::getenv("ARK_UPDATE_GOLDEN"); update != nullptr && *update == '1') {
    testing::WriteFileBytes(GoldenPath(), BuildGolden());
  }
  auto reader = Reader::Open(GoldenPath());
  reader->VerifyAll();
  EXPECT_EQ(ToHex(reader->file_digest()), kGoldenFileDigest);
  EXPECT_EQ(reader->model_digest(), kGoldenModelDigest);
  EXPECT_EQ(reader->root(), GoldenRoot());
  EXPECT_EQ(reader->sections(), GoldenSections());
  const auto arrays = GoldenArrays();
  ASSERT_EQ(reader->blobs().size(), arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    SCOPED_TRACE(i);
    const BlobInfo& info = reader->blobs()[i];
    EXPECT_EQ(info.dtype.descr, arrays[i].dtype);
    EXPECT_EQ(info.shape, arrays[i].shape);
    EXPECT_EQ(info.codec, arrays[i].options.codec);
    EXPECT_EQ(info.filter, arrays[i].options.filter);
    EXPECT_EQ(info.aux, arrays[i].options.aux);
    const BlobView view = reader->ReadBlob(i);
    EXPECT_EQ(Bytes(view.bytes.begin(), view.bytes.end()), arrays[i].data);
  }
}

TEST(GoldenTest, WriterStillProducesTheGoldenBytes) {
  const Bytes golden = testing::ReadFileBytes(GoldenPath());
  ASSERT_FALSE(golden.empty()) << "missing " << GoldenPath();
  const Bytes written = BuildGolden();
  if (written != golden) {
    size_t first = 0;
    while (first < std::min(written.size(), golden.size()) && written[first] == golden[first]) {
      ++first;
    }
    FAIL() << "the writer's output for the golden input changed (first difference at byte " << first
           << ", sizes " << written.size() << " vs " << golden.size()
           << "). Files written by this build would differ from format 1.0 as released. If the "
              "change is intended (e.g. a codec library update changed compressed bytes), "
              "regenerate with ARK_UPDATE_GOLDEN=1 and review.";
  }
}

}  // namespace
}  // namespace ark::format
