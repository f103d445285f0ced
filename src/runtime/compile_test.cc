// The compile step on hand-built object trees (docs/OBJECTS.md conventions),
// with arrays held in memory instead of a file.
#include "compile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "ark/format/dtype.h"
#include "linear_heads.h"
#include "numeric.h"

namespace ark::runtime {
namespace {

using model::Value;
using ::testing::HasSubstr;

class MemoryArrays : public ArraySource {
 public:
  Value Add(const nlohmann::ordered_json& descr, std::vector<uint64_t> shape, const void* data,
            size_t bytes) {
    format::BlobInfo info;
    info.dtype = format::ParseDtype(descr);
    info.shape = std::move(shape);
    info.raw_size = bytes;
    infos_.push_back(info);
    auto buffer = std::make_shared<std::vector<std::byte>>(bytes);
    std::memcpy(buffer->data(), data, bytes);
    buffers_.push_back(buffer);
    return Value::Array(infos_.size() - 1);
  }
  Value Doubles(std::vector<double> v) { return Add("<f8", {v.size()}, v.data(), v.size() * 8); }
  Value Matrix(std::vector<double> v, uint64_t rows) {
    return Add("<f8", {rows, v.size() / rows}, v.data(), v.size() * 8);
  }
  Value Ints(std::vector<int64_t> v) { return Add("<i8", {v.size()}, v.data(), v.size() * 8); }

  uint64_t size() const override { return infos_.size(); }
  const format::BlobInfo& Info(uint64_t i) const override { return infos_.at(i); }
  format::BlobView Read(uint64_t i) const override {
    return {std::span<const std::byte>(buffers_.at(i)->data(), buffers_.at(i)->size()),
            buffers_.at(i), false};
  }

 private:
  std::vector<format::BlobInfo> infos_;
  std::vector<std::shared_ptr<std::vector<std::byte>>> buffers_;
};

Value Dict(std::vector<std::pair<std::string, Value>> items) {
  std::vector<std::pair<Value, Value>> pairs;
  for (auto& [k, v] : items) pairs.emplace_back(Value::String(k), std::move(v));
  return Value::Dict(std::move(pairs));
}

Value ScalerLogreg(MemoryArrays& a, const std::string& multi_class = "auto") {
  Value scaler =
      Value::Object("sklearn.preprocessing._data.StandardScaler",
                    Dict({{"with_mean", Value::Bool(true)},
                          {"with_std", Value::Bool(true)},
                          {"n_features_in_", Value::Int(2)},
                          {"n_samples_seen_", Value::Object("numpy.int64", Value::Int(10))},
                          {"mean_", a.Doubles({1.0, -2.0})},
                          {"scale_", a.Doubles({0.5, 3.0})}}));
  Value logreg = Value::Object("sklearn.linear_model._logistic.LogisticRegression",
                               Dict({{"multi_class", Value::String(multi_class)},
                                     {"solver", Value::String("lbfgs")},
                                     {"n_features_in_", Value::Int(2)},
                                     {"classes_", a.Ints({3, 7})},
                                     {"coef_", a.Matrix({0.25, -1.5}, 1)},
                                     {"intercept_", a.Doubles({0.125})}}));
  return Value::Object(
      "sklearn.pipeline.Pipeline",
      Dict({{"steps", Value::List({Value::Tuple({Value::String("scaler"), scaler}),
                                   Value::Tuple({Value::String("clf"), logreg})})}}));
}

TEST(Compile, ScalerLogisticRegression) {
  MemoryArrays arrays;
  const Value root = ScalerLogreg(arrays);
  const auto program = CompileProgram(root, arrays);
  EXPECT_EQ(program->description, "Pipeline(StandardScaler, LogisticRegression)");
  EXPECT_TRUE(program->positional);
  ASSERT_EQ(program->schema.size(), 2u);
  EXPECT_TRUE(program->Supports(Method::kPredictProba));
  EXPECT_FALSE(program->Supports(Method::kTransform));

  const double x[] = {2.0, 1.0};
  Scratch scratch;
  double proba[2], decision;
  int32_t label;
  program->Run(Method::kPredictProba, x, 1, 0, proba, nullptr, scratch);
  program->Run(Method::kDecisionFunction, x, 1, 0, &decision, nullptr, scratch);
  program->Run(Method::kPredict, x, 1, 0, nullptr, &label, scratch);
  const double z0 = (2.0 - 1.0) / 0.5, z1 = (1.0 - -2.0) / 3.0;
  const double d = ((0.0 + z0 * 0.25) + z1 * -1.5) + 0.125;
  EXPECT_EQ(decision, d);
  EXPECT_EQ(proba[1], Expit(d));
  EXPECT_EQ(proba[0], 1.0 - Expit(d));
  EXPECT_EQ(label, d > 0 ? 1 : 0);
  EXPECT_EQ((*program->head->classes)[1].int_value, 7);
}

TEST(Compile, MultinomialBinaryUsesSoftmaxOfPlusMinus) {
  MemoryArrays arrays;
  const auto program = CompileProgram(ScalerLogreg(arrays, "multinomial"), arrays);
  const double x[] = {2.0, 1.0};
  Scratch scratch;
  double proba[2], decision;
  program->Run(Method::kPredictProba, x, 1, 0, proba, nullptr, scratch);
  program->Run(Method::kDecisionFunction, x, 1, 0, &decision, nullptr, scratch);
  double expected[2] = {-decision, decision};
  SoftmaxInPlace(expected, 2);
  EXPECT_EQ(proba[0], expected[0]);
  EXPECT_EQ(proba[1], expected[1]);
}

TEST(Compile, LogisticRegressionRefusesNan) {
  MemoryArrays arrays;
  const auto program = CompileProgram(ScalerLogreg(arrays), arrays);
  const double x[] = {2.0, 1.0, 3.0, NAN};
  Scratch scratch;
  double proba[4];
  try {
    program->Run(Method::kPredictProba, x, 2, 0, proba, nullptr, scratch);
    FAIL();
  } catch (const Error& e) {
    // StandardScaler lets NaN through; LogisticRegression refuses it.
    EXPECT_THAT(e.what(), HasSubstr("feature 1 of the input of LogisticRegression, row 2"));
  }
}

TEST(Compile, UnsupportedNamesTheClassAndArkLoad) {
  MemoryArrays arrays;
  const Value root = Value::Object("sklearn.neighbors._classification.KNeighborsClassifier",
                                   Dict({{"n_features_in_", Value::Int(2)}}));
  try {
    CompileProgram(root, arrays);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kUnsupportedCode);
    EXPECT_THAT(e.what(), HasSubstr("KNeighborsClassifier"));
    EXPECT_THAT(e.what(), HasSubstr("ark.load()"));
  }
}

TEST(Compile, MissingFieldIsABadManifest) {
  MemoryArrays arrays;
  const Value root = Value::Object("sklearn.preprocessing._data.StandardScaler",
                                   Dict({{"n_features_in_", Value::Int(2)}}));
  // with_mean defaults to true, so mean_ is required... but IsNone tolerates
  // it; scale_ likewise: a scaler without statistics is the identity.
  const auto program = CompileProgram(root, arrays);
  EXPECT_TRUE(program->Supports(Method::kTransform));
  const Value bad = Value::Object("sklearn.linear_model._logistic.LogisticRegression",
                                  Dict({{"n_features_in_", Value::Int(2)}}));
  try {
    CompileProgram(bad, arrays);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadManifest);
    EXPECT_THAT(e.what(), HasSubstr("coef_"));
  }
}

