#include "ark/runtime/table.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "ark/format/error.h"
#include "ark/runtime/output.h"

namespace ark::runtime {

namespace {

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

std::string PositionalName(size_t j) {
  std::string name = "x";
  name += std::to_string(j);
  return name;
}

}  // namespace

const char* ColumnTypeName(ColumnType type) {
  return type == ColumnType::kFloat64 ? "float64" : "string";
}

Column Column::Float64(std::string name, std::vector<double> values) {
  Column c;
  c.name_ = std::move(name);
  c.type_ = ColumnType::kFloat64;
  c.doubles_ = std::move(values);
  return c;
}

Column Column::String(std::string name, std::vector<std::string> values,
                      std::vector<uint8_t> missing) {
  if (!missing.empty() && missing.size() != values.size()) {
    Invalid("column '" + name + "': missing-value flags do not match the values");
  }
  Column c;
  c.name_ = std::move(name);
  c.type_ = ColumnType::kString;
  c.strings_ = std::move(values);
  c.missing_ = std::move(missing);
  return c;
}

size_t Column::size() const {
  return type_ == ColumnType::kFloat64 ? doubles_.size() : strings_.size();
}

bool Column::is_missing(size_t row) const {
  if (type_ == ColumnType::kFloat64) return std::isnan(doubles_[row]);
  return !missing_.empty() && missing_[row] != 0;
}

Table::Table(std::vector<Column> columns, uint64_t first_row)
    : columns_(std::move(columns)), first_row_(first_row) {
  std::set<std::string> names;
  for (size_t j = 0; j < columns_.size(); ++j) {
    if (!names.insert(columns_[j].name()).second) {
      Invalid("two input columns are named '" + columns_[j].name() + "'");
    }
    if (j == 0) {
      num_rows_ = columns_[0].size();
    } else if (columns_[j].size() != num_rows_) {
      Invalid("column '" + columns_[j].name() + "' has " + std::to_string(columns_[j].size()) +
              " rows, column '" + columns_[0].name() + "' has " + std::to_string(num_rows_));
    }
  }
}

Table Table::FromMatrix(const double* data, size_t rows, size_t cols,
                        std::vector<std::string> names) {
  if (!names.empty() && names.size() != cols) {
    Invalid(std::to_string(names.size()) + " column names for a matrix of " + std::to_string(cols) +
            " columns");
  }
  const bool positional = names.empty();
  std::vector<Column> columns;
  columns.reserve(cols);
  for (size_t j = 0; j < cols; ++j) {
    std::vector<double> v(rows);
    for (size_t r = 0; r < rows; ++r) v[r] = data[r * cols + j];
    columns.push_back(Column::Float64(positional ? PositionalName(j) : names[j], std::move(v)));
  }
  Table t(std::move(columns));
  t.num_rows_ = rows;
  t.positional_ = positional;
  return t;
}

namespace {

// Accumulates one column of JSON values.
struct JsonColumn {
  std::string name;
  int type = -1;  // -1 unknown yet, else ColumnType
  std::vector<double> doubles;
  std::vector<std::string> strings;
  std::vector<uint8_t> missing;
  size_t filled = 0;

  void PadTo(size_t rows) {
    while (filled < rows) AddMissing();
  }
  void AddMissing() {
    doubles.push_back(std::numeric_limits<double>::quiet_NaN());
    strings.emplace_back();
    missing.push_back(1);
    ++filled;
  }
  void Add(const nlohmann::json& v, size_t row) {
    if (v.is_null()) {
      AddMissing();
      return;
    }
    const bool number = v.is_number() || v.is_boolean();
    if (!number && !v.is_string()) {
      Invalid("column '" + name + "', row " + std::to_string(row + 1) +
              ": expected a number, a string or null, got " + v.type_name());
    }
    if (type == -1) type = static_cast<int>(number ? ColumnType::kFloat64 : ColumnType::kString);
    if (type == static_cast<int>(ColumnType::kFloat64)) {
      if (!number) {
        Invalid("column '" + name + "', row " + std::to_string(row + 1) + ": \"" +
                v.get<std::string>() + "\" is not a number");
      }
      doubles.push_back(v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>());
      strings.emplace_back();
    } else {
      doubles.push_back(0);
      strings.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    }
    missing.push_back(0);
    ++filled;
  }
  Column Finish() {
    if (type == static_cast<int>(ColumnType::kString)) {
      return Column::String(name, std::move(strings), std::move(missing));
    }
    return Column::Float64(name, std::move(doubles));
  }
};

}  // namespace

Table Table::FromJsonRecords(const nlohmann::json& rows, const std::vector<ColumnSpec>* schema,
                             uint64_t first_row) {
  if (!rows.is_array()) Invalid("JSON input must be an array of records or of arrays");
  std::vector<JsonColumn> cols;
  std::map<std::string, size_t> index;
  auto column_for = [&](const std::string& name) -> JsonColumn& {
    auto it = index.find(name);
    if (it != index.end()) return cols[it->second];
    index.emplace(name, cols.size());
    cols.push_back({});
    cols.back().name = name;
    if (schema) {
      for (const ColumnSpec& spec : *schema) {
        if (spec.name == name) cols.back().type = static_cast<int>(spec.type);
      }
    }
    return cols.back();
  };
  bool positional = false;
  for (size_t r = 0; r < rows.size(); ++r) {
    const nlohmann::json& row = rows[r];
    if (row.is_object()) {
      if (positional)
        Invalid("row " + std::to_string(first_row + r + 1) + ": mixes records and arrays");
      for (auto it = row.begin(); it != row.end(); ++it) {
        JsonColumn& c = column_for(it.key());
        if (c.filled > r)
          Invalid("row " + std::to_string(first_row + r + 1) + ": column '" + it.key() +
                  "' given twice");
        c.PadTo(r);
        c.Add(it.value(), first_row + r);
      }
    } else if (row.is_array()) {
      if (r > 0 && !positional) {
        Invalid("row " + std::to_string(first_row + r + 1) + ": mixes records and arrays");
      }
      positional = true;
      if (r > 0 && row.size() != cols.size()) {
        Invalid("row " + std::to_string(first_row + r + 1) + " has " + std::to_string(row.size()) +
                " values, row 1 has " + std::to_string(cols.size()));
      }
      for (size_t j = 0; j < row.size(); ++j) {
        JsonColumn& c = column_for(PositionalName(j));
        if (r == 0 && schema && j < schema->size()) c.type = static_cast<int>((*schema)[j].type);
        c.Add(row[j], first_row + r);
      }
    } else {
      Invalid("row " + std::to_string(first_row + r + 1) +
              ": expected an object or an array, got " + row.type_name());
    }
  }
  std::vector<Column> columns;
  for (JsonColumn& c : cols) {
    c.PadTo(rows.size());
    columns.push_back(c.Finish());
  }
  Table t(std::move(columns), first_row);
  t.num_rows_ = rows.size();
  t.positional_ = positional;
  return t;
}

std::optional<size_t> Table::Find(const std::string& name) const {
  for (size_t j = 0; j < columns_.size(); ++j) {
    if (columns_[j].name() == name) return j;
  }
  return std::nullopt;
}

}  // namespace ark::runtime
