#include "tree_ensemble.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ark/format/error.h"
#include "numeric.h"
#include "thread_pool.h"
#include "tree_walk_avx512.h"

namespace ark::runtime {

namespace {

[[noreturn]] void BadTree(size_t tree, int64_t node, const std::string& what) {
  throw Error(ErrorCode::kBadManifest,
              "tree " + std::to_string(tree) + ", node " + std::to_string(node) + ": " + what);
}

constexpr uint32_t kFarMask = (1u << TreeEnsemble::kCompactFarBits) - 1;
constexpr uint32_t kFeatureMask = (1u << TreeEnsemble::kCompactFeatureBits) - 1;
constexpr uint32_t kLeafMask = (1u << TreeEnsemble::kCompactLeafBits) - 1;
constexpr uint32_t kQuietNan = 0x7FC00000u;

// How the walk reads each node type.
struct Compact {
  using Node = TreeEnsemble::CompactNode;
  static uint32_t Feature(const Node& n) {
    return (n.word >> TreeEnsemble::kCompactFarBits) & kFeatureMask;
  }
  static uint32_t Far(const Node& n) { return n.word & kFarMask; }
  static bool HotLeft(const Node& n) { return (n.word & TreeEnsemble::kHotLeft) != 0; }
  static bool NanLeft(const Node& n) { return (n.word & TreeEnsemble::kNanLeft) != 0; }
  static uint32_t Leaf(const Node& n) {
    uint32_t bits;
    std::memcpy(&bits, &n.threshold, sizeof bits);
    return bits & kLeafMask;
  }
};

struct Wide {
  using Node = TreeEnsemble::WideNode;
  static uint32_t Feature(const Node& n) { return n.bits & TreeEnsemble::kWideFeatureMask; }
  static uint32_t Far(const Node& n) { return n.far; }
  static bool HotLeft(const Node& n) { return (n.bits & TreeEnsemble::kHotLeft) != 0; }
  static bool NanLeft(const Node& n) { return (n.bits & TreeEnsemble::kNanLeft) != 0; }
  static uint32_t Leaf(const Node& n) { return n.leaf; }
};

// One step from node i for feature row x: the next node, or i itself at a
// leaf (x <= NaN is false and a leaf's far distance is 0).
template <typename L, bool kNan>
inline uint32_t Step(const typename L::Node* nodes, uint32_t i, const float* x) {
  const typename L::Node n = nodes[i];
  const float v = x[L::Feature(n)];
  bool left = v <= n.threshold;
  if constexpr (kNan) left = left | ((v != v) & L::NanLeft(n));
  return left == L::HotLeft(n) ? i + 1 : i + L::Far(n);
}

// Step() for lane l of a group of kRowLanes rows stored feature-major
// (xg[feature * kRowLanes + lane]): one base pointer serves every lane.
template <typename L, bool kNan, size_t kLanesOf>
inline uint32_t LaneStep(const typename L::Node* nodes, uint32_t i, const float* xg, size_t l) {
  const typename L::Node n = nodes[i];
  const float v = xg[L::Feature(n) * kLanesOf + l];
  bool left = v <= n.threshold;
  if constexpr (kNan) left = left | ((v != v) & L::NanLeft(n));
  return left == L::HotLeft(n) ? i + 1 : i + L::Far(n);
}

// The leaf a row reaches from node i, stopping there.
template <typename L, bool kNan>
inline uint32_t Walk(const typename L::Node* nodes, uint32_t i, const float* x) {
  while (L::Far(nodes[i]) != 0) i = Step<L, kNan>(nodes, i, x);
  return i;
}

template <uint32_t kWidth>
inline void AddLeaf(const double* v, double* dst, uint32_t width) {
  if constexpr (kWidth == 0) {
    for (uint32_t c = 0; c < width; ++c) dst[c] += v[c];
  } else {
    for (uint32_t c = 0; c < kWidth; ++c) dst[c] += v[c];
  }
}

// Rows stepped together through one tree: independent walks overlap their
// memory latency, and no branch depends on the data.
constexpr size_t kRowLanes = 8;
// Trees stepped together for one row (the few-rows path).
constexpr size_t kTreeLanes = 16;

// Rows whose leaves are found before any is added: the additions then load
// their leaf vectors independently of each other (no load waits on a walk),
// which overlaps their cache misses.
constexpr size_t kChunkRows = 512;

// Adds one tree's leaf vector (`values`: the tree's first leaf vector) to
// every row. `xt`: the first rows / kRowLanes * kRowLanes rows in groups of
// kRowLanes, each group feature-major; `x`: all rows, row-major (the rest
// are read from there).
template <typename L, bool kNan, uint32_t kWidth>
void WalkTree(const typename L::Node* nodes, uint32_t depth, const double* values, uint32_t width,
              const float* xt, size_t n_features, const float* x, size_t rows, size_t x_stride,
              double* out, size_t out_stride) {
  const uint32_t w = kWidth == 0 ? width : kWidth;
  const size_t group_floats = n_features * kRowLanes;
  uint32_t leaves[kChunkRows];
  for (size_t start = 0; start < rows; start += kChunkRows) {
    const size_t count = std::min(kChunkRows, rows - start);
    size_t r = 0;
    for (; r + kRowLanes <= count; r += kRowLanes) {
      const float* xg = xt + (start + r) / kRowLanes * group_floats;
      uint32_t idx[kRowLanes] = {};
      for (uint32_t d = 0; d < depth; ++d) {
        for (size_t l = 0; l < kRowLanes; ++l) {
          idx[l] = LaneStep<L, kNan, kRowLanes>(nodes, idx[l], xg, l);
        }
      }
      for (size_t l = 0; l < kRowLanes; ++l) leaves[r + l] = L::Leaf(nodes[idx[l]]);
    }
    for (; r < count; ++r) {
      leaves[r] = L::Leaf(nodes[Walk<L, kNan>(nodes, 0, x + (start + r) * x_stride)]);
    }
    double* o = out + start * out_stride;
    for (r = 0; r < count; ++r) {
      AddLeaf<kWidth>(values + size_t{leaves[r]} * w, o + r * out_stride, w);
    }
  }
}

template <typename L, bool kNan>
void WalkTreeAnyWidth(const typename L::Node* nodes, uint32_t depth, const double* values,
                      uint32_t width, const float* xt, size_t n_features, const float* x,
                      size_t rows, size_t x_stride, double* out, size_t out_stride) {
  switch (width) {
    case 1:
      WalkTree<L, kNan, 1>(nodes, depth, values, 1, xt, n_features, x, rows, x_stride, out,
                           out_stride);
      break;
    case 2:
      WalkTree<L, kNan, 2>(nodes, depth, values, 2, xt, n_features, x, rows, x_stride, out,
                           out_stride);
      break;
    default:
      WalkTree<L, kNan, 0>(nodes, depth, values, width, xt, n_features, x, rows, x_stride, out,
                           out_stride);
  }
}

// WalkTree with the AVX-512 kernel: rows in chunks of avx512::kMaxRows, each
// chunk's (row, leaf) pairs found first, then the leaf vectors added.
constexpr size_t kStreamRows = avx512::kMaxRows;
// Row offsets in the kernel are 32-bit: kStreamRows rows of this stride fit.
constexpr size_t kMaxAvx512Stride = (size_t{1} << 31) / kStreamRows - 1;

template <bool kNan, uint32_t kWidth>
void WalkTreeAvx512(const TreeEnsemble::CompactNode* nodes, const avx512::TreeTop& top,
                    const double* values, uint32_t width, const float* x, size_t rows,
                    size_t x_stride, double* out, size_t out_stride) {
  const uint32_t w = kWidth == 0 ? width : kWidth;
  uint32_t pair_rows[kStreamRows + 16], pair_leaves[kStreamRows + 16];
  for (size_t start = 0; start < rows; start += kStreamRows) {
    const size_t count = std::min(kStreamRows, rows - start);
    const size_t pairs =
        avx512::LeavesOfRows(nodes, top, x + start * x_stride, x_stride,
                             static_cast<uint32_t>(count), kNan, pair_rows, pair_leaves);
    double* o = out + start * out_stride;
    for (size_t i = 0; i < pairs; ++i) {
      AddLeaf<kWidth>(values + size_t{pair_leaves[i]} * w, o + pair_rows[i] * out_stride, w);
    }
  }
}

template <bool kNan>
void WalkTreeAvx512AnyWidth(const TreeEnsemble::CompactNode* nodes, const avx512::TreeTop& top,
                            const double* values, uint32_t width, const float* x, size_t rows,
                            size_t x_stride, double* out, size_t out_stride) {
  switch (width) {
    case 1:
      WalkTreeAvx512<kNan, 1>(nodes, top, values, 1, x, rows, x_stride, out, out_stride);
      break;
    case 2:
      WalkTreeAvx512<kNan, 2>(nodes, top, values, 2, x, rows, x_stride, out, out_stride);
      break;
    default:
      WalkTreeAvx512<kNan, 0>(nodes, top, values, width, x, rows, x_stride, out, out_stride);
  }
}

// The first rows / kRowLanes * kRowLanes rows in groups of kRowLanes, each
// group feature-major: feature f of the group's row l at [f * kRowLanes + l].
std::vector<float> GroupRows(const float* x, size_t rows, size_t x_stride, size_t n_features) {
  const size_t groups = rows / kRowLanes;
  std::vector<float> xt(groups * n_features * kRowLanes);
  for (size_t r = 0; r < groups * kRowLanes; ++r) {
    float* dst = xt.data() + r / kRowLanes * n_features * kRowLanes + r % kRowLanes;
    const float* src = x + r * x_stride;
    for (size_t f = 0; f < n_features; ++f) dst[f * kRowLanes] = src[f];
  }
  return xt;
}

}  // namespace

TreeEnsemble::TreeEnsemble(size_t n_features, size_t n_columns)
    : n_features_(n_features), n_columns_(n_columns) {
  if (n_features > kWideFeatureMask) {
    throw Error(ErrorCode::kBadManifest,
                "too many features for a tree: " + std::to_string(n_features));
  }
}

void TreeEnsemble::AddTree(const TreeSpec& spec) {
  const size_t tree = trees_.size();
  const size_t n = spec.node_count;
  if (n == 0) BadTree(tree, 0, "the tree has no nodes");
  if (spec.left.size() != n || spec.right.size() != n || spec.feature.size() != n ||
      spec.threshold.size() != n || spec.weight.size() != n ||
      (!spec.missing_go_to_left.empty() && spec.missing_go_to_left.size() != n) ||
      spec.leaf_values.size() != n * spec.leaf_width) {
    BadTree(tree, 0, "node arrays of different lengths");
  }
  if (spec.leaf_width == 0 || spec.first_column > n_columns_ ||
      spec.leaf_width > n_columns_ - spec.first_column) {
    BadTree(tree, 0, "leaf outputs outside the model's output columns");
  }
  const bool compact = n_features_ <= kFeatureMask + 1 && n <= kFarMask && n <= kLeafMask;
  const size_t stored = compact ? compact_.size() : wide_.size();
  if (stored + n > std::numeric_limits<uint32_t>::max() ||
      values_.size() + n * spec.leaf_width > std::numeric_limits<uint32_t>::max()) {
    BadTree(tree, 0, "the ensemble is too large");
  }

  // Depth-first from the root, hot child first; each original node is placed
  // once, in `wide` form first (converted below). `patch` is the node whose
  // far distance leads to this one.
  std::vector<WideNode> nodes;
  nodes.reserve(n);
  std::vector<double> values;
  std::vector<uint8_t> seen(n, 0);
  struct Pending {
    int64_t node;
    int64_t patch;  // -1: this node is stored right after its parent
    uint32_t depth;
  };
  std::vector<Pending> stack{{0, -1, 0}};
  uint32_t depth = 0;
  uint32_t leaves = 0;  // distinct leaf vectors
  std::unordered_map<std::string_view, uint32_t> distinct;  // keys point into spec
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    const int64_t i = p.node;
    if (i < 0 || static_cast<size_t>(i) >= n) BadTree(tree, i, "child index out of range");
    if (seen[i]) BadTree(tree, i, "node reached twice (a cycle or a shared child)");
    seen[i] = 1;
    const uint32_t here = static_cast<uint32_t>(nodes.size());
    if (p.patch >= 0) nodes[p.patch].far = here - static_cast<uint32_t>(p.patch);

    WideNode node{};
    const int64_t l = spec.left[i], r = spec.right[i];
    if (p.depth > depth) depth = p.depth;
    if (l == -1 || r == -1) {
      if (l != r) BadTree(tree, i, "a node with one child");
      // Loops to itself: x <= NaN is false, NaN goes right, and the hot
      // (next) child is the left one, so every step takes `far` = 0.
      node.threshold = std::numeric_limits<float>::quiet_NaN();
      node.bits = kHotLeft;
      node.far = 0;
      // Leaves with the same vector (bit for bit) share one copy: a deep
      // forest's leaves are mostly pure, so its vectors stay in cache.
      const double* v = spec.leaf_values.data() + i * spec.leaf_width;
      const std::string_view key(reinterpret_cast<const char*>(v),
                                 spec.leaf_width * sizeof(double));
      const auto [it, added] = distinct.try_emplace(key, leaves);
      if (added) {
        ++leaves;
        values.insert(values.end(), v, v + spec.leaf_width);
      }
      node.leaf = it->second;
      nodes.push_back(node);
      continue;
    }
    const int64_t f = spec.feature[i];
    if (f < 0 || static_cast<uint64_t>(f) >= n_features_) BadTree(tree, i, "feature out of range");
    if (l < 0 || r < 0 || static_cast<size_t>(l) >= n || static_cast<size_t>(r) >= n) {
      BadTree(tree, i, "child index out of range");
    }
    const bool hot_left = !(spec.weight[r] > spec.weight[l]);
    node.threshold = FloorToFloat32(spec.threshold[i]);
    node.bits = static_cast<uint32_t>(f) | (hot_left ? kHotLeft : 0) |
                (!spec.missing_go_to_left.empty() && spec.missing_go_to_left[i] ? kNanLeft : 0);
    nodes.push_back(node);
    const int64_t hot = hot_left ? l : r, cold = hot_left ? r : l;
    stack.push_back({cold, here, p.depth + 1});
    stack.push_back({hot, -1, p.depth + 1});
  }
  if (nodes.size() != n) {
    // Unreachable nodes are harmless for prediction; scikit-learn never
    // writes them, so they signal a damaged tree.
    BadTree(tree, 0, "nodes not reachable from the root");
  }

