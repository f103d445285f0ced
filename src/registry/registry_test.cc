// Tests of the registry core: register / get byte-identical, dedup, aliases,
// stages, the audit log, URIs, corrupt input, deletion and gc.
#include "ark/registry/registry.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "ark/format/error.h"
#include "registry_test_util.h"

namespace ark::registry {
namespace {

using testing::Json;
using testing::PieceFiles;
using testing::Ramp;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteArk;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.File("reg");
    reg_ = Registry::Open(root_, /*create=*/true);
  }
  std::string Ark(const std::string& name, const std::vector<std::vector<double>>& arrays,
                  const Json& metadata = nullptr) {
    const std::string path = dir_.File(name);
    WriteArk(path, arrays, metadata);
    return path;
  }
  RegisterOptions Opts(const std::string& actor = "alice") {
    RegisterOptions o;
    o.actor = actor;
    return o;
  }

  TempDir dir_;
  std::string root_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, OpenWithoutCreateNeedsInit) {
  try {
    Registry::Open(dir_.File("nothing-here"));
    FAIL() << "opened a folder that is not a registry";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ark registry init"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(Registry::Open(root_));  // the one SetUp created
}

TEST_F(RegistryTest, RegisterThenGetIsByteIdentical) {
  const Json meta = {{"metrics", {{"f1", 0.9}, {"val", {{"auc", 0.8}}}, {"bad", "nan"}}},
                     {"training_data", {{"X_sha256", "sha256:abc"}}},
                     {"description", "from the file"}};
  const std::string a = Ark("a.ark", {Ramp(1000, 0), Ramp(10, 5)}, meta);
  RegisterOptions o = Opts();
  o.tags = {{"team", "risk"}};
  o.label = "1.0.0";
  o.source_ref = "git:abc123";
  const VersionInfo v = reg_->Register("fraud", a, o);
  EXPECT_EQ(v.name, "fraud");
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.label, "1.0.0");
  EXPECT_EQ(v.stage, "None");
  EXPECT_EQ(v.status, "READY");
  EXPECT_EQ(v.size, ReadAll(a).size());
  EXPECT_EQ(v.new_bytes, v.size);
  EXPECT_EQ(v.tags.at("team"), "risk");
  EXPECT_DOUBLE_EQ(v.metrics.at("f1"), 0.9);
  EXPECT_DOUBLE_EQ(v.metrics.at("val.auc"), 0.8);
  EXPECT_EQ(v.metrics.count("bad"), 0u);
  EXPECT_EQ(v.data_fingerprint, "sha256:abc");
  EXPECT_EQ(v.description, "from the file");
  EXPECT_EQ(v.created_by, "alice");
  EXPECT_EQ(v.digest.rfind("sha256:", 0), 0u);

  const std::string out = dir_.File("out.ark");
  reg_->Get("fraud", 1, out);
  EXPECT_EQ(ReadAll(out), ReadAll(a));
  const std::string cached = reg_->Materialize("fraud", 1);
  EXPECT_EQ(ReadAll(cached), ReadAll(a));
  EXPECT_EQ(reg_->Materialize("fraud", 1), cached);

  const std::string b = Ark("b.ark", {Ramp(50, 1)});
  EXPECT_EQ(reg_->Register("fraud", b, Opts()).version, 2);
  const ModelInfo m = reg_->GetModel("fraud");
  EXPECT_EQ(m.latest_version, 2);
  ASSERT_EQ(reg_->ListModels().size(), 1u);
  EXPECT_EQ(reg_->ListVersions("fraud").size(), 2u);
}

