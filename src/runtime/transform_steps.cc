#include "transform_steps.h"

#include <algorithm>
#include <cmath>

#include "numeric.h"

namespace ark::runtime {

namespace {

double Ufunc(UfuncStep::Op op, double x) {
  using Op = UfuncStep::Op;
  switch (op) {
    case Op::kLog1p:
      return std::log1p(x);
    case Op::kLog:
      return std::log(x);
    case Op::kLog2:
      return std::log2(x);
    case Op::kLog10:
      return std::log10(x);
    case Op::kExp:
      return std::exp(x);
    case Op::kExpm1:
      return std::expm1(x);
    case Op::kSqrt:
      return std::sqrt(x);
    case Op::kAbs:
      return std::fabs(x);
    case Op::kSquare:
      return x * x;
    case Op::kNegative:
      return -x;
    case Op::kSign:
      return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x;  // NaN stays NaN
    case Op::kFloor:
      return std::floor(x);
    case Op::kCeil:
      return std::ceil(x);
    case Op::kRint:
      return std::nearbyint(x);
    case Op::kTrunc:
      return std::trunc(x);
    case Op::kSin:
      return std::sin(x);
    case Op::kCos:
      return std::cos(x);
    case Op::kTanh:
      return std::tanh(x);
    case Op::kArctan:
      return std::atan(x);
    case Op::kCbrt:
      return std::cbrt(x);
    case Op::kReciprocal:
      return 1.0 / x;
  }
  return x;
}

}  // namespace

void UfuncStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t i = 0; i < rows * n_in; ++i) out[i] = Ufunc(op, in[i]);
}

void ProjectStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t r = 0; r < rows; ++r) {
    const double* x = in + r * n_in;
    for (size_t k = 0; k < n_out; ++k) {
      const double* w = components.data() + k * n_in;
      double sum = 0;
      for (size_t j = 0; j < n_in; ++j) {
        const double v = mean.empty() ? x[j] : x[j] - mean[j];
        sum += v * w[j];
      }
      out[r * n_out + k] = scale.empty() ? sum : sum / scale[k];
    }
  }
}

void NormalizerStep::Apply(const double* in, size_t rows, double* out, Scratch& scratch) const {
  const size_t n = n_in;
  double* abs = Scratch::Get(scratch.Child().a, n);
  for (size_t r = 0; r < rows; ++r) {
    const double* x = in + r * n;
    double norm = 0;
    if (this->norm == Norm::kL1) {
      for (size_t j = 0; j < n; ++j) abs[j] = std::fabs(x[j]);
      norm = PairwiseSum(abs, n);  // np.abs(X).sum(axis=1)
    } else {
      for (size_t j = 0; j < n; ++j) {
        if (this->norm == Norm::kL2) {
          norm += x[j] * x[j];
        } else {
          norm = std::max(norm, std::fabs(x[j]));
        }
      }
    }
    if (this->norm == Norm::kL2) norm = std::sqrt(norm);
    if (norm == 0) norm = 1;  // _handle_zeros_in_scale
    for (size_t j = 0; j < n; ++j) out[r * n + j] = x[j] / norm;
  }
}

void BinarizerStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t i = 0; i < rows * n_in; ++i) out[i] = in[i] > threshold ? 1.0 : 0.0;
}

void PolynomialStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t r = 0; r < rows; ++r) {
    const double* x = in + r * n_in;
    double* o = out + r * n_out;
    for (size_t t = 0; t < terms.size(); ++t) {
      const std::vector<size_t>& term = terms[t];
      if (term.empty()) {
        o[t] = 1.0;
        continue;
      }
      double v = x[term.back()];
      for (size_t k = term.size() - 1; k-- > 0;) v = v * x[term[k]];
      o[t] = v;
    }
  }
}

void BinsStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < n_in; ++j) {
      const std::vector<double>& e = inner_edges[j];
      const double x = in[r * n_in + j];
      out[r * n_in + j] = static_cast<double>(std::upper_bound(e.begin(), e.end(), x) - e.begin());
    }
  }
}

}  // namespace ark::runtime
