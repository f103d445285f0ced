// One test per way an .ark file can be bad (docs/FORMAT.md §1, §3, §7): each
// starts from real bytes written by the Writer, breaks one thing, and checks
// the reader refuses it with the right ErrorCode. Ends with sweeps that flip
// bytes of a real file and require "same data or ark::Error", never a crash
// (these run under AddressSanitizer and UndefinedBehaviorSanitizer).
#include <gtest/gtest.h>

#include <random>

#include "ark/format/reader.h"
#include "test_util.h"

namespace ark::format {
namespace {

using testing::Bytes;
using testing::CodeOf;
using testing::EditManifest;
using testing::Json;
using testing::OpenBytes;
using testing::OpenError;

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override { file_ = testing::SampleFile(); }

  Bytes Edit(const std::function<void(Json&)>& edit) const { return EditManifest(file_, edit); }

  // The error of opening `bytes`, and that its message mentions `needle`.
  void ExpectOpenError(const Bytes& bytes, ErrorCode code, const std::string& needle = "") {
    std::string message;
    EXPECT_EQ(OpenError(bytes, &message), code) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }

  Bytes file_;
};

constexpr size_t kZstd = testing::kSampleZstdBlob;

// ---- header and footer -------------------------------------------------------

TEST_F(CorruptionTest, TruncatedFile) {
  for (size_t cut : {size_t{0}, size_t{1}, size_t{8}, size_t{64}, size_t{127}}) {
    SCOPED_TRACE(cut);
    ExpectOpenError(Bytes(file_.begin(), file_.begin() + cut), ErrorCode::kTruncated,
                    "128-byte minimum");
  }
  // Cut anywhere past the minimum: the header is intact and the end marker
  // is gone, which is how a truncated file looks.
  for (size_t cut : {size_t{128}, size_t{200}, file_.size() / 2, file_.size() - 65,
                     file_.size() - 64, file_.size() - 8, file_.size() - 1}) {
    SCOPED_TRACE(cut);
    ExpectOpenError(Bytes(file_.begin(), file_.begin() + cut), ErrorCode::kTruncated,
                    "does not end with the .ark end marker: it is truncated");
  }
}

TEST_F(CorruptionTest, WrongHeaderMagic) {
  file_[1] = std::byte{'B'};
  ExpectOpenError(file_, ErrorCode::kBadMagic, "not an .ark file");
}

TEST_F(CorruptionTest, WrongFooterMagic) {
  // With a valid header, a missing end marker is reported as truncation.
  file_[file_.size() - 2] ^= std::byte{0x20};
  ExpectOpenError(file_, ErrorCode::kTruncated, "end marker");
  // Without one, the file is not an .ark file at all.
  file_[0] = std::byte{0};
  ExpectOpenError(file_, ErrorCode::kBadMagic, "not an .ark file");
}

TEST_F(CorruptionTest, FutureMajorVersion) {
  ExpectOpenError(testing::WithVersion(file_, 2, 0), ErrorCode::kUnsupportedVersion, "2.0");
  std::string message;
  OpenError(testing::WithVersion(file_, 2, 0), &message);
  EXPECT_NE(message.find("1.0"), std::string::npos) << message;
}

TEST_F(CorruptionTest, FooterVersionDiffersFromHeader) {
  Footer footer = testing::FooterOf(file_);
  footer.minor = 7;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kBadMagic, "header says");
}

TEST_F(CorruptionTest, NonzeroReservedHeaderBytes) {
  file_[kHeaderReservedAt + 3] = std::byte{1};
  ExpectOpenError(file_, ErrorCode::kBadMagic, "reserved");
}

TEST_F(CorruptionTest, NonzeroFlags) {
  Footer footer = testing::FooterOf(file_);
  footer.flags = 1;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kUnsupportedVersion, "flags");
}

TEST_F(CorruptionTest, ManifestOffsetPastEnd) {
  Footer footer = testing::FooterOf(file_);
  footer.manifest_offset = file_.size() + 64 * 10;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kOutOfBounds, "past the footer");
}

TEST_F(CorruptionTest, ManifestOffsetPlusSizeOverflows) {
  Footer footer = testing::FooterOf(file_);
  footer.manifest_offset = ~uint64_t{0} - 63;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kOutOfBounds);
}

TEST_F(CorruptionTest, ManifestSizePastEnd) {
  Footer footer = testing::FooterOf(file_);
  footer.manifest_size += 1;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kOutOfBounds, "past the footer");
}

