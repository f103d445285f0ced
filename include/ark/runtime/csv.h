// ark::runtime::CsvReader: streams a CSV file (RFC 4180, with a header row)
// into Tables of a bounded number of rows, so that a file of any size is
// scored in constant memory.
//
// Cells: quoted fields may hold commas, doubled quotes and line breaks; CRLF
// and LF line ends are accepted. In a float64 column, an empty cell and the
// missing-value spellings pandas reads by default ("NA", "NaN", "nan",
// "null", "N/A", ...) become NaN; "inf"/"-inf" are infinities; anything else
// must parse fully as a number. In a string column, an empty cell is missing.
//
// Column types come from `schema` (normally Model::input_schema()): a column
// named there takes that type; a column not named there is kept as a string
// column. Without a schema, a column is float64 when every cell of the first
// block parses as a number (or is missing), string otherwise.
//
// Errors: ark::Error(kInvalidArgument) naming the line and column for a row
// with the wrong number of fields, an unterminated quote, or text in a float64
// column; kIo when the stream fails.
//
// Thread safety: one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "ark/runtime/table.h"

namespace ark::runtime {

struct CsvOptions {
  char delimiter = ',';
  size_t block_rows = 65536;  // rows per Table returned by Next()
};

class CsvReader {
 public:
  // Reads the header at once. `input` must outlive the reader.
  // Throws ark::Error(kInvalidArgument) for an empty input or duplicate names.
  CsvReader(std::istream& input, const std::vector<ColumnSpec>* schema = nullptr,
            CsvOptions options = {});

  const std::vector<std::string>& header() const { return header_; }

  // Reads up to options.block_rows rows into `*block`. Returns false (and an
  // empty table) at the end of the input.
  bool Next(Table* block);

  // Whole input at once (small files and tests).
  static Table ReadAll(std::istream& input, const std::vector<ColumnSpec>* schema = nullptr,
                       CsvOptions options = {});

 private:
  // One record's fields; false at end of input.
  bool ReadRecord(std::vector<std::string>* fields);

  std::istream& input_;
  CsvOptions options_;
  std::vector<std::string> header_;
  std::vector<int> types_;  // per column: -1 unknown, else a ColumnType
  uint64_t line_ = 0;       // physical lines consumed so far
  uint64_t rows_read_ = 0;  // data rows returned so far
};

}  // namespace ark::runtime