TEST(Compile, ForestFromTreeNodes) {
  // A one-tree forest: stump on feature 1 at 0.5, leaves with class weights
  // [3, 1] and [0, 2].
  MemoryArrays arrays;
  struct Node {
    int64_t left, right, feature;
    double threshold, impurity;
    int64_t n;
    double weighted;
  };
  const Node nodes[] = {
      {1, 2, 1, 0.5, 0.5, 6, 6.0}, {-1, -1, -2, -2, 0, 4, 4.0}, {-1, -1, -2, -2, 0, 2, 2.0}};
  const nlohmann::ordered_json descr = {
      {"names",
       {"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples",
        "weighted_n_node_samples"}},
      {"formats", {"<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"}},
      {"offsets", {0, 8, 16, 24, 32, 40, 48}},
      {"itemsize", 56}};
  const double values[] = {3, 3, 3, 1, 0, 2};
  const Value tree = Value::Object(
      "sklearn.tree._tree.Tree",
      Value::Tuple({Value::Tuple({Value::Int(2), arrays.Ints({2}), Value::Int(1)}),
                    Dict({{"max_depth", Value::Int(1)},
                          {"node_count", Value::Int(3)},
                          {"nodes", arrays.Add(descr, {3}, nodes, sizeof nodes)},
                          {"values", arrays.Add("<f8", {3, 1, 2}, values, sizeof values)}})}));
  const Value classes = arrays.Ints({0, 1});
  const Value clf = Value::Object("sklearn.tree._classes.DecisionTreeClassifier",
                                  Dict({{"n_features_in_", Value::Int(2)},
                                        {"n_outputs_", Value::Int(1)},
                                        {"classes_", classes},
                                        {"tree_", tree}}));
  const Value forest = Value::Object("sklearn.ensemble._forest.RandomForestClassifier",
                                     Dict({{"n_features_in_", Value::Int(2)},
                                           {"n_outputs_", Value::Int(1)},
                                           {"classes_", classes},
                                           {"estimators_", Value::List({clf, clf})}}));
  const auto program = CompileProgram(forest, arrays);
  // 0.50000001 rounds to 0.5f and goes left; 0.5000001 does not.
  const double x[] = {9.0, 0.50000001, 9.0, 0.5000001};
  Scratch scratch;
  double proba[4];
  int32_t labels[2];
  program->Run(Method::kPredictProba, x, 2, 0, proba, nullptr, scratch);
  program->Run(Method::kPredict, x, 2, 0, nullptr, labels, scratch);
  EXPECT_EQ(proba[0], (0.0 + 0.75 + 0.75) / 2);
  EXPECT_EQ(proba[1], (0.0 + 0.25 + 0.25) / 2);
  EXPECT_EQ(proba[2], 0.0);
  EXPECT_EQ(proba[3], 1.0);
  EXPECT_EQ(labels[0], 0);
  EXPECT_EQ(labels[1], 1);
  const double inf_row[] = {1e39, 0.0};  // beyond float32: scikit-learn 1.2 refuses it
  EXPECT_THROW(program->Run(Method::kPredictProba, inf_row, 1, 0, proba, nullptr, scratch), Error);
}

}  // namespace
}  // namespace ark::runtime
