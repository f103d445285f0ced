// Steps of scikit-learn's row-wise numeric transformers: numpy ufuncs
// (FunctionTransformer), linear projections (PCA, TruncatedSVD), Normalizer,
// Binarizer, PolynomialFeatures and KBinsDiscretizer's binning.
//
// Each follows the order of operations of scikit-learn 1.2.1's transform():
// elementwise operations are bit-identical; projections and norms sum in
// feature order, which may differ from BLAS / numpy's pairwise sums in the
// last bits (see python/tests/test_runtime_exact.py for the bound).
#pragma once

#include <cstddef>
#include <vector>

#include "program.h"

namespace ark::runtime {

class UfuncStep : public Step {
 public:
  enum class Op {
    kLog1p,
    kLog,
    kLog2,
    kLog10,
    kExp,
    kExpm1,
    kSqrt,
    kAbs,
    kSquare,
    kNegative,
    kSign,
    kFloor,
    kCeil,
    kRint,
    kTrunc,
    kSin,
    kCos,
    kTanh,
    kArctan,
    kCbrt,
    kReciprocal
  };
  Op op = Op::kLog1p;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

// out = ((x - mean) · components[k]) / scale[k]; mean and scale optional.
class ProjectStep : public Step {
 public:
  std::vector<double> mean;        // n_in, or empty
  std::vector<double> components;  // n_out × n_in, row-major
  std::vector<double> scale;       // n_out, or empty
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

// l1 sums as numpy's pairwise np.sum (bit-identical); l2 sums in order
// (np.einsum's order may differ in the last bits).
class NormalizerStep : public Step {
 public:
  enum class Norm { kL1, kL2, kMax };
  Norm norm = Norm::kL2;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

class BinarizerStep : public Step {
 public:
  double threshold = 0;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

// Each output is a product of input features (an empty one is 1.0), in
// scikit-learn's association: term(i1 <= i2 <= ...) = term(i2, ...) * x[i1].
class PolynomialStep : public Step {
 public:
  std::vector<std::vector<size_t>> terms;  // ascending feature indices per output
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

// np.searchsorted(inner_edges, x, side="right") per feature, as float64.
class BinsStep : public Step {
 public:
  std::vector<std::vector<double>> inner_edges;  // bin_edges_[j][1:-1]
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

}  // namespace ark::runtime