  if (!spec.missing_go_to_left.empty()) has_missing_ = true;
  const uint32_t width = static_cast<uint32_t>(spec.leaf_width);
  if (trees_.empty()) uniform_width_ = spec.first_column == 0 ? width : 0;
  if (spec.first_column != 0 || width != uniform_width_) uniform_width_ = 0;
  trees_.push_back({static_cast<uint32_t>(stored), static_cast<uint32_t>(values_.size()),
                    static_cast<uint32_t>(spec.first_column),
                    static_cast<uint32_t>(spec.leaf_width), depth, compact});
  values_.insert(values_.end(), values.begin(), values.end());
  if (!compact) {
    all_compact_ = false;
    wide_.insert(wide_.end(), nodes.begin(), nodes.end());
    return;
  }
  // Breadth-first slots of the top levels (indices relative to the tree).
  uint32_t slot[kTopSlots];
  slot[0] = 0;
  for (size_t k = 0; 2 * k + 2 < kTopSlots; ++k) {
    const uint32_t far = nodes[slot[k]].far;
    slot[2 * k + 1] = far == 0 ? slot[k] : slot[k] + 1;
    slot[2 * k + 2] = slot[k] + far;
  }
  for (const WideNode& w : nodes) {
    CompactNode c{};
    c.threshold = w.threshold;
    c.word =
        (w.bits & (kHotLeft | kNanLeft)) | ((w.bits & kWideFeatureMask) << kCompactFarBits) | w.far;
    if (w.far == 0) {
      const uint32_t bits = kQuietNan | w.leaf;
      std::memcpy(&c.threshold, &bits, sizeof bits);
    }
    compact_.push_back(c);
  }
  for (size_t k = 0; k < kTopSlots; ++k) {
    const CompactNode& c = compact_[stored + slot[k]];
    top_threshold_[k].push_back(c.threshold);
    top_word_[k].push_back(c.word);
    top_index_[k].push_back(static_cast<uint32_t>(stored) + slot[k]);
  }
}

