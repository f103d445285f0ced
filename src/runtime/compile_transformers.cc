// Compiles scikit-learn's row-wise numeric transformers (transform_steps.h)
// and feature selectors into Steps.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "compile.h"
#include "encoder_steps.h"
#include "transform_steps.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

std::unique_ptr<Step> FunctionTransformer(const Obj& est, size_t n) {
  const Value& func = est.tree().Deref(est.Get("func"));
  const Value* kw = est.Find("kw_args");
  if (kw && !kw->is(Kind::kNull) && !(kw->is(Kind::kDict) && kw->dict_items().empty())) {
    UnsupportedError(est.type_name(), "kw_args");
  }
  if (func.is(Kind::kNull)) {
    auto step = std::make_unique<SelectStep>();
    step->n_in = step->n_out = n;
    for (size_t j = 0; j < n; ++j) step->columns.push_back(j);
    step->name = "FunctionTransformer";
    return step;
  }
  if (!(func.is(Kind::kObject) && func.type_name() == model::kGlobalTypeName &&
        func.state().is(Kind::kString))) {
    UnsupportedError(est.type_name(), "a func that is not a numpy ufunc");
  }
  using Op = UfuncStep::Op;
  static const std::map<std::string, Op> kUfuncs = {
      {"numpy:log1p", Op::kLog1p},
      {"numpy:log", Op::kLog},
      {"numpy:log2", Op::kLog2},
      {"numpy:log10", Op::kLog10},
      {"numpy:exp", Op::kExp},
      {"numpy:expm1", Op::kExpm1},
      {"numpy:sqrt", Op::kSqrt},
      {"numpy:absolute", Op::kAbs},
      {"numpy:abs", Op::kAbs},
      {"numpy:fabs", Op::kAbs},
      {"numpy:square", Op::kSquare},
      {"numpy:negative", Op::kNegative},
      {"numpy:sign", Op::kSign},
      {"numpy:floor", Op::kFloor},
      {"numpy:ceil", Op::kCeil},
      {"numpy:rint", Op::kRint},
      {"numpy:trunc", Op::kTrunc},
      {"numpy:sin", Op::kSin},
      {"numpy:cos", Op::kCos},
      {"numpy:tanh", Op::kTanh},
      {"numpy:arctan", Op::kArctan},
      {"numpy:cbrt", Op::kCbrt},
      {"numpy:reciprocal", Op::kReciprocal},
  };
  const auto it = kUfuncs.find(func.state().as_string());
  if (it == kUfuncs.end()) UnsupportedError(est.type_name(), "func " + func.state().as_string());
  auto step = std::make_unique<UfuncStep>();
  step->op = it->second;
  step->n_in = step->n_out = n;
  step->name = "FunctionTransformer(" + func.state().as_string().substr(6) + ")";
  return step;
}

std::unique_ptr<Step> Projection(const Obj& est, size_t n, bool pca) {
  auto step = std::make_unique<ProjectStep>();
  const NdArray comps = est.Array("components_");
  if (comps.shape.size() != 2 || comps.shape[1] != n) est.Fail("components_ has the wrong shape");
  step->components = comps.ToDoubles("components_");
  step->n_in = n;
  step->n_out = comps.shape[0];
  step->check = InputCheck::kFinite;
  if (pca) {
    if (!est.IsNone("mean_")) {
      step->mean = est.Array("mean_").ToDoubles("mean_");
      if (step->mean.size() != n) est.Fail("mean_ has the wrong size");
    }
    if (est.Has("whiten") && est.Bool("whiten")) {
      for (double v : est.Array("explained_variance_").ToDoubles("explained_variance_")) {
        step->scale.push_back(std::sqrt(v));
      }
      if (step->scale.size() != step->n_out) est.Fail("explained_variance_ has the wrong size");
    }
  }
  return step;
}

std::unique_ptr<Step> Selection(const Obj& est, std::vector<bool> mask) {
  auto step = std::make_unique<SelectStep>();
  step->n_in = mask.size();
  for (size_t j = 0; j < mask.size(); ++j) {
    if (mask[j]) step->columns.push_back(j);
  }
  step->n_out = step->columns.size();
  if (step->n_out == 0) UnsupportedError(est.type_name(), "no feature selected");
  return step;
}

