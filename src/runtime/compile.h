// The compile step: an ark object tree (docs/OBJECTS.md) to a Program.
//
// This is the only part of the runtime that knows how scikit-learn objects
// are encoded; the kernels below it see plain arrays. Each estimator family
// has its own compile_*.cc; compile.cc dispatches on the class name and
// composes pipelines.
//
// An object the runtime does not support is refused with an ark::Error
// naming its class and pointing at ark.load() in Python (see
// UnsupportedError); an object whose fields are missing or malformed is
// refused with kBadManifest.
#pragma once

#include <memory>
#include <string>

#include "ark/format/error.h"
#include "ark/model/value.h"
#include "object_tree.h"
#include "program.h"
#include "string_codes.h"

namespace ark::runtime {

// The code of "the runtime cannot run this model" errors. The error enum has
// no kUnsupported yet; this is the one place to change when it does.
inline constexpr ErrorCode kUnsupportedCode = ErrorCode::kUnsupported;

[[noreturn]] void UnsupportedError(const std::string& type_name, const std::string& detail = {});

// Compiles the model at `root`. REQUIRES: root and arrays outlive the call
// only (the Program copies what it keeps).
std::unique_ptr<Program> CompileProgram(const model::Value& root, const ArraySource& arrays);

// --- shared by the compile_*.cc files ---------------------------------------

// A Head for a supported final estimator, or null when `est` is not one
// (it may still be a transformer). `n_in`: width of its input.
std::unique_ptr<Head> CompileTreeHead(const Obj& est, size_t n_in);
std::unique_ptr<Head> CompileLinearHead(const Obj& est, size_t n_in);
std::unique_ptr<Head> CompileAnomalyHead(const Obj& est, size_t n_in);  // IsolationForest
// A Step for a supported transformer, or null.
std::unique_ptr<Step> CompilePreprocessingStep(const Obj& est, size_t n_in);
// FunctionTransformer (numpy ufuncs), PCA, TruncatedSVD, VarianceThreshold,
// the univariate selectors (SelectKBest, SelectPercentile, SelectFpr/Fdr/Fwe,
// GenericUnivariateSelect), RFE/RFECV (their support_), Normalizer,
// Binarizer, PolynomialFeatures; or null.
std::unique_ptr<Step> CompileTransformerStep(const Obj& est, size_t n_in);
// SelectFromModel, its mask recomputed from the estimator's coef_, stored
// feature_importances_ or its trees (tree_importances.h);
// compile_select_from_model.cc.
std::unique_ptr<Step> CompileSelectFromModel(const Obj& sfm, size_t n);

// What a dense column holds while a chain is compiled.
struct DenseColumn {
  int input = -1;                      // the schema column it is unchanged, else -1
  std::shared_ptr<StringCodes> codes;  // set: string codes of that column
};

struct CompileContext {
  Program* program = nullptr;
  std::vector<std::shared_ptr<StringCodes>> codes;  // per schema column
  std::vector<uint8_t> numeric_used;                // per schema column
};

// A Step for `est` over dense columns `*columns` (updated to its output), or
// null when the runtime does not know `est`. Handles nested Pipelines,
// ColumnTransformer, the encoders, SimpleImputer and the numeric
// transformers of CompilePreprocessingStep. Marks string input columns in
// ctx (compile_columns.cc).
std::unique_ptr<Step> CompileStep(const Obj& est, std::vector<DenseColumn>* columns,
                                  CompileContext* ctx);

// The classes_ of a classifier as labels (numeric or object arrays).
std::shared_ptr<const Classes> ReadClasses(const Obj& est, const std::string& key = "classes_");
// The same from an array value (an item of a multi-output classes_ list).
std::shared_ptr<const Classes> ReadClassesOf(const Obj& est, const model::Value& value,
                                             const std::string& key);

// The strings of a '<U' array or an object array of str; `what` names it in
// errors (kBadManifest for anything else).
std::vector<std::string> StringArray(const NdArray& a, const Obj& est, const std::string& what);
// True for a numpy '<U' array; UnicodeStrings gives its elements as UTF-8
// in C order (trailing NULs dropped, as numpy does).
bool IsUnicodeArray(const NdArray& a);
std::vector<std::string> UnicodeStrings(const NdArray& a);

// The number of input features an estimator was fitted with
// (n_features_in_), or `fallback` when it does not say.
size_t FeaturesIn(const Obj& est, size_t fallback);

}  // namespace ark::runtime