TEST_F(CorruptionTest, ManifestShorterThanItsPlace) {
  Footer footer = testing::FooterOf(file_);
  footer.manifest_size -= 1;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kOverlap, "between the manifest and the footer");
}

TEST_F(CorruptionTest, ManifestOffsetInsideHeaderOrMisaligned) {
  Bytes inside = file_;
  Footer footer = testing::FooterOf(inside);
  const Footer original = footer;
  footer.manifest_offset = 0;
  footer.manifest_size = inside.size() - kFooterSize;
  testing::SetFooter(&inside, footer);
  ExpectOpenError(inside, ErrorCode::kOverlap, "overlaps the header");
  footer = original;
  footer.manifest_offset += 1;
  footer.manifest_size -= 1;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kOverlap, "aligned");
}

TEST_F(CorruptionTest, ManifestOverTheSizeLimit) {
  // A tiny file whose footer claims a huge manifest: refused from the footer
  // alone, before anything is hashed, parsed or allocated.
  Footer footer = testing::FooterOf(file_);
  footer.manifest_offset = 64;
  footer.manifest_size = uint64_t{1} << 40;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kLimitExceeded, std::to_string(kMaxManifestSize));
  footer.manifest_size = kMaxManifestSize + 1;
  testing::SetFooter(&file_, footer);
  ExpectOpenError(file_, ErrorCode::kLimitExceeded);
}

TEST_F(CorruptionTest, ManifestDigestMismatch) {
  const Footer footer = testing::FooterOf(file_);
  file_[footer.manifest_offset + 10] ^= std::byte{0x01};
  ExpectOpenError(file_, ErrorCode::kChecksumMismatch, "file digest");
}

TEST_F(CorruptionTest, FooterDigestMismatch) {
  file_[file_.size() - kFooterSize + kFooterDigestAt] ^= std::byte{0x80};
  ExpectOpenError(file_, ErrorCode::kChecksumMismatch);
}

// ---- manifest text -------------------------------------------------------------

TEST_F(CorruptionTest, InvalidJson) {
  ExpectOpenError(testing::ReplaceManifest(file_, R"({"ark": {"version": [1, 0]}, )"),
                  ErrorCode::kBadManifest, "not valid JSON");
  ExpectOpenError(testing::ReplaceManifest(file_, "{} trailing"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "{\"a\": \"\xff\"}"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "[1e999]"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, ""), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, R"({"a": "\ud800"})"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "{\"a\": \"\x01\"}"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "{\"a\": 01}"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "{\"a\": 1.}"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, "{\"a\": tru}"), ErrorCode::kBadManifest);
  ExpectOpenError(testing::ReplaceManifest(file_, std::string("{\"a\": 1}\0", 9)),
                  ErrorCode::kBadManifest);
}

TEST_F(CorruptionTest, TooDeepJson) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  ExpectOpenError(testing::ReplaceManifest(file_, deep), ErrorCode::kLimitExceeded, "nesting");
  // Unbalanced and never closed: the scan still stops it before any parser.
  ExpectOpenError(testing::ReplaceManifest(file_, std::string(1'000'000, '{')),
                  ErrorCode::kLimitExceeded);
  // Just past the limit inside the tree.
  std::string manifest = testing::ManifestText(file_);
  const std::string nested = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  manifest.replace(manifest.find("\"root\":") + 7, 0, nested + ",\"x\":");
  ExpectOpenError(testing::ReplaceManifest(file_, manifest), ErrorCode::kLimitExceeded);
}

