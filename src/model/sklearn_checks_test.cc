// Tests of the scikit-learn node checks: valid trees pass, and each way a
// crafted file can break a tree (a child out of range, before its parent, a
// shared child, an unreachable node, a bad feature, a depth over max_depth,
// a categorical split past its bitsets) is reported, never read past.
#include "ark/model/sklearn_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <random>
#include <vector>

namespace ark::model {
namespace {

using ::testing::HasSubstr;

// sklearn 1.2's NODE_DTYPE: seven 8-byte fields.
struct TreeRecord {
  int64_t left_child;
  int64_t right_child;
  int64_t feature;
  double threshold;
  double impurity;
  int64_t n_node_samples;
  double weighted_n_node_samples;
};
constexpr TreeNodeLayout kTreeLayout{sizeof(TreeRecord), offsetof(TreeRecord, left_child),
                                     offsetof(TreeRecord, right_child),
                                     offsetof(TreeRecord, feature)};

TreeRecord Leaf() { return {-1, -1, -2, -2.0, 0.0, 1, 1.0}; }
TreeRecord Split(int64_t left, int64_t right, int64_t feature) {
  return {left, right, feature, 0.5, 0.5, 2, 2.0};
}

std::span<const std::byte> Bytes(const std::vector<TreeRecord>& nodes) {
  return std::as_bytes(std::span(nodes));
}

// Depth-first, as scikit-learn builds it: 0 -> (1, 4), 1 -> (2, 3).
std::vector<TreeRecord> FiveNodes() {
  return {Split(1, 4, 0), Split(2, 3, 2), Leaf(), Leaf(), Leaf()};
}

std::string DefectOf(const std::vector<TreeRecord>& nodes, int64_t n_features = 3,
                     int64_t max_depth = 2) {
  auto defect = FindTreeDefect(Bytes(nodes), kTreeLayout, n_features, max_depth);
  return defect.value_or("");
}

TEST(TreeCheck, AcceptsValidTrees) {
  EXPECT_EQ(DefectOf(FiveNodes()), "");
  EXPECT_EQ(DefectOf({Leaf()}, 1, 0), "");
  // Breadth-first order is a tree too.
  EXPECT_EQ(DefectOf({Split(1, 2, 0), Split(3, 4, 1), Leaf(), Leaf(), Leaf()}), "");
  // max_depth may exceed the real depth.
  EXPECT_EQ(DefectOf(FiveNodes(), 3, 4), "");
}

TEST(TreeCheck, RefusesChildrenOutOfRangeOrBeforeTheirParent) {
  for (int64_t bad : {int64_t{5}, int64_t{1'000'000}, int64_t{-5}, int64_t{0}, int64_t{1},
                      INT64_MIN, INT64_MAX}) {
    auto nodes = FiveNodes();
    nodes[1].left_child = bad;  // 0 and 1 make a loop, -5 and 5 leave the array
    EXPECT_THAT(DefectOf(nodes), HasSubstr("child")) << bad;
  }
}

TEST(TreeCheck, RefusesOneChild) {
  auto nodes = FiveNodes();
  nodes[1].right_child = -1;
  EXPECT_THAT(DefectOf(nodes), HasSubstr("exactly one child"));
  nodes = FiveNodes();
  nodes[2].right_child = 3;
  EXPECT_THAT(DefectOf(nodes), HasSubstr("exactly one child"));
}

TEST(TreeCheck, RefusesSharedAndUnreachableNodes) {
  auto nodes = FiveNodes();
  nodes[1].right_child = 2;  // both children of node 1 are node 2; node 3 has no parent
  EXPECT_THAT(DefectOf(nodes), HasSubstr("several parents"));
  nodes = FiveNodes();
  nodes[1] = Split(2, 4, 2);  // node 4 named by nodes 0 and 1
  EXPECT_THAT(DefectOf(nodes), HasSubstr("several parents"));
  nodes = FiveNodes();
  nodes[0] = Split(1, 3, 0);
  nodes[1] = Leaf();  // nodes 2 and 4 are nobody's children
  EXPECT_THAT(DefectOf(nodes), HasSubstr("not all in one tree (node 2"));
}

TEST(TreeCheck, RefusesFeaturesOutsideTheInput) {
  for (int64_t bad : {int64_t{3}, int64_t{-1}, int64_t{-2}, INT64_MAX}) {
    auto nodes = FiveNodes();
    nodes[1].feature = bad;
    EXPECT_THAT(DefectOf(nodes), HasSubstr("feature outside 0..2")) << bad;
  }
}

TEST(TreeCheck, RefusesDepthBeyondMaxDepth) {
  EXPECT_THAT(DefectOf(FiveNodes(), 3, 1), HasSubstr("deeper than max_depth 1"));
  EXPECT_THAT(DefectOf(FiveNodes(), 3, 5), HasSubstr("max_depth 5 is impossible for 5 nodes"));
  EXPECT_THAT(DefectOf(FiveNodes(), 3, -1), HasSubstr("impossible"));
}

TEST(TreeCheck, RefusesUnusableSpansAndLayouts) {
  auto nodes = FiveNodes();
  EXPECT_THAT(FindTreeDefect(Bytes(nodes).first(30), kTreeLayout, 3, 2).value_or(""),
              HasSubstr("whole number of records"));
  EXPECT_THAT(FindTreeDefect({}, kTreeLayout, 3, 0).value_or(""), HasSubstr("no nodes"));
  TreeNodeLayout layout = kTreeLayout;
  layout.feature = sizeof(TreeRecord) - 4;
  EXPECT_THAT(FindTreeDefect(Bytes(nodes), layout, 3, 2).value_or(""), HasSubstr("layout"));
  layout = kTreeLayout;
  layout.record_size = 0;
  EXPECT_THAT(FindTreeDefect(Bytes(nodes), layout, 3, 2).value_or(""), HasSubstr("records"));
}

// A random depth-first tree of `splits` splits (2 * splits + 1 nodes).
std::vector<TreeRecord> RandomTree(std::mt19937_64& rng, int splits) {
  std::vector<TreeRecord> nodes;
  // Appends a subtree with `budget` splits; returns its root's index.
  auto grow = [&](auto& self, int budget) -> int64_t {
    auto index = static_cast<int64_t>(nodes.size());
    if (budget == 0) {
      nodes.push_back(Leaf());
      return index;
    }
    nodes.push_back(Split(0, 0, static_cast<int64_t>(rng() % 3)));
    int left_budget = static_cast<int>(rng() % static_cast<uint64_t>(budget));
    int64_t left = self(self, left_budget);
    int64_t right = self(self, budget - 1 - left_budget);
    nodes[static_cast<size_t>(index)].left_child = left;
    nodes[static_cast<size_t>(index)].right_child = right;
    return index;
  };
  grow(grow, splits);
  return nodes;
}

// Both internal passes (the branch-free one and the reporting one) must agree:
// a tree the first refuses must get a real defect from the second, never the
// fallback message; random corruptions must never read out of bounds (run
// under AddressSanitizer in CI).
TEST(TreeCheck, RandomCorruptionsGetAConsistentVerdict) {
  std::mt19937_64 rng(7);
  int refused = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    auto nodes = RandomTree(rng, 1 + static_cast<int>(rng() % 20));
    auto n = static_cast<int64_t>(nodes.size());
    const int64_t candidates[] = {-2, -1, 0, 1, n - 1, n, n + 1, INT64_MIN, INT64_MAX};
    for (uint64_t edits = rng() % 3; edits > 0; --edits) {
      TreeRecord& node = nodes[rng() % nodes.size()];
      int64_t value = rng() % 2 ? candidates[rng() % std::size(candidates)]
                                : static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
      int64_t* fields[] = {&node.left_child, &node.right_child, &node.feature};
      *fields[rng() % 3] = value;
    }
    auto defect = FindTreeDefect(Bytes(nodes), kTreeLayout, 3, static_cast<int64_t>(rng() % n));
    ASSERT_NE(defect.value_or(""), "the nodes do not form a valid tree") << trial;
    refused += defect.has_value();
  }
  EXPECT_GT(refused, 1000);
  EXPECT_LT(refused, 5000);
}

// PREDICTOR_RECORD_DTYPE of scikit-learn 1.2 (52 bytes), packed as numpy lays it out.
struct HistRecord {
  double value;
  uint32_t count;
  uint32_t feature_idx;
  double num_threshold;
  uint8_t missing_go_to_left;
  uint32_t left;
  uint32_t right;
  double gain;
  uint32_t depth;
  uint8_t is_leaf;
  uint8_t bin_threshold;
  uint8_t is_categorical;
  uint32_t bitset_idx;
} __attribute__((packed));
constexpr HistNodeLayout kHistLayout{sizeof(HistRecord),
                                     offsetof(HistRecord, left),
                                     offsetof(HistRecord, right),
                                     offsetof(HistRecord, is_leaf),
                                     offsetof(HistRecord, is_categorical),
                                     offsetof(HistRecord, bitset_idx)};

HistRecord HistLeaf() {
  HistRecord r{};
  r.is_leaf = 1;
  return r;
}
HistRecord HistSplit(uint32_t left, uint32_t right, bool categorical = false, uint32_t bitset = 0) {
  HistRecord r{};
  r.left = left;
  r.right = right;
  r.is_categorical = categorical ? 1 : 0;
  r.bitset_idx = bitset;
  return r;
}

std::string HistDefectOf(const std::vector<HistRecord>& nodes, uint64_t bitset_rows = 1) {
  return FindHistPredictorDefect(std::as_bytes(std::span(nodes)), kHistLayout, bitset_rows)
      .value_or("");
}

TEST(HistPredictorCheck, AcceptsValidTrees) {
  EXPECT_EQ(HistDefectOf({HistLeaf()}), "");
  EXPECT_EQ(HistDefectOf({HistSplit(1, 2, true, 0), HistLeaf(), HistLeaf()}), "");
  // A leaf's left and right are ignored.
  HistRecord odd_leaf = HistLeaf();
  odd_leaf.left = 1'000'000;
  EXPECT_EQ(HistDefectOf({HistSplit(1, 2), odd_leaf, HistLeaf()}), "");
}

TEST(HistPredictorCheck, RefusesBrokenTrees) {
  EXPECT_THAT(HistDefectOf({HistSplit(1, 1'000'000), HistLeaf(), HistLeaf()}), HasSubstr("child"));
  EXPECT_THAT(HistDefectOf({HistSplit(0, 2), HistLeaf(), HistLeaf()}), HasSubstr("child"));
  EXPECT_THAT(HistDefectOf({HistSplit(1, 1), HistLeaf(), HistLeaf()}),
              HasSubstr("several parents"));
  EXPECT_THAT(HistDefectOf({HistSplit(1, 2), HistLeaf(), HistLeaf(), HistLeaf()}),
              HasSubstr("not all in one tree"));
  EXPECT_THAT(HistDefectOf({HistSplit(1, 2, true, 1), HistLeaf(), HistLeaf()}, 1),
              HasSubstr("categorical"));
  EXPECT_THAT(HistDefectOf({}), HasSubstr("no nodes"));
}

}  // namespace
}  // namespace ark::model
