// MultiOutputForestHead: a multi-output RandomForestClassifier,
// ExtraTreesClassifier or DecisionTreeClassifier (n_outputs_ > 1).
//
// Outputs are laid side by side: predict_proba is the hstack of the
// per-output probability arrays scikit-learn returns as a list (output k in
// columns [offsets[k], offsets[k+1])), and classes() the concatenation of the
// per-output classes_, so the label of output k is an index into its slice.
// Each tree's leaf holds, per output, value[:, k, :n_classes_[k]] divided by
// its sum (zero replaced by 1); forests add them in tree order and divide by
// the number of trees, as ForestClassifier.predict_proba does. predict takes
// the first maximum per output (of the raw values for a single tree).
#pragma once

#include <memory>
#include <vector>

#include "program.h"
#include "tree_ensemble.h"

namespace ark::runtime {

class MultiOutputForestHead : public Head {
 public:
  MultiOutputForestHead(TreeEnsemble proba, bool average, std::unique_ptr<TreeEnsemble> raw,
                        std::vector<size_t> offsets);
  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
  void Labels(const double* x, size_t rows, int32_t* out, Scratch& scratch) const override;

 private:
  TreeEnsemble proba_;
  bool average_;
  std::unique_ptr<TreeEnsemble> raw_;
  std::vector<size_t> offsets_;  // n_outputs + 1
};

}  // namespace ark::runtime
