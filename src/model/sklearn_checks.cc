#include "ark/model/sklearn_checks.h"

#include <cstring>
#include <vector>

namespace ark::model {
namespace {

// scikit-learn's marker for "no child" (sklearn.tree._tree.TREE_LEAF).
constexpr int64_t kTreeLeaf = -1;
// Node indices are int32 in parts of scikit-learn's code (and in the depth
// bookkeeping below); real trees stay far below this.
constexpr uint64_t kMaxNodes = uint64_t{1} << 31;
constexpr int32_t kNoParentYet = -1;

template <typename T>
T Read(const std::byte* record, size_t offset) {
  T value;
  std::memcpy(&value, record + offset, sizeof(T));
  return value;
}

bool FieldFits(size_t offset, size_t size, size_t record_size) {
  return offset <= record_size && size <= record_size - offset;
}

// The record count of `nodes`, or a defect when the span or layout is unusable.
std::optional<std::string> CountRecords(std::span<const std::byte> nodes, size_t record_size,
                                        uint64_t* count) {
  if (record_size == 0 || nodes.size() % record_size != 0) {
    return "the node array is not a whole number of records";
  }
  *count = nodes.size() / record_size;
  if (*count == 0) return "no nodes";
  if (*count >= kMaxNodes) return "too many nodes";
  return std::nullopt;
}

// Tracks the tree rule while records are visited in index order: node 0 is
// the root, every other node is named as a child exactly once, by a parent
// with a smaller index. Visiting in order, a node's parent has been visited
// before the node itself, so the node's depth is known when it is reached.
class ShapeTracker {
 public:
  explicit ShapeTracker(uint64_t count) : count_(count), depth_(count, kNoParentYet) {
    depth_[0] = 0;
  }

  // Depth of node `i`, or a defect when no earlier node named it as a child.
  std::optional<std::string> Reach(uint64_t i, int32_t* depth) const {
    *depth = depth_[i];
    if (*depth == kNoParentYet) {
      return "nodes are not all in one tree (node " + std::to_string(i) + " has no parent)";
    }
    return std::nullopt;
  }

  // Records node `i`'s children, given as int64 whatever the field type.
  std::optional<std::string> AddChildren(uint64_t i, int32_t depth, int64_t left, int64_t right) {
    auto follows = [&](int64_t child) {
      return child > static_cast<int64_t>(i) && static_cast<uint64_t>(child) < count_;
    };
    if (!follows(left) || !follows(right)) {
      return "a child index is out of range or does not follow its parent (node " +
             std::to_string(i) + ")";
    }
    int32_t& left_depth = depth_[static_cast<size_t>(left)];
    int32_t& right_depth = depth_[static_cast<size_t>(right)];
    if (left == right || left_depth != kNoParentYet || right_depth != kNoParentYet) {
      return "nodes do not form a tree (a node has several parents)";
    }
    left_depth = right_depth = depth + 1;
    return std::nullopt;
  }

