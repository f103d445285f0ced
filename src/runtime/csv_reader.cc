#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "ark/format/error.h"
#include "ark/runtime/csv.h"

namespace ark::runtime {

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// pandas' default na_values.
bool IsMissingSpelling(std::string_view s) {
  static const std::set<std::string_view> kMissing = {
      "",     "#N/A",   "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
      "-nan", "1.#IND", "1.#QNAN",  "<NA>", "N/A",     "NA",       "NULL",
      "NaN",  "None",   "n/a",      "nan",  "null"};
  return kMissing.count(s) > 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses a float64 cell; false when it is not a number.
bool ParseNumber(std::string_view cell, double* out) {
  std::string_view s = Trim(cell);
  if (IsMissingSpelling(s)) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) return false;
  }
  if (s.empty()) return false;
  double v = 0;
  const auto result = std::from_chars(s.data(), s.data() + s.size(), v);
  if (result.ec == std::errc::result_out_of_range) {
    // from_chars refuses values that round to ±inf or 0; strtod's answer is
    // numpy's (round to nearest, overflow to inf, underflow to ±0).
    v = std::strtod(std::string(s).c_str(), nullptr);
  } else if (result.ec != std::errc() || result.ptr != s.data() + s.size()) {
    return false;
  }
  *out = negative ? -v : v;
  return true;
}

}  // namespace

CsvReader::CsvReader(std::istream& input, const std::vector<ColumnSpec>* schema, CsvOptions options)
    : input_(input), options_(options) {
  if (options_.block_rows == 0) options_.block_rows = 1;
  if (!ReadRecord(&header_)) Invalid("the CSV input is empty (a header row is required)");
  std::set<std::string> seen;
  for (const std::string& name : header_) {
    if (!seen.insert(name).second) Invalid("the CSV header names '" + name + "' twice");
    int type = -1;
    if (schema) {
      type = static_cast<int>(ColumnType::kString);
      for (const ColumnSpec& spec : *schema) {
        if (spec.name == name) type = static_cast<int>(spec.type);
      }
    }
    types_.push_back(type);
  }
}

bool CsvReader::ReadRecord(std::vector<std::string>* fields) {
  for (;;) {
    fields->clear();
    std::string field;
    bool in_quotes = false, quoted = false, any = false;
    const uint64_t start_line = line_ + 1;
    int c;
    bool ended = false;
    while ((c = input_.get()) != std::char_traits<char>::eof()) {
      any = true;
      if (in_quotes) {
        if (c == '"') {
          if (input_.peek() == '"') {
            input_.get();
            field += '"';
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line_;
          field += static_cast<char>(c);
        }
      } else if (c == '"') {
        in_quotes = quoted = true;
      } else if (c == options_.delimiter) {
        fields->push_back(std::move(field));
        field.clear();
      } else if (c == '\r' && input_.peek() == '\n') {
        continue;
      } else if (c == '\n') {
        ended = true;
        break;
      } else {
        field += static_cast<char>(c);
      }
    }
    if (input_.bad()) throw Error(ErrorCode::kIo, "reading the CSV input failed");
    if (in_quotes) {
      Invalid("CSV line " + std::to_string(start_line) + ": a quoted field is not closed");
    }
    if (!any) return false;
    ++line_;
    if (fields->empty() && field.empty() && !quoted) {
      if (!ended) return false;
      continue;  // blank line, skipped as pandas does
    }
    fields->push_back(std::move(field));
    return true;
  }
}

bool CsvReader::Next(Table* block) {
  const size_t n = header_.size();
  std::vector<std::vector<std::string>> cells(n);
  std::vector<uint64_t> lines;
  std::vector<std::string> fields;
  while (lines.size() < options_.block_rows && ReadRecord(&fields)) {
    if (fields.size() != n) {
      Invalid("CSV line " + std::to_string(line_) + " has " + std::to_string(fields.size()) +
              " fields, the header has " + std::to_string(n));
    }
    for (size_t j = 0; j < n; ++j) cells[j].push_back(std::move(fields[j]));
    lines.push_back(line_);
  }
  if (lines.empty()) {
    *block = Table();
    return false;
  }
  const size_t rows = lines.size();
  std::vector<Column> columns;
  for (size_t j = 0; j < n; ++j) {
    std::vector<double> values(rows);
    if (types_[j] == -1) {
      bool numeric = true;
      for (size_t r = 0; r < rows && numeric; ++r) numeric = ParseNumber(cells[j][r], &values[r]);
      types_[j] = static_cast<int>(numeric ? ColumnType::kFloat64 : ColumnType::kString);
    }
    if (types_[j] == static_cast<int>(ColumnType::kFloat64)) {
      for (size_t r = 0; r < rows; ++r) {
        if (!ParseNumber(cells[j][r], &values[r])) {
          Invalid("CSV line " + std::to_string(lines[r]) + ", column '" + header_[j] + "': '" +
                  cells[j][r] + "' is not a number");
        }
      }
      columns.push_back(Column::Float64(header_[j], std::move(values)));
    } else {
      std::vector<uint8_t> missing(rows, 0);
      for (size_t r = 0; r < rows; ++r) missing[r] = cells[j][r].empty() ? 1 : 0;
      columns.push_back(Column::String(header_[j], std::move(cells[j]), std::move(missing)));
    }
  }
  *block = Table(std::move(columns), rows_read_);
  rows_read_ += rows;
  return true;
}

Table CsvReader::ReadAll(std::istream& input, const std::vector<ColumnSpec>* schema,
                         CsvOptions options) {
  options.block_rows = std::numeric_limits<size_t>::max();
  CsvReader reader(input, schema, options);
  Table t;
  if (!reader.Next(&t)) {
    std::vector<Column> columns;
    for (const std::string& name : reader.header()) columns.push_back(Column::Float64(name, {}));
    t = Table(std::move(columns));
  }
  return t;
}

}  // namespace ark::runtime
