// ark::runtime::Table: the input of a native prediction, a batch of rows held
// as named, typed columns (float64 or string).
//
// A Table owns its data. Columns all have the same number of rows. A numeric
// column stores missing values as NaN; a string column marks them in a
// per-row flag (an empty string is a value, not a missing one).
//
// Row numbers in error messages are 1-based and offset by first_row(), so a
// block streamed from the middle of a CSV file names the row of the file.
//
// Thread safety: a const Table may be read from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ark::runtime {

enum class ColumnType { kFloat64, kString };

const char* ColumnTypeName(ColumnType type);  // "float64" or "string"

// What a model expects of one input column (see Model::input_schema()).
struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kFloat64;
};

class Column {
 public:
  static Column Float64(std::string name, std::vector<double> values);
  // `missing` is empty (nothing missing) or has one flag per value.
  // Throws ark::Error(kInvalidArgument) when the sizes disagree.
  static Column String(std::string name, std::vector<std::string> values,
                       std::vector<uint8_t> missing = {});

  const std::string& name() const { return name_; }
  ColumnType type() const { return type_; }
  size_t size() const;

  // REQUIRES: type() == kFloat64.
  const std::vector<double>& doubles() const { return doubles_; }
  // REQUIRES: type() == kString.
  const std::vector<std::string>& strings() const { return strings_; }
  bool is_missing(size_t row) const;  // NaN for numbers, the flag for strings

 private:
  std::string name_;
  ColumnType type_ = ColumnType::kFloat64;
  std::vector<double> doubles_;
  std::vector<std::string> strings_;
  std::vector<uint8_t> missing_;
};

class Table {
 public:
  Table() = default;
  // Throws ark::Error(kInvalidArgument) when column lengths differ or two
  // columns share a name.
  explicit Table(std::vector<Column> columns, uint64_t first_row = 0);

  // A numeric table from a row-major matrix of `rows` × `cols` doubles.
  // Columns are named `names` when given (exactly `cols` of them), else
  // "x0", "x1", ...; unnamed tables are matched to a model by position.
  static Table FromMatrix(const double* data, size_t rows, size_t cols,
                          std::vector<std::string> names = {});

  // Rows from JSON: either an array of objects ({"name": value, ...}, the
  // pandas "records" orientation) or an array of arrays (positional, named
  // "x0", ...). Numbers become float64 columns, strings string columns, null
  // a missing value. When `schema` is given, each column takes the type the
  // schema gives its name (a number in a string column is kept as its JSON
  // text), and columns absent from every record are left out (the model
  // reports them). Throws ark::Error(kInvalidArgument) naming the row and
  // column for a value of the wrong kind, a non-object row, or ragged arrays.
  // `first_row` numbers the rows (a block of a longer stream).
  static Table FromJsonRecords(const nlohmann::json& rows,
                               const std::vector<ColumnSpec>* schema = nullptr,
                               uint64_t first_row = 0);

  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  const Column& column(size_t i) const { return columns_[i]; }
  const std::vector<Column>& columns() const { return columns_; }
  // Index of the column named `name`, or nullopt.
  std::optional<size_t> Find(const std::string& name) const;
  // True when the names were made up ("x0", "x1", ...) by FromMatrix or
  // FromJsonRecords on arrays: such a table matches a model by position.
  bool positional() const { return positional_; }
  void set_positional(bool positional) { positional_ = positional; }
  uint64_t first_row() const { return first_row_; }

 private:
  std::vector<Column> columns_;
  size_t num_rows_ = 0;
  uint64_t first_row_ = 0;
  bool positional_ = false;
};

}  // namespace ark::runtime
