// IsolationForestHead: scikit-learn 1.2.1's IsolationForest, scored as its
// _compute_score_samples does: per tree, the number of nodes on the row's
// path plus _average_path_length(n_node_samples of the leaf) minus 1.0,
// summed in tree order; score_samples = -2 ** (-depths / (n_trees *
// _average_path_length(max_samples_))); decision_function = score_samples -
// offset_; predict = -1 where decision_function < 0, else 1.
//
// Rows are cast to float32 and go left when x_f32 <= threshold (float64), as
// in every scikit-learn tree. Trees are walked row by row (a plain kernel:
// anomaly scoring is rarely the bottleneck).
#pragma once

#include <cstdint>
#include <vector>

#include "program.h"

namespace ark::runtime {

class IsolationForestHead : public Head {
 public:
  struct Tree {
    std::vector<int64_t> left, right, feature;
    std::vector<double> threshold;
    std::vector<double> leaf_length;  // per node: _average_path_length(n_node_samples) at leaves
    std::vector<size_t> features;     // estimators_features_ (input columns of the tree)
  };
  std::vector<Tree> trees;
  double denominator = 0;  // n_trees * _average_path_length(max_samples_)
  double offset = 0;

  size_t Width(Method method) const override;
  void Scores(Method method, const double* x, size_t rows, double* out,
              Scratch& scratch) const override;
};

// scikit-learn's _average_path_length of one sample count.
double AveragePathLength(double n);

}  // namespace ark::runtime