TEST_F(CorruptionTest, DuplicateKey) {
  std::string manifest = testing::ManifestText(file_);
  manifest.insert(1, R"("root":null,)");
  ExpectOpenError(testing::ReplaceManifest(file_, manifest), ErrorCode::kBadManifest,
                  "duplicate key");
  // Anywhere in the document: a blob entry, the tree, the sections.
  const std::string text = testing::ManifestText(file_);
  struct Insertion {
    std::string anchor;
    bool after;  // insert after the anchor, else before it
    std::string text;
  };
  for (const Insertion& insertion :
       {Insertion{R"("offset":)", false, R"("stored_size":0,)"},
        Insertion{R"("sections":{)", true, R"("a":1,"b":{"c":1,"c":2},)"},
        Insertion{R"("root":)", true, R"([{"k":1,"k":1},)"}}) {
    SCOPED_TRACE(insertion.text);
    std::string edited = text;
    const size_t at = edited.find(insertion.anchor);
    ASSERT_NE(at, std::string::npos) << text;
    edited.insert(at + (insertion.after ? insertion.anchor.size() : 0), insertion.text);
    if (insertion.text.front() == '[') {  // close the array around the old root
      const std::string root = Json::parse(text)["root"].dump();
      const size_t root_at = at + insertion.anchor.size() + insertion.text.size();
      ASSERT_EQ(edited.compare(root_at, root.size(), root), 0) << edited;
      edited.insert(root_at + root.size(), "]");
    }
    ExpectOpenError(testing::ReplaceManifest(file_, edited), ErrorCode::kBadManifest,
                    "duplicate key");
  }
  // Many keys: checked with a hash set, still linear.
  std::string many = R"({"a0":0)";
  for (int i = 1; i < 100; ++i) many += ",\"a" + std::to_string(i) + "\":0";
  std::string edited = text;
  edited.insert(edited.find(R"("sections":{)") + 12, R"("m":)" + many + R"(,"b":1},)");
  EXPECT_NO_THROW(testing::OpenBytes(testing::ReplaceManifest(file_, edited)));
  edited = text;
  edited.insert(edited.find(R"("sections":{)") + 12, R"("m":)" + many + R"(,"a77":1},)");
  ExpectOpenError(testing::ReplaceManifest(file_, edited), ErrorCode::kBadManifest,
                  "duplicate key \"a77\"");
}

// root_json_text() is the root's exact bytes wherever the root sits and
// however the manifest is spaced; root() parses them.
TEST_F(CorruptionTest, RootTextIsTheExactBytesOfTheRoot) {
  const Json m = Json::parse(testing::ManifestText(file_));
  for (const std::string& root : {m["root"].dump(1), std::string(R"("a,}\"]:{")"),
                                  std::string("-0.5e-3"), std::string("null")}) {
    SCOPED_TRACE(root);
    const std::string spaced = "{\"sections\" : {\"x\":[1,{\"root\":2}]} ,\"root\" :  " + root +
                               "  ,\n\"ark\":" + m["ark"].dump() +
                               ",\"blobs\":" + m["blobs"].dump() +
                               ",\"model_digest\":" + m["model_digest"].dump() + "\t}";
    const auto reader = testing::OpenBytes(testing::ReplaceManifest(file_, spaced));
    EXPECT_EQ(reader->root_json_text(), root);
    EXPECT_EQ(reader->root(), Json::parse(root));
    EXPECT_EQ(reader->sections()["x"][1]["root"], 2);
  }
}

// FORMAT.md §5.1: an integer is a literal without '.' or exponent; one beyond
// 64 bits is not silently read as a double.
TEST_F(CorruptionTest, IntegerLiteralBeyond64Bits) {
  const std::string text = testing::ManifestText(file_);
  for (const std::string& literal :
       {std::string("18446744073709551616"), std::string("-9223372036854775809"),
        std::string("123456789012345678901234567890")}) {
    SCOPED_TRACE(literal);
    for (const std::string& anchor : {std::string(R"("root":)"), std::string(R"("sections":{)")}) {
      std::string edited = text;
      const size_t at = edited.find(anchor) + anchor.size();
      edited.insert(at,
                    anchor.back() == '{' ? R"("n":)" + literal + "," : "[" + literal + R"(],"x":)");
      ExpectOpenError(testing::ReplaceManifest(file_, edited), ErrorCode::kBadManifest,
                      "not valid JSON");
    }
  }
  // The largest uint64 is JSON, but a blob offset it is not.
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["offset"] = UINT64_MAX; }),
                  ErrorCode::kOutOfBounds);
}

TEST_F(CorruptionTest, UnknownManifestKey) {
  ExpectOpenError(Edit([](Json& m) { m["extra"] = 1; }), ErrorCode::kBadManifest, "\"extra\"");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][1]["compressed"] = true; }),
                  ErrorCode::kBadManifest, "blobs[1]");
  ExpectOpenError(Edit([](Json& m) { m["ark"]["build"] = "x"; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["codec"]["window"] = 1; }),
                  ErrorCode::kBadManifest);
}

TEST_F(CorruptionTest, MissingOrMistypedManifestFields) {
  ExpectOpenError(Edit([](Json& m) { m.erase("root"); }), ErrorCode::kBadManifest, "root");
  ExpectOpenError(Edit([](Json& m) { m.erase("sections"); }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["sections"] = Json::array(); }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["model_digest"] = "md5:00"; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["ark"]["version"] = {1, 2}; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"] = Json::object(); }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0].erase("sha256"); }), ErrorCode::kBadManifest,
                  "blobs[0]");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["sha256"] = "zz"; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["offset"] = -64; }), ErrorCode::kBadManifest,
                  "offset");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["offset"] = 64.0; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["aux"] = 1; }), ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m = Json::array(); }), ErrorCode::kBadManifest);
}

