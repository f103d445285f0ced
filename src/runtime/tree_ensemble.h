// TreeEnsemble: scikit-learn's decision trees (sklearn.tree._tree.Tree) in a
// compact, walk-friendly layout, summed the way forests and gradient boosting
// sum them.
//
// Layout: each tree's nodes are stored in pre-order with the "hot" child (the
// one more training samples reached) right after its parent, so the common
// path reads consecutive memory; the other child is `far` nodes further on.
// A node is 8 bytes (CompactNode: a float32 threshold and one word holding
// the far distance, the feature and two flags) when the ensemble has at most
// 1024 features and the tree fewer than 2^20 nodes; otherwise 16 bytes
// (WideNode). A leaf loops to itself (NaN threshold, far distance 0), so
// blocks of rows walk in lockstep for the tree's depth without a branch per
// node; its NaN threshold carries the leaf's number in its payload (compact)
// or beside it (wide), which finds the leaf's output vector. Leaves whose
// vectors are equal bit for bit share one number (a deep forest's leaves are
// mostly pure, so the vectors it reads stay few and in cache).
//
// Scheduling: a batch walks tree by tree, each tree over the whole batch; a
// few rows walk row by row through every tree. Where the CPU has AVX-512
// (tree_walk_avx512.h) sixteen walks share a vector, and a lane that reaches
// its leaf takes the next row (batch) or the next tree (one row); elsewhere
// a batch steps groups of 8 rows together and a row steps 16 trees together,
// so that their memory latencies overlap. The few-rows path allocates
// nothing.
//
// Exactness: scikit-learn casts X to float32 and goes left when
// `x_f32 <= threshold` with a float64 threshold. The threshold is stored as
// the largest float32 not above it, which gives the same answer for every
// float32 x (see FloorToFloat32). NaN goes where the node's
// missing_go_to_left says when the model has that field (scikit-learn >=
// 1.3), and right otherwise (callers reject NaN for such models, as
// scikit-learn 1.2 does). Each tree adds its leaf vector to its output
// columns, trees in their original order, so every output sums in
// scikit-learn's order whatever the schedule.
//
// Thread safety: immutable after the last AddTree(); Accumulate may run
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ark::runtime {

class ThreadPool;

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
  // 8 bytes. word: bits 0-19 the far distance (0 at a leaf), 20-29 the
  // feature, 30 kNanLeft, 31 kHotLeft. A leaf's threshold is a quiet NaN
  // whose low 22 bits number the leaf within its tree.
  struct CompactNode {
    float threshold;
    uint32_t word;
  };
  // The top levels of every compact tree, decided for a row before its walk
  // (tree_walk_avx512.h): levels 0 to kTopLevels in breadth-first slots
  // (slot s's stored-next child in slot 2s+1, its other child in 2s+2; a
  // leaf's child slots repeat the leaf), each slot an array over trees:
  // the node (threshold, word) and its index in the compact node array.
  static constexpr size_t kTopLevels = 3;
  static constexpr size_t kTopSlots = (size_t{2} << kTopLevels) - 1;
  struct TopLevels {
    const float* threshold[kTopSlots];
    const uint32_t* word[kTopSlots];
    const uint32_t* index[kTopSlots];
  };
  // 16 bytes, for trees the compact node cannot describe.
  struct WideNode {
    float threshold;
    uint32_t bits;  // kHotLeft | kNanLeft | feature
    uint32_t far;   // distance to the child not stored next; 0 at a leaf
    uint32_t leaf;  // a leaf's number within its tree
  };
  static constexpr uint32_t kHotLeft = 1u << 31;  // the child stored next is the left one
  static constexpr uint32_t kNanLeft = 1u << 30;
  static constexpr uint32_t kWideFeatureMask = kNanLeft - 1;
  static constexpr uint32_t kCompactFarBits = 20;
  static constexpr uint32_t kCompactFeatureBits = 10;
  static constexpr uint32_t kCompactLeafBits = 22;

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
  // tree in order. A few rows through many trees share the walks with an
  // awake worker of `assist` when given (ThreadPool::ParallelForAwake); the
  // sums stay in tree order.
  void Accumulate(const float* x, size_t rows, size_t x_stride, double* out,
                  size_t out_stride, ThreadPool* assist = nullptr) const;

  // For tests: the leaf a row reaches in tree `t` (the offset of its vector
  // among all leaf values); whether tree `t` stores its root's left child
  // next; whether tree `t` uses the compact node.
  uint32_t LeafOffset(size_t t, const float* x) const;
  bool RootHotLeft(size_t t) const;
  bool IsCompact(size_t t) const { return trees_[t].compact; }

  // The top levels of compact trees [first_tree, ...). REQUIRES: every tree
  // compact.
  TopLevels Top(size_t first_tree) const;

 private:
  struct TreeInfo {
    uint32_t first_node;   // in compact_ or wide_
    uint32_t first_value;  // in values_
    uint32_t first_column;
    uint32_t width;
    uint32_t depth;  // edges on the longest root-to-leaf path
    bool compact;
  };

  template <bool kNan>
  void AccumulateBatch(const float* x, size_t rows, size_t x_stride, double* out,
                       size_t out_stride) const;
  // Trees below this count are walked by the caller alone.
  static constexpr size_t kAssistTrees = 128;

  template <bool kNan>
  void LeavesOfRow(const float* x, size_t first_tree, size_t count, uint32_t* leaves) const;
  template <bool kNan>
  void LeavesOfRowScalar(const float* x, size_t first_tree, size_t count, uint32_t* leaves) const;
  template <uint32_t kWidth>
  void AddLeavesInOrder(size_t first_tree, size_t count, const uint32_t* leaves,
                        double* out) const;
  template <bool kNan>
  void AccumulateFewRows(const float* x, size_t rows, size_t x_stride, double* out,
                         size_t out_stride, ThreadPool* assist) const;

  size_t n_features_;
  size_t n_columns_;
  bool has_missing_ = false;
  bool all_compact_ = true;
  std::vector<TreeInfo> trees_;
  std::vector<CompactNode> compact_;
  std::vector<WideNode> wide_;
  std::vector<double> values_;  // each tree's leaf vectors, leaf by leaf
  std::vector<float> top_threshold_[kTopSlots];  // see TopLevels
  std::vector<uint32_t> top_word_[kTopSlots];
  std::vector<uint32_t> top_index_[kTopSlots];
  // The width of every tree's leaf vector when all add to the same columns
  // [0, width), else 0.
  uint32_t uniform_width_ = 0;
};

}  // namespace ark::runtime
