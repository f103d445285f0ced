// The compiled form of a model: a chain of transformer Steps over dense
// float64 rows, ending (optionally) in a Head, the final estimator.
//
// Every piece is immutable after compilation and safe to run from several
// threads at once; per-call memory lives in a Scratch that the caller owns
// (one per thread, reused across calls so a single row allocates nothing
// once warm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ark/runtime/model.h"
#include "ark/runtime/output.h"
#include "ark/runtime/table.h"
#include "string_codes.h"

namespace ark::runtime {

// How a step validates its input, as scikit-learn's check_array does.
enum class InputCheck {
  kNone,             // force_all_finite=False: anything goes
  kAllowNan,         // "allow-nan": NaN passes, ±inf refused
  kFinite,           // NaN and ±inf refused
  kFiniteFloat32,    // after the cast to float32: NaN, ±inf and overflow refused
  kAllowNanFloat32,  // after the cast to float32: NaN passes, ±inf and overflow refused
};

// Reusable per-thread buffers.
class ThreadPool;

struct Scratch {
  std::vector<double> input;  // the dense rows built from a Table
  std::vector<double> a, b, c;
  std::vector<float> f32;
  std::vector<int32_t> labels;
  uint64_t first_row = 0;  // of the rows being run, for messages (set by Program::Run)
  // A pool whose awake workers may share the work of a call too small to
  // split into blocks (one row); set by the Model for such calls.
  ThreadPool* assist = nullptr;
  // Buffers for steps that run other steps (ColumnTransformer, nested
  // pipelines): a step may use only its scratch's Child(), never a, b, c.
  std::unique_ptr<Scratch> child;
  Scratch& Child() {
    if (!child) child = std::make_unique<Scratch>();
    child->first_row = first_row;
    child->assist = assist;
    return *child;
  }
  template <typename T>
  static T* Get(std::vector<T>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};

// A transformer over dense rows: `rows` × n_in in, `rows` × n_out out.
class Step {
 public:
  virtual ~Step() = default;
  virtual void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const = 0;

  std::string name;  // the scikit-learn class, for messages
  size_t n_in = 0;
  size_t n_out = 0;
  InputCheck check = InputCheck::kNone;
};

// The final estimator.
class Head {
 public:
  virtual ~Head() = default;
  // Output columns of `method`; 0 when the estimator does not have it.
  // Predict of a classifier has width 1 (a label).
  virtual size_t Width(Method method) const = 0;
  // Float64 outputs, `rows` × Width(method). REQUIRES: not Predict of a classifier.
  virtual void Scores(Method method, const double* x, size_t rows, double* out,
                      Scratch& scratch) const = 0;
  // Class indices of Predict. REQUIRES: a classifier.
  virtual void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const;

  std::string name;
  size_t n_in = 0;
  InputCheck check = InputCheck::kNone;
  std::shared_ptr<const Classes> classes;  // set for classifiers only
  std::vector<std::string> output_names;   // names of the Scores columns, when known
};

// Throws ark::Error(kInvalidArgument) naming the first value `check` refuses:
// rows × cols values, row-major; rows are numbered from `first_row` (0-based
// here, printed 1-based) and columns named by `column_names` when given,
// else "feature <j> of the input of <step>".
void CheckInput(InputCheck check, const double* x, size_t rows, size_t cols, uint64_t first_row,
                const std::vector<ColumnSpec>* column_names, const std::string& step);

class Program {
 public:
  std::vector<ColumnSpec> schema;  // input columns
  bool positional = false;         // fitted without feature names
  // Per schema column: the codes of a string column (string_codes.h), else null.
  std::vector<std::shared_ptr<const StringCodes>> codes;
  // Per schema column: the estimator that refuses strings it does not know
  // (handle_unknown="error"), else empty.
  std::vector<std::string> strict;
  std::vector<std::unique_ptr<const Step>> steps;
  std::unique_ptr<const Head> head;  // null for a chain of transformers only
  // The head is a final RFE's estimator_: transform runs the steps alone
  // (RFE.transform), predict the steps and the head.
  bool transform_skips_head = false;
  std::string description;

  bool Supports(Method method) const;
  size_t Width(Method method) const;  // REQUIRES: Supports(method)
  bool LabelOutput(Method method) const {
    return method == Method::kPredict && head && head->classes;
  }
  std::vector<std::string> OutputNames(Method method) const;

  // Scores `rows` rows of dense input (rows × schema.size()), writing doubles
  // to `values` or class indices to `labels` (LabelOutput). Validates each
  // step's input; `first_row` numbers the rows in messages.
  void Run(Method method, const double* x, size_t rows, uint64_t first_row, double* values,
           int32_t* labels, Scratch& scratch) const;
};

}  // namespace ark::runtime