// ---- blob table ----------------------------------------------------------------

TEST_F(CorruptionTest, UnknownDtype) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["dtype"] = "<f3"; }), ErrorCode::kUnknownDtype,
                  "blobs[0].dtype");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["dtype"] = ">f8"; }), ErrorCode::kUnknownDtype);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["dtype"] = "|O"; }), ErrorCode::kUnknownDtype);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["dtype"] = 8; }), ErrorCode::kUnknownDtype);
}

TEST_F(CorruptionTest, ShapeWhoseByteCountOverflows) {
  ExpectOpenError(Edit([](Json& m) {
                    m["blobs"][0]["shape"] = {uint64_t{1} << 32, uint64_t{1} << 32, 16};
                  }),
                  ErrorCode::kSizeOverflow, "blobs[0].shape");
}

TEST_F(CorruptionTest, TooManyDimensions) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["shape"] = std::vector<int>(33, 1); }),
                  ErrorCode::kLimitExceeded, "dimensions");
}

TEST_F(CorruptionTest, RawSizeMismatch) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["raw_size"] = 8 * 12 + 8; }),
                  ErrorCode::kBadManifest, "raw_size");
  ExpectOpenError(Edit([](Json& m) {
                    m["blobs"][0]["shape"] = {4, 4};
                  }),
                  ErrorCode::kBadManifest, "raw_size");
}

TEST_F(CorruptionTest, StoredSizeDiffersFromRawSizeWhenUncompressed) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["stored_size"] = 8; }), ErrorCode::kBadManifest,
                  "stored_size");
}

TEST_F(CorruptionTest, OverlappingBlobs) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][1]["offset"] = m["blobs"][0]["offset"]; }),
                  ErrorCode::kOverlap, "overlaps the previous blob");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["offset"] = 0; }), ErrorCode::kOverlap,
                  "overlaps the header");
}

TEST_F(CorruptionTest, HoleBetweenBlobs) {
  ExpectOpenError(
      Edit([](Json& m) { m["blobs"][1]["offset"] = m["blobs"][1]["offset"].get<uint64_t>() + 64; }),
      ErrorCode::kOverlap, "hole");
}

TEST_F(CorruptionTest, MisalignedBlob) {
  ExpectOpenError(
      Edit([](Json& m) { m["blobs"][1]["offset"] = m["blobs"][1]["offset"].get<uint64_t>() + 8; }),
      ErrorCode::kOverlap, "aligned");
}

TEST_F(CorruptionTest, BlobPastTheEndOfTheFile) {
  const uint64_t size = file_.size();
  ExpectOpenError(Edit([&](Json& m) { m["blobs"][4]["offset"] = size + 64; }),
                  ErrorCode::kOutOfBounds, "blobs[4]");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][4]["offset"] = ~uint64_t{0} - 1; }),
                  ErrorCode::kOutOfBounds);
}

TEST_F(CorruptionTest, BlobOverlappingTheManifest) {
  // The last blob grows into the manifest; its chunk list stays consistent.
  const Bytes bad = Edit([](Json& m) {
    Json& last = m["blobs"][4];
    last["stored_size"] = last["stored_size"].get<uint64_t>() + 64;
    last["chunks"][0] = last["chunks"][0].get<uint64_t>() + 64;
  });
  ExpectOpenError(bad, ErrorCode::kOverlap, "inside the manifest");
}

TEST_F(CorruptionTest, ManifestNotAtTheEndOfTheLastBlob) {
  const Bytes bad = Edit([](Json& m) { m["blobs"].erase(4); });
  ExpectOpenError(bad, ErrorCode::kOverlap, "hole");
}

TEST_F(CorruptionTest, UnknownCodec) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["codec"]["name"] = "brotli"; }),
                  ErrorCode::kBadManifest, "brotli");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["filter"] = "delta"; }),
                  ErrorCode::kBadManifest, "delta");
}

TEST_F(CorruptionTest, BadCodecParameters) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["codec"]["level"] = 99; }),
                  ErrorCode::kBadManifest, "level");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["codec"]["level"] = uint64_t{1} << 40; }),
                  ErrorCode::kBadManifest, "level");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["codec"].erase("level"); }),
                  ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["codec"]["level"] = 1; }),
                  ErrorCode::kBadManifest);
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["filter"] = "shuffle"; }),
                  ErrorCode::kBadManifest, "compressed codec");
}

