// Linear models: `coef_ · x + intercept_` per output, then scikit-learn
// 1.2.1's link and decision rules.
//
// Exactness: numpy hands `X @ coef_.T` to BLAS; with the reference BLAS that
// Debian's numpy uses, every dot product (ddot, dgemv, dgemm) accumulates
// from 0.0 feature by feature, which is what Decision() does, and the
// intercept is added afterwards. With another BLAS the order differs and the
// results agree within a few ulp. Probabilities go through expit (exact, as
// scipy computes it), softmax (numpy's exp: within a few ulp) or clipping
// (exact).
#pragma once

#include <vector>

#include "program.h"

namespace ark::runtime {

// Decision values of `rows` rows: out[r * k + j] = Σ_i x[r, i] coef[j, i]
// summed in feature order from 0.0, plus intercept[j].
void LinearDecision(const double* coef, const double* intercept, size_t k, size_t n,
                    const double* x, size_t rows, double* out);

// LogisticRegression, RidgeClassifier, SGDClassifier, LinearSVC, ... :
// predict is `decision > 0` for one row of coefficients, else the argmax.
class LinearClassifierHead : public Head {
 public:
  enum class Proba {
    kNone,         // no predict_proba (RidgeClassifier, LinearSVC, hinge SGD)
    kOvr,          // expit, then rows normalised to sum 1 (one-vs-rest)
    kMultinomial,  // softmax (of [-d, d] for a binary problem)
    // SGDClassifier(loss="modified_huber"): (clip(d, -1, 1) + 1) / 2, as
    // [1 - p, p] for a binary problem, else rows normalised to sum 1
    // (uniform where every class gets 0).
    kModifiedHuber,
  };
  // coef: k × n, row-major; intercept: k values.
  LinearClassifierHead(std::vector<double> coef, std::vector<double> intercept, size_t n,
                       Proba proba);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
  void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const override;

 private:
  std::vector<double> coef_;
  std::vector<double> intercept_;
  size_t k_;
  Proba proba_;
};

// LinearRegression, Ridge, Lasso, ElasticNet, SGDRegressor, LinearSVR, ...
class LinearRegressorHead : public Head {
 public:
  LinearRegressorHead(std::vector<double> coef, std::vector<double> intercept, size_t n);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;

 private:
  std::vector<double> coef_;
  std::vector<double> intercept_;
  size_t k_;
};

}  // namespace ark::runtime
