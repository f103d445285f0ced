#include "hist_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "ark/format/error.h"

namespace ark::runtime {

namespace {

[[noreturn]] void BadPredictor(size_t tree, int64_t node, const std::string& what) {
  throw Error(ErrorCode::kBadManifest, "HistGradientBoosting predictor " + std::to_string(tree) +
                                           ", node " + std::to_string(node) + ": " + what);
}

// `(unsigned char)v` for v >= 0 as x86-64 compiles it (cvttsd2si to 32 bits,
// keep the low byte): 0 once v no longer fits in int32.
inline uint32_t CategoryByte(double v) {
  if (!(v < 2147483648.0)) return 0;
  return static_cast<uint32_t>(static_cast<int32_t>(v)) & 0xFFu;
}

inline bool InBitset(const uint32_t* words, uint32_t c) { return (words[c >> 5] >> (c & 31)) & 1u; }

// i + 1 (the hot child, stored next) or i + far, without a branch: which
// child a row takes is data, and a mispredicted jump per step costs more
// than the whole step (measured: a third of the batch time on hgb200).
inline uint32_t NextNode(uint32_t i, uint32_t far, bool go_far) {
  return i + 1 + ((far - 1) & (0u - static_cast<uint32_t>(go_far)));
}

template <bool kCategorical>
inline uint32_t Step(const HistEnsemble::Node* nodes, const uint32_t* go_left, uint32_t i,
                     const double* x) {
  const HistEnsemble::Node n = nodes[i];
  const double v = x[n.bits & HistEnsemble::kFeatureMask];
  const bool nan_left = (n.bits & HistEnsemble::kNanLeft) != 0;
  bool left;
  if (kCategorical && (n.bits & HistEnsemble::kCategorical)) {
    if (std::isnan(v) || v < 0) {
      left = nan_left;
    } else {
      const size_t slot = static_cast<size_t>(n.threshold);
      left = InBitset(go_left + slot * HistEnsemble::kBitsetWords, CategoryByte(v));
    }
  } else {
    left = (v <= n.threshold) | ((v != v) & nan_left);
  }
  return NextNode(i, n.far, left != ((n.bits & HistEnsemble::kHotLeft) != 0));
}

// The leaf a row reaches from node i (an absolute or tree-relative index:
// far distances are relative).
template <bool kCategorical>
inline uint32_t Walk(const HistEnsemble::Node* nodes, const uint32_t* go_left, uint32_t i,
                     const double* x) {
  while (nodes[i].far != 0) i = Step<kCategorical>(nodes, go_left, i, x);
  return i;
}

constexpr size_t kLanes = 8;       // rows stepped together through one tree
constexpr size_t kTreeLanes = 16;  // trees stepped together for one row

}  // namespace

HistEnsemble::HistEnsemble(size_t n_features, size_t n_columns,
                           std::vector<uint32_t> known_cat_bitsets, std::vector<uint32_t> f_idx_map)
    : n_features_(n_features),
      n_columns_(n_columns),
      known_cat_bitsets_(std::move(known_cat_bitsets)),
      f_idx_map_(std::move(f_idx_map)) {
  if (n_features > kFeatureMask) {
    throw Error(ErrorCode::kBadManifest, "too many features: " + std::to_string(n_features));
  }
  if (known_cat_bitsets_.size() % kBitsetWords != 0 ||
      (!f_idx_map_.empty() && f_idx_map_.size() != n_features)) {
    throw Error(ErrorCode::kBadManifest, "HistGradientBoosting category bitsets are malformed");
  }
}

void HistEnsemble::AddTree(const HistTreeSpec& spec) {
  use_bitvectors_ = false;  // Finish() again after the last tree
  const size_t tree = trees_.size();
  const size_t n = spec.node_count;
  if (n == 0) BadPredictor(tree, 0, "no nodes");
  if (spec.value.size() != n || spec.count.size() != n || spec.feature_idx.size() != n ||
      spec.num_threshold.size() != n || spec.missing_go_to_left.size() != n ||
      spec.left.size() != n || spec.right.size() != n || spec.is_leaf.size() != n ||
      spec.is_categorical.size() != n || spec.bitset_idx.size() != n ||
      spec.raw_left_cat_bitsets.size() % kBitsetWords != 0) {
    BadPredictor(tree, 0, "node fields of different lengths");
  }
  if (spec.column >= n_columns_) BadPredictor(tree, 0, "output column out of range");
  if (nodes_.size() + n > std::numeric_limits<uint32_t>::max()) {
    BadPredictor(tree, 0, "the ensemble is too large");
  }
  const size_t n_raw_bitsets = spec.raw_left_cat_bitsets.size() / kBitsetWords;
  const size_t n_known = known_cat_bitsets_.size() / kBitsetWords;

  const uint32_t first_node = static_cast<uint32_t>(nodes_.size());
  trees_.push_back({first_node, static_cast<uint32_t>(spec.column), 0});

  std::vector<uint8_t> seen(n, 0);
  struct Pending {
    uint64_t node;
    int64_t patch;
    uint32_t depth;
  };
  std::vector<Pending> stack{{0, -1, 0}};
  uint32_t depth = 0;
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    const uint64_t i = p.node;
    if (i >= n) BadPredictor(tree, static_cast<int64_t>(i), "child index out of range");
    if (seen[i]) BadPredictor(tree, static_cast<int64_t>(i), "node reached twice");
    seen[i] = 1;
    const uint32_t here = static_cast<uint32_t>(nodes_.size() - first_node);
    if (p.patch >= 0) nodes_[first_node + p.patch].far = here - static_cast<uint32_t>(p.patch);

    Node node{};
    if (p.depth > depth) depth = p.depth;
    if (spec.is_leaf[i]) {
      // Loops to itself (see TreeEnsemble): NaN threshold, hot = left, far
      // distance 0.
      node.bits = kLeaf | kHotLeft;
      node.threshold = std::numeric_limits<double>::quiet_NaN();
      node.far = 0;
      nodes_.push_back(node);
      leaf_value_.push_back(spec.value[i]);
      continue;
    }
    const int64_t f = spec.feature_idx[i];
    if (f < 0 || static_cast<uint64_t>(f) >= n_features_) {
      BadPredictor(tree, static_cast<int64_t>(i), "feature out of range");
    }
    const uint32_t l = spec.left[i], r = spec.right[i];
    const bool hot_left = !(spec.count[r < n ? r : 0] > spec.count[l < n ? l : 0]);
    const bool nan_left = spec.missing_go_to_left[i] != 0;
    node.bits = static_cast<uint32_t>(f) | (hot_left ? kHotLeft : 0) | (nan_left ? kNanLeft : 0);
    if (spec.is_categorical[i]) {
      const uint32_t b = spec.bitset_idx[i];
      if (b >= n_raw_bitsets)
        BadPredictor(tree, static_cast<int64_t>(i), "bitset index out of range");
      if (f_idx_map_.empty() || f_idx_map_[f] >= n_known) {
        BadPredictor(tree, static_cast<int64_t>(i),
                     "categorical split on a non-categorical feature");
      }
      const uint32_t* raw_left = spec.raw_left_cat_bitsets.data() + b * kBitsetWords;
      const uint32_t* known = known_cat_bitsets_.data() + f_idx_map_[f] * kBitsetWords;
      const size_t slot = go_left_.size() / kBitsetWords;
      go_left_.resize(go_left_.size() + kBitsetWords, 0);
      uint32_t* dst = go_left_.data() + slot * kBitsetWords;
      for (uint32_t c = 0; c < 256; ++c) {
        const bool goes_left = InBitset(raw_left, c) || (!InBitset(known, c) && nan_left);
        if (goes_left) dst[c >> 5] |= 1u << (c & 31);
      }
      node.bits |= kCategorical;
      node.threshold = static_cast<double>(slot);
      has_categorical_ = true;
    } else {
      node.threshold = spec.num_threshold[i];
    }
    nodes_.push_back(node);
    leaf_value_.push_back(0);
    stack.push_back({hot_left ? r : l, here, p.depth + 1});
    stack.push_back({hot_left ? l : r, -1, p.depth + 1});
  }
  if (nodes_.size() - first_node != n) BadPredictor(tree, 0, "nodes not reachable from the root");
  trees_.back().depth = depth;
}

