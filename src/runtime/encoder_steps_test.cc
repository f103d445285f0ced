#include "encoder_steps.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "column_transformer_step.h"
#include "string_codes.h"
#include "transform_steps.h"

namespace ark::runtime {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(StringCodes, InternIsStableAndFindMissesUnknown) {
  StringCodes codes;
  EXPECT_EQ(codes.Intern("b"), 0);
  EXPECT_EQ(codes.Intern("a"), 1);
  EXPECT_EQ(codes.Intern("b"), 0);
  EXPECT_EQ(codes.Find("a"), 1);
  EXPECT_EQ(codes.Find(""), -1);
  EXPECT_EQ(codes.Intern(""), 2);  // an empty string is a value
  EXPECT_EQ(CodeOf(kNaN), -2);
  EXPECT_EQ(CodeOf(-1), -1);
}

// A one-feature string lookup over categories {"x", "y", NaN}.
CategoryLookup StringLookup(std::shared_ptr<StringCodes> codes) {
  CategoryLookup f;
  f.codes = codes;
  f.by_code = {-1, 0, 1};  // code 0 ("other") is known to the column, not to us
  f.nan_index = 2;
  f.size = 3;
  f.column = "column 'city'";
  return f;
}

TEST(OneHotStep, MapsCodesMissingAndUnknown) {
  auto codes = std::make_shared<StringCodes>();
  codes->Intern("other");
  codes->Intern("x");
  codes->Intern("y");
  OneHotStep step;
  step.name = "OneHotEncoder";
  step.n_in = 1;
  step.n_out = 3;
  OneHotStep::Feature f;
  f.lookup = StringLookup(codes);
  f.out_of_category = {0, 1, 2};
  f.unknown_out = -1;  // handle_unknown="ignore"
  step.features.push_back(f);
  const std::vector<double> in = {1, 2, kNaN, 0, -1};
  std::vector<double> out(15, 7);
  Scratch scratch;
  step.Apply(in.data(), 5, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
}

TEST(OneHotStep, UnknownUnderErrorNamesColumnRowAndValue) {
  auto codes = std::make_shared<StringCodes>();
  codes->Intern("other");
  codes->Intern("x");
  codes->Intern("y");
  OneHotStep step;
  step.name = "OneHotEncoder";
  step.n_in = 1;
  step.n_out = 3;
  OneHotStep::Feature f;
  f.lookup = StringLookup(codes);
  f.out_of_category = {0, 1, 2};
  f.unknown_out = -2;
  step.features.push_back(f);
  const std::vector<double> in = {1, 0};
  std::vector<double> out(6);
  Scratch scratch;
  scratch.first_row = 10;
  try {
    step.Apply(in.data(), 2, out.data(), scratch);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("column 'city', row 12"), std::string::npos) << m;
    EXPECT_NE(m.find("'other'"), std::string::npos) << m;
  }
}

TEST(CategoryLookup, NumbersUseEqualityNotNearness) {
  CategoryLookup f;
  f.numbers = {-1.5, 0.0, 2.0};
  f.number_index = {0, 1, 2};
  f.size = 3;
  EXPECT_EQ(f.Find(-0.0), 1);  // -0.0 == 0.0, as numpy compares
  EXPECT_EQ(f.Find(2.0), 2);
  EXPECT_EQ(f.Find(std::nextafter(2.0, 3.0)), -1);
  EXPECT_EQ(f.Find(kNaN), -1);  // no NaN category
}

TEST(OrdinalStep, UnknownValueAndEncodedMissing) {
  OrdinalStep step;
  step.n_in = step.n_out = 1;
  OrdinalStep::Feature f;
  f.lookup.numbers = {1.0, 5.0};
  f.lookup.number_index = {0, 1};
  f.lookup.nan_index = 2;
  f.value_of_category = {0, 1, -7};
  f.unknown_error = false;
  f.unknown_value = -1;
  step.features.push_back(f);
  const std::vector<double> in = {5, kNaN, 3};
  std::vector<double> out(3);
  Scratch scratch;
  step.Apply(in.data(), 3, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{1, -7, -1}));
}

TEST(ImputerStep, DropsEmptyFeaturesAndAppendsIndicator) {
  ImputerStep step;
  step.n_in = 3;
  step.n_out = 3;
  step.features = {{true, 10.0}, {false, kNaN}, {true, -1.0}};
  step.indicator = {0};
  const std::vector<double> in = {kNaN, kNaN, 2, 1, kNaN, kNaN};
  std::vector<double> out(6);
  Scratch scratch;
  step.Apply(in.data(), 2, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{10, 2, 1, 1, -1, 0}));
}

TEST(BinsStep, SearchsortedRight) {
  BinsStep step;
  step.n_in = step.n_out = 1;
  step.inner_edges = {{1.0, 2.0}};
  const std::vector<double> in = {0.5, 1.0, 1.5, 2.0, 9.0};
  std::vector<double> out(5);
  Scratch scratch;
  step.Apply(in.data(), 5, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{0, 1, 1, 2, 2}));  // an edge value goes right
}

TEST(PolynomialStep, AssociatesLikeScikitLearn) {
  PolynomialStep step;
  step.n_in = 3;
  step.terms = {{}, {0}, {0, 1, 2}};
  step.n_out = 3;
  const std::vector<double> in = {0.1, 0.7, 1.3};
  std::vector<double> out(3);
  Scratch scratch;
  step.Apply(in.data(), 1, out.data(), scratch);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[1], 0.1);
  EXPECT_EQ(out[2], (1.3 * 0.7) * 0.1);
}

TEST(NormalizerStep, ZeroRowsStayZero) {
  NormalizerStep step;
  step.n_in = step.n_out = 2;
  step.norm = NormalizerStep::Norm::kL1;
  const std::vector<double> in = {0, 0, 3, -1};
  std::vector<double> out(4);
  Scratch scratch;
  step.Apply(in.data(), 2, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{0, 0, 0.75, -0.25}));
}

TEST(ColumnTransformerStep, BranchesSideBySideWithWeights) {
  auto inner = std::make_unique<BinarizerStep>();
  inner->n_in = inner->n_out = 1;
  inner->threshold = 0.5;
  ColumnTransformerStep ct;
  ct.n_in = 3;
  ColumnTransformerStep::Branch a;
  a.columns = {2};
  a.step = std::move(inner);
  a.width = 1;
  ColumnTransformerStep::Branch b;  // passthrough, weighted
  b.columns = {0, 1};
  b.width = 2;
  b.weighted = true;
  b.weight = 2;
  ct.branches.push_back(std::move(a));
  ct.branches.push_back(std::move(b));
  ct.n_out = 3;
  const std::vector<double> in = {1, 2, 0.7, 3, 4, 0.1};
  std::vector<double> out(6);
  Scratch scratch;
  ct.Apply(in.data(), 2, out.data(), scratch);
  EXPECT_EQ(out, (std::vector<double>{1, 2, 4, 0, 6, 8}));
}

}  // namespace
}  // namespace ark::runtime
