#include "linear_heads.h"

#include <algorithm>
#include <utility>

#include "numeric.h"

namespace ark::runtime {

void LinearDecision(const double* coef, const double* intercept, size_t k, size_t n,
                    const double* x, size_t rows, double* out) {
  for (size_t r = 0; r < rows; ++r) {
    const double* xr = x + r * n;
    for (size_t j = 0; j < k; ++j) {
      const double* w = coef + j * n;
      double s = 0.0;
      for (size_t i = 0; i < n; ++i) s += xr[i] * w[i];
      out[r * k + j] = s + intercept[j];
    }
  }
}

LinearClassifierHead::LinearClassifierHead(std::vector<double> coef, std::vector<double> intercept,
                                           size_t n, Proba proba)
    : coef_(std::move(coef)),
      intercept_(std::move(intercept)),
      k_(intercept_.size()),
      proba_(proba) {
  n_in = n;
}

size_t LinearClassifierHead::Width(Method method) const {
  switch (method) {
    case Method::kPredict:
      return 1;
    case Method::kDecisionFunction:
      return k_;
    case Method::kPredictProba:
      return proba_ == Proba::kNone ? 0 : (k_ == 1 ? 2 : k_);
    default:
      return 0;
  }
}

void LinearClassifierHead::Scores(Method method, const double* x, size_t rows, double* out,
                                  Scratch& scratch) const {
  if (method == Method::kDecisionFunction) {
    LinearDecision(coef_.data(), intercept_.data(), k_, n_in, x, rows, out);
    return;
  }
  double* d = Scratch::Get(scratch.c, rows * k_);
  LinearDecision(coef_.data(), intercept_.data(), k_, n_in, x, rows, d);
  auto huber = [](double v) { return (std::min(std::max(v, -1.0), 1.0) + 1.0) / 2.0; };
  if (k_ == 1) {
    for (size_t r = 0; r < rows; ++r) {
      if (proba_ == Proba::kModifiedHuber) {
        const double p = huber(d[r]);
        out[2 * r] = 1.0 - p;
        out[2 * r + 1] = p;
      } else if (proba_ == Proba::kOvr) {
        const double p = Expit(d[r]);
        out[2 * r] = 1.0 - p;
        out[2 * r + 1] = p;
      } else {
        out[2 * r] = -d[r];
        out[2 * r + 1] = d[r];
        SoftmaxInPlace(out + 2 * r, 2);
      }
    }
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    double* p = out + r * k_;
    const double* dr = d + r * k_;
    if (proba_ == Proba::kModifiedHuber) {
      for (size_t j = 0; j < k_; ++j) p[j] = huber(dr[j]);
      double sum = PairwiseSum(p, k_);
      if (sum == 0) {
        std::fill(p, p + k_, 1.0);
        sum = static_cast<double>(k_);
      }
      for (size_t j = 0; j < k_; ++j) p[j] /= sum;
    } else if (proba_ == Proba::kOvr) {
      for (size_t j = 0; j < k_; ++j) p[j] = Expit(dr[j]);
      const double sum = PairwiseSum(p, k_);
      for (size_t j = 0; j < k_; ++j) p[j] /= sum;
    } else {
      for (size_t j = 0; j < k_; ++j) p[j] = dr[j];
      SoftmaxInPlace(p, k_);
    }
  }
}

void LinearClassifierHead::Labels(const double* x, size_t rows, int32_t* out,
                                  Scratch& scratch) const {
  double* d = Scratch::Get(scratch.c, rows * k_);
  LinearDecision(coef_.data(), intercept_.data(), k_, n_in, x, rows, d);
  for (size_t r = 0; r < rows; ++r) {
    out[r] = k_ == 1 ? (d[r] > 0 ? 1 : 0) : static_cast<int32_t>(ArgMax(d + r * k_, k_));
  }
}

LinearRegressorHead::LinearRegressorHead(std::vector<double> coef, std::vector<double> intercept,
                                         size_t n)
    : coef_(std::move(coef)), intercept_(std::move(intercept)), k_(intercept_.size()) {
  n_in = n;
}

size_t LinearRegressorHead::Width(Method method) const {
  return method == Method::kPredict ? k_ : 0;
}

void LinearRegressorHead::Scores(Method, const double* x, size_t rows, double* out,
                                 Scratch&) const {
  LinearDecision(coef_.data(), intercept_.data(), k_, n_in, x, rows, out);
}

}  // namespace ark::runtime
