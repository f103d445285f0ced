// Tests of the filter language (filter.h) and of Search over it: results,
// ordering, paging, and refusal of malformed or SQL-looking input.
#include "filter.h"

#include <gtest/gtest.h>

#include "ark/format/error.h"
#include "ark/registry/registry.h"
#include "registry_test_util.h"

namespace ark::registry {
namespace {

using internal::FilterExpr;
using internal::FilterField;
using internal::ParseFilter;
using internal::ParseOrderBy;
using testing::Json;
using testing::Ramp;
using testing::TempDir;
using testing::WriteArk;

FilterExpr Parse(const std::string& text) {
  bool empty = true;
  FilterExpr e = ParseFilter(text, &empty);
  EXPECT_FALSE(empty) << text;
  return e;
}

TEST(FilterParseTest, BuildsTheTree) {
  const FilterExpr e = Parse("metrics.f1 > 0.85 and tags.team = 'risk'");
  ASSERT_EQ(e.kind, FilterExpr::kAnd);
  ASSERT_EQ(e.children.size(), 2u);
  EXPECT_EQ(e.children[0].field.kind, FilterField::kMetric);
  EXPECT_EQ(e.children[0].field.name, "f1");
  EXPECT_EQ(e.children[0].op, ">");
  EXPECT_TRUE(e.children[0].values[0].is_number);
  EXPECT_DOUBLE_EQ(e.children[0].values[0].number, 0.85);
  EXPECT_EQ(e.children[1].field.kind, FilterField::kTag);
  EXPECT_EQ(e.children[1].values[0].text, "risk");

  const FilterExpr o = Parse("(stage = 'production' OR alias IN ('a', 'b')) AND name LIKE 'fr%'");
  ASSERT_EQ(o.kind, FilterExpr::kAnd);
  EXPECT_EQ(o.children[0].kind, FilterExpr::kOr);
  EXPECT_EQ(o.children[0].children[0].values[0].text, "Production");  // canonical stage
  EXPECT_EQ(o.children[0].children[1].values.size(), 2u);
  EXPECT_EQ(o.children[1].op, "LIKE");

  const FilterExpr m = Parse("metadata.estimator.`type` = 'sklearn.svm.SVC'");
  EXPECT_EQ(m.field.kind, FilterField::kMetadata);
  EXPECT_EQ(m.field.path, (std::vector<std::string>{"estimator", "type"}));

  const FilterExpr q = Parse("tags.note = 'it''s'");
  EXPECT_EQ(q.values[0].text, "it's");
  const FilterExpr c = Parse("created >= '2025-03-01'");
  EXPECT_TRUE(c.values[0].is_number);
  EXPECT_DOUBLE_EQ(c.values[0].number, 1740787200000.0);

  bool empty = false;
  ParseFilter("   ", &empty);
  EXPECT_TRUE(empty);
}

TEST(FilterParseTest, RejectsBadFilters) {
  for (const char* bad : {
           "metrics.f1 >",                      // no value
           "metrics.f1 > 'high'",               // metric needs a number
           "tags.team = 3",                     // tag needs a string
           "version = 'one'",                   // version needs a number
           "name = \"x\"",                      // double quotes
           "name = 'x",                         // unterminated
           "nosuchfield = 1",                   // unknown field
           "name = 'x' name = 'y'",             // missing AND
           "(name = 'x'",                       // unbalanced
           "name = 'x')",                       //
           "name = 'x' AND",                    //
           "name IN ()",                        //
           "metrics.f1 LIKE '0.%'",             // LIKE on a number
           "name = 'x'; DROP TABLE versions",   // ';' is not in the language
           "name = 'x' -- comment",             //
           "1 = 1",                             // a field first
           "name = x",                          // bare word value
           "metrics. = 1",                      //
           "name NOT = 'x'",                    //
       }) {
    bool empty = false;
    EXPECT_THROW(ParseFilter(bad, &empty), Error) << bad;
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "(";
  deep += "name = 'x'";
  for (int i = 0; i < 40; ++i) deep += ")";
  bool empty = false;
  EXPECT_THROW(ParseFilter(deep, &empty), Error);
  EXPECT_THROW(ParseFilter(std::string(5000, ' '), &empty), Error);
  EXPECT_THROW(ParseOrderBy("metrics.f1 DOWN"), Error);
  EXPECT_THROW(ParseOrderBy("nosuch"), Error);
  EXPECT_EQ(ParseOrderBy("metrics.f1 DESC, version").size(), 2u);
  EXPECT_TRUE(ParseOrderBy("metrics.f1 DESC")[0].descending);
}

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_ = Registry::Open(dir_.File("reg"), true);
    // fraud: f1 0.80, 0.86, 0.90 (team risk); churn: f1 0.95 (team growth)
    const double f1s[] = {0.80, 0.86, 0.90};
    for (int i = 0; i < 3; ++i) {
      const std::string path = dir_.File("f" + std::to_string(i));
      WriteArk(path, {Ramp(10, i)},
               Json{{"metrics", {{"f1", f1s[i]}, {"auc", 0.5 + i * 0.1}}},
                    {"estimator", {{"type", "sklearn.ensemble.RandomForestClassifier"}}}});
      RegisterOptions o;
      o.tags = {{"team", "risk"}};
      o.label = "1." + std::to_string(i);
      reg_->Register("fraud", path, o);
    }
    const std::string path = dir_.File("c");
    WriteArk(path, {Ramp(10, 9)},
             Json{{"metrics", {{"f1", 0.95}}}, {"estimator", {{"type", "sklearn.svm.SVC"}}}});
    RegisterOptions o;
    o.tags = {{"team", "growth"}, {"note", "x'; DROP TABLE versions; --"}};
    reg_->Register("churn", path, o);
    reg_->SetAlias("fraud", "production", 2);
    reg_->SetStage("fraud", 3, "Staging", false);
  }

