#include "tree_ensemble.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "ark/format/error.h"
#include "numeric.h"
#include "thread_pool.h"
#include "tree_walk_avx512.h"

namespace ark::runtime {
namespace {

// A stump on feature `f`: node 0 splits, node 1 (left) and node 2 (right)
// are leaves whose single output is 1 and 2.
TreeSpec Stump(int64_t f, double threshold, double left_weight = 10, double right_weight = 5) {
  TreeSpec t;
  t.node_count = 3;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {f, -2, -2};
  t.threshold = {threshold, -2, -2};
  t.weight = {15, left_weight, right_weight};
  t.leaf_values = {0, 1, 2};
  return t;
}

double Predict(const TreeEnsemble& e, std::vector<double> x) {
  std::vector<float> xf;
  for (double v : x) xf.push_back(ToFloat32(v));
  double out = 0;
  e.Accumulate(xf.data(), 1, xf.size(), &out, 1);
  return out;
}

TEST(TreeEnsemble, EqualToThresholdGoesLeft) {
  TreeEnsemble e(1, 1);
  e.AddTree(Stump(0, 0.5));
  EXPECT_EQ(Predict(e, {0.5}), 1);
  EXPECT_EQ(Predict(e, {std::nextafter(0.5f, 1.0f)}), 2);
  EXPECT_EQ(Predict(e, {-1e30}), 1);
}

TEST(TreeEnsemble, ThresholdBetweenFloat32Neighbours) {
  // float32(0.1) > 0.1, so scikit-learn sends x = 0.1 right: the cast
  // happens before the float64 compare.
  TreeEnsemble e(1, 1);
  e.AddTree(Stump(0, 0.1));
  EXPECT_EQ(Predict(e, {0.1}), 2);
  EXPECT_EQ(Predict(e, {std::nextafter(0.1f, 0.0f)}), 1);
  EXPECT_EQ(Predict(e, {0.09999999}), 1);  // rounds to the float32 below 0.1
}

TEST(TreeEnsemble, InputRoundsToThreshold) {
  // 1 + 2^-30 is above a threshold of 1.0 in float64, but its float32 is 1.0.
  TreeEnsemble e(1, 1);
  e.AddTree(Stump(0, 1.0));
  EXPECT_EQ(Predict(e, {1.0 + 0x1p-30}), 1);
  EXPECT_EQ(Predict(e, {1.0 + 0x1p-20}), 2);
}

TEST(TreeEnsemble, HotChildLayoutDoesNotChangeResults) {
  for (double lw : {1.0, 100.0}) {
    TreeEnsemble e(1, 1);
    e.AddTree(Stump(0, 0.0, lw, 50));
    EXPECT_EQ(Predict(e, {-1}), 1);
    EXPECT_EQ(Predict(e, {1}), 2);
    const bool hot_left = e.RootHotLeft(0);
    EXPECT_EQ(hot_left, lw >= 50);
  }
}

TEST(TreeEnsemble, NanFollowsMissingGoToLeft) {
  for (uint8_t left : {0, 1}) {
    TreeSpec t = Stump(0, 0.5);
    t.missing_go_to_left = {left, 0, 0};
    TreeEnsemble e(1, 1);
    e.AddTree(t);
    EXPECT_TRUE(e.has_missing_go_to_left());
    EXPECT_EQ(Predict(e, {std::nan("")}), left ? 1 : 2);
    EXPECT_EQ(Predict(e, {0.25}), 1);
  }
  TreeEnsemble old(1, 1);
  old.AddTree(Stump(0, 0.5));
  EXPECT_EQ(Predict(old, {std::nan("")}), 2);  // NaN <= t is false
}

TEST(TreeEnsemble, SumsTreesInOrderIntoTheirColumns) {
  TreeEnsemble e(2, 2);
  TreeSpec a = Stump(0, 0.0);
  a.leaf_values = {0, 0.1, 0.2};
  TreeSpec b = Stump(1, 0.0);
  b.leaf_values = {0, 0.1, 1e16};
  b.first_column = 1;
  TreeSpec c = Stump(1, 0.0);
  c.leaf_values = {0, 0.2, -1e16};
  c.first_column = 1;
  e.AddTree(a);
  e.AddTree(b);
  e.AddTree(c);
  const float x[] = {-1, 1};
  double out[2] = {0, 0};
  e.Accumulate(x, 1, 2, out, 2);
  EXPECT_EQ(out[0], 0.0 + 0.1);
  EXPECT_EQ(out[1], (0.0 + 1e16) + -1e16);
  double out2[2] = {0, 0};
  const float y[] = {1, -1};
  e.Accumulate(y, 1, 2, out2, 2);
  EXPECT_EQ(out2[0], 0.2);
  EXPECT_EQ(out2[1], (0.0 + 0.1) + 0.2);  // 0.30000000000000004
  EXPECT_NE(out2[1], 0.3);
}

TEST(TreeEnsemble, WideLeavesAndManyRows) {
  TreeEnsemble e(1, 3);
  TreeSpec t = Stump(0, 0.0);
  t.leaf_width = 3;
  t.leaf_values = {0, 0, 0, 1, 2, 3, 4, 5, 6};
  e.AddTree(t);
  const float x[] = {-1, 1, 0};
  double out[9] = {};
  e.Accumulate(x, 3, 1, out, 3);
  const double expected[] = {1, 2, 3, 4, 5, 6, 1, 2, 3};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(out[i], expected[i]);
}

TEST(TreeEnsemble, RefusesDamagedTrees) {
  auto expect_bad = [](TreeSpec t, size_t features = 1) {
    TreeEnsemble e(features, 1);
    try {
      e.AddTree(t);
      ADD_FAILURE() << "accepted a damaged tree";
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::kBadManifest);
    }
  };
  TreeSpec cycle = Stump(0, 0);
  cycle.left = {1, -1, -1};
  cycle.right = {0, -1, -1};
  expect_bad(cycle);
  TreeSpec out_of_range = Stump(0, 0);
  out_of_range.right = {7, -1, -1};
  expect_bad(out_of_range);
  expect_bad(Stump(3, 0));  // feature 3 of a 1-feature model
  TreeSpec one_child = Stump(0, 0);
  one_child.left = {1, 2, -1};
  expect_bad(one_child);
  TreeSpec unreachable = Stump(0, 0);
  unreachable.node_count = 4;
  unreachable.left.push_back(-1);
  unreachable.right.push_back(-1);
  unreachable.feature.push_back(-2);
  unreachable.threshold.push_back(0);
  unreachable.weight.push_back(0);
  unreachable.leaf_values.push_back(0);
  expect_bad(unreachable);
  TreeSpec ragged = Stump(0, 0);
  ragged.threshold.pop_back();
  expect_bad(ragged);
}

}  // namespace
}  // namespace ark::runtime