std::unique_ptr<Step> VarianceThreshold(const Obj& est, size_t n) {
  const std::vector<double> var = est.Array("variances_").ToDoubles("variances_");
  if (var.size() != n) est.Fail("variances_ has the wrong size");
  const double threshold = est.Number("threshold");
  std::vector<bool> mask(n);
  for (size_t j = 0; j < n; ++j) mask[j] = var[j] > threshold;
  auto step = Selection(est, mask);
  step->check = InputCheck::kAllowNan;
  return step;
}

// --- univariate selectors: _get_support_mask of scikit-learn 1.2.1 ----------

// _clean_nans: NaN scores become the lowest float64.
std::vector<double> CleanNans(std::vector<double> scores) {
  for (double& s : scores) {
    if (std::isnan(s)) s = std::numeric_limits<double>::lowest();
  }
  return scores;
}

// SelectKBest: the k last of a stable argsort of the scores.
std::vector<bool> KBestMask(const std::vector<double>& raw, size_t k) {
  const std::vector<double> scores = CleanNans(raw);
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  std::vector<bool> mask(n, false);
  for (size_t i = n - k; i < n; ++i) mask[order[i]] = true;
  return mask;
}

// np.percentile(scores, q) with numpy 1.24's default "linear" method:
// virtual index (n - 1) * (q / 100), and _lerp's two-sided interpolation.
double Percentile(std::vector<double> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double quantile = q / 100;
  const double virtual_index = static_cast<double>(n - 1) * quantile;
  size_t previous, next;
  if (virtual_index >= static_cast<double>(n - 1)) {
    previous = next = n - 1;
  } else if (virtual_index < 0) {
    previous = next = 0;
  } else {
    previous = static_cast<size_t>(std::floor(virtual_index));
    next = previous + 1;
  }
  const double gamma = virtual_index - std::floor(virtual_index);
  const double a = sorted[previous], b = sorted[next];
  const double diff = b - a;
  double result = a + diff * gamma;
  if (gamma >= 0.5) result = b - diff * (1 - gamma);
  return result;
}

// SelectPercentile: scores above the (100 - percentile)th percentile, then
// ties at it in index order up to int(n * percentile / 100) features.
std::vector<bool> PercentileMask(const std::vector<double>& raw, double percentile) {
  const size_t n = raw.size();
  if (percentile == 100) return std::vector<bool>(n, true);
  if (percentile == 0) return std::vector<bool>(n, false);
  const std::vector<double> scores = CleanNans(raw);
  const double threshold = Percentile(scores, 100 - percentile);
  std::vector<bool> mask(n);
  std::vector<size_t> ties;
  int64_t selected = 0;
  for (size_t j = 0; j < n; ++j) {
    mask[j] = scores[j] > threshold;
    selected += mask[j];
    if (scores[j] == threshold) ties.push_back(j);
  }
  if (!ties.empty()) {
    const auto max_feats = static_cast<int64_t>(static_cast<double>(n) * percentile / 100);
    // ties[:stop], with Python's meaning of a negative stop.
    int64_t stop = max_feats - selected;
    const auto count = static_cast<int64_t>(ties.size());
    if (stop < 0) stop = std::max<int64_t>(0, count + stop);
    for (int64_t i = 0; i < std::min(stop, count); ++i) mask[ties[static_cast<size_t>(i)]] = true;
  }
  return mask;
}

std::vector<bool> FprMask(const std::vector<double>& p, double alpha) {
  std::vector<bool> mask(p.size());
  for (size_t j = 0; j < p.size(); ++j) mask[j] = p[j] < alpha;
  return mask;
}