TEST_F(RegistryTest, FilesSharingArraysShareStorage) {
  const std::vector<double> big = Ramp(100'000, 7);  // 800 KB
  const std::string a = Ark("a.ark", {big, Ramp(10, 1)});
  const std::string b = Ark("b.ark", {Ramp(20, 2), big});
  const VersionInfo va = reg_->Register("m", a, Opts());
  const auto [n1, bytes1] = PieceFiles(root_);
  const VersionInfo vb = reg_->Register("m", b, Opts());
  const auto [n2, bytes2] = PieceFiles(root_);
  EXPECT_EQ(va.new_bytes, va.size);
  EXPECT_LT(vb.new_bytes, 10'000u) << "the 800 KB array was stored twice";
  EXPECT_EQ(bytes2 - bytes1, vb.new_bytes);
  EXPECT_GT(n2, n1);
  // The same file again adds nothing.
  EXPECT_EQ(reg_->Register("other", a, Opts()).new_bytes, 0u);
  EXPECT_EQ(PieceFiles(root_).second, bytes2);
  const std::string out = dir_.File("b-out.ark");
  reg_->Get("m", 2, out);
  EXPECT_EQ(ReadAll(out), ReadAll(b));
}

TEST_F(RegistryTest, CorruptArtifactIsRefusedAndChangesNothing) {
  const std::string a = Ark("a.ark", {Ramp(1000, 0)});
  auto bytes = ReadAll(a);
  bytes[64 + 100] ^= 0x01;  // inside blob 0
  testing::WriteAll(a, bytes);
  try {
    reg_->Register("m", a, Opts());
    FAIL() << "registered a corrupt file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kChecksumMismatch) << e.what();
    EXPECT_NE(std::string(e.what()).find(a), std::string::npos) << e.what();
  }
  EXPECT_TRUE(reg_->ListModels().empty());
  EXPECT_EQ(PieceFiles(root_).first, 0u);
  EXPECT_TRUE(reg_->History("").empty());
  EXPECT_THROW(reg_->Register("m", dir_.File("missing.ark"), Opts()), Error);
}

TEST_F(RegistryTest, InvalidNamesAreRefused) {
  const std::string a = Ark("a.ark", {Ramp(10, 0)});
  for (const std::string& bad : std::vector<std::string>{"", "-x", "a b", "a/b", "x;drop", std::string(129, 'a')}) {
    EXPECT_THROW(reg_->Register(bad, a, Opts()), Error) << bad;
  }
  reg_->Register("m", a, Opts());
  for (const std::string& bad : std::vector<std::string>{"123", "latest", "LATEST", "Production", "Staging", "None", "a b", ""}) {
    EXPECT_THROW(reg_->SetAlias("m", bad, 1), Error) << bad;
  }
  EXPECT_THROW(reg_->SetAlias("m", "prod", 7), Error);
  EXPECT_THROW(reg_->SetAlias("nope", "prod", 1), Error);
  EXPECT_THROW(reg_->SetStage("m", 1, "Prod", false), Error);
  EXPECT_TRUE(reg_->GetModel("m").aliases.empty());
}

TEST_F(RegistryTest, AliasesMoveAndRollBackWithAudit) {
  for (int i = 0; i < 3; ++i) reg_->Register("m", Ark("v" + std::to_string(i), {Ramp(10, i)}), Opts());
  reg_->SetAlias("m", "production", 2, "beats v1", "bob");
  reg_->SetAlias("m", "production", 3, "beats v2", "bob");
  reg_->SetAlias("m", "production", 3, "no-op", "bob");  // not audited
  reg_->SetAlias("m", "production", 2, "rollback: v3 regressed", "carol");
  EXPECT_EQ(reg_->GetModel("m").aliases.at("production"), 2);
  EXPECT_EQ(reg_->Resolve(ParseModelUri("models:/m@production")).version, 2);
  EXPECT_EQ(reg_->GetVersion("m", 2).aliases, std::vector<std::string>{"production"});

  std::vector<AuditEvent> alias_events;
  for (const auto& e : reg_->History("m")) {
    if (e.action == "alias") alias_events.push_back(e);
  }
  ASSERT_EQ(alias_events.size(), 3u);
  EXPECT_EQ(alias_events[0].before, "null");
  EXPECT_EQ(Json::parse(alias_events[1].before)["version"], 2);
  EXPECT_EQ(Json::parse(alias_events[1].after)["version"], 3);
  EXPECT_EQ(alias_events[2].actor, "carol");
  EXPECT_EQ(alias_events[2].reason, "rollback: v3 regressed");
  EXPECT_EQ(Json::parse(alias_events[2].before)["version"], 3);

  reg_->DeleteAlias("m", "production", "retired");
  EXPECT_THROW(reg_->Resolve(ParseModelUri("models:/m@production")), Error);
  EXPECT_THROW(reg_->DeleteAlias("m", "production"), Error);
  EXPECT_EQ(reg_->History("m").back().action, "unalias");
}

TEST_F(RegistryTest, StagesArchiveTheVersionThatHeldThem) {
  for (int i = 0; i < 3; ++i) reg_->Register("m", Ark("v" + std::to_string(i), {Ramp(10, i)}), Opts());
  reg_->SetStage("m", 1, "production", false, "first");
  reg_->SetStage("m", 2, "Production", false);
  EXPECT_EQ(reg_->GetVersion("m", 1).stage, "Production");
  reg_->SetStage("m", 3, "Production", /*archive_existing=*/true, "v3 wins");
  EXPECT_EQ(reg_->GetVersion("m", 1).stage, "Archived");
  EXPECT_EQ(reg_->GetVersion("m", 2).stage, "Archived");
  EXPECT_EQ(reg_->GetVersion("m", 3).stage, "Production");
  EXPECT_EQ(reg_->Resolve(ParseModelUri("models:/m/Production")).version, 3);
  EXPECT_EQ(reg_->Resolve(ParseModelUri("models:/m/production")).version, 3);
  int archived = 0;
  for (const auto& e : reg_->History("m")) {
    if (e.action == "stage" && Json::parse(e.after)["stage"] == "Archived") {
      ++archived;
      EXPECT_NE(e.reason.find("v3 wins"), std::string::npos);
    }
  }
  EXPECT_EQ(archived, 2);
  EXPECT_THROW(reg_->Resolve(ParseModelUri("models:/m/Staging")), Error);
}

TEST_F(RegistryTest, TagsDescriptionsAndTheirAudit) {
  reg_->Register("m", Ark("a", {Ramp(10, 0)}), Opts());
  reg_->SetTag("m", 0, "owner", "risk-team", "dan");
  reg_->SetTag("m", 1, "validated", "yes", "dan");
  reg_->SetTag("m", 1, "validated", "no", "dan");
  reg_->SetDescription("m", 0, "fraud model", "dan");
  reg_->SetDescription("m", 1, "first cut", "dan");
  EXPECT_EQ(reg_->GetModel("m").tags.at("owner"), "risk-team");
  EXPECT_EQ(reg_->GetModel("m").description, "fraud model");
  EXPECT_EQ(reg_->GetVersion("m", 1).tags.at("validated"), "no");
  EXPECT_EQ(reg_->GetVersion("m", 1).description, "first cut");
  reg_->DeleteTag("m", 1, "validated", "dan");
  EXPECT_EQ(reg_->GetVersion("m", 1).tags.count("validated"), 0u);
  EXPECT_THROW(reg_->DeleteTag("m", 1, "validated"), Error);
  std::vector<std::string> actions;
  for (const auto& e : reg_->History("m")) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "register", "tag", "tag", "tag", "describe",
                                               "describe", "untag"}));
  const auto last2 = reg_->History("m", 2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[1].action, "untag");
  EXPECT_LT(last2[0].id, last2[1].id);
}

