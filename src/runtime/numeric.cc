#include "numeric.h"

#include <cmath>

namespace ark::runtime {

namespace {
constexpr size_t kPairwiseBlock = 128;  // numpy's PW_BLOCKSIZE
constexpr size_t kUnroll = 8;
}  // namespace

double PairwiseSum(const double* a, size_t n, size_t stride) {
  if (n < kUnroll) {
    double res = 0.0;
    for (size_t i = 0; i < n; ++i) res += a[i * stride];
    return res;
  }
  if (n <= kPairwiseBlock) {
    double r[kUnroll];
    for (size_t j = 0; j < kUnroll; ++j) r[j] = a[j * stride];
    size_t i = kUnroll;
    for (; i < n - (n % kUnroll); i += kUnroll) {
      for (size_t j = 0; j < kUnroll; ++j) r[j] += a[(i + j) * stride];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i * stride];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % kUnroll;
  return PairwiseSum(a, n2, stride) + PairwiseSum(a + n2 * stride, n - n2, stride);
}

float FloorToFloat32(double t) {
  if (std::isnan(t)) return static_cast<float>(t);
  float f = ToFloat32(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

size_t ArgMax(const double* a, size_t n) {
  size_t best = 0;
  if (n == 0 || std::isnan(a[0])) return 0;
  for (size_t i = 1; i < n; ++i) {
    if (std::isnan(a[i])) return i;
    if (a[i] > a[best]) best = i;
  }
  return best;
}

void SoftmaxInPlace(double* row, size_t n) {
  double max = row[0];
  for (size_t i = 1; i < n; ++i) {
    // np.max propagates NaN.
    if (std::isnan(row[i]) || row[i] > max) max = row[i];
  }
  for (size_t i = 0; i < n; ++i) row[i] = std::exp(row[i] - max);
  const double sum = PairwiseSum(row, n);
  for (size_t i = 0; i < n; ++i) row[i] /= sum;
}

}  // namespace ark::runtime
