#include "hist_ensemble.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ark/format/error.h"

namespace ark::runtime {
namespace {

// Node 0 splits feature 0; node 1 (left) is worth 1, node 2 (right) 2.
HistTreeSpec Stump(double threshold, bool missing_left, bool categorical = false) {
  HistTreeSpec t;
  t.node_count = 3;
  t.value = {0, 1, 2};
  t.count = {10, 6, 4};
  t.feature_idx = {0, 0, 0};
  t.num_threshold = {threshold, 0, 0};
  t.missing_go_to_left = {static_cast<uint8_t>(missing_left), 0, 0};
  t.left = {1, 0, 0};
  t.right = {2, 0, 0};
  t.is_leaf = {0, 1, 1};
  t.is_categorical = {static_cast<uint8_t>(categorical), 0, 0};
  t.bitset_idx = {0, 0, 0};
  if (categorical) t.raw_left_cat_bitsets = std::vector<uint32_t>(8, 0);
  return t;
}

double Leaf(const HistEnsemble& e, double x) { return e.LeafValue(0, &x); }

TEST(HistEnsemble, NumericSplitComparesInFloat64) {
  HistEnsemble e(1, 1, {}, {});
  e.AddTree(Stump(0.1, false));
  EXPECT_EQ(Leaf(e, 0.1), 1);  // no float32 cast: 0.1 <= 0.1
  EXPECT_EQ(Leaf(e, std::nextafter(0.1, 1.0)), 2);
  EXPECT_EQ(Leaf(e, -INFINITY), 1);
  EXPECT_EQ(Leaf(e, INFINITY), 2);
}

TEST(HistEnsemble, MissingValues) {
  for (bool left : {false, true}) {
    HistEnsemble e(1, 1, {}, {});
    e.AddTree(Stump(0.5, left));
    EXPECT_EQ(Leaf(e, std::nan("")), left ? 1 : 2);
  }
}

TEST(HistEnsemble, CategoricalSplit) {
  // Known categories of feature 0: {1, 3, 4, 200}; categories 3 and 200 go left.
  std::vector<uint32_t> known(8, 0);
  for (uint32_t c : {1u, 3u, 4u, 200u}) known[c / 32] |= 1u << (c % 32);
  for (bool missing_left : {false, true}) {
    HistTreeSpec t = Stump(0, missing_left, true);
    t.raw_left_cat_bitsets[0] |= 1u << 3;
    t.raw_left_cat_bitsets[200 / 32] |= 1u << (200 % 32);
    HistEnsemble e(1, 1, known, {0});
    e.AddTree(t);
    const double missing = missing_left ? 1 : 2;
    EXPECT_EQ(Leaf(e, 3), 1);
    EXPECT_EQ(Leaf(e, 200), 1);
    EXPECT_EQ(Leaf(e, 1), 2);  // known, not in the left set
    EXPECT_EQ(Leaf(e, 4), 2);
    EXPECT_EQ(Leaf(e, 2), missing);   // unknown category
    EXPECT_EQ(Leaf(e, -1), missing);  // negative: treated as missing
    EXPECT_EQ(Leaf(e, std::nan("")), missing);
    EXPECT_EQ(Leaf(e, 3.7), 1);      // truncated to 3 by the uint8 cast
    EXPECT_EQ(Leaf(e, 256 + 3), 1);  // wraps modulo 256
    EXPECT_EQ(Leaf(e, 256 + 1), 2);
    EXPECT_EQ(Leaf(e, 1e10), missing);  // beyond int32: byte 0, unknown
  }
}

TEST(HistEnsemble, SumsPredictorsInOrder) {
  HistEnsemble e(1, 2, {}, {});
  HistTreeSpec a = Stump(0, false);
  a.value = {0, 0.1, 0};
  HistTreeSpec b = Stump(0, false);
  b.value = {0, 0.2, 0};
  HistTreeSpec c = Stump(0, false);
  c.value = {0, 5, 0};
  c.column = 1;
  e.AddTree(a);
  e.AddTree(b);
  e.AddTree(c);
  const double x[] = {-1, -1};
  double out[4] = {1.0, 0.0, 1.0, 0.0};
  e.Accumulate(x, 2, 1, out, 2);
  EXPECT_EQ(out[0], (1.0 + 0.1) + 0.2);
  EXPECT_EQ(out[1], 5);
  EXPECT_EQ(out[2], (1.0 + 0.1) + 0.2);
}

TEST(HistEnsemble, RefusesDamagedPredictors) {
  auto expect_bad = [](HistTreeSpec t, std::vector<uint32_t> f_idx_map = {}) {
    HistEnsemble e(1, 1, {}, f_idx_map);
    EXPECT_THROW(e.AddTree(t), Error);
  };
  HistTreeSpec cycle = Stump(0, false);
  cycle.right = {0, 0, 0};
  expect_bad(cycle);
  HistTreeSpec far = Stump(0, false);
  far.left = {9, 0, 0};
  expect_bad(far);
  HistTreeSpec feature = Stump(0, false);
  feature.feature_idx = {4, 0, 0};
  expect_bad(feature);
  HistTreeSpec cat = Stump(0, false, true);
  expect_bad(cat);  // categorical split but no categorical features
  HistTreeSpec bitset = Stump(0, false, true);
  bitset.bitset_idx = {3, 0, 0};
  expect_bad(bitset, {0});
}

}  // namespace
}  // namespace ark::runtime

