#include "encoder_steps.h"

#include <algorithm>
#include <cmath>

#include "ark/format/error.h"
#include "numeric.h"

namespace ark::runtime {

int32_t CategoryLookup::Find(double cell) const {
  if (std::isnan(cell)) return nan_index;
  if (codes) {
    const int32_t code = CodeOf(cell);
    if (code < 0 || static_cast<size_t>(code) >= by_code.size()) return -1;
    return by_code[static_cast<size_t>(code)];
  }
  const auto it = std::lower_bound(numbers.begin(), numbers.end(), cell);
  if (it == numbers.end() || *it != cell) return -1;
  return number_index[static_cast<size_t>(it - numbers.begin())];
}

std::string CategoryLookup::Describe(double cell) const {
  if (std::isnan(cell)) return codes ? "a missing value" : "NaN";
  if (!codes) return FormatDouble(cell);
  const int32_t code = CodeOf(cell);
  if (code >= 0 && static_cast<size_t>(code) < codes->size()) return "'" + codes->value(code) + "'";
  return "a string";
}

void UnknownCategory(const CategoryLookup& f, double cell, size_t row, uint64_t first_row,
                     const std::string& encoder) {
  throw Error(ErrorCode::kInvalidArgument,
              f.column + ", row " + std::to_string(first_row + row + 1) + ": " + f.Describe(cell) +
                  " is a category " + encoder +
                  " did not see in fit (it was fitted with handle_unknown='error')");
}

void OneHotStep::Apply(const double* in, size_t rows, double* out, Scratch& scratch) const {
  std::fill(out, out + rows * n_out, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    double* o = out + r * n_out;
    for (size_t j = 0; j < features.size(); ++j) {
      const Feature& f = features[j];
      const double cell = in[r * n_in + j];
      const int32_t cat = f.lookup.Find(cell);
      int32_t col = cat >= 0 ? f.out_of_category[static_cast<size_t>(cat)] : f.unknown_out;
      if (col == -2) UnknownCategory(f.lookup, cell, r, scratch.first_row, name);
      if (col >= 0) o[f.offset + static_cast<size_t>(col)] = 1.0;
    }
  }
}

void OrdinalStep::Apply(const double* in, size_t rows, double* out, Scratch& scratch) const {
  const size_t n = features.size();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < n; ++j) {
      const Feature& f = features[j];
      const double cell = in[r * n_in + j];
      const int32_t cat = f.lookup.Find(cell);
      if (cat >= 0) {
        out[r * n + j] = f.value_of_category[static_cast<size_t>(cat)];
      } else if (f.unknown_error) {
        UnknownCategory(f.lookup, cell, r, scratch.first_row, name);
      } else {
        out[r * n + j] = f.unknown_value;
      }
    }
  }
}

void ImputerStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  for (size_t r = 0; r < rows; ++r) {
    const double* x = in + r * n_in;
    double* o = out + r * n_out;
    size_t k = 0;
    for (size_t j = 0; j < features.size(); ++j) {
      if (!features[j].keep) continue;
      o[k++] = Missing(x[j]) ? features[j].fill : x[j];
    }
    for (size_t j : indicator) o[k++] = Missing(x[j]) ? 1.0 : 0.0;
  }
}

void SelectStep::Apply(const double* in, size_t rows, double* out, Scratch&) const {
  const size_t m = columns.size();
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < m; ++k) out[r * m + k] = in[r * n_in + columns[k]];
  }
}

}  // namespace ark::runtime