// SelectFdr (Benjamini-Hochberg): the largest sorted p-value with
// p_(i) <= alpha / n * i; every p-value up to it.
std::vector<bool> FdrMask(const std::vector<double>& p, double alpha) {
  const size_t n = p.size();
  std::vector<double> sorted = p;
  std::sort(sorted.begin(), sorted.end(), [](double a, double b) {
    return std::isnan(b) ? !std::isnan(a) : a < b;  // NaN last, as np.sort
  });
  bool any = false;
  double largest = 0;
  for (size_t i = 0; i < n; ++i) {
    if (sorted[i] <= alpha / static_cast<double>(n) * static_cast<double>(i + 1)) {
      largest = any ? std::max(largest, sorted[i]) : sorted[i];
      any = true;
    }
  }
  std::vector<bool> mask(n, false);
  if (!any) return mask;
  for (size_t j = 0; j < n; ++j) mask[j] = p[j] <= largest;
  return mask;
}

std::vector<bool> FweMask(const std::vector<double>& p, double alpha) {
  return FprMask(p, alpha / static_cast<double>(p.size()));
}

std::vector<double> SizedArray(const Obj& est, const std::string& key, size_t n) {
  std::vector<double> v = est.Array(key).ToDoubles(key);
  if (v.size() != n) est.Fail(key + " has the wrong size");
  return v;
}

// The mask of one univariate selection `mode` ("k_best", "percentile",
// "fpr", "fdr", "fwe") with its parameter.
std::vector<bool> UnivariateMask(const Obj& est, const std::string& mode, const Value& param,
                                 size_t n) {
  if (mode == "k_best") {
    if (param.is(Kind::kString) && param.as_string() == "all") return std::vector<bool>(n, true);
    const double k = est.tree().Number(param, "k");
    if (k < 0 || k > static_cast<double>(n) || k != std::floor(k)) {
      est.Fail("k must be a whole number of features, at most n_features_in_");
    }
    return KBestMask(SizedArray(est, "scores_", n), static_cast<size_t>(k));
  }
  if (mode == "percentile") {
    const double percentile = est.tree().Number(param, "percentile");
    if (!(percentile >= 0 && percentile <= 100)) est.Fail("percentile outside [0, 100]");
    return PercentileMask(SizedArray(est, "scores_", n), percentile);
  }
  const double alpha = est.tree().Number(param, "alpha");
  const std::vector<double> p = SizedArray(est, "pvalues_", n);
  if (mode == "fpr") return FprMask(p, alpha);
  if (mode == "fdr") return FdrMask(p, alpha);
  if (mode == "fwe") return FweMask(p, alpha);
  UnsupportedError(est.type_name(), "mode '" + mode + "'");
}

std::unique_ptr<Step> Univariate(const Obj& est, const std::string& mode, const Value& param,
                                 size_t n) {
  auto step = Selection(est, UnivariateMask(est, mode, param, n));
  step->check = InputCheck::kFinite;
  return step;
}

// RFE and RFECV as transformers: the stored support_. (As the last step
// they also predict: CompileProgram puts their estimator_ after them.)
std::unique_ptr<Step> Rfe(const Obj& est, size_t n) {
  const std::vector<double> support = SizedArray(est, "support_", n);
  std::vector<bool> mask(n);
  for (size_t j = 0; j < n; ++j) mask[j] = support[j] != 0;
  auto step = Selection(est, mask);
  // RFE's allow_nan tag is its estimator's: NaN passes for HistGradientBoosting.
  const std::string inner = est.Child("estimator_").type_name();
  step->check = inner.find("HistGradientBoosting") != std::string::npos ? InputCheck::kAllowNan
                                                                         : InputCheck::kFinite;
  return step;
}

std::unique_ptr<Step> Normalizer(const Obj& est, size_t n) {
  auto step = std::make_unique<NormalizerStep>();
  const std::string norm = est.String("norm");
  if (norm == "l1") {
    step->norm = NormalizerStep::Norm::kL1;
  } else if (norm == "l2") {
    step->norm = NormalizerStep::Norm::kL2;
  } else if (norm == "max") {
    step->norm = NormalizerStep::Norm::kMax;
  } else {
    est.Fail("unknown norm '" + norm + "'");
  }
  step->n_in = step->n_out = n;
  step->check = InputCheck::kFinite;
  return step;
}