namespace ark::runtime {
namespace {

// A deeper, unbalanced tree over 3 features, walked in blocks (lockstep
// lanes) and row by row: the answers must agree, NaN included.
TEST(TreeEnsemble, BlockWalkMatchesRowWalk) {
  TreeSpec t;
  // 0: f0<=0 ? 1 : 2 ; 1: f1<=0.5 ? 3 : 4 ; 2: leaf ; 3: f2<=-1 ? 5 : 6 ; 4,5,6 leaves
  t.node_count = 7;
  t.left = {1, 3, -1, 5, -1, -1, -1};
  t.right = {2, 4, -1, 6, -1, -1, -1};
  t.feature = {0, 1, -2, 2, -2, -2, -2};
  t.threshold = {0, 0.5, -2, -1, -2, -2, -2};
  t.weight = {10, 7, 3, 5, 2, 1, 4};
  t.missing_go_to_left = {1, 0, 0, 1, 0, 0, 0};
  t.leaf_values = {0, 0, 10, 0, 20, 30, 40};
  TreeEnsemble e(3, 1);
  e.AddTree(t);
  std::vector<float> x;
  const float vals[] = {-2, -1, -0.5f, 0, 0.5f, 1, NAN};
  for (int i = 0; i < 37; ++i) {
    for (int j = 0; j < 3; ++j) x.push_back(vals[(i * (j + 2) + j) % 7]);
  }
  std::vector<double> block(37, 0.0);
  e.Accumulate(x.data(), 37, 3, block.data(), 1);
  for (int i = 0; i < 37; ++i) {
    double one = 0;
    e.Accumulate(x.data() + 3 * i, 1, 3, &one, 1);
    EXPECT_EQ(block[i], one) << i;
    EXPECT_NE(one, 0);
  }
}

// 37 trees (two groups of 16 trees walked together for a single row, then 5
// one by one), with the compact node (3 features) and the wide node (2000
// features): the few-rows path, the batch path and a tree-by-tree sum of
// LeafOffset agree bit for bit, NaN included.
TEST(TreeEnsemble, FewRowsAndBatchAgreeOnBothLayouts) {
  for (size_t n_features : {size_t{3}, size_t{2000}}) {
    TreeEnsemble e(n_features, 2);
    std::vector<double> all_values;
    for (int k = 0; k < 37; ++k) {
      TreeSpec t;
      t.node_count = 7;
      t.left = {1, 3, -1, 5, -1, -1, -1};
      t.right = {2, 4, -1, 6, -1, -1, -1};
      const int64_t f = n_features > 3 ? 1000 + k : k % 3;
      t.feature = {f, (f + 1) % static_cast<int64_t>(n_features), -2, 0, -2, -2, -2};
      t.threshold = {0.1 * (k % 5) - 0.2, 0.5, -2, -1, -2, -2, -2};
      t.weight = {10, double(k % 7), 3, double(k % 4), 2, 1, 4};
      t.missing_go_to_left = {uint8_t(k % 2), 0, 0, 1, 0, 0, 0};
      t.leaf_width = 2;
      t.leaf_values.assign(14, 0.0);
      for (int i = 0; i < 14; ++i) t.leaf_values[i] = 0.1 * (i + 1) / (k + 3);
      e.AddTree(t);
    }
    EXPECT_EQ(e.IsCompact(0), n_features == 3);
    std::vector<float> x(n_features * 23, 0.0f);
    const float vals[] = {-2, -1, -0.5f, 0, 0.5f, 1, NAN, 0.1f};
    for (size_t i = 0; i < x.size(); ++i) x[i] = vals[(i * 7 + i / 5) % 8];
    std::vector<double> batch(23 * 2, 0.0);
    e.Accumulate(x.data(), 23, n_features, batch.data(), 2);
    for (size_t r = 0; r < 23; ++r) {
      double one[2] = {0, 0};
      e.Accumulate(x.data() + r * n_features, 1, n_features, one, 2);
      EXPECT_EQ(one[0], batch[2 * r]) << r;
      EXPECT_EQ(one[1], batch[2 * r + 1]) << r;
    }
    // Three rows at once take the few-rows path too.
    std::vector<double> three(6, 0.0);
    e.Accumulate(x.data(), 3, n_features, three.data(), 2);
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(three[i], batch[i]) << i;
  }
}


// A random tree: `splits` internal nodes grown at random leaves (so depth
// and balance vary), node numbers shuffled as a file may order them,
// random features, thresholds, weights, NaN directions and leaf vectors of
// `width` values, some repeated (leaves that share a vector).
TreeSpec RandomTree(std::mt19937& rng, size_t n_features, size_t splits, size_t width,
                    bool with_missing) {
  struct Node {
    int64_t left = -1, right = -1, feature = -2;
    double threshold = -2;
  };
  std::vector<Node> nodes(1);
  std::vector<size_t> leaves{0};
  for (size_t s = 0; s < splits; ++s) {
    const size_t pick = std::uniform_int_distribution<size_t>(0, leaves.size() - 1)(rng);
    const size_t at = leaves[pick];
    nodes[at].left = static_cast<int64_t>(nodes.size());
    nodes[at].right = static_cast<int64_t>(nodes.size() + 1);
    nodes[at].feature =
        static_cast<int64_t>(std::uniform_int_distribution<size_t>(0, n_features - 1)(rng));
    nodes[at].threshold = std::uniform_real_distribution<double>(-1.5, 1.5)(rng);
    leaves[pick] = nodes.size();
    leaves.push_back(nodes.size() + 1);
    nodes.resize(nodes.size() + 2);
  }
  // Shuffle node numbers, keeping the root at 0.
  std::vector<int64_t> number(nodes.size());
  for (size_t i = 0; i < number.size(); ++i) number[i] = static_cast<int64_t>(i);
  std::shuffle(number.begin() + 1, number.end(), rng);
  TreeSpec t;
  t.node_count = nodes.size();
  t.left.assign(t.node_count, -1);
  t.right.assign(t.node_count, -1);
  t.feature.assign(t.node_count, -2);
  t.threshold.assign(t.node_count, -2);
  t.weight.assign(t.node_count, 0);
  if (with_missing) t.missing_go_to_left.assign(t.node_count, 0);
  t.leaf_width = width;
  t.leaf_values.assign(t.node_count * width, 0.0);
  std::uniform_real_distribution<double> unit(0, 1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const size_t j = static_cast<size_t>(number[i]);
    if (nodes[i].left >= 0) {
      t.left[j] = number[nodes[i].left];
      t.right[j] = number[nodes[i].right];
    }
    t.feature[j] = nodes[i].feature;
    t.threshold[j] = nodes[i].threshold;
    t.weight[j] = unit(rng);
    if (with_missing) t.missing_go_to_left[j] = unit(rng) < 0.5;
    const bool shared = unit(rng) < 0.5;
    for (size_t c = 0; c < width; ++c) {
      t.leaf_values[j * width + c] = shared ? double(c) : unit(rng);
    }
  }
  return t;
}

// What scikit-learn computes: each tree walked from its root in its own
// node numbering (x as float32, compared with the float64 threshold), leaf
// vectors summed tree by tree.
void Reference(const std::vector<TreeSpec>& trees, const float* x, double* out) {
  for (const TreeSpec& t : trees) {
    int64_t i = 0;
    while (t.left[i] != -1) {
      const float v = x[t.feature[i]];
      bool left = static_cast<double>(v) <= t.threshold[i];
      if (std::isnan(v)) left = !t.missing_go_to_left.empty() && t.missing_go_to_left[i];
      i = left ? t.left[i] : t.right[i];
    }
    for (size_t c = 0; c < t.leaf_width; ++c) out[c] += t.leaf_values[i * t.leaf_width + c];
  }
}

// Random forests against the reference, bit for bit, on every path: the
// AVX-512 kernels (where the CPU has them) and the scalar walks, one row,
// a few rows, and batches that cross the kernels' chunk of rows; 1, 2 and
// 3 outputs; features held in one register, two, or gathered (10, 20, 40),
// and the wide node (2000); with and without missing_go_to_left.
TEST(TreeEnsemble, RandomForestsMatchReferenceOnEveryPath) {
  std::mt19937 rng(7);
  for (size_t n_features : {size_t{10}, size_t{20}, size_t{40}, size_t{2000}}) {
    for (size_t width : {size_t{1}, size_t{2}, size_t{3}}) {
      const bool with_missing = width != 2;
      std::vector<TreeSpec> trees;
      TreeEnsemble e(n_features, width);
      const size_t n_trees = 3 + rng() % 70;
      for (size_t k = 0; k < n_trees; ++k) {
        trees.push_back(RandomTree(rng, n_features, rng() % 300, width, with_missing));
        e.AddTree(trees.back());
      }
      const size_t rows = 2100;
      std::vector<float> x(rows * n_features);
      std::uniform_real_distribution<float> value(-2, 2);
      for (float& v : x) v = value(rng);
      // NaN cells, when the trees say where NaN goes, and values equal to
      // thresholds.
      for (size_t i = 0; with_missing && i < x.size(); i += 7) x[i] = NAN;
      for (size_t i = 3; i < x.size(); i += 11) {
        const TreeSpec& t = trees[i % n_trees];
        x[i - i % n_features + static_cast<size_t>(std::max<int64_t>(t.feature[0], 0))] =
            static_cast<float>(t.threshold[0]);
      }
      std::vector<double> expected(rows * width, 0.0);
      for (size_t r = 0; r < rows; ++r) {
        Reference(trees, x.data() + r * n_features, expected.data() + r * width);
      }
      for (bool scalar : {false, true}) {
        avx512::DisableForTesting(scalar);
        for (size_t count : {size_t{1}, size_t{3}, size_t{37}, rows}) {
          std::vector<double> got(count * width, 0.0);
          e.Accumulate(x.data(), count, n_features, got.data(), width);
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_EQ(got[i], expected[i])
                << "features " << n_features << ", width " << width << ", rows " << count
                << ", scalar " << scalar << ", cell " << i;
          }
        }
      }
      avx512::DisableForTesting(false);
    }
  }
}

// A forest of many trees scored one row at a time with an assisting pool
// (its awake worker walks half the trees): the same sums, bit for bit, as
// without, on both paths.
TEST(TreeEnsemble, AssistedRowsMatchUnassisted) {
  std::mt19937 rng(11);
  const size_t n_features = 12, width = 2;
  TreeEnsemble e(n_features, width);
  for (size_t k = 0; k < 700; ++k) e.AddTree(RandomTree(rng, n_features, 40, width, true));
  ThreadPool pool(2);
  std::uniform_real_distribution<float> value(-2, 2);
  for (bool scalar : {false, true}) {
    avx512::DisableForTesting(scalar);
    for (int rep = 0; rep < 300; ++rep) {
      const size_t rows = rep % 3 == 0 ? 3 : 1;
      std::vector<float> x(rows * n_features);
      for (float& v : x) v = rep % 7 == 0 ? NAN : value(rng);
      std::vector<double> alone(rows * width, 0.0), assisted(rows * width, 0.0);
      e.Accumulate(x.data(), rows, n_features, alone.data(), width);
      if (rep % 50 == 0) pool.ParallelFor(2, [](size_t) {});  // wake the worker
      e.Accumulate(x.data(), rows, n_features, assisted.data(), width, &pool);
      for (size_t i = 0; i < alone.size(); ++i) ASSERT_EQ(alone[i], assisted[i]) << rep;
    }
  }
  avx512::DisableForTesting(false);
}

}  // namespace
}  // namespace ark::runtime