 private:
  uint64_t count_;
  std::vector<int32_t> depth_;
};

// The common case, valid records, without a branch per node: a forest's
// leaves and splits alternate unpredictably, and mispredicted branches cost
// more than the checks. Returns whether the records pass every check of
// FindTreeDefect, whose own pass then finds the first defect to report.
// REQUIRES: the layout fits the records, 0 <= max_depth < count < kMaxNodes.
bool TreeIsValid(const std::byte* records, uint64_t count, const TreeNodeLayout& layout,
                 int64_t n_features, int64_t max_depth) {
  // depth[count] is a scratch slot that leaves write to instead of branching.
  std::vector<int32_t> depth(count + 1, kNoParentYet);
  depth[0] = 0;
  const uint64_t max_feature = n_features > 0 ? static_cast<uint64_t>(n_features) : 0;
  bool valid = true;
  const std::byte* record = records;
  for (uint64_t i = 0; i < count; ++i, record += layout.record_size) {
    const auto left = Read<int64_t>(record, layout.left_child);
    const auto right = Read<int64_t>(record, layout.right_child);
    const auto feature = Read<int64_t>(record, layout.feature);
    const int32_t node_depth = depth[i];
    // Unsigned wrap-around turns "i < child < count" into one comparison.
    const uint64_t after = count - i - 1;
    const bool leaf = (left == kTreeLeaf) & (right == kTreeLeaf);
    const bool split = (static_cast<uint64_t>(left) - i - 1 < after) &
                       (static_cast<uint64_t>(right) - i - 1 < after) & (left != right) &
                       (static_cast<uint64_t>(feature) < max_feature) & (node_depth < max_depth);
    const uint64_t left_slot = split ? static_cast<uint64_t>(left) : count;
    const uint64_t right_slot = split ? static_cast<uint64_t>(right) : count;
    // Branch-free on purpose (unsigned, so that clang sees no mistaken `&&`).
    const bool new_children = (unsigned{depth[left_slot] == kNoParentYet} &
                               unsigned{depth[right_slot] == kNoParentYet}) != 0;
    valid &= (node_depth != kNoParentYet) & (leaf | (split & new_children));
    depth[left_slot] = node_depth + 1;
    depth[right_slot] = node_depth + 1;
  }
  return valid;
}

}  // namespace

std::optional<std::string> FindTreeDefect(std::span<const std::byte> nodes,
                                          const TreeNodeLayout& layout, int64_t n_features,
                                          int64_t max_depth) {
  uint64_t count = 0;
  if (auto defect = CountRecords(nodes, layout.record_size, &count)) return defect;
  const size_t size = layout.record_size;
  if (!FieldFits(layout.left_child, sizeof(int64_t), size) ||
      !FieldFits(layout.right_child, sizeof(int64_t), size) ||
      !FieldFits(layout.feature, sizeof(int64_t), size)) {
    return "the node layout does not fit its records";
  }
  if (max_depth < 0 || static_cast<uint64_t>(max_depth) >= count) {
    return "max_depth " + std::to_string(max_depth) + " is impossible for " +
           std::to_string(count) + " nodes";
  }
  if (TreeIsValid(nodes.data(), count, layout, n_features, max_depth)) return std::nullopt;
  ShapeTracker shape(count);
  const std::byte* record = nodes.data();
  for (uint64_t i = 0; i < count; ++i, record += size) {
    int32_t depth = 0;
    if (auto defect = shape.Reach(i, &depth)) return defect;
    auto left = Read<int64_t>(record, layout.left_child);
    auto right = Read<int64_t>(record, layout.right_child);
    if (left == kTreeLeaf && right == kTreeLeaf) continue;
    if (left == kTreeLeaf || right == kTreeLeaf) {
      return "node " + std::to_string(i) + " has exactly one child";
    }
    auto feature = Read<int64_t>(record, layout.feature);
    if (feature < 0 || feature >= n_features) {
      return "a split uses a feature outside 0.." + std::to_string(n_features - 1) + " (node " +
             std::to_string(i) + ")";
    }
    if (depth >= max_depth) {
      return "a node lies deeper than max_depth " + std::to_string(max_depth);
    }
    if (auto defect = shape.AddChildren(i, depth, left, right)) return defect;
  }
  // TreeIsValid and this pass check the same rules, so this is not reached.
  return "the nodes do not form a valid tree";
}

std::optional<std::string> FindHistPredictorDefect(std::span<const std::byte> nodes,
                                                   const HistNodeLayout& layout,
                                                   uint64_t bitset_rows) {
  uint64_t count = 0;
  if (auto defect = CountRecords(nodes, layout.record_size, &count)) return defect;
  const size_t size = layout.record_size;
  if (!FieldFits(layout.left, sizeof(uint32_t), size) ||
      !FieldFits(layout.right, sizeof(uint32_t), size) ||
      !FieldFits(layout.is_leaf, sizeof(uint8_t), size) ||
      !FieldFits(layout.is_categorical, sizeof(uint8_t), size) ||
      !FieldFits(layout.bitset_idx, sizeof(uint32_t), size)) {
    return "the node layout does not fit its records";
  }
  ShapeTracker shape(count);
  const std::byte* record = nodes.data();
  for (uint64_t i = 0; i < count; ++i, record += size) {
    int32_t depth = 0;
    if (auto defect = shape.Reach(i, &depth)) return defect;
    if (Read<uint8_t>(record, layout.is_leaf) != 0) continue;
    if (Read<uint8_t>(record, layout.is_categorical) != 0 &&
        Read<uint32_t>(record, layout.bitset_idx) >= bitset_rows) {
      return "a categorical split points outside the category bitsets (node " + std::to_string(i) +
             ")";
    }
    // Depth cannot overflow: it is below the node count, itself below 2**31.
    if (auto defect = shape.AddChildren(i, depth, Read<uint32_t>(record, layout.left),
                                        Read<uint32_t>(record, layout.right))) {
      return defect;
    }
  }
  return std::nullopt;
}

}  // namespace ark::model