template <bool kNan>
void TreeEnsemble::AccumulateBatch(const float* x, size_t rows, size_t x_stride, double* out,
                                   size_t out_stride) const {
  if (all_compact_ && avx512::Available() && x_stride <= kMaxAvx512Stride) {
    const TopLevels all = Top(0);
    avx512::TreeTop top{};
    for (size_t i = 0; i < trees_.size(); ++i) {
      const TreeInfo& t = trees_[i];
      for (size_t k = 0; k < kTopSlots; ++k) {
        top.threshold[k] = all.threshold[k][i];
        top.word[k] = all.word[k][i];
        top.index[k] = all.index[k][i] - t.first_node;
      }
      WalkTreeAvx512AnyWidth<kNan>(compact_.data() + t.first_node, top,
                                   values_.data() + t.first_value, t.width, x, rows, x_stride,
                                   out + t.first_column, out_stride);
    }
    return;
  }
  // Full groups of kRowLanes rows, each stored feature-major, so that a
  // group's lanes share one base pointer (fewer registers in the walk).
  const std::vector<float> xt = GroupRows(x, rows, x_stride, n_features_);
  for (const TreeInfo& t : trees_) {
    const double* values = values_.data() + t.first_value;
    double* o = out + t.first_column;
    if (t.compact) {
      WalkTreeAnyWidth<Compact, kNan>(compact_.data() + t.first_node, t.depth, values, t.width,
                                      xt.data(), n_features_, x, rows, x_stride, o, out_stride);
    } else {
      WalkTreeAnyWidth<Wide, kNan>(wide_.data() + t.first_node, t.depth, values, t.width, xt.data(),
                                   n_features_, x, rows, x_stride, o, out_stride);
    }
  }
}

