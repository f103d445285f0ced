// SelectFromModel: its mask is not stored, so it is recomputed here exactly as
// scikit-learn 1.2.1's _get_support_mask does, from the fitted estimator's
// importances:
//   importances: importance_getter "auto" takes coef_, else a stored
//           feature_importances_, else the feature_importances_ that the tree
//           models (DecisionTree*, ExtraTree*, RandomForest*, ExtraTrees*,
//           RandomTreesEmbedding, GradientBoosting*) compute from their trees
//           when asked, recomputed by tree_importances.h; a getter naming
//           "coef_" or "feature_importances_" takes that one;
//   scores: |importances| (1-d), else np.linalg.norm(coef_, axis=0,
//           ord=norm_order) for norm_order 1 (sum of |.| down each column, in
//           row order) or 2 (sqrt of the sum of squares);
//   threshold: a number; "mean" (numpy's pairwise sum / n), "median" (the
//           middle value, or the mean of the two middle ones; NaN when a
//           score is NaN), "<scale>*mean" or "<scale>*median"; None is 1e-5
//           for an l1-penalised model or a Lasso, else "mean";
//   mask:   the max_features_ largest scores (stable order, NaN last) when
//           max_features is set, else all; then scores < threshold dropped
//           (a NaN score or threshold drops nothing, as in numpy).
// Other estimators (IsolationForest, HistGradientBoosting*, a callable
// getter, a dotted attribute path) are refused as unsupported.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "compile.h"
#include "encoder_steps.h"
#include "numeric.h"
#include "tree_importances.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

std::vector<double> Importances(const Obj& sfm, const Obj& inner, size_t n) {
  const Value& getter = sfm.tree().Deref(sfm.Get("importance_getter"));
  if (!getter.is(Kind::kString)) UnsupportedError(sfm.type_name(), "a callable importance_getter");
  std::string key = getter.as_string();
  const bool computed = !inner.Has("coef_") && !inner.Has("feature_importances_") &&
                        HasTreeFeatureImportances(inner.type_name());
  if (key == "auto") {
    if (inner.Has("coef_")) {
      key = "coef_";
    } else if (inner.Has("feature_importances_") || computed) {
      key = "feature_importances_";
    } else {
      UnsupportedError(sfm.type_name(), "the feature_importances_ of " + inner.type_name() +
                                            " (neither coef_ nor feature_importances_ is stored,"
                                            " and the runtime does not compute them for it)");
    }
  }
  if (key == "feature_importances_" && computed) {
    std::vector<double> scores = TreeFeatureImportances(inner, n);
    for (double& s : scores) s = std::fabs(s);
    return scores;
  }
  if (!inner.Has(key)) UnsupportedError(sfm.type_name(), "importance_getter '" + key + "'");
  const NdArray a = inner.Array(key);
  const std::vector<double> v = a.ToDoubles(key);
  std::vector<double> scores(n, 0.0);
  if (a.shape.size() == 1) {
    if (v.size() != n) inner.Fail(key + " has the wrong size");
    for (size_t j = 0; j < n; ++j) scores[j] = std::fabs(v[j]);
    return scores;
  }
  if (a.shape.size() != 2 || a.shape[1] != n) inner.Fail(key + " has the wrong shape");
  const size_t rows = a.shape[0];
  const double order = sfm.Number("norm_order");
  if (order != 1 && order != 2) {
    UnsupportedError(sfm.type_name(), "norm_order other than 1 or 2");
  }
  // add.reduce along axis 0: from 0.0, row after row.
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < n; ++j) {
      const double x = v[r * n + j];
      scores[j] += order == 1 ? std::fabs(x) : x * x;
    }
  }
  if (order == 2) {
    for (double& s : scores) s = std::sqrt(s);
  }
  return scores;
}

double Mean(const std::vector<double>& s) {
  return PairwiseSum(s.data(), s.size()) / static_cast<double>(s.size());
}

// np.median: the middle of the sorted values, or np.mean of the two middle
// ones; NaN when any value is NaN.
double Median(std::vector<double> s) {
  for (double x : s) {
    if (std::isnan(x)) return x;
  }
  std::sort(s.begin(), s.end());
  const size_t h = s.size() / 2;
  if (s.size() % 2 == 1) return s[h];
  const double two[2] = {s[h - 1], s[h]};
  return PairwiseSum(two, 2) / 2.0;
}

