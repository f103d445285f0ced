// ark::runtime::Output: the result of a native prediction, a rows × columns
// matrix of either float64 values (probabilities, decision values,
// regression targets, transformed features) or class labels.
//
// Labels are stored as indices into classes(), which hold the model's
// `classes_` with their Python type (int, float, bool or str), so that a label
// prints exactly as scikit-learn would return it.
//
// Thread safety: a const Output may be read from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ark::runtime {

// One class label of a classifier.
struct Label {
  enum class Kind { kInt, kFloat, kBool, kString };
  Kind kind = Kind::kInt;
  int64_t int_value = 0;     // kInt, kBool (0 or 1)
  double float_value = 0;    // kFloat
  std::string string_value;  // kString

  static Label Int(int64_t v);
  static Label Float(double v);
  static Label Bool(bool v);
  static Label String(std::string v);

  // Text form: integers in decimal, floats as the shortest decimal that reads
  // back to the same double (Python's repr, e.g. "1.0"), booleans as
  // "True"/"False" (Python's str), strings as they are.
  std::string ToString() const;
  bool operator==(const Label& other) const;
};

using Classes = std::vector<Label>;

class Output {
 public:
  enum class Type { kFloat64, kLabel };

  Output() = default;
  static Output Float64(size_t rows, size_t cols, std::vector<std::string> column_names = {});
  static Output Labels(size_t rows, size_t cols, std::shared_ptr<const Classes> classes,
                       std::vector<std::string> column_names = {});

  Type type() const { return type_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  // Names of the output columns (class labels for probabilities, "y" for a
  // single target, ...). Either empty or cols() names.
  const std::vector<std::string>& column_names() const { return column_names_; }

  // REQUIRES: type() == kFloat64. Row-major, rows() × cols().
  const std::vector<double>& values() const { return values_; }
  std::vector<double>& mutable_values() { return values_; }
  double value(size_t row, size_t col) const { return values_[row * cols_ + col]; }

  // REQUIRES: type() == kLabel. Row-major indices into classes().
  const std::vector<int32_t>& label_indices() const { return label_indices_; }
  std::vector<int32_t>& mutable_label_indices() { return label_indices_; }
  const Label& label(size_t row, size_t col) const {
    return (*classes_)[label_indices_[row * cols_ + col]];
  }
  const std::shared_ptr<const Classes>& classes() const { return classes_; }

 private:
  Type type_ = Type::kFloat64;
  size_t rows_ = 0;
  size_t cols_ = 0;
  std::vector<std::string> column_names_;
  std::vector<double> values_;
  std::vector<int32_t> label_indices_;
  std::shared_ptr<const Classes> classes_;
};

// Shortest decimal text that parses back to exactly `v` ("0.1", "1e+300");
// "nan", "inf", "-inf" for the non-finite values. Integral values keep a
// ".0" only when `python_style` (Python's repr), else print bare ("3").
std::string FormatDouble(double v, bool python_style = false);

}  // namespace ark::runtime
