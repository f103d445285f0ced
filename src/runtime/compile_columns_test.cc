// The compile step of ColumnTransformer and the encoders on hand-built object
// trees: which input columns become string columns, and what rows of codes
// produce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "ark/format/dtype.h"
#include "compile.h"

namespace ark::runtime {
namespace {

using model::Value;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class Blobs : public ArraySource {
 public:
  Value Doubles(const std::vector<double>& v) {
    format::BlobInfo info;
    info.dtype = format::ParseDtype("<f8");
    info.shape = {v.size()};
    info.raw_size = v.size() * 8;
    infos_.push_back(info);
    auto buffer = std::make_shared<std::vector<std::byte>>(v.size() * 8);
    if (!v.empty()) std::memcpy(buffer->data(), v.data(), v.size() * 8);
    buffers_.push_back(buffer);
    return Value::Array(infos_.size() - 1);
  }
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

Value ObjectArray(std::vector<Value> items) {
  const auto n = static_cast<int64_t>(items.size());
  return Value::Object("numpy.ndarray", Dict({{"dtype", Value::String("|O")},
                                              {"shape", Value::List({Value::Int(n)})},
                                              {"items", Value::List(std::move(items))}}));
}

Value Names(std::vector<std::string> names) {
  std::vector<Value> items;
  for (auto& n : names) items.push_back(Value::String(n));
  return ObjectArray(std::move(items));
}

// ColumnTransformer([("cat", OneHotEncoder(handle_unknown), ["city"]),
//                    ("num", "passthrough", ["age"])]) over (age, city, unused).
Value CityTransformer(const std::string& handle_unknown) {
  Value onehot = Value::Object(
      "sklearn.preprocessing._encoders.OneHotEncoder",
      Dict({{"handle_unknown", Value::String(handle_unknown)},
            {"n_features_in_", Value::Int(1)},
            {"drop_idx_", Value::Null()},
            {"_infrequent_enabled", Value::Bool(false)},
            {"categories_", Value::List({ObjectArray({Value::String("lyon"), Value::String("paris"),
                                                      Value::Float(kNaN)})})}}));
  auto entry = [](const char* name, Value trans, std::vector<std::string> cols) {
    std::vector<Value> c;
    for (auto& s : cols) c.push_back(Value::String(s));
    return Value::Tuple({Value::String(name), std::move(trans), Value::List(std::move(c))});
  };
  return Value::Object(
      "sklearn.compose._column_transformer.ColumnTransformer",
      Dict({{"n_features_in_", Value::Int(3)},
            {"feature_names_in_", Names({"age", "city", "unused"})},
            {"transformers_",
             Value::List({entry("cat", onehot, {"city"}),
                          entry("num", Value::String("passthrough"), {"age"}),
                          entry("remainder", Value::String("drop"), {"unused"})})}}));
}

TEST(CompileColumns, StringColumnsGetCodesAndUnreadColumnsAnyText) {
  Blobs blobs;
  const Value root = CityTransformer("ignore");
  const auto program = CompileProgram(root, blobs);
  ASSERT_EQ(program->schema.size(), 3u);
  EXPECT_EQ(program->schema[0].type, ColumnType::kFloat64);
  EXPECT_EQ(program->schema[1].type, ColumnType::kString);
  EXPECT_EQ(program->schema[2].type, ColumnType::kString);  // read by no step
  ASSERT_TRUE(program->codes[1]);
  EXPECT_FALSE(program->codes[0]);
  EXPECT_TRUE(program->strict[1].empty());
  const double lyon = program->codes[1]->Find("lyon");
  const double paris = program->codes[1]->Find("paris");
  ASSERT_GE(lyon, 0);
  // Rows: (age, city code, unused): lyon, paris, missing, unknown (-1).
  const std::vector<double> x = {30, lyon, 0, 31, paris, 0, 32, kNaN, 0, 33, -1, 0};
  std::vector<double> out(16);
  Scratch scratch;
  program->Run(Method::kTransform, x.data(), 4, 0, out.data(), nullptr, scratch);
  EXPECT_EQ(out, (std::vector<double>{1, 0, 0, 30, 0, 1, 0, 31, 0, 0, 1, 32, 0, 0, 0, 33}));
}

TEST(CompileColumns, HandleUnknownErrorMarksTheColumnStrict) {
  Blobs blobs;
  const auto program = CompileProgram(CityTransformer("error"), blobs);
  EXPECT_EQ(program->strict[1], "OneHotEncoder");
  const std::vector<double> x = {30, -1, 0};
  std::vector<double> out(4);
  Scratch scratch;
  try {
    program->Run(Method::kTransform, x.data(), 1, 41, out.data(), nullptr, scratch);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("column 'city', row 42"));
  }
}

TEST(CompileColumns, UnsupportedHandleUnknownIsRefused) {
  Blobs blobs;
  try {
    CompileProgram(CityTransformer("warn"), blobs);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("handle_unknown='warn'"));
    EXPECT_THAT(e.what(), HasSubstr("ark.load"));
  }
}

}  // namespace
}  // namespace ark::runtime
