// CheckValidation on files built in memory: a StandardScaler (transform) and
// validation sections that match, differ, sit at the tolerance, or are
// malformed.
#include "ark/runtime/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "ark/format/writer.h"

namespace ark::runtime {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

std::string Machine() {
  struct utsname u;
  return uname(&u) == 0 ? u.machine : "";
}

// x: 3 rows × 2 features; the scaler: mean (1, 2), scale (2, 4).
const std::vector<double> kInput = {1, 2, 3, 6, -1, 0};
std::vector<double> Scaled() {
  std::vector<double> out;
  for (size_t r = 0; r < 3; ++r) {
    out.push_back((kInput[r * 2] - 1) / 2);
    out.push_back((kInput[r * 2 + 1] - 2) / 4);
  }
  return out;
}

struct File {
  std::shared_ptr<const format::Reader> reader;
  std::shared_ptr<const Model> model;
};

// A scaler file whose stored transform output is `expected`; `edit` may
// change the validation section before it is written.
File Build(std::vector<double> expected, const std::function<void(Json&)>& edit = {}) {
  auto writer = format::Writer::ToMemory();
  static const std::vector<double> mean = {1, 2}, scale = {2, 4};
  auto bytes = [](const std::vector<double>& v) {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(v.data()), v.size() * 8);
  };
  const uint64_t mean_blob = writer->AddBlob("<f8", {2}, bytes(mean), {});
  const uint64_t scale_blob = writer->AddBlob("<f8", {2}, bytes(scale), {});
  format::BlobOptions aux;
  aux.aux = true;
  const uint64_t input_blob = writer->AddBlob("<f8", {3, 2}, bytes(kInput), aux);
  const uint64_t output_blob = writer->AddBlob("<f8", {3, 2}, bytes(expected), aux);
  Json root = {{"$object", "sklearn.preprocessing._data.StandardScaler"},
               {"state",
                {{"with_mean", true},
                 {"with_std", true},
                 {"n_features_in_", 2},
                 {"mean_", {{"$array", mean_blob}}},
                 {"scale_", {{"$array", scale_blob}}}}}};
  Json validation = {
      {"spec",
       {{"version", 1},
        {"environment", {{"scikit-learn", kReferenceSklearnVersion}, {"machine", Machine()}}},
        {"input", {{"kind", "ndarray"}, {"array", 0}}},
        {"outputs", {{"transform", {{"kind", "ndarray"}, {"array", 1}}}}},
        {"skipped", Json::object()}}},
      {"blobs", {input_blob, output_blob}}};
  if (edit) edit(validation);
  writer->Finish(root, {{"validation", validation}});
  auto buffer = std::make_shared<const std::vector<std::byte>>(writer->TakeBuffer());
  File f;
  f.reader = format::Reader::FromBuffer(buffer);
  ModelOptions options;
  options.threads = 1;
  f.model = Model::FromReader(f.reader, options);
  return f;
}

TEST(Validation, MatchingOutputs) {
  const File f = Build(Scaled());
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  EXPECT_EQ(r.status, ValidationReport::Status::kMatch) << r.reason;
  EXPECT_EQ(r.rows, 3u);
  EXPECT_EQ(r.checked, std::vector<std::string>{"transform"});
  EXPECT_EQ(r.max_ulp, 0u);
  EXPECT_EQ(r.rtol, kRtolSameEnvironment);
}

TEST(Validation, OneUlpIsReportedAndAccepted) {
  std::vector<double> expected = Scaled();
  expected[3] = std::nextafter(expected[3], 10.0);
  const File f = Build(expected);
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  EXPECT_EQ(r.status, ValidationReport::Status::kMatch) << r.reason;
  EXPECT_EQ(r.max_ulp, 1u);
}

TEST(Validation, DifferenceNamesRowAndColumn) {
  std::vector<double> expected = Scaled();
  expected[2 * 2 + 1] += 1e-9;  // row 2, column 1; beyond rtol 1e-12 of the column
  const File f = Build(expected);
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  ASSERT_EQ(r.status, ValidationReport::Status::kMismatch);
  EXPECT_EQ(r.method, "transform");
  EXPECT_EQ(r.row, 2);
  EXPECT_EQ(r.column, 1);
  EXPECT_THAT(r.reason, HasSubstr("1 of 3 rows differ beyond the tolerance"));
}

TEST(Validation, AnotherEnvironmentGetsTheLooserTolerance) {
  std::vector<double> expected = Scaled();
  expected[2 * 2 + 1] += 1e-9;
  const File f = Build(expected, [](Json& v) {
    v["spec"]["environment"]["scikit-learn"] = "1.3.0";
  });
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  EXPECT_EQ(r.status, ValidationReport::Status::kMatch) << r.reason;
  EXPECT_EQ(r.rtol, kRtolOtherEnvironment);
}

TEST(Validation, NanMustStayNan) {
  std::vector<double> expected = Scaled();
  expected[0] = std::nan("");
  const File f = Build(expected);
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  ASSERT_EQ(r.status, ValidationReport::Status::kMismatch);
  EXPECT_THAT(r.reason, HasSubstr("NaN or infinite values differ"));
  EXPECT_TRUE(std::isinf(r.max_abs_diff));
}

TEST(Validation, MalformedSectionsAreReportedNotThrown) {
  const std::vector<std::pair<std::function<void(Json&)>, std::string>> cases = {
      {[](Json& v) { v["spec"]["outputs"]["fit"] = v["spec"]["outputs"]["transform"]; },
       "'fit' is not a prediction method"},
      {[](Json& v) { v["spec"]["input"]["array"] = 7; }, "array position 7 out of range"},
      {[](Json& v) { v["blobs"][0] = 99; }, "blob index 99 out of range"},
      {[](Json& v) { v["spec"]["input"]["array"] = "0"; }, "array position \"0\" out of range"},
      {[](Json& v) { v.erase("blobs"); }, "not {spec, blobs}"},
      {[](Json& v) {
         v["spec"]["input"] = {{"kind", "ndarray"},
                               {"objects",
                                {{"encoding", "objects"}, {"shape", {100000, 100000}}, {"all", 2}}}};
       },
       "too large"},
  };
  for (const auto& [edit, message] : cases) {
    const File f = Build(Scaled(), edit);
    const ValidationReport r = CheckValidation(*f.reader, *f.model);
    EXPECT_EQ(r.status, ValidationReport::Status::kMismatch) << message;
    EXPECT_THAT(r.reason, HasSubstr("malformed")) << message;
    EXPECT_THAT(r.reason, HasSubstr(message));
  }
}

TEST(Validation, WhatCannotBeComparedIsListed) {
  const File f = Build(Scaled(), [](Json& v) {
    v["spec"]["outputs"]["score_samples"] = {{"kind", "ndarray"}, {"array", 1}};
  });
  const ValidationReport r = CheckValidation(*f.reader, *f.model);
  EXPECT_EQ(r.status, ValidationReport::Status::kMatch) << r.reason;
  ASSERT_EQ(r.unchecked.size(), 1u);
  EXPECT_THAT(r.unchecked[0], HasSubstr("score_samples"));

  const File sparse = Build(Scaled(), [](Json& v) { v["spec"]["input"] = {{"kind", "sparse"}}; });
  const ValidationReport s = CheckValidation(*sparse.reader, *sparse.model);
  EXPECT_EQ(s.status, ValidationReport::Status::kNotChecked);
  EXPECT_THAT(s.reason, HasSubstr("sparse"));
}

}  // namespace
}  // namespace ark::runtime