TEST_F(RegistryTest, AuditLogRefusesUpdateAndDelete) {
  reg_->Register("m", Ark("a", {Ramp(10, 0)}), Opts());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((root_ + "/registry.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET actor = 'mallory'", nullptr, nullptr, &err), SQLITE_OK);
  sqlite3_free(err);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, &err), SQLITE_OK);
  sqlite3_free(err);
  sqlite3_close(db);
  for (const auto& e : reg_->History("m")) EXPECT_EQ(e.actor, "alice");
}

TEST_F(RegistryTest, DeleteRemovesAliasesAndRefusesUse) {
  reg_->Register("m", Ark("a", {Ramp(10, 0)}), Opts());
  reg_->Register("m", Ark("b", {Ramp(10, 1)}), Opts());
  reg_->SetAlias("m", "champion", 1);
  reg_->Delete("m", 1, "leaked data");
  EXPECT_EQ(reg_->GetVersion("m", 1).status, "DELETED");
  EXPECT_TRUE(reg_->GetModel("m").aliases.empty());
  EXPECT_EQ(reg_->ListVersions("m").size(), 1u);
  EXPECT_EQ(reg_->ListVersions("m", true).size(), 2u);
  EXPECT_THROW(reg_->SetAlias("m", "champion", 1), Error);
  EXPECT_THROW(reg_->Get("m", 1, dir_.File("x.ark")), Error);
  EXPECT_THROW(reg_->Resolve(ParseModelUri("models:/m/1")), Error);
  EXPECT_THROW(reg_->Delete("m", 1), Error);
  EXPECT_EQ(reg_->Resolve(ParseModelUri("models:/m/latest")).version, 2);
  // Numbers are never reused.
  EXPECT_EQ(reg_->Register("m", Ark("c", {Ramp(10, 2)}), Opts()).version, 3);
  // Deleting the model hides it; registering again revives it.
  reg_->Delete("m", 0, "retired");
  EXPECT_TRUE(reg_->ListModels().empty());
  EXPECT_THROW(reg_->GetModel("m"), Error);
  EXPECT_EQ(reg_->Register("m", Ark("d", {Ramp(10, 3)}), Opts()).version, 4);
}