bool IsL1(const Obj& inner) {
  const std::string& t = inner.type_name();
  const std::string name = t.substr(t.rfind('.') + 1);
  if (name.find("Lasso") != std::string::npos) return true;
  if (inner.Has("penalty")) {
    const Value& p = inner.tree().Deref(inner.Get("penalty"));
    if (p.is(Kind::kString) && p.as_string() == "l1") return true;
  }
  if (name.find("ElasticNet") != std::string::npos) {
    // np.isclose(l1_ratio, 1.0): |x - 1| <= 1e-8 + 1e-5 * 1.
    for (const char* key : {"l1_ratio_", "l1_ratio"}) {
      if (inner.Has(key) && inner.tree().IsNumber(inner.Get(key)) &&
          std::fabs(inner.Number(key) - 1.0) <= 1e-08 + 1e-05 * 1.0) {
        return true;
      }
    }
  }
  return false;
}

double Threshold(const Obj& sfm, const Obj& inner, const std::vector<double>& scores) {
  const Value& t = sfm.tree().Deref(sfm.Get("threshold"));
  std::string text;
  if (t.is(Kind::kNull)) {
    if (IsL1(inner)) return 1e-5;
    text = "mean";
  } else if (t.is(Kind::kString)) {
    text = t.as_string();
  } else {
    return sfm.tree().Number(t, "threshold");
  }
  auto reference = [&](const std::string& name) {
    if (name == "mean") return Mean(scores);
    if (name == "median") return Median(scores);
    UnsupportedError(sfm.type_name(), "threshold '" + text + "'");
  };
  auto strip = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t\n\r\f\v");
    const size_t e = s.find_last_not_of(" \t\n\r\f\v");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  const size_t star = text.find('*');
  if (star == std::string::npos) return reference(text);
  const std::string scale_text = strip(text.substr(0, star));
  size_t used = 0;
  double scale = 0;
  try {
    scale = std::stod(scale_text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (scale_text.empty() || used != scale_text.size()) {
    UnsupportedError(sfm.type_name(), "threshold '" + text + "'");
  }
  return scale * reference(strip(text.substr(star + 1)));
}

}  // namespace

std::unique_ptr<Step> CompileSelectFromModel(const Obj& sfm, size_t n) {
  const Obj inner = sfm.Has("estimator_") ? sfm.Child("estimator_") : sfm.Child("estimator");
  const std::vector<double> scores = Importances(sfm, inner, n);
  const double threshold = Threshold(sfm, inner, scores);
  std::vector<bool> mask(n, true);
  if (!sfm.IsNone("max_features")) {
    const Value* stored = sfm.Find("max_features_");
    const double k =
        stored ? sfm.tree().Number(*stored, "max_features_") : sfm.Number("max_features");
    if (k < 0 || k != std::floor(k)) sfm.Fail("max_features_ is not a whole number");
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // np.argsort(-scores, kind="mergesort"): stable, by descending score,
    // NaN sorted last.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return !std::isnan(scores[a]) && (std::isnan(scores[b]) || -scores[a] < -scores[b]);
    });
    mask.assign(n, false);
    for (size_t i = 0; i < n && i < static_cast<size_t>(k); ++i) mask[order[i]] = true;
  }
  for (size_t j = 0; j < n; ++j) {
    if (scores[j] < threshold) mask[j] = false;
  }
  auto step = std::make_unique<SelectStep>();
  step->n_in = n;
  for (size_t j = 0; j < n; ++j) {
    if (mask[j]) step->columns.push_back(j);
  }
  step->n_out = step->columns.size();
  if (step->n_out == 0) UnsupportedError(sfm.type_name(), "no feature selected");
  // SelectFromModel's allow_nan tag is its estimator's.
  step->check = inner.type_name().find("HistGradientBoosting") != std::string::npos
                    ? InputCheck::kAllowNan
                    : InputCheck::kFinite;
  return step;
}

}  // namespace ark::runtime
