#include "tree_heads.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "numeric.h"

namespace ark::runtime {

const float* ToFloat32Rows(const double* x, size_t count, Scratch& scratch) {
  float* f = Scratch::Get(scratch.f32, count);
  for (size_t i = 0; i < count; ++i) f[i] = ToFloat32(x[i]);
  return f;
}

void ForestProba(const TreeEnsemble& proba, bool average, const double* x, size_t rows,
                 double* out, Scratch& scratch) {
  const size_t n = proba.n_features(), c = proba.n_columns();
  const float* xf = ToFloat32Rows(x, rows * n, scratch);
  std::fill(out, out + rows * c, 0.0);
  proba.Accumulate(xf, rows, n, out, c, scratch.assist);
  if (average) {
    const double trees = static_cast<double>(proba.n_trees());
    for (size_t i = 0; i < rows * c; ++i) out[i] /= trees;
  }
}

const double* ForestVotes(const TreeEnsemble& proba, bool average, const TreeEnsemble* raw,
                          const double* x, size_t rows, Scratch& scratch) {
  const size_t c = proba.n_columns();
  double* scores = Scratch::Get(scratch.c, rows * c);
  if (raw) {
    const size_t n = raw->n_features();
    const float* xf = ToFloat32Rows(x, rows * n, scratch);
    std::fill(scores, scores + rows * c, 0.0);
    raw->Accumulate(xf, rows, n, scores, c, scratch.assist);
  } else {
    ForestProba(proba, average, x, rows, scores, scratch);
  }
  return scores;
}

namespace {

void ArgMaxRows(const double* scores, size_t rows, size_t cols, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) out[r] = static_cast<int32_t>(ArgMax(scores + r * cols, cols));
}

// np.nan_to_num: NaN to 0, ±inf to the largest finite doubles.
double NanToNum(double v) {
  if (std::isnan(v)) return 0.0;
  if (std::isinf(v)) {
    return v > 0 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
  }
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------

ForestClassifierHead::ForestClassifierHead(TreeEnsemble proba, bool average,
                                           std::unique_ptr<TreeEnsemble> raw)
    : proba_(std::move(proba)), average_(average), raw_(std::move(raw)) {}

size_t ForestClassifierHead::Width(Method method) const {
  switch (method) {
    case Method::kPredict:
      return 1;
    case Method::kPredictProba:
      return proba_.n_columns();
    default:
      return 0;
  }
}

void ForestClassifierHead::Scores(Method, const double* x, size_t rows, double* out,
                                  Scratch& scratch) const {
  ForestProba(proba_, average_, x, rows, out, scratch);
}

void ForestClassifierHead::Labels(const double* x, size_t rows, int32_t* out,
                                  Scratch& scratch) const {
  ArgMaxRows(ForestVotes(proba_, average_, raw_.get(), x, rows, scratch), rows,
             proba_.n_columns(), out);
}

// ---------------------------------------------------------------------------

ForestRegressorHead::ForestRegressorHead(TreeEnsemble trees, bool average)
    : trees_(std::move(trees)), average_(average) {}

size_t ForestRegressorHead::Width(Method method) const {
  return method == Method::kPredict ? trees_.n_columns() : 0;
}

void ForestRegressorHead::Scores(Method, const double* x, size_t rows, double* out,
                                 Scratch& scratch) const {
  const size_t n = trees_.n_features(), c = trees_.n_columns();
  const float* xf = ToFloat32Rows(x, rows * n, scratch);
  std::fill(out, out + rows * c, 0.0);
  trees_.Accumulate(xf, rows, n, out, c, scratch.assist);
  if (average_) {
    const double count = static_cast<double>(trees_.n_trees());
    for (size_t i = 0; i < rows * c; ++i) out[i] /= count;
  }
}

// ---------------------------------------------------------------------------

GradientBoostingHead::GradientBoostingHead(TreeEnsemble trees, std::vector<double> init, Loss loss)
    : trees_(std::move(trees)), init_(std::move(init)), loss_(loss) {}

size_t GradientBoostingHead::Width(Method method) const {
  const size_t k = trees_.n_columns();
  if (loss_ == Loss::kRegression) return method == Method::kPredict ? k : 0;
  switch (method) {
    case Method::kPredict:
      return 1;
    case Method::kPredictProba:
      return loss_ == Loss::kMultinomial ? k : 2;
    case Method::kDecisionFunction:
      return k;
    default:
      return 0;
  }
}

void GradientBoostingHead::Raw(const double* x, size_t rows, double* raw, Scratch& scratch) const {
  const size_t n = trees_.n_features(), k = trees_.n_columns();
  const float* xf = ToFloat32Rows(x, rows * n, scratch);
  for (size_t r = 0; r < rows; ++r) std::copy(init_.begin(), init_.end(), raw + r * k);
  trees_.Accumulate(xf, rows, n, raw, k, scratch.assist);
}

void GradientBoostingHead::Proba(const double* raw, size_t rows, double* out) const {
  const size_t k = trees_.n_columns();
  if (loss_ == Loss::kMultinomial) {
    // exp(raw - logsumexp(raw)) with scipy's logsumexp, then nan_to_num.
    for (size_t r = 0; r < rows; ++r) {
      const double* a = raw + r * k;
      double* p = out + r * k;
      double a_max = a[0];
      for (size_t j = 1; j < k; ++j) {
        if (std::isnan(a[j]) || a[j] > a_max) a_max = a[j];
      }
      if (!std::isfinite(a_max)) a_max = 0.0;
      for (size_t j = 0; j < k; ++j) p[j] = std::exp(a[j] - a_max);
      const double lse = std::log(PairwiseSum(p, k)) + a_max;
      for (size_t j = 0; j < k; ++j) p[j] = NanToNum(std::exp(a[j] - lse));
    }
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    const double z = loss_ == Loss::kExponential ? 2.0 * raw[r] : raw[r];
    const double p1 = Expit(z);
    out[2 * r] = 1.0 - p1;
    out[2 * r + 1] = p1;
  }
}

void GradientBoostingHead::Scores(Method method, const double* x, size_t rows, double* out,
                                  Scratch& scratch) const {
  if (method != Method::kPredictProba) {
    Raw(x, rows, out, scratch);
    return;
  }
  double* raw = Scratch::Get(scratch.c, rows * trees_.n_columns());
  Raw(x, rows, raw, scratch);
  Proba(raw, rows, out);
}

void GradientBoostingHead::Labels(const double* x, size_t rows, int32_t* out,
                                  Scratch& scratch) const {
  const size_t k = trees_.n_columns();
  const size_t width = Width(Method::kPredictProba);
  double* raw = Scratch::Get(scratch.c, rows * (k + width));
  double* proba = raw + rows * k;
  Raw(x, rows, raw, scratch);
  if (loss_ == Loss::kExponential) {
    for (size_t r = 0; r < rows; ++r) out[r] = raw[r] >= 0 ? 1 : 0;
    return;
  }
  Proba(raw, rows, proba);
  ArgMaxRows(proba, rows, width, out);
}

// ---------------------------------------------------------------------------

HistGradientBoostingHead::HistGradientBoostingHead(HistEnsemble trees, std::vector<double> baseline,
                                                   Loss loss)
    : trees_(std::move(trees)), baseline_(std::move(baseline)), loss_(loss) {}

size_t HistGradientBoostingHead::Width(Method method) const {
  const size_t k = trees_.n_columns();
  if (loss_ == Loss::kIdentity || loss_ == Loss::kLog) {
    return method == Method::kPredict ? k : 0;
  }
  switch (method) {
    case Method::kPredict:
      return 1;
    case Method::kPredictProba:
      return loss_ == Loss::kMultinomial ? k : 2;
    case Method::kDecisionFunction:
      return k;
    default:
      return 0;
  }
}

void HistGradientBoostingHead::Raw(const double* x, size_t rows, double* raw) const {
  const size_t n = trees_.n_features(), k = trees_.n_columns();
  for (size_t r = 0; r < rows; ++r) std::copy(baseline_.begin(), baseline_.end(), raw + r * k);
  trees_.Accumulate(x, rows, n, raw, k);
}

void HistGradientBoostingHead::Proba(const double* raw, size_t rows, double* out) const {
  const size_t k = trees_.n_columns();
  if (loss_ == Loss::kMultinomial) {
    std::copy(raw, raw + rows * k, out);
    for (size_t r = 0; r < rows; ++r) SoftmaxInPlace(out + r * k, k);
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    const double p1 = Expit(raw[r]);
    out[2 * r] = 1.0 - p1;
    out[2 * r + 1] = p1;
  }
}

void HistGradientBoostingHead::Scores(Method method, const double* x, size_t rows, double* out,
                                      Scratch& scratch) const {
  if (method == Method::kPredictProba) {
    double* raw = Scratch::Get(scratch.c, rows * trees_.n_columns());
    Raw(x, rows, raw);
    Proba(raw, rows, out);
    return;
  }
  Raw(x, rows, out);
  if (method == Method::kPredict && loss_ == Loss::kLog) {
    for (size_t i = 0; i < rows * trees_.n_columns(); ++i) out[i] = std::exp(out[i]);
  }
}

void HistGradientBoostingHead::Labels(const double* x, size_t rows, int32_t* out,
                                      Scratch& scratch) const {
  const size_t k = trees_.n_columns();
  const size_t width = Width(Method::kPredictProba);
  double* raw = Scratch::Get(scratch.c, rows * (k + width));
  double* proba = raw + rows * k;
  Raw(x, rows, raw);
  Proba(raw, rows, proba);
  ArgMaxRows(proba, rows, width, out);
}

}  // namespace ark::runtime
