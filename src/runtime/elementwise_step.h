// ElementwiseStep: a transformer that applies, to each value, a fixed
// sequence of per-column operations, in the order scikit-learn applies them
// to the whole array (StandardScaler: subtract mean_, then divide by
// scale_; MinMaxScaler: multiply by scale_, add min_, maybe clip; ...).
// Each operation is one IEEE operation on float64, so the result is
// bit-identical to numpy's. NaN passes through (np.clip keeps it too).
#pragma once

#include <string>
#include <vector>

#include "program.h"

namespace ark::runtime {

class ElementwiseStep : public Step {
 public:
  enum class Op { kSubtract, kDivide, kMultiply, kAdd, kClip };

  ElementwiseStep(std::string name, size_t n_columns, InputCheck check);

  // `values`: one per column, or one for all columns (broadcast). kClip
  // takes [low, high] as two values for all columns.
  // Throws ark::Error(kBadManifest) for a size that fits neither.
  void AddOp(Op op, std::vector<double> values);

  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;

 private:
  struct Stage {
    Op op;
    std::vector<double> values;  // n_columns (broadcasts expanded)
    double low = 0, high = 0;    // kClip
  };
  std::vector<Stage> stages_;
};

}  // namespace ark::runtime