TEST_F(CorruptionTest, ChunkSizeOutOfRange) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["chunk_size"] = 1024; }),
                  ErrorCode::kLimitExceeded, "chunk_size");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["chunk_size"] = kMaxChunkSize + 1; }),
                  ErrorCode::kLimitExceeded);
}

TEST_F(CorruptionTest, ChunkListInconsistent) {
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd]["chunks"].erase(0); }),
                  ErrorCode::kBadManifest, "needs 3");
  ExpectOpenError(Edit([](Json& m) {
                    Json& chunks = m["blobs"][kZstd]["chunks"];
                    chunks[0] = chunks[0].get<uint64_t>() + 1;
                  }),
                  ErrorCode::kBadManifest, "add up");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][kZstd].erase("chunks"); }), ErrorCode::kBadManifest,
                  "chunks");
  ExpectOpenError(Edit([](Json& m) { m["blobs"][0]["chunk_size"] = 4096; }),
                  ErrorCode::kBadManifest);
}

TEST_F(CorruptionTest, ShuffleChunkSizeNotAMultipleOfItemSize) {
  // Blob 3 is <u2 with shuffle; make it 4-byte items of half the count.
  ExpectOpenError(Edit([](Json& m) {
                    Json& blob = m["blobs"][3];
                    blob["dtype"] = "|V6";
                    blob["shape"] = {1000};
                  }),
                  ErrorCode::kBadManifest, "multiple of the item size");
}

TEST_F(CorruptionTest, ExpansionLimitExceeded) {
  // The zstd blob's chunks claim 64 MiB each: far more than 65536x their size.
  const Bytes bad = Edit([](Json& m) {
    Json& blob = m["blobs"][kZstd];
    const uint64_t raw = 3 * kMaxChunkSize;
    blob["chunk_size"] = kMaxChunkSize;
    blob["shape"] = {raw / 8};
    blob["raw_size"] = raw;
  });
  ExpectOpenError(bad, ErrorCode::kLimitExceeded, "65536");
}

TEST_F(CorruptionTest, TooManyBlobs) {
  const Bytes bad = Edit([](Json& m) {
    m["blobs"] = Json::array();
    for (uint64_t i = 0; i <= kMaxBlobs; ++i) m["blobs"].push_back(0);
  });
  ExpectOpenError(bad, ErrorCode::kLimitExceeded, "1000001");
}

// ---- blob bytes ----------------------------------------------------------------

TEST_F(CorruptionTest, ChecksumMismatchInABlob) {
  auto clean = OpenBytes(file_);
  file_[clean->blobs()[1].offset + 3] ^= std::byte{0x10};
  auto reader = OpenBytes(file_);  // Open reads no blob bytes
  std::string message;
  EXPECT_EQ(CodeOf([&] { reader->ReadBlob(1); }, &message), ErrorCode::kChecksumMismatch);
  EXPECT_NE(message.find("blob 1"), std::string::npos) << message;
  EXPECT_EQ(CodeOf([&] { reader->VerifyAll(); }), ErrorCode::kChecksumMismatch);
}

TEST_F(CorruptionTest, ChecksumMismatchInTheManifestDigest) {
  // A consistent manifest whose sha256 entry is wrong for the data.
  const Bytes bad = Edit([](Json& m) { m["blobs"][0]["sha256"] = std::string(64, 'a'); });
  auto reader = OpenBytes(bad);
  EXPECT_EQ(CodeOf([&] { reader->ReadBlob(0); }), ErrorCode::kChecksumMismatch);
}

TEST_F(CorruptionTest, CodecStreamDecodesToTheWrongSize) {
  // Shrink the shape of the one-chunk zlib blob by one item: manifest-wise
  // consistent, so only the codec can notice that the stream is longer.
  const Bytes bad = Edit([](Json& m) {
    Json& blob = m["blobs"][4];
    blob["shape"] = {3};
    blob["raw_size"] = 3;
  });
  auto reader = OpenBytes(bad);
  std::string message;
  EXPECT_EQ(CodeOf([&] { reader->ReadBlob(4); }, &message), ErrorCode::kCodecError);
  EXPECT_NE(message.find("blob 4"), std::string::npos) << message;
}