  std::vector<std::string> Ids(const std::string& filter, const std::string& order = "",
                               int64_t max = 100, int64_t offset = 0) {
    SearchOptions o;
    o.filter = filter;
    o.order_by = order;
    o.max_results = max;
    o.offset = offset;
    std::vector<std::string> out;
    for (const auto& v : reg_->Search(o)) out.push_back(v.name + "/" + std::to_string(v.version));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Registry> reg_;
};

using V = std::vector<std::string>;

TEST_F(SearchTest, FiltersOrdersAndPages) {
  EXPECT_EQ(Ids(""), (V{"churn/1", "fraud/1", "fraud/2", "fraud/3"}));
  EXPECT_EQ(Ids("metrics.f1 > 0.85 and tags.team = 'risk'", "metrics.f1 DESC"),
            (V{"fraud/3", "fraud/2"}));
  EXPECT_EQ(Ids("metrics.f1 >= 0.86", "metrics.f1"), (V{"fraud/2", "fraud/3", "churn/1"}));
  EXPECT_EQ(Ids("name = 'fraud'", "version DESC", 2), (V{"fraud/3", "fraud/2"}));
  EXPECT_EQ(Ids("name = 'fraud'", "version DESC", 2, 2), (V{"fraud/1"}));
  EXPECT_EQ(Ids("alias = 'production'"), (V{"fraud/2"}));
  EXPECT_EQ(Ids("alias != 'production' AND name = 'fraud'"), (V{"fraud/1", "fraud/3"}));
  EXPECT_EQ(Ids("stage = 'staging'"), (V{"fraud/3"}));
  EXPECT_EQ(Ids("label IN ('1.0', '1.2')"), (V{"fraud/1", "fraud/3"}));
  EXPECT_EQ(Ids("name LIKE 'fr%' AND version > 1"), (V{"fraud/2", "fraud/3"}));
  EXPECT_EQ(Ids("tags.team = 'growth' OR (name = 'fraud' AND version = 1)"), (V{"churn/1", "fraud/1"}));
  EXPECT_EQ(Ids("metadata.estimator.type = 'sklearn.svm.SVC'"), (V{"churn/1"}));
  EXPECT_EQ(Ids("metadata.metrics.auc > 0.65"), (V{"fraud/3"}));
  EXPECT_EQ(Ids("created > 0 AND created < '2100-01-01'").size(), 4u);
  EXPECT_EQ(Ids("metrics.nosuch > 0"), V{});
  EXPECT_EQ(Ids("", "metrics.auc DESC"), (V{"fraud/3", "fraud/2", "fraud/1", "churn/1"}));  // nulls last
  EXPECT_EQ(Ids("", "metrics.auc DESC", 2, 2), (V{"fraud/1", "churn/1"}));  // across the nulls
  EXPECT_EQ(Ids("", "metrics.auc DESC", 1, 3), (V{"churn/1"}));
  EXPECT_EQ(Ids("", "metrics.auc DESC", 2, 4), V{});
  EXPECT_EQ(Ids("", "metrics.auc, name DESC", 10), (V{"fraud/1", "fraud/2", "fraud/3", "churn/1"}));
  EXPECT_EQ(Ids("metrics.f1 < 0.9 and metrics.f1 > 0.5", "metrics.f1 DESC"), (V{"fraud/2", "fraud/1"}));
  EXPECT_EQ(Ids("metrics.f1 > 0.5 or name = 'churn'", "metrics.f1 DESC", 2), (V{"churn/1", "fraud/3"}));
  EXPECT_EQ(Ids("", "tags.team, version DESC"), (V{"churn/1", "fraud/3", "fraud/2", "fraud/1"}));
}

TEST_F(SearchTest, SqlLookingInputIsJustData) {
  EXPECT_EQ(Ids("tags.note = 'x''; DROP TABLE versions; --'"), (V{"churn/1"}));
  EXPECT_EQ(Ids("name = 'fraud'' OR ''1''=''1'"), V{});
  EXPECT_THROW(Ids("metadata.`a\"b` = 1"), Error);
  EXPECT_THROW(Ids("metadata.`x\") OR 1=1 --` = 1"), Error);
  EXPECT_EQ(Ids("").size(), 4u);  // the table is still there
}

TEST_F(SearchTest, DeletedVersionsAreHiddenUnlessAsked) {
  reg_->Delete("fraud", 1);
  EXPECT_EQ(Ids("name = 'fraud'"), (V{"fraud/2", "fraud/3"}));
  SearchOptions o;
  o.filter = "name = 'fraud' AND status = 'DELETED'";
  o.include_deleted = true;
  ASSERT_EQ(reg_->Search(o).size(), 1u);
  EXPECT_EQ(reg_->Search(o)[0].version, 1);
}

}  // namespace
}  // namespace ark::registry
