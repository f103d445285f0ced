#include "elementwise_step.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ark/format/error.h"

namespace ark::runtime {

ElementwiseStep::ElementwiseStep(std::string step_name, size_t n_columns, InputCheck input_check) {
  name = std::move(step_name);
  n_in = n_out = n_columns;
  check = input_check;
}

void ElementwiseStep::AddOp(Op op, std::vector<double> values) {
  Stage stage{op, {}, 0, 0};
  if (op == Op::kClip) {
    if (values.size() != 2) throw Error(ErrorCode::kBadManifest, name + ": clip needs two bounds");
    stage.low = values[0];
    stage.high = values[1];
  } else if (values.size() == n_in) {
    stage.values = std::move(values);
  } else if (values.size() == 1) {
    stage.values.assign(n_in, values[0]);
  } else {
    throw Error(ErrorCode::kBadManifest, name + ": " + std::to_string(values.size()) +
                                             " parameters for " + std::to_string(n_in) +
                                             " features");
  }
  stages_.push_back(std::move(stage));
}

void ElementwiseStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  const size_t n = n_in;
  if (out != in) std::copy(in, in + rows * n, out);
  for (const Stage& s : stages_) {
    const double* v = s.values.data();
    switch (s.op) {
      case Op::kSubtract:
        for (size_t r = 0; r < rows; ++r)
          for (size_t j = 0; j < n; ++j) out[r * n + j] -= v[j];
        break;
      case Op::kDivide:
        for (size_t r = 0; r < rows; ++r)
          for (size_t j = 0; j < n; ++j) out[r * n + j] /= v[j];
        break;
      case Op::kMultiply:
        for (size_t r = 0; r < rows; ++r)
          for (size_t j = 0; j < n; ++j) out[r * n + j] *= v[j];
        break;
      case Op::kAdd:
        for (size_t r = 0; r < rows; ++r)
          for (size_t j = 0; j < n; ++j) out[r * n + j] += v[j];
        break;
      case Op::kClip:
        for (size_t i = 0; i < rows * n; ++i) {
          double& x = out[i];
          // np.clip = minimum(maximum(x, low), high), NaN propagating.
          if (x < s.low) x = s.low;
          if (x > s.high) x = s.high;
        }
        break;
    }
  }
}

}  // namespace ark::runtime
