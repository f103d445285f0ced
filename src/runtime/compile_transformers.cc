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

std::unique_ptr<Step> SelectKBest(const Obj& est, size_t n) {
  std::vector<double> scores = est.Array("scores_").ToDoubles("scores_");
  if (scores.size() != n) est.Fail("scores_ has the wrong size");
  const Value& k_value = est.tree().Deref(est.Get("k"));
  std::vector<bool> mask(n, true);
  if (!(k_value.is(Kind::kString) && k_value.as_string() == "all")) {
    const auto k = static_cast<size_t>(est.Int("k"));
    if (k > n) est.Fail("k is larger than the number of features");
    for (double& s : scores) {
      if (std::isnan(s)) s = std::numeric_limits<double>::lowest();  // _clean_nans
    }
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    mask.assign(n, false);
    for (size_t i = n - k; i < n; ++i) mask[order[i]] = true;
  }
  auto step = Selection(est, mask);
  step->check = InputCheck::kFinite;
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
  if (t == "sklearn.feature_selection._univariate_selection.SelectKBest") {
    return SelectKBest(est, n);
  }
  if (t == "sklearn.preprocessing._data.Normalizer") return Normalizer(est, n);
  if (t == "sklearn.preprocessing._data.Binarizer") return Binarizer(est, n);
  if (t == "sklearn.preprocessing._polynomial.PolynomialFeatures") {
    return PolynomialFeatures(est, n);
  }
  return nullptr;
}

}  // namespace ark::runtime