template <bool kNan>
void TreeEnsemble::LeavesOfRowScalar(const float* x, size_t first_tree, size_t count,
                                     uint32_t* leaves) const {
  const CompactNode* nodes = compact_.data();
  const TreeInfo* trees = trees_.data() + first_tree;
  size_t t = 0;
  for (; t + kTreeLanes <= count; t += kTreeLanes) {
    uint32_t idx[kTreeLanes];
    uint32_t depth = 0;
    for (size_t l = 0; l < kTreeLanes; ++l) {
      idx[l] = trees[t + l].first_node;
      depth = std::max(depth, trees[t + l].depth);
    }
    if (t + 2 * kTreeLanes <= count) {
      for (size_t l = 0; l < kTreeLanes; ++l) {
        __builtin_prefetch(nodes + trees[t + kTreeLanes + l].first_node);
      }
    }
    // Stops early once every walk sits on its leaf (a leaf steps to
    // itself): the steps are latency-bound, so the check is free.
    for (uint32_t d = 0; d < depth; ++d) {
      uint32_t moved = 0;
      for (size_t l = 0; l < kTreeLanes; ++l) {
        const uint32_t next = Step<Compact, kNan>(nodes, idx[l], x);
        moved |= next ^ idx[l];
        idx[l] = next;
      }
      if (moved == 0) break;
    }
    for (size_t l = 0; l < kTreeLanes; ++l) leaves[t + l] = Compact::Leaf(nodes[idx[l]]);
  }
  for (; t < count; ++t) {
    leaves[t] = Compact::Leaf(nodes[Walk<Compact, kNan>(nodes, trees[t].first_node, x)]);
  }
}

