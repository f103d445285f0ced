#include "isolation_forest.h"

#include <cmath>

#include "ark/format/error.h"
#include "numeric.h"

namespace ark::runtime {

double AveragePathLength(double n) {
  if (n <= 1) return 0.0;
  if (n == 2) return 1.0;
  constexpr double kEulerGamma = 0.5772156649015329;  // np.euler_gamma
  return 2.0 * (std::log(n - 1.0) + kEulerGamma) - 2.0 * (n - 1.0) / n;
}

size_t IsolationForestHead::Width(Method method) const {
  return method == Method::kPredict || method == Method::kDecisionFunction ? 1 : 0;
}

void IsolationForestHead::Scores(Method method, const double* x, size_t rows, double* out,
                                 Scratch&) const {
  if (Width(method) == 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("IsolationForest has no ") + MethodName(method));
  }
  for (size_t r = 0; r < rows; ++r) {
    const double* row = x + r * n_in;
    double depths = 0;
    for (const Tree& t : trees) {
      size_t node = 0;
      double path_nodes = 1;
      while (t.left[node] >= 0) {
        const size_t f = t.features[static_cast<size_t>(t.feature[node])];
        const double v = static_cast<double>(ToFloat32(row[f]));
        node = static_cast<size_t>(v <= t.threshold[node] ? t.left[node] : t.right[node]);
        path_nodes += 1;
      }
      depths += (path_nodes + t.leaf_length[node]) - 1.0;
    }
    const double ratio = denominator != 0 ? depths / denominator : 1.0;
    const double decision = -std::pow(2.0, -ratio) - offset;
    out[r] = method == Method::kDecisionFunction ? decision : (decision < 0 ? -1.0 : 1.0);
  }
}

}  // namespace ark::runtime