TEST_F(RegistryTest, GcReclaimsOnlyUnreferencedPieces) {
  // a's pack ends up mostly dead (its own array outweighs the shared one), so
  // gc repacks it.
  const std::vector<double> shared = Ramp(10'000, 3);
  const std::string a = Ark("a", {shared, Ramp(30'000, 1)});
  const std::string b = Ark("b", {shared, Ramp(30'000, 2)});
  reg_->Register("m", a, Opts());
  reg_->Register("m", b, Opts());
  const auto before = PieceFiles(root_);
  EXPECT_EQ(reg_->Gc().pieces_removed, 0u);
  reg_->Materialize("m", 1);
  reg_->Delete("m", 1);
  const Registry::GcResult r = reg_->Gc();
  EXPECT_EQ(r.pieces_removed, 2u);  // a's own array and its manifest piece
  EXPECT_GE(r.bytes_freed, 240'000u);
  EXPECT_EQ(PieceFiles(root_).first, before.first - 2);
  const std::string out = dir_.File("b-out");
  reg_->Get("m", 2, out);
  EXPECT_EQ(ReadAll(out), ReadAll(b));
  EXPECT_EQ(reg_->History("").back().action, "gc");
}

TEST_F(RegistryTest, DamagedPieceIsDetectedOnGet) {
  reg_->Register("m", Ark("a", {Ramp(1000, 0)}), Opts());
  for (const auto& e : std::filesystem::recursive_directory_iterator(root_ + "/packs")) {
    if (e.is_regular_file() && e.file_size() > 8000) {
      auto bytes = ReadAll(e.path().string());
      bytes[bytes.size() / 2] ^= 1;  // inside the 8000-byte array
      testing::WriteAll(e.path().string(), bytes);
    }
  }
  try {
    reg_->Get("m", 1, dir_.File("out"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kChecksumMismatch) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.File("out")));
}

TEST(ModelUriTest, ParsesTheFourForms) {
  EXPECT_EQ(ParseModelUri("models:/fraud/3").version, 3);
  EXPECT_EQ(ParseModelUri("models:/fraud@prod").alias, "prod");
  EXPECT_EQ(ParseModelUri("models:/fraud/staging").stage, "Staging");
  EXPECT_TRUE(ParseModelUri("models:/fraud/latest").latest);
  EXPECT_EQ(ParseModelUri("models:/fraud/latest").name, "fraud");
  for (const char* bad : {"fraud/3", "models:/", "models:/fraud", "models:/fraud/", "models:/fraud/0",
                          "models:/fraud/x", "models:/fraud@", "models:/fr aud/1",
                          "models:/fraud@latest", "models:/fraud/99999999999999999999"}) {
    EXPECT_THROW(ParseModelUri(bad), Error) << bad;
  }
  EXPECT_TRUE(IsModelUri("models:/x/1"));
  EXPECT_FALSE(IsModelUri("model.ark"));
}

}  // namespace
}  // namespace ark::registry