template <uint32_t kWidth>
void TreeEnsemble::AddLeavesInOrder(size_t first_tree, size_t count, const uint32_t* leaves,
                                    double* out) const {
  const TreeInfo* trees = trees_.data() + first_tree;
  if constexpr (kWidth == 0) {
    for (size_t k = 0; k < count; ++k) {
      AddLeaf<0>(values_.data() + trees[k].first_value + size_t{leaves[k]} * trees[k].width,
                 out + trees[k].first_column, trees[k].width);
    }
  } else {
    // Every tree adds to columns [0, kWidth): the sums stay in registers,
    // each still added tree by tree in order.
    double sum[kWidth];
    for (uint32_t c = 0; c < kWidth; ++c) sum[c] = out[c];
    for (size_t k = 0; k < count; ++k) {
      const double* v = values_.data() + trees[k].first_value + size_t{leaves[k]} * kWidth;
      for (uint32_t c = 0; c < kWidth; ++c) sum[c] += v[c];
    }
    for (uint32_t c = 0; c < kWidth; ++c) out[c] = sum[c];
  }
}

template <bool kNan>
void TreeEnsemble::LeavesOfRow(const float* x, size_t first_tree, size_t count,
                               uint32_t* leaves) const {
  // The kernel's node indices are absolute and signed 32-bit.
  if (avx512::Available() && n_features_ <= kMaxAvx512Stride &&
      compact_.size() < (size_t{1} << 31)) {
    avx512::LeavesOfRow(compact_.data(), Top(first_tree), static_cast<uint32_t>(count), x,
                        n_features_, kNan, leaves);
  } else {
    LeavesOfRowScalar<kNan>(x, first_tree, count, leaves);
  }
}

