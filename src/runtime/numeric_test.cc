#include "numeric.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace ark::runtime {
namespace {

std::vector<double> Cancelling(size_t groups, std::vector<double> tail = {}) {
  // Groups of 8 whose first item alternates ±1e16: pairwise summation keeps
  // the ones (they land in partial sums without the big values), a running
  // sum loses them. Expected values were computed with numpy 1.24's np.sum.
  std::vector<double> v;
  for (size_t g = 0; g < groups; ++g) {
    v.push_back(g % 2 == 0 ? 1e16 : -1e16);
    for (int i = 0; i < 7; ++i) v.push_back(1.0);
  }
  v.insert(v.end(), tail.begin(), tail.end());
  return v;
}

TEST(PairwiseSum, MatchesNumpy) {
  EXPECT_EQ(PairwiseSum(Cancelling(2).data(), 16), 14.0);  // np.sum gives 14, a loop 7
  const auto tail = Cancelling(2, {1, 1, 1});
  EXPECT_EQ(PairwiseSum(tail.data(), tail.size()), 17.0);
  const auto big = Cancelling(20);  // 160 items: split in two halves of 80
  EXPECT_EQ(PairwiseSum(big.data(), big.size()), 140.0);
}

TEST(PairwiseSum, ShortRunsAddInOrder) {
  const double v[] = {1e16, 1, 1, -1e16};
  EXPECT_EQ(PairwiseSum(v, 4), (((0.0 + 1e16) + 1) + 1) + -1e16);
  EXPECT_EQ(PairwiseSum(v, 0), 0.0);
}

TEST(PairwiseSum, Stride) {
  const double v[] = {1, 100, 2, 100, 3, 100};
  EXPECT_EQ(PairwiseSum(v, 3, 2), 6.0);
}

TEST(ToFloat32, RoundsAndOverflowsLikeNumpy) {
  EXPECT_EQ(ToFloat32(0.1), 0.1f);
  EXPECT_EQ(ToFloat32(1.0 + 0x1p-30), 1.0f);
  constexpr double kMax = std::numeric_limits<float>::max();
  EXPECT_EQ(ToFloat32(kMax), std::numeric_limits<float>::max());
  EXPECT_EQ(ToFloat32(kMax + 0x1p102), std::numeric_limits<float>::max());  // below half an ulp
  EXPECT_TRUE(std::isinf(ToFloat32(kMax + 0x1p103)));                       // the tie goes up
  EXPECT_TRUE(std::isinf(ToFloat32(-1e300)));
  EXPECT_TRUE(std::isnan(ToFloat32(std::nan(""))));
}

TEST(FloorToFloat32, LargestFloat32NotAbove) {
  EXPECT_EQ(FloorToFloat32(0.5), 0.5f);  // exact
  // float32(0.1) is above 0.1: the floor is its lower neighbour.
  EXPECT_GT(static_cast<double>(0.1f), 0.1);
  EXPECT_EQ(FloorToFloat32(0.1), std::nextafter(0.1f, 0.0f));
  EXPECT_EQ(FloorToFloat32(-0.1), -0.1f);  // float32(-0.1) is below -0.1
  EXPECT_EQ(FloorToFloat32(1e300), std::numeric_limits<float>::max());
  EXPECT_EQ(FloorToFloat32(-1e300), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(FloorToFloat32(std::nan(""))));
}

TEST(FloorToFloat32, EquivalentCompareOnEveryNeighbour) {
  // For thresholds around a few float32 values, x_f32 <= t (in float64)
  // must equal x_f32 <= FloorToFloat32(t) for the float32 neighbours of t.
  for (double t : {0.1, -0.1, 1.0 / 3, 2.5, 1e-40, -1e-40, 3.4e38, 123456.789}) {
    const float f = FloorToFloat32(t);
    float x = std::nextafter(std::nextafter(f, -INFINITY), -INFINITY);
    for (int i = 0; i < 5; ++i, x = std::nextafter(x, INFINITY)) {
      EXPECT_EQ(static_cast<double>(x) <= t, x <= f) << t << " " << x;
    }
  }
}

TEST(ArgMax, FirstMaximumAndNan) {
  const double ties[] = {0.25, 0.5, 0.5, 0.1};
  EXPECT_EQ(ArgMax(ties, 4), 1u);
  const double nan[] = {0.25, std::nan(""), 0.9, std::nan("")};
  EXPECT_EQ(ArgMax(nan, 4), 1u);
}

TEST(Expit, ScipyFormula) {
  EXPECT_EQ(Expit(0.0), 0.5);
  EXPECT_EQ(Expit(2.0), 1.0 / (1.0 + std::exp(-2.0)));
  EXPECT_EQ(Expit(-800.0), 0.0);
  EXPECT_EQ(Expit(800.0), 1.0);
}

TEST(Softmax, SubtractsMaxAndNormalises) {
  double row[] = {1.0, 2.0, 3.0};
  SoftmaxInPlace(row, 3);
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), e2 = 1.0;
  const double sum = (0.0 + e0 + e1) + e2;
  EXPECT_EQ(row[0], e0 / sum);
  EXPECT_EQ(row[1], e1 / sum);
  EXPECT_EQ(row[2], e2 / sum);
}

}  // namespace
}  // namespace ark::runtime
