#include "ark/runtime/output.h"

#include <charconv>
#include <cmath>
#include <utility>

namespace ark::runtime {

std::string FormatDouble(double v, bool python_style) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, result.ptr);
  if (python_style && s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

Label Label::Int(int64_t v) {
  Label l;
  l.kind = Kind::kInt;
  l.int_value = v;
  return l;
}

Label Label::Float(double v) {
  Label l;
  l.kind = Kind::kFloat;
  l.float_value = v;
  return l;
}

Label Label::Bool(bool v) {
  Label l;
  l.kind = Kind::kBool;
  l.int_value = v ? 1 : 0;
  return l;
}

Label Label::String(std::string v) {
  Label l;
  l.kind = Kind::kString;
  l.string_value = std::move(v);
  return l;
}

std::string Label::ToString() const {
  switch (kind) {
    case Kind::kInt:
      return std::to_string(int_value);
    case Kind::kFloat:
      return FormatDouble(float_value, /*python_style=*/true);
    case Kind::kBool:
      return int_value ? "True" : "False";
    case Kind::kString:
      return string_value;
  }
  return {};
}

bool Label::operator==(const Label& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case Kind::kInt:
    case Kind::kBool:
      return int_value == other.int_value;
    case Kind::kFloat:
      return float_value == other.float_value;
    case Kind::kString:
      return string_value == other.string_value;
  }
  return false;
}

Output Output::Float64(size_t rows, size_t cols, std::vector<std::string> column_names) {
  Output o;
  o.type_ = Type::kFloat64;
  o.rows_ = rows;
  o.cols_ = cols;
  o.column_names_ = std::move(column_names);
  o.values_.assign(rows * cols, 0.0);
  return o;
}

Output Output::Labels(size_t rows, size_t cols, std::shared_ptr<const Classes> classes,
                      std::vector<std::string> column_names) {
  Output o;
  o.type_ = Type::kLabel;
  o.rows_ = rows;
  o.cols_ = cols;
  o.column_names_ = std::move(column_names);
  o.label_indices_.assign(rows * cols, 0);
  o.classes_ = std::move(classes);
  return o;
}

}  // namespace ark::runtime
