// Heads built on tree ensembles: forests and single trees (classifier and
// regressor), GradientBoosting and HistGradientBoosting. Each reproduces the
// arithmetic of scikit-learn 1.2.1 after the walk:
//
// - forests: every tree's output (normalised class fractions for a
//   classifier) added in tree order from 0.0, then divided by the number of
//   trees; a single tree returns its leaf as is;
// - GradientBoosting: the init estimator's raw prediction, then
//   `learning_rate * leaf` per stage (the product is formed once per leaf at
//   compile time, the same IEEE product);
// - HistGradientBoosting: the baseline, then each predictor's leaf value.
//
// Link functions go through numeric.h (expit, softmax, logsumexp) as scipy
// and numpy compute them, with std::exp and std::log standing for numpy's
// exp and log (numpy may use its own SIMD versions, so outputs that pass
// through them agree within a few ulp, not always bit for bit).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "hist_ensemble.h"
#include "program.h"
#include "tree_ensemble.h"

namespace ark::runtime {

// RandomForestClassifier, ExtraTreesClassifier, DecisionTreeClassifier
// (single output).
class ForestClassifierHead : public Head {
 public:
  // `proba`: leaves hold each tree's normalised class fractions. `average`:
  // divide the sum by the number of trees (forests) or not (one tree).
  // `raw`: for a single tree, leaves holding the raw class weights, whose
  // argmax is DecisionTreeClassifier.predict; null for forests, which take
  // the argmax of the averaged probabilities.
  ForestClassifierHead(TreeEnsemble proba, bool average, std::unique_ptr<TreeEnsemble> raw);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
  void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const override;

 private:
  TreeEnsemble proba_;
  bool average_;
  std::unique_ptr<TreeEnsemble> raw_;
};

// RandomForestRegressor, ExtraTreesRegressor, DecisionTreeRegressor
// (n_outputs columns).
class ForestRegressorHead : public Head {
 public:
  ForestRegressorHead(TreeEnsemble trees, bool average);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;

 private:
  TreeEnsemble trees_;
  bool average_;
};

// GradientBoostingClassifier / Regressor.
class GradientBoostingHead : public Head {
 public:
  enum class Loss { kRegression, kBinomial, kExponential, kMultinomial };
  // `init`: the raw prediction of the init estimator, one per column (K).
  GradientBoostingHead(TreeEnsemble trees, std::vector<double> init, Loss loss);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
  void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const override;

 private:
  void Raw(const double* x, size_t rows, double* raw, Scratch& scratch) const;
  void Proba(const double* raw, size_t rows, double* out) const;

  TreeEnsemble trees_;
  std::vector<double> init_;
  Loss loss_;
};

// HistGradientBoostingClassifier / Regressor.
class HistGradientBoostingHead : public Head {
 public:
  enum class Loss { kIdentity, kLog, kBinomial, kMultinomial };
  HistGradientBoostingHead(HistEnsemble trees, std::vector<double> baseline, Loss loss);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
  void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const override;

 private:
  void Raw(const double* x, size_t rows, double* raw) const;
  void Proba(const double* raw, size_t rows, double* out) const;

  HistEnsemble trees_;
  std::vector<double> baseline_;
  Loss loss_;
};

// x (rows × n, float64) to float32, as numpy's astype.
const float* ToFloat32Rows(const double* x, size_t count, Scratch& scratch);

// A forest classifier's predict_proba into `out` (rows × proba.n_columns()):
// each tree's leaf fractions added in tree order, then divided by the number
// of trees when `average` (ForestClassifier.predict_proba).
void ForestProba(const TreeEnsemble& proba, bool average, const double* x, size_t rows,
                 double* out, Scratch& scratch);
// The scores predict takes the argmax of: the raw leaf values when `raw` is
// set (a single tree), else ForestProba. Returns rows × proba.n_columns()
// values in scratch.c.
const double* ForestVotes(const TreeEnsemble& proba, bool average, const TreeEnsemble* raw,
                          const double* x, size_t rows, Scratch& scratch);

}  // namespace ark::runtime
