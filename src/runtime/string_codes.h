// StringCodes: the strings a model knows for one string input column.
//
// A string column enters the dense float64 rows of a Program as codes: the
// index of its value in the column's StringCodes, NaN when the value is
// missing, -1 when the model knows no such string. The encoders and imputers
// that read the column map codes to their own categories. Codes are
// assigned at compile time (Intern) and never change afterwards.
//
// Thread safety: immutable once compiled; Find may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ark::runtime {

class StringCodes {
 public:
  // The code of `s`, adding it when new. Compile time only.
  int32_t Intern(const std::string& s);
  // The code of `s`, or -1 when unknown.
  int32_t Find(const std::string& s) const;
  // REQUIRES: 0 <= code < size().
  const std::string& value(int32_t code) const { return values_[static_cast<size_t>(code)]; }
  size_t size() const { return values_.size(); }

 private:
  std::vector<std::string> values_;
  std::unordered_map<std::string, int32_t> index_;
};

// The code held in a dense cell as an index: -1 for unknown, -2 for missing.
inline int32_t CodeOf(double cell) {
  if (cell != cell) return -2;
  return static_cast<int32_t>(cell);
}

}  // namespace ark::runtime