namespace ark::runtime {
namespace {

TEST(HistEnsemble, BlockWalkMatchesRowWalk) {
  // Root: categorical split on feature 1; left child numeric on feature 0.
  std::vector<uint32_t> known(8, 0);
  for (uint32_t c : {0u, 1u, 2u}) known[0] |= 1u << c;
  HistTreeSpec t;
  t.node_count = 5;
  t.value = {0, 0, 3, 1, 2};
  t.count = {10, 6, 4, 3, 3};
  t.feature_idx = {1, 0, 0, 0, 0};
  t.num_threshold = {0, 0.25, 0, 0, 0};
  t.missing_go_to_left = {0, 1, 0, 0, 0};
  t.left = {1, 3, 0, 0, 0};
  t.right = {2, 4, 0, 0, 0};
  t.is_leaf = {0, 0, 1, 1, 1};
  t.is_categorical = {1, 0, 0, 0, 0};
  t.bitset_idx = {0, 0, 0, 0, 0};
  t.raw_left_cat_bitsets = std::vector<uint32_t>(8, 0);
  t.raw_left_cat_bitsets[0] = 1u << 1;
  HistEnsemble e(2, 1, known, {0, 0});
  e.AddTree(t);
  const double vals[] = {-1, 0, 0.25, 1, 2, 7, NAN};
  std::vector<double> x;
  for (int i = 0; i < 29; ++i) {
    x.push_back(vals[i % 7]);
    x.push_back(vals[(i * 3 + 1) % 7]);
  }
  std::vector<double> block(29, 0.0);
  e.Accumulate(x.data(), 29, 2, block.data(), 1);
  for (int i = 0; i < 29; ++i) EXPECT_EQ(block[i], e.LeafValue(0, x.data() + 2 * i)) << i;
}

// 37 predictors (two groups of 16 walked together for a single row, then 5
// one by one), numeric and categorical: one row at a time, a few rows, and a
// batch agree bit for bit with a predictor-by-predictor sum of LeafValue.
TEST(HistEnsemble, FewRowsAndBatchAgree) {
  for (bool categorical : {false, true}) {
    std::vector<uint32_t> known(8, 0);
    for (uint32_t c : {0u, 1u, 2u}) known[0] |= 1u << c;
    HistEnsemble e(2, 1, known, {0, 0});
    for (int k = 0; k < 37; ++k) {
      HistTreeSpec t = Stump(0.25 * (k % 5) - 0.5, k % 2 == 0, categorical && k % 3 == 0);
      t.feature_idx = {k % 2, 0, 0};
      if (t.is_categorical[0]) {
        t.feature_idx[0] = 0;
        t.raw_left_cat_bitsets[0] = 1u << (k % 3);
      }
      t.value = {0, 0.1 / (k + 3), 0.7 / (k + 5)};
      t.count = {10, static_cast<uint32_t>(k % 4), 2};
      e.AddTree(t);
    }
    std::vector<double> x;
    const double vals[] = {-1, 0, 1, 2, NAN, 0.3, 7};
    for (int i = 0; i < 21; ++i) {
      x.push_back(vals[i % 7]);
      x.push_back(vals[(i * 3 + 1) % 7]);
    }
    std::vector<double> batch(21, 0.0), few(21, 0.0);
    e.Accumulate(x.data(), 21, 2, batch.data(), 1);
    e.Accumulate(x.data(), 3, 2, few.data(), 1);
    for (int i = 0; i < 21; ++i) {
      double expected = 0, one = 0;
      for (size_t k = 0; k < e.n_trees(); ++k) expected += e.LeafValue(k, x.data() + 2 * i);
      e.Accumulate(x.data() + 2 * i, 1, 2, &one, 1);
      EXPECT_EQ(batch[i], expected) << i;
      EXPECT_EQ(one, expected) << i;
      if (i < 3) {
        EXPECT_EQ(few[i], expected) << i;
      }
    }
  }
}

// A random numeric predictor with `leaves` leaves over `n_features`
// features, numbered in pre-order as scikit-learn writes them; thresholds
// drawn from `values` so that ties occur.
size_t GrowRandom(std::mt19937& rng, HistTreeSpec& t, size_t leaves, uint32_t n_features,
                  const std::vector<double>& values) {
  const size_t i = t.value.size();
  t.value.push_back(0);
  t.count.push_back(1 + static_cast<uint32_t>(rng() % 50));
  t.feature_idx.push_back(0);
  t.num_threshold.push_back(0);
  t.missing_go_to_left.push_back(0);
  t.left.push_back(0);
  t.right.push_back(0);
  t.is_leaf.push_back(1);
  t.is_categorical.push_back(0);
  t.bitset_idx.push_back(0);
  if (leaves == 1) {
    t.value[i] = static_cast<double>(rng() % 1000) / 997.0 - 0.5;
    return i;
  }
  const size_t left_leaves = 1 + rng() % (leaves - 1);
  t.is_leaf[i] = 0;
  t.feature_idx[i] = rng() % n_features;
  t.num_threshold[i] = values[rng() % values.size()];
  t.missing_go_to_left[i] = rng() % 2;
  const size_t l = GrowRandom(rng, t, left_leaves, n_features, values);
  const size_t r = GrowRandom(rng, t, leaves - left_leaves, n_features, values);
  t.left[i] = static_cast<uint32_t>(l);
  t.right[i] = static_cast<uint32_t>(r);
  t.count[i] = t.count[l] + t.count[r];
  return i;
}

HistTreeSpec RandomPredictor(std::mt19937& rng, size_t leaves, uint32_t n_features,
                             const std::vector<double>& values, size_t column) {
  HistTreeSpec t;
  t.column = column;
  GrowRandom(rng, t, leaves, n_features, values);
  t.node_count = t.value.size();
  return t;
}

// The bitvector evaluation (after Finish) gives the node walk's sums bit for
// bit: random predictors up to 64 leaves, ties between values and
// thresholds, infinities, NaN both ways, several output columns, every row
// count from 1 to 40 (eight-row blocks and the rows left over).
TEST(HistEnsemble, BitvectorsMatchTheNodeWalk) {
  std::mt19937 rng(7);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> values = {-inf, -2.5, -1, -0.0, 0.0, 0.5, 1, 1.5, 3, inf};
  for (size_t max_leaves : {2u, 31u, 64u, 65u}) {
    HistEnsemble walk(5, 3, {}, {});
    HistEnsemble fast(5, 3, {}, {});
    for (size_t k = 0; k < 23; ++k) {
      const size_t leaves = 2 + rng() % (max_leaves - 1);
      const HistTreeSpec t = RandomPredictor(rng, k == 0 ? max_leaves : leaves, 5, values, k % 3);
      walk.AddTree(t);
      fast.AddTree(t);
    }
    fast.Finish();
    std::vector<double> x;
    for (size_t i = 0; i < 40 * 5; ++i) {
      const size_t pick = rng() % (values.size() + 3);
      x.push_back(pick < values.size() ? values[pick]
                  : pick == values.size() ? std::nan("")
                                          : static_cast<double>(rng() % 7) - 3.25);
    }
    for (size_t rows = 1; rows <= 40; ++rows) {
      std::vector<double> a(rows * 3, 0.125), b(rows * 3, 0.125);
      walk.Accumulate(x.data(), rows, 5, a.data(), 3);
      fast.Accumulate(x.data(), rows, 5, b.data(), 3);
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i], b[i]) << "max_leaves " << max_leaves << ", rows " << rows << ", i " << i;
      }
    }
  }
}


}  // namespace
}  // namespace ark::runtime
