// The Steps of scikit-learn's categorical encoders and imputer, over dense
// rows whose string columns hold StringCodes codes (string_codes.h).
//
// CategoryLookup finds the category index of a cell as _encode does: by
// equality with the fitted categories_ (numbers or strings), NaN / a missing
// string matching a NaN or None category when there is one. Each step then
// writes exactly what scikit-learn 1.2.1's transform writes (0.0 / 1.0,
// indices as float64, the fitted statistics), so outputs are bit-identical.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "program.h"
#include "string_codes.h"

namespace ark::runtime {

// The categories_ of one input feature.
struct CategoryLookup {
  std::shared_ptr<const StringCodes> codes;  // set: the feature holds string codes
  std::vector<int32_t> by_code;              // strings: code -> category, -1 none
  std::vector<double> numbers;               // numbers: categories, sorted, no NaN
  std::vector<int32_t> number_index;         // category index of numbers[i]
  int32_t nan_index = -1;                    // category of a missing value, -1 none
  size_t size = 0;                           // number of categories
  std::string column;                        // names the feature in messages

  // The category index of `cell`, or -1 when it is not a category.
  int32_t Find(double cell) const;
  // "'text'" or the number, for messages.
  std::string Describe(double cell) const;
};

// Throws ark::Error(kInvalidArgument) naming the column, the row and the
// value that `encoder` (fitted with handle_unknown="error") did not see in fit.
[[noreturn]] void UnknownCategory(const CategoryLookup& f, double cell, size_t row,
                                  uint64_t first_row, const std::string& encoder);

class OneHotStep : public Step {
 public:
  struct Feature {
    CategoryLookup lookup;
    std::vector<int32_t> out_of_category;  // category -> output column in the block, -1 none
    int32_t unknown_out = -1;              // >= 0 a column, -1 all zeros, -2 an error
    size_t offset = 0;                     // first output column of the block
  };
  std::vector<Feature> features;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

class OrdinalStep : public Step {
 public:
  struct Feature {
    CategoryLookup lookup;
    std::vector<double> value_of_category;
    bool unknown_error = true;
    double unknown_value = 0;
  };
  std::vector<Feature> features;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

// SimpleImputer: replaces missing values by statistics_, leaving out the
// features whose statistic is NaN, then appends the MissingIndicator
// columns (1.0 where the input was missing) when add_indicator.
class ImputerStep : public Step {
 public:
  struct Feature {
    bool keep = true;
    double fill = 0;  // a number, or a string code
  };
  std::vector<Feature> features;  // one per input feature
  bool missing_is_nan = true;     // else missing == missing_value
  double missing_value = 0;
  std::vector<size_t> indicator;  // input features of the indicator columns
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;

 private:
  bool Missing(double v) const { return missing_is_nan ? v != v : v == missing_value; }
};

// A copy of chosen input columns, in order (FunctionTransformer without a
// function, "passthrough").
class SelectStep : public Step {
 public:
  std::vector<size_t> columns;
  void Apply(const double* in, size_t rows, double* out, Scratch& scratch) const override;
};

}  // namespace ark::runtime