std::unique_ptr<Step> Binarizer(const Obj& est, size_t n) {
  auto step = std::make_unique<BinarizerStep>();
  step->threshold = est.Number("threshold");
  step->n_in = step->n_out = n;
  step->check = InputCheck::kFinite;
  return step;
}

// Appends the index sequences of one degree, in itertools order:
// combinations (strictly increasing) or combinations_with_replacement.
void Combinations(size_t n, size_t degree, bool strict, std::vector<size_t>* prefix,
                  std::vector<std::vector<size_t>>* out) {
  if (prefix->size() == degree) {
    out->push_back(*prefix);
    return;
  }
  size_t from = prefix->empty() ? 0 : prefix->back() + (strict ? 1 : 0);
  for (size_t j = from; j < n; ++j) {
    prefix->push_back(j);
    Combinations(n, degree, strict, prefix, out);
    prefix->pop_back();
  }
}

std::unique_ptr<Step> PolynomialFeatures(const Obj& est, size_t n) {
  // The output columns are PolynomialFeatures._combinations, in order.
  const int64_t min_degree = est.Int("_min_degree");
  const int64_t max_degree = est.Int("_max_degree");
  if (min_degree < 0 || max_degree < min_degree || max_degree > 16) {
    est.Fail("degree out of range");
  }
  const bool interaction_only = est.Bool("interaction_only");
  auto step = std::make_unique<PolynomialStep>();
  std::vector<size_t> prefix;
  if (est.Bool("include_bias")) step->terms.emplace_back();
  for (int64_t d = std::max<int64_t>(1, min_degree); d <= max_degree; ++d) {
    Combinations(n, static_cast<size_t>(d), interaction_only, &prefix, &step->terms);
    if (step->terms.size() > (size_t{1} << 22)) UnsupportedError(est.type_name(), "too many terms");
  }
  step->n_in = n;
  step->n_out = step->terms.size();
  step->check = InputCheck::kFinite;
  return step;
}

}  // namespace

std::unique_ptr<Step> CompileTransformerStep(const Obj& est, size_t n_in) {
  const std::string& t = est.type_name();
  const size_t n = FeaturesIn(est, n_in);
  if (t == "sklearn.preprocessing._function_transformer.FunctionTransformer") {
    return FunctionTransformer(est, n);
  }
  if (t == "sklearn.decomposition._pca.PCA") return Projection(est, n, true);
  if (t == "sklearn.decomposition._truncated_svd.TruncatedSVD") return Projection(est, n, false);
  if (t == "sklearn.feature_selection._variance_threshold.VarianceThreshold") {
    return VarianceThreshold(est, n);
  }
  const std::string univariate = "sklearn.feature_selection._univariate_selection.";
  if (t == univariate + "SelectKBest") return Univariate(est, "k_best", est.Get("k"), n);
  if (t == univariate + "SelectPercentile") {
    return Univariate(est, "percentile", est.Get("percentile"), n);
  }
  if (t == univariate + "SelectFpr") return Univariate(est, "fpr", est.Get("alpha"), n);
  if (t == univariate + "SelectFdr") return Univariate(est, "fdr", est.Get("alpha"), n);
  if (t == univariate + "SelectFwe") return Univariate(est, "fwe", est.Get("alpha"), n);
  if (t == univariate + "GenericUnivariateSelect") {
    return Univariate(est, est.String("mode"), est.Get("param"), n);
  }
  if (t == "sklearn.feature_selection._from_model.SelectFromModel") {
    return CompileSelectFromModel(est, n);
  }
  if (t == "sklearn.feature_selection._rfe.RFE" || t == "sklearn.feature_selection._rfe.RFECV") {
    return Rfe(est, n);
  }
  if (t == "sklearn.preprocessing._data.Normalizer") return Normalizer(est, n);
  if (t == "sklearn.preprocessing._data.Binarizer") return Binarizer(est, n);
  if (t == "sklearn.preprocessing._polynomial.PolynomialFeatures") {
    return PolynomialFeatures(est, n);
  }
  return nullptr;
}

}  // namespace ark::runtime
