#include "tree_ensemble.h"

#include <limits>
#include <string>
#include <utility>

#include "ark/format/error.h"
#include "numeric.h"

namespace ark::runtime {

namespace {

[[noreturn]] void BadTree(size_t tree, int64_t node, const std::string& what) {
  throw Error(ErrorCode::kBadManifest,
              "tree " + std::to_string(tree) + ", node " + std::to_string(node) + ": " + what);
}

// One step from node i for feature row x (a leaf steps to itself).
inline uint32_t Step(const TreeEnsemble::Node* nodes, uint32_t i, const float* x) {
  const TreeEnsemble::Node n = nodes[i];
  const float v = x[n.bits & TreeEnsemble::kFeatureMask];
  const bool left = (v <= n.threshold) | ((v != v) & ((n.bits & TreeEnsemble::kNanLeft) != 0));
  return left == ((n.bits & TreeEnsemble::kHotLeft) != 0) ? i + 1 : n.far;
}

// The leaf a row reaches, stopping early (one row at a time).
inline uint32_t Walk(const TreeEnsemble::Node* nodes, const float* x) {
  uint32_t i = 0;
  while (!(nodes[i].bits & TreeEnsemble::kLeaf)) i = Step(nodes, i, x);
  return i;
}

constexpr size_t kLanes = 8;

// The leaves of kLanes rows, walked together for `depth` steps: independent
// walks overlap their memory latency, and no branch depends on the data.
inline void WalkLanes(const TreeEnsemble::Node* nodes, uint32_t depth, const float* x,
                      size_t x_stride, uint32_t* leaf) {
  uint32_t idx[kLanes] = {};
  for (uint32_t d = 0; d < depth; ++d) {
    for (size_t l = 0; l < kLanes; ++l) idx[l] = Step(nodes, idx[l], x + l * x_stride);
  }
  for (size_t l = 0; l < kLanes; ++l) leaf[l] = idx[l];
}

}  // namespace

TreeEnsemble::TreeEnsemble(size_t n_features, size_t n_columns)
    : n_features_(n_features), n_columns_(n_columns) {
  if (n_features > kFeatureMask) {
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
  if (nodes_.size() + n > std::numeric_limits<uint32_t>::max() ||
      values_.size() + n * spec.leaf_width > std::numeric_limits<uint32_t>::max()) {
    BadTree(tree, 0, "the ensemble is too large");
  }
  if (!spec.missing_go_to_left.empty()) has_missing_ = true;

  const uint32_t first_node = static_cast<uint32_t>(nodes_.size());
  trees_.push_back({first_node, static_cast<uint32_t>(spec.first_column),
                    static_cast<uint32_t>(spec.leaf_width), 0});

  // Depth-first from the root, hot child first; each original node is placed
  // once. `patch` is the compact node whose `far` points at this one.
  std::vector<uint8_t> seen(n, 0);
  struct Pending {
    int64_t node;
    int64_t patch;  // -1: this node is stored right after its parent
    uint32_t depth;
  };
  std::vector<Pending> stack{{0, -1, 0}};
  uint32_t depth = 0;
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    const int64_t i = p.node;
    if (i < 0 || static_cast<size_t>(i) >= n) BadTree(tree, i, "child index out of range");
    if (seen[i]) BadTree(tree, i, "node reached twice (a cycle or a shared child)");
    seen[i] = 1;
    const uint32_t here = static_cast<uint32_t>(nodes_.size() - first_node);
    if (p.patch >= 0) nodes_[first_node + p.patch].far = here;

    Node node{};
    const int64_t l = spec.left[i], r = spec.right[i];
    if (p.depth > depth) depth = p.depth;
    if (l == -1 || r == -1) {
      if (l != r) BadTree(tree, i, "a node with one child");
      // Loops to itself: x <= NaN is false, NaN goes right, and the hot
      // (next) child is the left one, so every step takes `far`.
      node.threshold = std::numeric_limits<float>::quiet_NaN();
      node.bits = kLeaf | kHotLeft;
      node.far = here;
      value_offset_.push_back(static_cast<uint32_t>(values_.size()));
      const double* v = spec.leaf_values.data() + i * spec.leaf_width;
      values_.insert(values_.end(), v, v + spec.leaf_width);
      nodes_.push_back(node);
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
    nodes_.push_back(node);
    value_offset_.push_back(0);
    const int64_t hot = hot_left ? l : r, cold = hot_left ? r : l;
    stack.push_back({cold, here, p.depth + 1});
    stack.push_back({hot, -1, p.depth + 1});
  }
  if (nodes_.size() - first_node != n) {
    // Unreachable nodes are harmless for prediction; scikit-learn never
    // writes them, so they signal a damaged tree.
    BadTree(tree, 0, "nodes not reachable from the root");
  }
  trees_.back().depth = depth;
}

namespace {

template <uint32_t kWidth>
inline void AddLeaf(const double* v, double* dst, uint32_t width) {
  if constexpr (kWidth == 0) {
    for (uint32_t c = 0; c < width; ++c) dst[c] += v[c];
  } else {
    for (uint32_t c = 0; c < kWidth; ++c) dst[c] += v[c];
  }
}

template <uint32_t kWidth>
void AccumulateTree(const TreeEnsemble::Node* nodes, uint32_t depth, const uint32_t* offsets,
                    const double* values, uint32_t width, const float* x, size_t rows,
                    size_t x_stride, double* out, size_t out_stride) {
  size_t r = 0;
  uint32_t leaf[kLanes];
  for (; r + kLanes <= rows; r += kLanes) {
    WalkLanes(nodes, depth, x + r * x_stride, x_stride, leaf);
    for (size_t l = 0; l < kLanes; ++l) {
      AddLeaf<kWidth>(values + offsets[leaf[l]], out + (r + l) * out_stride, width);
    }
  }
  for (; r < rows; ++r) {
    AddLeaf<kWidth>(values + offsets[Walk(nodes, x + r * x_stride)], out + r * out_stride, width);
  }
}

}  // namespace

void TreeEnsemble::Accumulate(const float* x, size_t rows, size_t x_stride, double* out,
                              size_t out_stride) const {
  for (const TreeInfo& t : trees_) {
    const Node* nodes = nodes_.data() + t.first_node;
    const uint32_t* offsets = value_offset_.data() + t.first_node;
    double* o = out + t.first_column;
    switch (t.width) {
      case 1:
        AccumulateTree<1>(nodes, t.depth, offsets, values_.data(), 1, x, rows, x_stride, o,
                          out_stride);
        break;
      case 2:
        AccumulateTree<2>(nodes, t.depth, offsets, values_.data(), 2, x, rows, x_stride, o,
                          out_stride);
        break;
      default:
        AccumulateTree<0>(nodes, t.depth, offsets, values_.data(), t.width, x, rows, x_stride, o,
                          out_stride);
    }
  }
}

uint32_t TreeEnsemble::LeafOffset(size_t t, const float* x) const {
  const uint32_t first = trees_[t].first_node;
  return value_offset_[first + Walk(nodes_.data() + first, x)];
}

}  // namespace ark::runtime
