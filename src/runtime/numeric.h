// Arithmetic that reproduces numpy and scipy bit for bit (numpy 1.24,
// scipy 1.10), so that the runtime's sums, casts and link functions round as
// scikit-learn's do. Compile with -ffp-contract=off: every line here is one
// IEEE operation in a fixed order.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ark::runtime {

// numpy's pairwise summation (`np.sum` along a contiguous axis of float64):
// fewer than 8 items add in order from 0.0; up to 128 items use eight
// interleaved partial sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))
// and then the tail in order; longer runs split in two halves, the first a
// multiple of 8 long.
double PairwiseSum(const double* a, size_t n, size_t stride = 1);

// numpy's `astype(np.float32)` of one float64: round to nearest even,
// overflowing to ±inf (defined here, where a C++ cast would not be).
inline float ToFloat32(double x) {
  constexpr double kMax = std::numeric_limits<float>::max();
  // FLT_MAX + half its ulp (2^103): from here the rounding goes to infinity.
  constexpr double kOverflow = kMax + 0x1p103;
  if (x >= kOverflow) return std::numeric_limits<float>::infinity();
  if (x <= -kOverflow) return -std::numeric_limits<float>::infinity();
  if (x > kMax) return std::numeric_limits<float>::max();
  if (x < -kMax) return -std::numeric_limits<float>::max();
  return static_cast<float>(x);
}

// The largest float32 not above `t` (NaN stays NaN). For every float32 x,
// `double(x) <= t` exactly when `x <= FloorToFloat32(t)`, which lets tree
// walks compare in float32 what scikit-learn compares in float64.
float FloorToFloat32(double t);

// scipy.special.expit as scipy 1.10 computes it: 1 / (1 + exp(-x)).
inline double Expit(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Index of the first maximum (np.argmax): NaN counts as the maximum and
// the first NaN wins, as in numpy.
size_t ArgMax(const double* a, size_t n);

// sklearn.utils.extmath.softmax on one row, in place: subtract the row max,
// exponentiate, divide by the pairwise sum.
void SoftmaxInPlace(double* row, size_t n);

}  // namespace ark::runtime
