// Tests of export / import: a round trip keeps bytes, records, stages and
// aliases; a name clash gets new numbers; a tampered bundle changes nothing.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <map>

#include "ark/format/error.h"
#include "ark/registry/registry.h"
#include "registry_test_util.h"

namespace ark::registry {
namespace {

using testing::Json;
using testing::PieceFiles;
using testing::Ramp;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteArk;

// Reads every regular entry of a tar into memory.
std::map<std::string, std::string> ReadTar(const std::string& path) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 1 << 16), ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string body;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) body.append(buf, static_cast<size_t>(n));
    out[archive_entry_pathname(e)] = body;
  }
  archive_read_free(a);
  return out;
}

void WriteTar(const std::string& path, const std::map<std::string, std::string>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& [name, body] : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(body.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, body.data(), body.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = Registry::Open(dir_.File("src"), true);
    dst_root_ = dir_.File("dst");
    dst_ = Registry::Open(dst_root_, true);
    for (int i = 0; i < 3; ++i) {
      files_.push_back(dir_.File("v" + std::to_string(i) + ".ark"));
      WriteArk(files_.back(), {Ramp(5000, 1), Ramp(100, i)}, Json{{"metrics", {{"f1", 0.8 + i * 0.01}}}});
      RegisterOptions o;
      o.tags = {{"team", "risk"}};
      o.label = "0." + std::to_string(i);
      o.parent_version = i;  // 0: none, then 1, 2
      src_->Register("fraud", files_.back(), o);
    }
    src_->SetDescription("fraud", 0, "detects fraud");
    src_->SetAlias("fraud", "production", 2);
    src_->SetStage("fraud", 3, "Staging", false);
    src_->Delete("fraud", 1);
  }

  TempDir dir_;
  std::unique_ptr<Registry> src_;
  std::string dst_root_;
  std::unique_ptr<Registry> dst_;
  std::vector<std::string> files_;
};

TEST_F(BundleTest, RoundTripKeepsBytesAndRecords) {
  const std::string tar = dir_.File("bundle.tar");
  src_->Export("fraud", {}, tar);
  const auto entries = ReadTar(tar);
  ASSERT_EQ(entries.count("bundle.json"), 1u);
  EXPECT_EQ(entries.count("versions/1.ark"), 0u);  // deleted: not exported
  ASSERT_EQ(entries.count("versions/2.ark"), 1u);
  const Json bundle = Json::parse(entries.at("bundle.json"));
  EXPECT_EQ(bundle["model"]["name"], "fraud");
  EXPECT_EQ(bundle["versions"].size(), 2u);

  const std::vector<VersionInfo> made = dst_->Import(tar, "importer");
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ(made[0].version, 1);
  EXPECT_EQ(made[1].version, 2);
  EXPECT_EQ(made[0].tags.at("ark.source_version"), "2");
  EXPECT_EQ(made[0].label, "0.1");
  EXPECT_EQ(made[1].stage, "Staging");
  EXPECT_EQ(made[1].parent_version, 1);  // was 2 -> now 1
  EXPECT_EQ(made[0].parent_version, 0);  // was 1, not in the bundle
  EXPECT_EQ(made[0].created_by, "importer");
  EXPECT_EQ(dst_->GetModel("fraud").description, "detects fraud");
  EXPECT_EQ(dst_->GetModel("fraud").aliases.at("production"), 1);
  EXPECT_DOUBLE_EQ(made[1].metrics.at("f1"), 0.82);
  const std::string out = dir_.File("out.ark");
  dst_->Get("fraud", 2, out);
  EXPECT_EQ(ReadAll(out), ReadAll(files_[2]));
  EXPECT_EQ(dst_->History("fraud")[1].action, "import");

  // Again: a name clash gives new numbers; the alias stays where it was.
  const std::vector<VersionInfo> again = dst_->Import(tar, "importer");
  EXPECT_EQ(again[0].version, 3);
  EXPECT_EQ(again[1].version, 4);
  EXPECT_EQ(again[1].parent_version, 3);
  EXPECT_EQ(dst_->GetModel("fraud").aliases.at("production"), 1);
  EXPECT_EQ(again[0].new_bytes, 0u);  // same bytes, stored once

  // Chosen versions only.
  const std::string one = dir_.File("one.tar");
  src_->Export("fraud", {3}, one);
  EXPECT_EQ(Json::parse(ReadTar(one).at("bundle.json"))["versions"].size(), 1u);
  EXPECT_THROW(src_->Export("fraud", {1}, dir_.File("deleted.tar")), Error);
}

TEST_F(BundleTest, TamperedBundleIsRefusedAndChangesNothing) {
  const std::string tar = dir_.File("bundle.tar");
  src_->Export("fraud", {}, tar);
  auto entries = ReadTar(tar);

  // 1. A flipped byte inside an array of the second version.
  auto flipped = entries;
  flipped["versions/3.ark"][64 + 10] ^= 0x01;
  WriteTar(dir_.File("flipped.tar"), flipped);
  // 2. A different but valid file in place of version 2.
  auto swapped = entries;
  WriteArk(dir_.File("other.ark"), {Ramp(7, 7)});
  const auto other = ReadAll(dir_.File("other.ark"));
  swapped["versions/2.ark"] = std::string(other.begin(), other.end());
  WriteTar(dir_.File("swapped.tar"), swapped);
  // 3. A missing file.
  auto missing = entries;
  missing.erase("versions/3.ark");
  WriteTar(dir_.File("missing.tar"), missing);
  // 4. No bundle.json; 5. not a tar at all.
  auto nojson = entries;
  nojson.erase("bundle.json");
  WriteTar(dir_.File("nojson.tar"), nojson);
  testing::WriteAll(dir_.File("junk.tar"), std::vector<char>(1000, 'x'));

  for (const char* name : {"flipped.tar", "swapped.tar", "missing.tar", "nojson.tar", "junk.tar"}) {
    EXPECT_THROW(dst_->Import(dir_.File(name)), Error) << name;
    EXPECT_TRUE(dst_->ListModels().empty()) << name;
    EXPECT_TRUE(dst_->History("").empty()) << name;
  }
  EXPECT_EQ(PieceFiles(dst_root_).first, 0u);
  try {
    dst_->Import(dir_.File("swapped.tar"));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kChecksumMismatch) << e.what();
  }
}

}  // namespace
}  // namespace ark::registry
