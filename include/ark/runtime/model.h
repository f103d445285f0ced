// ark::runtime::Model: predicts from a persisted scikit-learn model natively,
// with no Python, matching scikit-learn 1.2.1 exactly (the exactness rules of
// DESIGN.md, "The native runtime").
//
// Open() maps the .ark file and compiles its object tree once into native
// predictors: compact tree ensembles, linear kernels, fused preprocessing.
// The tree is never interpreted per row. An estimator the runtime does not
// support is refused at Open() with an ark::Error naming the class (code
// kInvalidArgument until the error enum gains kUnsupported); such a model
// still loads in Python with ark.load().
//
// A batch call (Run, Predict, ...) matches the table's columns to the model's
// input by name (or by position when either side has no names), validates the
// values the way scikit-learn would (NaN or infinity where the estimator
// refuses them, text where numbers are expected, missing columns), and throws
// ark::Error(kInvalidArgument) naming the column and the row of the first bad
// value; nothing is returned in part. Columns that the model's encoders read
// as text (OneHotEncoder, OrdinalEncoder, SimpleImputer on strings) have type
// kString in input_schema(); a missing string matches a NaN/None category,
// and a string no encoder saw in fit is an error naming the column, the row
// and the value when the encoder was fitted with handle_unknown="error".
// Columns no step reads (dropped by a ColumnTransformer) accept anything.
//
// Thread safety: a Model is immutable once opened; every const method may be
// called from any number of threads at once. Large batches are split into
// blocks of rows scored on a small internal thread pool (ModelOptions); a
// single row is scored on the caller's thread without allocating (Scores,
// PredictLabels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ark/format/error.h"
#include "ark/format/reader.h"
#include "ark/runtime/output.h"
#include "ark/runtime/table.h"

namespace ark::runtime {

enum class Method { kPredict, kPredictProba, kDecisionFunction, kTransform };

// "predict", "predict_proba", "decision_function", "transform".
const char* MethodName(Method method);

struct ModelOptions {
  int threads = 2;  // threads for large batches; 1 scores on the caller's thread only
  format::ReaderOptions reader;
};

// What Open() and FromReader() throw for a model the runtime cannot run
// (code kUnsupported). type_name() is the qualified class the runtime lacks,
// e.g. "sklearn.svm._classes.SVC"; detail() says what about it, when the class
// itself is known but a setting is not (e.g. "loss='quantile'"), else "".
class UnsupportedModelError : public ark::Error {
 public:
  UnsupportedModelError(std::string type_name, std::string detail, const std::string& message)
      : Error(ErrorCode::kUnsupported, message),
        type_name_(std::move(type_name)),
        detail_(std::move(detail)) {}
  const std::string& type_name() const { return type_name_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string type_name_;
  std::string detail_;
};

class Program;     // the compiled form (private)
class ThreadPool;  // (private)

class Model {
 public:
  // Opens and compiles `path`. Throws ark::Error: the reader's errors for a
  // bad file, an "unsupported" error for an estimator the runtime cannot run,
  // kBadManifest for an object tree that does not have the fields its class
  // requires.
  static std::shared_ptr<const Model> Open(const std::string& path,
                                           const ModelOptions& options = {});
  // Compiles the model of an already open file; the reader is kept alive.
  static std::shared_ptr<const Model> FromReader(std::shared_ptr<const format::Reader> reader,
                                                 const ModelOptions& options = {});

  ~Model();

  // The qualified class of the root object, e.g. "sklearn.pipeline.Pipeline".
  const std::string& type_name() const;
  // A one-line summary of what was compiled, e.g.
  // "Pipeline(StandardScaler, LogisticRegression[binary])".
  const std::string& description() const;

  bool Supports(Method method) const;
  // Columns of OutputWidth(method). REQUIRES: Supports(method).
  size_t OutputWidth(Method method) const;
  // The labels of a classifier (its classes_), else null.
  std::shared_ptr<const Classes> classes() const;

  // Input columns in the model's order, with the type each must have.
  const std::vector<ColumnSpec>& input_schema() const;
  // True when the model was fitted without feature names (tables are then
  // matched by position and the names above are "x0", "x1", ...).
  bool positional_input() const;

  // Scores a batch. Returns labels for Predict of a classifier, float64
  // values otherwise. Throws kInvalidArgument as described above, and for a
  // method the model does not support.
  Output Run(Method method, const Table& input) const;
  Output Predict(const Table& input) const { return Run(Method::kPredict, input); }
  Output PredictProba(const Table& input) const { return Run(Method::kPredictProba, input); }
  Output DecisionFunction(const Table& input) const {
    return Run(Method::kDecisionFunction, input);
  }
  Output Transform(const Table& input) const { return Run(Method::kTransform, input); }

  // Fast path for numeric models (no input column read as text; else this throws
  // kInvalidArgument: use Run with a Table): `rows` × input_schema().size() doubles,
  // row-major, into `out` (rows × OutputWidth(method)). Runs on the calling
  // thread when rows is small and allocates nothing for a single row after
  // the first call on a thread. REQUIRES: every input column is float64, and
  // the method's output is float64 (use PredictLabels for a classifier's
  // predict). Throws kInvalidArgument like Run().
  void Scores(Method method, const double* x, size_t rows, double* out) const;
  // Class indices (into classes()) of a classifier's predict, one per row.
  void PredictLabels(const double* x, size_t rows, int32_t* out) const;

 private:
  Model() = default;

  std::shared_ptr<const format::Reader> reader_;
  std::unique_ptr<const Program> program_;
  std::unique_ptr<ThreadPool> pool_;  // null when single-threaded
  std::string type_name_;
};

// Whether the runtime can run a model, and if not, why (for `ark inspect` and
// `ark verify`, which report rather than fail).
struct Support {
  std::shared_ptr<const Model> model;  // the compiled model when supported, else null
  std::string unsupported_type;        // the class the runtime lacks, else ""
  std::string detail;                  // what about that class, or ""
  std::string message;                 // the full error text when not supported
  bool supported() const { return model != nullptr; }
};

// Compiles the model of `reader` like Model::FromReader (so it reads the
// model's arrays) and returns the outcome instead of throwing: an
// UnsupportedModelError fills in unsupported_type and detail; any other
// ark::Error (a malformed tree, a damaged blob) only `message`.
// std::bad_alloc propagates.
Support CheckSupport(std::shared_ptr<const format::Reader> reader,
                     const ModelOptions& options = {});

}  // namespace ark::runtime