TEST_F(CorruptionTest, CorruptCompressedChunk) {
  auto clean = OpenBytes(file_);
  const BlobInfo& blob = clean->blobs()[kZstd];
  for (uint64_t at = 0; at < 16; ++at)
    file_[blob.offset + blob.chunks[0] / 2 + at] = std::byte{0xa5};
  auto reader = OpenBytes(file_);
  const ErrorCode code = CodeOf([&] { reader->ReadBlob(kZstd); });
  EXPECT_TRUE(code == ErrorCode::kCodecError || code == ErrorCode::kChecksumMismatch)
      << ErrorCodeName(code);
}

TEST_F(CorruptionTest, NonzeroPaddingFailsVerify) {
  auto clean = OpenBytes(file_);
  const BlobInfo& first = clean->blobs()[0];
  file_[first.offset + first.stored_size] = std::byte{1};  // 96 bytes, padded to 128
  auto reader = OpenBytes(file_);
  std::string message;
  EXPECT_EQ(CodeOf([&] { reader->VerifyAll(); }, &message), ErrorCode::kOverlap);
  EXPECT_NE(message.find("padding"), std::string::npos) << message;
}

TEST_F(CorruptionTest, ModelDigestMismatchFailsVerify) {
  const Bytes bad = Edit([](Json& m) { m["root"]["state"]["x"] = 2.5; });
  auto reader = OpenBytes(bad);  // structure is fine
  std::string message;
  EXPECT_EQ(CodeOf([&] { reader->VerifyAll(); }, &message), ErrorCode::kChecksumMismatch);
  EXPECT_NE(message.find("model digest"), std::string::npos) << message;
}

// ---- sweeps ----------------------------------------------------------------------

// Opens, verifies and reads everything; any outcome but an ark::Error or the
// original data fails the test.
void ExpectSameDataOrError(const Bytes& bytes, const std::vector<testing::SampleArray>& arrays) {
  try {
    auto reader = OpenBytes(bytes);
    std::vector<Bytes> read;
    for (uint64_t i = 0; i < reader->blobs().size(); ++i) {
      const BlobView view = reader->ReadBlob(i);
      read.emplace_back(view.bytes.begin(), view.bytes.end());
    }
    reader->VerifyAll();
    ASSERT_EQ(read.size(), arrays.size());
    for (size_t i = 0; i < read.size(); ++i) ASSERT_EQ(read[i], arrays[i].data) << "blob " << i;
  } catch (const Error&) {
    // Refused cleanly.
  }
}

TEST_F(CorruptionTest, FlippingAnySingleByteIsDetectedOrHarmless) {
  const auto arrays = testing::SampleArrays();
  for (size_t at = 0; at < file_.size(); ++at) {
    SCOPED_TRACE(at);
    Bytes bad = file_;
    bad[at] ^= std::byte{0xff};
    ExpectSameDataOrError(bad, arrays);
    if (HasFatalFailure()) return;
  }
}

TEST_F(CorruptionTest, RandomDamageIsDetectedOrHarmless) {
  const auto arrays = testing::SampleArrays();
  std::mt19937 random(20240601);
  for (int round = 0; round < 2000; ++round) {
    SCOPED_TRACE(round);
    Bytes bad = file_;
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < flips; ++i) bad[random() % bad.size()] = static_cast<std::byte>(random());
    ExpectSameDataOrError(bad, arrays);
    if (HasFatalFailure()) return;
  }
}

TEST_F(CorruptionTest, DamagedManifestWithValidDigestIsRefusedCleanly) {
  // Reseals the digest after each mutation so the parser and schema checks,
  // not the checksum, face the damage.
  const auto arrays = testing::SampleArrays();
  const std::string manifest = testing::ManifestText(file_);
  std::mt19937 random(7);
  const char replacements[] = {'0', '9', '-', '"', '[',  ']', '{',    '}',
                               ',', ':', 'e', '.', '\\', ' ', '\x80', '\0'};
  for (size_t at = 0; at < manifest.size(); ++at) {
    SCOPED_TRACE(at);
    std::string bad = manifest;
    bad[at] = replacements[random() % sizeof replacements];
    ExpectSameDataOrError(testing::ReplaceManifest(file_, bad), arrays);
    if (HasFatalFailure()) return;
  }
  for (size_t at = 0; at < manifest.size(); at += 3) {
    std::string bad = manifest;
    bad.erase(at, 1 + random() % 4);
    ExpectSameDataOrError(testing::ReplaceManifest(file_, bad), arrays);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace ark::format
