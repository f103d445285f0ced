#include "column_transformer_step.h"

namespace ark::runtime {

void ChainStep::Apply(const double* in, size_t rows, double* out, Scratch& scratch) const {
  Scratch& mine = scratch.Child();
  const double* cur = in;
  size_t width = n_in;
  bool use_a = true;
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step& step = *steps[s];
    CheckInput(step.check, cur, rows, width, scratch.first_row, nullptr, step.name);
    double* dest =
        s + 1 == steps.size() ? out : Scratch::Get(use_a ? mine.a : mine.b, rows * step.n_out);
    step.Apply(cur, rows, dest, mine);
    cur = dest;
    width = step.n_out;
    use_a = !use_a;
  }
}

void ColumnTransformerStep::Apply(const double* in, size_t rows, double* out,
                                  Scratch& scratch) const {
  Scratch& mine = scratch.Child();
  size_t offset = 0;
  for (const Branch& b : branches) {
    const size_t k = b.columns.size();
    const double* part = nullptr;
    if (b.step) {
      double* gathered = Scratch::Get(mine.input, rows * k);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t i = 0; i < k; ++i) gathered[r * k + i] = in[r * n_in + b.columns[i]];
      }
      CheckInput(b.step->check, gathered, rows, k, scratch.first_row, nullptr, b.step->name);
      double* result = Scratch::Get(mine.c, rows * b.width);
      b.step->Apply(gathered, rows, result, mine);
      part = result;
    }
    for (size_t r = 0; r < rows; ++r) {
      double* o = out + r * n_out + offset;
      for (size_t i = 0; i < b.width; ++i) {
        double v = part ? part[r * b.width + i] : in[r * n_in + b.columns[i]];
        if (b.weighted) v *= b.weight;
        o[i] = v;
      }
    }
    offset += b.width;
  }
}

}  // namespace ark::runtime
