// HistEnsemble: the predictors of HistGradientBoosting{Classifier,Regressor}
// (sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor) in a
// compact pre-order layout, hot child next, 16 bytes a node. Leaves loop to
// themselves so that blocks of rows walk in lockstep for the tree's depth.
// A batch walks predictor by predictor, 8 rows stepped together, stopping
// once the 8 rows are all on leaves; fewer than 8 rows walk row by row, 16
// predictors stepped together. The next node is chosen without a branch.
// After Finish(), models of small numeric trees (no categorical split, at
// most 64 leaves a tree: scikit-learn's default is 31) are scored by
// LeafBitvectors instead, feature by feature (hist_bitvector.h), which is
// several times faster. Neither allocates per row.
//
// Exactness (scikit-learn 1.2.1, _predictor.pyx, predicting from raw data):
// X stays float64; a numeric split goes left when `x <= num_threshold`; NaN
// follows missing_go_to_left; a categorical split sends a negative value or
// an unknown category where missing values go, a category in the node's
// left bitset left, and any other known category right. The category is the
// float value converted to uint8 as the C code does (truncation toward zero,
// modulo 256 below 2^31, 0 from there). Each predictor adds its leaf value
// to one output column, predictors in their order.
//
// Thread safety: immutable after construction; Accumulate may run
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hist_bitvector.h"

namespace ark::runtime {

// One TreePredictor: its node records as the fields of
// PREDICTOR_RECORD_DTYPE, plus the raw left-category bitsets (8 uint32 words
// per bitset) that its categorical nodes index with bitset_idx.
struct HistTreeSpec {
  size_t node_count = 0;
  std::vector<double> value;
  std::vector<uint32_t> count;
  std::vector<int64_t> feature_idx;
  std::vector<double> num_threshold;
  std::vector<uint8_t> missing_go_to_left;
  std::vector<uint32_t> left;
  std::vector<uint32_t> right;
  std::vector<uint8_t> is_leaf;
  std::vector<uint8_t> is_categorical;
  std::vector<uint32_t> bitset_idx;
  std::vector<uint32_t> raw_left_cat_bitsets;  // n_bitsets × 8
  size_t column = 0;
};

class HistEnsemble {
 public:
  struct Node {
    double threshold;  // numeric split: threshold; leaf: NaN; categorical: bitset slot
    uint32_t bits;     // kLeaf | kHotLeft | kNanLeft | kCategorical | feature
    uint32_t far;      // distance to the child not stored next; 0 at a leaf
  };
  static constexpr uint32_t kLeaf = 1u << 31;
  static constexpr uint32_t kHotLeft = 1u << 30;
  static constexpr uint32_t kNanLeft = 1u << 29;
  static constexpr uint32_t kCategorical = 1u << 28;
  static constexpr uint32_t kFeatureMask = kCategorical - 1;
  static constexpr size_t kBitsetWords = 8;  // 256 categories

  // `known_cat_bitsets`: n_categorical × 8 words, the categories seen in fit
  // for each categorical feature (BinMapper.make_known_categories_bitsets);
  // `f_idx_map`: for each feature, its row in known_cat_bitsets.
  HistEnsemble(size_t n_features, size_t n_columns, std::vector<uint32_t> known_cat_bitsets,
               std::vector<uint32_t> f_idx_map);

  // Validates (children in range, each node reached once, features and
  // bitset indices in range) and converts one predictor. Throws
  // ark::Error(kBadManifest) naming the predictor and node.
  void AddTree(const HistTreeSpec& spec);

  size_t n_features() const { return n_features_; }
  size_t n_columns() const { return n_columns_; }
  size_t n_trees() const { return trees_.size(); }

  // Call after the last AddTree: prepares the fastest evaluation the model
  // allows (LeafBitvectors for small numeric trees). Accumulate works
  // without it, walking nodes.
  void Finish();

  // out[r * out_stride + column] += leaf value, predictor by predictor.
  void Accumulate(const double* x, size_t rows, size_t x_stride, double* out,
                  size_t out_stride) const;

  // The leaf value a row reaches in predictor `t`; for tests.
  double LeafValue(size_t t, const double* x) const;

 private:
  struct TreeInfo {
    uint32_t first_node;
    uint32_t column;
    uint32_t depth;
  };
  template <bool kCategorical>
  void AccumulateBatch(const double* x, size_t rows, size_t x_stride, double* out,
                       size_t out_stride) const;
  template <bool kCategorical>
  void AccumulateFewRows(const double* x, size_t rows, size_t x_stride, double* out,
                         size_t out_stride) const;

  size_t n_features_;
  size_t n_columns_;
  bool has_categorical_ = false;
  std::vector<uint32_t> known_cat_bitsets_;
  std::vector<uint32_t> f_idx_map_;
  std::vector<TreeInfo> trees_;
  std::vector<Node> nodes_;
  std::vector<double> leaf_value_;  // per node (0 for internal nodes)
  // Per categorical node: 8 words, bit c set when category c goes left.
  std::vector<uint32_t> go_left_;
  LeafBitvectors bitvectors_;
  bool use_bitvectors_ = false;
};

}  // namespace ark::runtime