template <bool kCategorical>
void HistEnsemble::AccumulateBatch(const double* x, size_t rows, size_t x_stride, double* out,
                                   size_t out_stride) const {
  const uint32_t* go_left = go_left_.data();
  for (const TreeInfo& t : trees_) {
    const Node* nodes = nodes_.data() + t.first_node;
    const double* values = leaf_value_.data() + t.first_node;
    double* o = out + t.column;
    size_t r = 0;
    for (; r + kLanes <= rows; r += kLanes) {
      uint32_t idx[kLanes] = {};
      const double* xr = x + r * x_stride;
      // Stops once all lanes sit on their leaves: the trees are shallow and
      // unbalanced, so the deepest leaf is often far below the lanes'.
      for (uint32_t d = 0; d < t.depth; ++d) {
        uint32_t moved = 0;
        for (size_t l = 0; l < kLanes; ++l) {
          const uint32_t next = Step<kCategorical>(nodes, go_left, idx[l], xr + l * x_stride);
          moved |= next ^ idx[l];
          idx[l] = next;
        }
        if (moved == 0) break;
      }
      for (size_t l = 0; l < kLanes; ++l) o[(r + l) * out_stride] += values[idx[l]];
    }
    for (; r < rows; ++r) {
      o[r * out_stride] += values[Walk<kCategorical>(nodes, go_left, 0, x + r * x_stride)];
    }
  }
}

