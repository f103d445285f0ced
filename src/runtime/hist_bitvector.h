// LeafBitvectors: HistGradientBoosting predictors scored feature by feature
// instead of node by node (the bitvector method of QuickScorer, Lucchese et
// al., SIGIR 2015), for ensembles of small numeric trees.
//
// Each tree keeps a bitvector of its leaves in left-to-right order, all set
// at the start of a row. A split node whose test is false for the row (the
// row goes right) clears the leaves of its left subtree. The leaf the row
// reaches is then the leftmost leaf still set: every node on its path that
// sent the row right cleared only leaves left of it, and every node on its
// path that sent it left is true. The false nodes of a feature are found by
// scanning that feature's thresholds, sorted ascending, while threshold < x
// (x > threshold is exactly "not x <= threshold" for a number); a NaN clears
// the left subtrees of the feature's nodes that send missing values right.
// The scan touches only the nodes a row fails, in sequential memory, with
// one unpredictable branch per feature instead of one per node.
//
// Exactness: the same comparisons as scikit-learn's (float64 x against the
// float64 threshold, NaN following missing_go_to_left), so the same leaf;
// leaf values are added per tree in tree order, as the node walk does.
//
// Applies when no node is categorical, every tree has at most 64 leaves and
// no threshold is NaN; Build returns false otherwise and the caller walks
// nodes. Thread safety: immutable after Build; Accumulate may run
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ark::runtime {

class LeafBitvectors {
 public:
  // One tree as the builder reads it: pre-order nodes, children given by
  // index (absolute within the tree), a leaf has left == right == its own
  // index.
  struct TreeView {
    size_t node_count = 0;
    const uint32_t* left = nullptr;
    const uint32_t* right = nullptr;
    const uint32_t* feature = nullptr;     // internal nodes
    const double* threshold = nullptr;     // internal nodes
    const uint8_t* nan_left = nullptr;     // internal nodes
    const uint8_t* is_leaf = nullptr;
    const double* leaf_value = nullptr;    // per node (read at leaves)
    uint32_t column = 0;
  };

  // Builds the tables; false (and nothing built) when the method does not
  // apply (see above).
  bool Build(size_t n_features, const std::vector<TreeView>& trees);

  // out[r * out_stride + column] += leaf value of each tree, in tree order.
  // REQUIRES: Build returned true.
  void Accumulate(const double* x, size_t rows, size_t x_stride, double* out,
                  size_t out_stride) const;

 private:
  // One row's bitvector of one tree in each of eight lanes.
  struct alignas(64) EightLanes {
    uint64_t lane[8];
  };
  static bool HasAvx512();
  void AccumulateEightRows(const double* x, size_t x_stride, double* out, size_t out_stride,
                           EightLanes* alive) const;

  size_t n_features_ = 0;
  // Per feature f, entries [feature_begin_[f], feature_begin_[f + 1]) of
  // thresholds_ / clear_ sorted by threshold.
  std::vector<uint32_t> feature_begin_;
  std::vector<double> thresholds_;
  struct Clear {
    uint64_t keep;  // the tree's leaves that survive the node being false
    uint32_t tree;
  };
  std::vector<Clear> clear_;
  // Per feature, the nodes that send NaN right: [nan_begin_[f], nan_begin_[f + 1]).
  std::vector<uint32_t> nan_begin_;
  std::vector<Clear> nan_clear_;
  // Per tree: its column and its leaves' values in left-to-right order.
  std::vector<uint32_t> column_;
  std::vector<uint32_t> first_leaf_;
  std::vector<double> leaf_values_;
};

}  // namespace ark::runtime
