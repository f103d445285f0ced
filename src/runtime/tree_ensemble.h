// TreeEnsemble: scikit-learn's decision trees (sklearn.tree._tree.Tree) in a
// compact, walk-friendly layout, summed the way forests and gradient boosting
// sum them.
//
// Layout: each tree's nodes are stored in pre-order with the "hot" child (the
// one more training samples reached) right after its parent, so the common
// path reads consecutive memory; the other child is found through `far`.
// A node is 12 bytes: a float32 threshold, a word of flags and feature index,
// and the far child. A leaf loops to itself (NaN threshold, far = itself),
// so blocks of rows walk in lockstep for exactly the tree's depth without a
// branch per node; the leaf's output vector is found through a side table.
//
// Exactness: scikit-learn casts X to float32 and goes left when
// `x_f32 <= threshold` with a float64 threshold. The threshold is stored as
// the largest float32 not above it, which gives the same answer for every
// float32 x (see FloorToFloat32). NaN goes where the node's
// missing_go_to_left says when the model has that field (scikit-learn >=
// 1.3), and right otherwise (callers reject NaN for such models, as
// scikit-learn 1.2 does). Each tree adds its leaf vector to its output
// columns, trees in their original order, so every output sums in
// scikit-learn's order.
//
// Thread safety: immutable after Build(); Accumulate may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ark::runtime {

// One fitted tree as scikit-learn stores it, plus the vector each leaf adds.
struct TreeSpec {
  size_t node_count = 0;
  std::vector<int64_t> left;                // child index, -1 at a leaf
  std::vector<int64_t> right;               // child index, -1 at a leaf
  std::vector<int64_t> feature;             // split feature
  std::vector<double> threshold;            // go left when x <= threshold
  std::vector<double> weight;               // samples reaching the node (picks the hot child)
  std::vector<uint8_t> missing_go_to_left;  // empty when the model predates it
  // node_count × leaf_width values: what a leaf adds to the outputs (read
  // only at leaves).
  std::vector<double> leaf_values;
  size_t leaf_width = 1;
  size_t first_column = 0;  // the tree adds to columns [first_column, + leaf_width)
};

class TreeEnsemble {
 public:
  struct Node {
    float threshold;
    uint32_t bits;  // kLeaf | kHotLeft | kNanLeft | feature
    uint32_t far;   // internal: index of the child not stored next; leaf: itself
  };
  static constexpr uint32_t kLeaf = 1u << 31;
  static constexpr uint32_t kHotLeft = 1u << 30;  // the child stored next is the left one
  static constexpr uint32_t kNanLeft = 1u << 29;
  static constexpr uint32_t kFeatureMask = kNanLeft - 1;

  // `n_features`: the width of X; `n_columns`: the width of the output.
  TreeEnsemble(size_t n_features, size_t n_columns);

  // Validates and converts one tree: children in range, every node reached
  // exactly once from the root (no cycles or sharing), features below
  // n_features, the leaf columns inside n_columns. Throws
  // ark::Error(kBadManifest) naming the tree and node otherwise.
  void AddTree(const TreeSpec& spec);

  size_t n_features() const { return n_features_; }
  size_t n_columns() const { return n_columns_; }
  size_t n_trees() const { return trees_.size(); }
  bool has_missing_go_to_left() const { return has_missing_; }

  // For each of `rows` rows of float32 features (row r at x + r * x_stride),
  // adds every tree's leaf vector to out[r * out_stride + column], tree by
  // tree in order.
  void Accumulate(const float* x, size_t rows, size_t x_stride, double* out,
                  size_t out_stride) const;

  // The leaf a row reaches in tree `t` (its value offset); for tests.
  uint32_t LeafOffset(size_t t, const float* x) const;
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  struct TreeInfo {
    uint32_t first_node;
    uint32_t first_column;
    uint32_t width;
    uint32_t depth;  // edges on the longest root-to-leaf path
  };

  size_t n_features_;
  size_t n_columns_;
  bool has_missing_ = false;
  std::vector<TreeInfo> trees_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> value_offset_;  // per node: its leaf vector in values_
  std::vector<double> values_;
};

}  // namespace ark::runtime