template <bool kCategorical>
void HistEnsemble::AccumulateFewRows(const double* x, size_t rows, size_t x_stride, double* out,
                                     size_t out_stride) const {
  // Node indices are absolute: far distances are relative, so one base
  // pointer serves every tree.
  const uint32_t* go_left = go_left_.data();
  const Node* nodes = nodes_.data();
  const double* values = leaf_value_.data();
  const TreeInfo* trees = trees_.data();
  const size_t n_trees = trees_.size();
  for (size_t r = 0; r < rows; ++r) {
    const double* xr = x + r * x_stride;
    double* o = out + r * out_stride;
    size_t t = 0;
    for (; t + kTreeLanes <= n_trees; t += kTreeLanes) {
      uint32_t idx[kTreeLanes];
      uint32_t depth = 0;
      for (size_t l = 0; l < kTreeLanes; ++l) {
        idx[l] = trees[t + l].first_node;
        depth = std::max(depth, trees[t + l].depth);
      }
      // Stops once every walk sits on its leaf (a leaf steps to itself).
      for (uint32_t d = 0; d < depth; ++d) {
        uint32_t moved = 0;
        for (size_t l = 0; l < kTreeLanes; ++l) {
          const uint32_t next = Step<kCategorical>(nodes, go_left, idx[l], xr);
          moved |= next ^ idx[l];
          idx[l] = next;
        }
        if (moved == 0) break;
      }
      for (size_t l = 0; l < kTreeLanes; ++l) o[trees[t + l].column] += values[idx[l]];
    }
    for (; t < n_trees; ++t) {
      o[trees[t].column] += values[Walk<kCategorical>(nodes, go_left, trees[t].first_node, xr)];
    }
  }
}

void HistEnsemble::Finish() {
  use_bitvectors_ = false;
  if (has_categorical_) return;
  std::vector<LeafBitvectors::TreeView> views;
  struct Arrays {
    std::vector<uint32_t> left, right, feature;
    std::vector<double> threshold;
    std::vector<uint8_t> nan_left, is_leaf;
  };
  std::vector<Arrays> arrays(trees_.size());
  for (size_t t = 0; t < trees_.size(); ++t) {
    const uint32_t first = trees_[t].first_node;
    const uint32_t end = t + 1 < trees_.size() ? trees_[t + 1].first_node
                                               : static_cast<uint32_t>(nodes_.size());
    Arrays& a = arrays[t];
    for (uint32_t i = 0; i < end - first; ++i) {
      const Node& n = nodes_[first + i];
      const bool leaf = (n.bits & kLeaf) != 0;
      const bool hot_left = (n.bits & kHotLeft) != 0;
      a.is_leaf.push_back(leaf);
      a.left.push_back(leaf ? i : (hot_left ? i + 1 : i + n.far));
      a.right.push_back(leaf ? i : (hot_left ? i + n.far : i + 1));
      a.feature.push_back(n.bits & kFeatureMask);
      a.threshold.push_back(leaf ? 0.0 : n.threshold);
      a.nan_left.push_back((n.bits & kNanLeft) != 0);
    }
    LeafBitvectors::TreeView v;
    v.node_count = end - first;
    v.left = a.left.data();
    v.right = a.right.data();
    v.feature = a.feature.data();
    v.threshold = a.threshold.data();
    v.nan_left = a.nan_left.data();
    v.is_leaf = a.is_leaf.data();
    v.leaf_value = leaf_value_.data() + first;
    v.column = trees_[t].column;
    views.push_back(v);
  }
  use_bitvectors_ = bitvectors_.Build(n_features_, views);
}

void HistEnsemble::Accumulate(const double* x, size_t rows, size_t x_stride, double* out,
                              size_t out_stride) const {
  if (use_bitvectors_) {
    bitvectors_.Accumulate(x, rows, x_stride, out, out_stride);
    return;
  }
  if (rows < kLanes) {
    if (has_categorical_) {
      AccumulateFewRows<true>(x, rows, x_stride, out, out_stride);
    } else {
      AccumulateFewRows<false>(x, rows, x_stride, out, out_stride);
    }
  } else if (has_categorical_) {
    AccumulateBatch<true>(x, rows, x_stride, out, out_stride);
  } else {
    AccumulateBatch<false>(x, rows, x_stride, out, out_stride);
  }
}

double HistEnsemble::LeafValue(size_t t, const double* x) const {
  const uint32_t first = trees_[t].first_node;
  return leaf_value_[first + Walk<true>(nodes_.data() + first, go_left_.data(), 0, x)];
}

}  // namespace ark::runtime