template <bool kNan>
void TreeEnsemble::AccumulateFewRows(const float* x, size_t rows, size_t x_stride, double* out,
                                     size_t out_stride, ThreadPool* assist) const {
  // REQUIRES: all_compact_. Node indices are absolute (far distances are
  // relative, so one base pointer serves every tree). The leaves of a block
  // of trees are found first (split between the caller and an awake worker
  // when there are many), then their vectors added in tree order.
  const size_t n_trees = trees_.size();
  constexpr size_t kBlock = 512;
  uint32_t leaves[kBlock];
  struct Half {
    const TreeEnsemble* self;
    const float* x;
    size_t first, split, end;
    uint32_t* leaves;
  } half{this, nullptr, 0, 0, 0, leaves};
  const std::function<void(size_t)> find_half = [h = &half](size_t i) {
    const size_t from = i == 0 ? h->first : h->split, to = i == 0 ? h->split : h->end;
    h->self->template LeavesOfRow<kNan>(h->x, from, to - from, h->leaves + (from - h->first));
  };
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    double* o = out + r * out_stride;
    for (size_t t0 = 0; t0 < n_trees; t0 += kBlock) {
      const size_t count = std::min(kBlock, n_trees - t0);
      if (assist && count >= kAssistTrees) {
        half.x = xr;
        half.first = t0;
        half.split = t0 + (count / 2 + 15) / 16 * 16;
        half.end = t0 + count;
        assist->ParallelForAwake(2, find_half);
      } else {
        LeavesOfRow<kNan>(xr, t0, count, leaves);
      }
      switch (uniform_width_) {
        case 1:
          AddLeavesInOrder<1>(t0, count, leaves, o);
          break;
        case 2:
          AddLeavesInOrder<2>(t0, count, leaves, o);
          break;
        default:
          AddLeavesInOrder<0>(t0, count, leaves, o);
      }
    }
  }
}

void TreeEnsemble::Accumulate(const float* x, size_t rows, size_t x_stride, double* out,
                              size_t out_stride, ThreadPool* assist) const {
  if (rows < kRowLanes && all_compact_) {
    if (has_missing_) {
      AccumulateFewRows<true>(x, rows, x_stride, out, out_stride, assist);
    } else {
      AccumulateFewRows<false>(x, rows, x_stride, out, out_stride, assist);
    }
    return;
  }
  if (has_missing_) {
    AccumulateBatch<true>(x, rows, x_stride, out, out_stride);
  } else {
    AccumulateBatch<false>(x, rows, x_stride, out, out_stride);
  }
}

TreeEnsemble::TopLevels TreeEnsemble::Top(size_t first_tree) const {
  TopLevels top;
  for (size_t k = 0; k < kTopSlots; ++k) {
    top.threshold[k] = top_threshold_[k].data() + first_tree;
    top.word[k] = top_word_[k].data() + first_tree;
    top.index[k] = top_index_[k].data() + first_tree;
  }
  return top;
}

uint32_t TreeEnsemble::LeafOffset(size_t t, const float* x) const {
  const TreeInfo& ti = trees_[t];
  uint32_t leaf;
  if (ti.compact) {
    const CompactNode* nodes = compact_.data() + ti.first_node;
    leaf = Compact::Leaf(nodes[Walk<Compact, true>(nodes, 0, x)]);
  } else {
    const WideNode* nodes = wide_.data() + ti.first_node;
    leaf = Wide::Leaf(nodes[Walk<Wide, true>(nodes, 0, x)]);
  }
  return ti.first_value + leaf * ti.width;
}

bool TreeEnsemble::RootHotLeft(size_t t) const {
  const TreeInfo& ti = trees_[t];
  return ti.compact ? Compact::HotLeft(compact_[ti.first_node])
                    : Wide::HotLeft(wide_[ti.first_node]);
}

}  // namespace ark::runtime
