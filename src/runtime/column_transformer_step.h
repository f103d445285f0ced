// Steps that run other steps: a ColumnTransformer (branches over chosen
// columns, outputs side by side) and a nested Pipeline (a chain).
//
// Each runs its inner steps on buffers of scratch.Child() and validates their
// input as Program::Run does (rows numbered from scratch.first_row).
#pragma once

#include <memory>
#include <vector>

#include "program.h"

namespace ark::runtime {

class ChainStep : public Step {
 public:
  std::vector<std::unique_ptr<const Step>> steps;  // at least one
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

class ColumnTransformerStep : public Step {
 public:
  struct Branch {
    std::vector<size_t> columns;       // input columns, in order
    std::unique_ptr<const Step> step;  // null: passthrough
    bool weighted = false;             // transformer_weights: out *= weight
    double weight = 1;
    size_t width = 0;  // output columns
  };
  std::vector<Branch> branches;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

}  // namespace ark::runtime
