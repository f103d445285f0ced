// CheckValidation: see ark/runtime/validation.h. The decoding mirrors
// _decode_value of python/ark/_validation.py; the comparison its _compare.
#include "ark/runtime/validation.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "compile.h"
#include "object_tree.h"

namespace ark::runtime {
namespace {

using Json = nlohmann::ordered_json;

// Bound on elements a spec alone (without an array of that size) can make us
// allocate, as in _validation.py.
constexpr uint64_t kMaxElements = 10'000'000;
constexpr const char* kMethods[] = {"predict", "predict_proba", "decision_function", "transform",
                                    "score_samples"};

// A malformed section: becomes a kMismatch report.
struct Malformed {
  std::string what;
};
// Something the runtime cannot compare: becomes an `unchecked` entry.
struct Unsupported {
  std::string what;
};

[[noreturn]] void Bad(const std::string& what) {
  throw Malformed{"the validation section is malformed: " + what};
}

// A non-negative integer of the spec (nlohmann keeps parsed integers as
// signed or unsigned depending on the parser).
bool IsIndex(const Json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

// One element of an object vector, with its Python type.
struct Cell {
  enum class Type { kStr, kInt, kFloat, kBool, kMissing };
  Type type = Type::kMissing;
  std::string s;
  double d = 0;  // kInt, kFloat, kBool as a number
  int64_t i = 0;
};

// The spec's arrays: position -> blob of the file.
class Arrays {
 public:
  Arrays(const format::Reader& reader, const Json& blobs) : reader_(reader), blobs_(blobs) {}

  NdArray Get(const Json& position) const {
    if (!IsIndex(position) || position.get<uint64_t>() >= blobs_.size()) {
      Bad("array position " + position.dump() + " out of range");
    }
    const Json& blob = blobs_[position.get<size_t>()];
    if (!IsIndex(blob) || blob.get<uint64_t>() >= reader_.blobs().size()) {
      Bad("blob index " + blob.dump() + " out of range");
    }
    const uint64_t index = blob.get<uint64_t>();
    const format::BlobInfo& info = reader_.blobs()[index];
    NdArray a;
    a.dtype = info.dtype;
    a.shape = info.shape;
    a.data = reader_.ReadBlob(index);
    return a;
  }

 private:
  const format::Reader& reader_;
  const Json& blobs_;
};

char KindOf(const NdArray& a) {
  if (a.is_object() || a.dtype.structured || !a.dtype.descr.is_string()) return 'O';
  const std::string d = a.dtype.descr.get<std::string>();
  return d.size() > 1 ? d[1] : '?';
}

bool IsNumericKind(char k) { return k == 'f' || k == 'i' || k == 'u' || k == 'b'; }

std::vector<double> Doubles(const NdArray& a) {
  try {
    return a.ToDoubles("a validation array");
  } catch (const Error& e) {
    Bad(e.what());
  }
}

std::vector<uint64_t> ShapeOf(const Json& shape) {
  if (!shape.is_array()) Bad("bad shape " + shape.dump());
  std::vector<uint64_t> out;
  double elements = 1;
  for (const Json& n : shape) {
    if (!IsIndex(n)) Bad("bad shape " + shape.dump());
    out.push_back(n.get<uint64_t>());
    elements *= static_cast<double>(out.back());
  }
  if (elements > static_cast<double>(kMaxElements)) Bad("shape " + shape.dump() + " too large");
  return out;
}

uint64_t Product(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  return n;
}

// The elements of a numeric or '<U' array as cells.
std::vector<Cell> CellsOf(const NdArray& a) {
  std::vector<Cell> out;
  const char kind = KindOf(a);
  if (IsUnicodeArray(a)) {
    for (std::string& s : UnicodeStrings(a)) out.push_back({Cell::Type::kStr, std::move(s)});
    if (out.size() != a.size()) Bad("a string array is shorter than its shape");
    return out;
  }
  if (!IsNumericKind(kind)) throw Unsupported{"an array of dtype " + a.dtype.descr.dump()};
  for (double v : Doubles(a)) {
    Cell c;
    c.d = v;
    c.type = kind == 'f' ? Cell::Type::kFloat : kind == 'b' ? Cell::Type::kBool : Cell::Type::kInt;
    if (c.type == Cell::Type::kInt) c.i = static_cast<int64_t>(v);
    out.push_back(std::move(c));
  }
  if (kind == 'i' || kind == 'u') {  // exact 64-bit values
    try {
      const std::vector<int64_t> ints = a.ToInts("a validation array");
      for (size_t k = 0; k < out.size() && k < ints.size(); ++k) out[k].i = ints[k];
    } catch (const Error&) {
    }
  }
  return out;
}

// An object vector (docs/METADATA.md §4, <objects>).
std::vector<Cell> DecodeObjects(const Json& spec, const Arrays& arrays,
                                std::vector<uint64_t>* shape_out) {
  if (!spec.is_object() || spec.value("encoding", "") != "objects") Bad("malformed objects");
  const std::vector<uint64_t> shape = ShapeOf(spec.value("shape", Json()));
  const uint64_t size = Product(shape);
  std::vector<int> codes;
  if (spec.contains("codes")) {
    const NdArray c = arrays.Get(spec["codes"]);
    if (KindOf(c) != 'i' || c.dtype.itemsize != 1 || c.size() != size) {
      Bad("type codes do not match the shape");
    }
    for (double v : Doubles(c)) codes.push_back(static_cast<int>(v));
  } else {
    const Json& all = spec.value("all", Json());
    if (!all.is_number_integer() || all.get<int64_t>() < 0 || all.get<int64_t>() > 6) {
      Bad("unknown type code");
    }
    codes.assign(size, all.get<int>());
  }
  const Json& parts = spec.value("parts", Json::object());
  if (!parts.is_object()) Bad("malformed parts");
  const char* names[] = {"str", "int", "float", "bool"};
  std::vector<Cell> part_cells[4];
  for (int t = 0; t < 4; ++t) {
    const size_t wanted = static_cast<size_t>(std::count(codes.begin(), codes.end(), t));
    if (parts.contains(names[t])) part_cells[t] = CellsOf(arrays.Get(parts[names[t]]));
    if (part_cells[t].size() != wanted) {
      Bad(std::string(names[t]) + " values do not match the type codes");
    }
  }
  std::vector<Cell> out(size);
  size_t next[4] = {0, 0, 0, 0};
  for (size_t k = 0; k < size; ++k) {
    const int t = codes[k];
    if (t >= 0 && t < 4) {
      out[k] = part_cells[t][next[t]++];
      out[k].type = static_cast<Cell::Type>(t);
    } else if (t == 5) {
      out[k].type = Cell::Type::kFloat;  // NaN: a float in Python
      out[k].d = std::numeric_limits<double>::quiet_NaN();
    } else if (t == 4 || t == 6) {
      out[k].type = Cell::Type::kMissing;  // None, pd.NA
    } else {
      Bad("unknown type code");
    }
  }
  if (shape_out) *shape_out = shape;
  return out;
}

std::string FormatCell(const Cell& c) {
  switch (c.type) {
    case Cell::Type::kStr:
      return "'" + c.s + "'";
    case Cell::Type::kInt:
      return std::to_string(c.i);
    case Cell::Type::kFloat:
      return FormatDouble(c.d, /*python_style=*/true);
    case Cell::Type::kBool:
      return c.d != 0 ? "True" : "False";
    case Cell::Type::kMissing:
      return "None";
  }
  return "?";
}

// A table column from cells: numbers (and missing) -> float64; strings (and
// missing) -> string; a mix -> not compared.
Column ColumnOf(const std::string& name, const std::vector<Cell>& cells) {
  bool any_str = false, any_num = false;
  for (const Cell& c : cells) {
    if (c.type == Cell::Type::kStr) any_str = true;
    if (c.type == Cell::Type::kInt || c.type == Cell::Type::kBool ||
        (c.type == Cell::Type::kFloat && !std::isnan(c.d))) {
      any_num = true;
    }
  }
  if (any_str && any_num) {
    throw Unsupported{"input column '" + name + "' mixes strings and numbers"};
  }
  if (any_str) {
    std::vector<std::string> values(cells.size());
    std::vector<uint8_t> missing(cells.size(), 0);
    for (size_t r = 0; r < cells.size(); ++r) {
      if (cells[r].type == Cell::Type::kStr) {
        values[r] = cells[r].s;
      } else {
        missing[r] = 1;
      }
    }
    return Column::String(name, std::move(values), std::move(missing));
  }
  std::vector<double> values(cells.size());
  for (size_t r = 0; r < cells.size(); ++r) {
    values[r] = cells[r].type == Cell::Type::kMissing ? std::numeric_limits<double>::quiet_NaN()
                                                      : cells[r].d;
  }
  return Column::Float64(name, std::move(values));
}

// Row-major cells of shape [rows, cols] -> a positional table.
Table TableOfCells(const std::vector<Cell>& cells, const std::vector<uint64_t>& shape) {
  if (shape.size() != 2) throw Unsupported{"an input of " + std::to_string(shape.size()) + " dimensions"};
  const size_t rows = shape[0], cols = shape[1];
  std::vector<Column> columns;
  for (size_t j = 0; j < cols; ++j) {
    std::vector<Cell> column(rows);
    for (size_t r = 0; r < rows; ++r) column[r] = cells[r * cols + j];
    columns.push_back(ColumnOf("x" + std::to_string(j), column));
  }
  Table table(std::move(columns));
  table.set_positional(true);
  return table;
}

std::string ColumnName(const Json& name, size_t position) {
  if (name.is_string()) return name.get<std::string>();
  if (name.is_number_integer()) return std::to_string(name.get<int64_t>());
  return "x" + std::to_string(position);
}

Column DecodeDataFrameColumn(const Json& spec, const Arrays& arrays, size_t position,
                             uint64_t n_rows) {
  if (!spec.is_object()) Bad("malformed DataFrame column");
  const std::string name = ColumnName(spec.value("name", Json()), position);
  std::vector<Cell> cells;
  if (spec.contains("categories")) {
    const Json& categories_spec = spec["categories"];
    std::vector<Cell> categories;
    if (categories_spec.is_object() && categories_spec.contains("objects")) {
      categories = DecodeObjects(categories_spec["objects"], arrays, nullptr);
    } else if (categories_spec.is_object() && categories_spec.contains("array")) {
      categories = CellsOf(arrays.Get(categories_spec["array"]));
    } else {
      Bad("malformed categories of column '" + name + "'");
    }
    const NdArray codes = arrays.Get(spec.value("codes", Json()));
    if (!IsNumericKind(KindOf(codes))) Bad("category codes of column '" + name + "'");
    for (double code : Doubles(codes)) {
      if (code == -1) {
        cells.push_back(Cell{});
      } else if (code >= 0 && code < static_cast<double>(categories.size())) {
        cells.push_back(categories[static_cast<size_t>(code)]);
      } else {
        Bad("a category code of column '" + name + "' is out of range");
      }
    }
  } else if (spec.contains("values") && spec["values"].is_number()) {
    const NdArray a = arrays.Get(spec["values"]);
    if (!IsNumericKind(KindOf(a))) {
      throw Unsupported{"input column '" + name + "' of dtype " + spec.value("dtype", "?")};
    }
    cells = CellsOf(a);
  } else if (spec.contains("values")) {
    cells = DecodeObjects(spec["values"], arrays, nullptr);
  } else {
    Bad("malformed DataFrame column '" + name + "'");
  }
  if (cells.size() != n_rows) Bad("column '" + name + "' does not have n_rows values");
  return ColumnOf(name, cells);
}

Table DecodeInput(const Json& spec, const Arrays& arrays) {
  if (!spec.is_object()) Bad("the input is not an object");
  const std::string kind = spec.value("kind", "");
  if (kind == "ndarray" && spec.contains("array")) {
    const NdArray a = arrays.Get(spec["array"]);
    return TableOfCells(CellsOf(a), a.shape);
  }
  if ((kind == "ndarray" || kind == "list") && spec.contains("objects")) {
    std::vector<uint64_t> shape;
    std::vector<Cell> cells = DecodeObjects(spec["objects"], arrays, &shape);
    return TableOfCells(cells, shape);
  }
  if (kind == "DataFrame") {
    const Json& n_rows = spec.value("n_rows", Json());
    const Json& columns = spec.value("columns", Json());
    if (!IsIndex(n_rows) || !columns.is_array()) Bad("malformed DataFrame input");
    if (n_rows.get<uint64_t>() > kMaxElements) Bad("n_rows too large");
    std::vector<Column> out;
    bool string_names = true;
    for (size_t j = 0; j < columns.size(); ++j) {
      out.push_back(DecodeDataFrameColumn(columns[j], arrays, j, n_rows.get<uint64_t>()));
      string_names = string_names && columns[j].value("name", Json()).is_string();
    }
    try {
      Table table(std::move(out));
      table.set_positional(!string_names);
      return table;
    } catch (const Error& e) {
      throw Unsupported{std::string("the input's columns: ") + e.what()};
    }
  }
  throw Unsupported{"an input of kind '" + kind + "'"};
}

// ---------------------------------------------------------------- comparison

// An expected output, flattened: cells (labels) or doubles, rows × cols.
struct Expected {
  size_t rows = 0, cols = 0;
  bool one_dim = false;
  bool floats = false;           // compare under the float policy
  double dtype_eps = 0;          // of the stored dtype (floats)
  std::vector<double> values;    // floats
  std::vector<Cell> cells;       // otherwise
};

Expected ExpectedOf(const Json& spec, const Arrays& arrays) {
  if (!spec.is_object()) Bad("an output is not an object");
  const std::string kind = spec.value("kind", "");
  Expected e;
  std::vector<uint64_t> shape;
  if (kind == "ndarray" && spec.contains("array")) {
    const NdArray a = arrays.Get(spec["array"]);
    shape = a.shape;
    if (KindOf(a) == 'f') {
      e.floats = true;
      e.values = Doubles(a);
      e.dtype_eps = a.dtype.itemsize == 4   ? std::numeric_limits<float>::epsilon()
                    : a.dtype.itemsize == 2 ? 0.0009765625
                                            : std::numeric_limits<double>::epsilon();
    } else {
      e.cells = CellsOf(a);
    }
  } else if ((kind == "ndarray" || kind == "list") && spec.contains("objects")) {
    e.cells = DecodeObjects(spec["objects"], arrays, &shape);
  } else {
    throw Unsupported{"an output of kind '" + kind + "'"};
  }
  if (shape.empty() || shape.size() > 2) {
    throw Unsupported{"an output of " + std::to_string(shape.size()) + " dimensions"};
  }
  e.rows = shape[0];
  e.cols = shape.size() == 2 ? shape[1] : 1;
  e.one_dim = shape.size() == 1;
  return e;
}

bool IsNumberCell(const Cell& c) {
  return c.type == Cell::Type::kInt || c.type == Cell::Type::kFloat || c.type == Cell::Type::kBool;
}

// Python's == between an expected element and a label.
bool SameLabel(const Cell& e, const Label& l) {
  switch (l.kind) {
    case Label::Kind::kString:
      return e.type == Cell::Type::kStr && e.s == l.string_value;
    case Label::Kind::kInt:
    case Label::Kind::kBool:
      if (e.type == Cell::Type::kInt) return e.i == l.int_value;
      return IsNumberCell(e) && e.d == static_cast<double>(l.int_value);
    case Label::Kind::kFloat:
      if (std::isnan(l.float_value)) return e.type == Cell::Type::kFloat && std::isnan(e.d);
      return IsNumberCell(e) && e.d == l.float_value;
  }
  return false;
}

// Distance in float64 ulps between two finite doubles: their bit patterns
// mapped onto one increasing unsigned line.
uint64_t UlpDistance(double a, double b) {
  auto line = [](double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    constexpr uint64_t kSign = uint64_t{1} << 63;
    return (bits & kSign) ? ~bits : bits | kSign;
  };
  const uint64_t x = line(a), y = line(b);
  return x > y ? x - y : y - x;
}

std::string Where(int64_t row, int64_t col, bool one_dim) {
  return one_dim ? "row " + std::to_string(row) : "row " + std::to_string(row) + ", column " +
                                                       std::to_string(col);
}

void Mismatch(ValidationReport* report, const std::string& method, int64_t row, int64_t col,
              const std::string& text) {
  report->status = ValidationReport::Status::kMismatch;
  report->method = method;
  report->row = row;
  report->column = col;
  report->reason = method + ": " + text;
}

// Compares one output; false (and the report filled in) on a difference.
bool Compare(const std::string& method, const Expected& e, const Output& actual, size_t col0,
             ValidationReport* report) {
  const size_t rows = actual.rows();
  if (e.rows != rows || col0 + e.cols > actual.cols()) {
    Mismatch(report, method, -1, -1,
             "output shape (" + std::to_string(rows) + ", " + std::to_string(actual.cols()) +
                 ") instead of (" + std::to_string(e.rows) + ", " + std::to_string(e.cols) + ")");
    return false;
  }
  const bool labels = actual.type() == Output::Type::kLabel;
  auto actual_double = [&](size_t r, size_t j, double* v) {
    if (!labels) {
      *v = actual.value(r, col0 + j);
      return true;
    }
    const Label& l = actual.label(r, col0 + j);
    if (l.kind == Label::Kind::kString) return false;
    *v = l.kind == Label::Kind::kFloat ? l.float_value : static_cast<double>(l.int_value);
    return true;
  };
  auto actual_text = [&](size_t r, size_t j) {
    if (!labels) return FormatDouble(actual.value(r, col0 + j), /*python_style=*/true);
    const Label& l = actual.label(r, col0 + j);
    return l.kind == Label::Kind::kString ? "'" + l.string_value + "'" : l.ToString();
  };

  if (!e.floats) {  // exactly equal
    size_t differ = 0;
    int64_t first_r = -1, first_j = -1;
    for (size_t r = 0; r < rows; ++r) {
      bool row_differs = false;
      for (size_t j = 0; j < e.cols; ++j) {
        const Cell& want = e.cells[r * e.cols + j];
        bool same;
        if (labels) {
          same = SameLabel(want, actual.label(r, col0 + j));
        } else {
          const double got = actual.value(r, col0 + j);
          same = IsNumberCell(want) && (want.d == got || (std::isnan(want.d) && std::isnan(got)));
        }
        if (!same && first_r < 0) {
          first_r = static_cast<int64_t>(r);
          first_j = static_cast<int64_t>(j);
        }
        row_differs = row_differs || !same;
      }
      differ += row_differs;
    }
    if (differ == 0) return true;
    const Cell& want = e.cells[static_cast<size_t>(first_r) * e.cols + static_cast<size_t>(first_j)];
    Mismatch(report, method, first_r, first_j,
             std::to_string(differ) + " of " + std::to_string(rows) + " rows differ (first at " +
                 Where(first_r, first_j, e.one_dim) + ": expected " + FormatCell(want) + ", got " +
                 actual_text(static_cast<size_t>(first_r), static_cast<size_t>(first_j)) + ")");
    return false;
  }

  const double rtol = std::max({report->rtol, 4 * std::numeric_limits<double>::epsilon(),
                                4 * e.dtype_eps});
  std::vector<double> got(rows * e.cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < e.cols; ++j) {
      if (!actual_double(r, j, &got[r * e.cols + j])) {
        Mismatch(report, method, static_cast<int64_t>(r), static_cast<int64_t>(j),
                 "a string label where a number was expected");
        return false;
      }
    }
  }
  // NaN where NaN was, the same infinities where they were.
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < e.cols; ++j) {
      const double a = got[r * e.cols + j], x = e.values[r * e.cols + j];
      const bool special = std::isnan(a) != std::isnan(x) || std::isfinite(a) != std::isfinite(x) ||
                           (std::isinf(x) && a != x);
      if (special) {
        report->max_abs_diff = std::numeric_limits<double>::infinity();
        Mismatch(report, method, static_cast<int64_t>(r), static_cast<int64_t>(j),
                 "NaN or infinite values differ (first at " +
                     Where(static_cast<int64_t>(r), static_cast<int64_t>(j), e.one_dim) +
                     ": expected " + FormatDouble(x, true) + ", got " + FormatDouble(a, true) +
                     ")");
        return false;
      }
    }
  }
  // Scale: the largest |expected| of each column (of everything when 1-d).
  std::vector<double> scale(e.cols, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < e.cols; ++j) {
      const double x = e.values[r * e.cols + j];
      if (std::isfinite(x)) scale[j] = std::max(scale[j], std::fabs(x));
    }
  }
  size_t differ = 0;
  int64_t first_r = -1, first_j = -1;
  for (size_t r = 0; r < rows; ++r) {
    bool row_differs = false;
    for (size_t j = 0; j < e.cols; ++j) {
      const double a = got[r * e.cols + j], x = e.values[r * e.cols + j];
      if (!std::isfinite(x)) continue;
      const double diff = std::fabs(a - x);
      report->max_abs_diff = std::max(report->max_abs_diff, diff);
      if (diff != 0) report->max_ulp = std::max(report->max_ulp, UlpDistance(a, x));
      if (diff > rtol * scale[j]) {
        if (first_r < 0) {
          first_r = static_cast<int64_t>(r);
          first_j = static_cast<int64_t>(j);
        }
        row_differs = true;
      }
    }
    differ += row_differs;
  }
  if (differ == 0) return true;
  const size_t k = static_cast<size_t>(first_r) * e.cols + static_cast<size_t>(first_j);
  char rtol_text[32];
  std::snprintf(rtol_text, sizeof rtol_text, "%g", rtol);
  Mismatch(report, method, first_r, first_j,
           std::to_string(differ) + " of " + std::to_string(rows) +
               " rows differ beyond the tolerance (rtol " + rtol_text +
               " of each column's largest value; first at " + Where(first_r, first_j, e.one_dim) +
               ": expected " + FormatDouble(e.values[k], true) + ", got " +
               FormatDouble(got[k], true) + ")");
  return false;
}

std::optional<Method> MethodOf(const std::string& name) {
  if (name == "predict") return Method::kPredict;
  if (name == "predict_proba") return Method::kPredictProba;
  if (name == "decision_function") return Method::kDecisionFunction;
  if (name == "transform") return Method::kTransform;
  return std::nullopt;
}

std::string HostMachine() {
  struct utsname u;
  return uname(&u) == 0 ? std::string(u.machine) : std::string();
}

void Run(const Json& spec, const Arrays& arrays, const Model& model, ValidationReport* report) {
  const Json& environment = spec.value("environment", Json());
  const bool same = environment.is_object() &&
                    environment.value("scikit-learn", "") == kReferenceSklearnVersion &&
                    environment.value("machine", "") == HostMachine();
  report->rtol = same ? kRtolSameEnvironment : kRtolOtherEnvironment;

  const Json& outputs = spec.value("outputs", Json::object());
  if (!outputs.is_object()) Bad("outputs is not an object");
  for (auto it = outputs.begin(); it != outputs.end(); ++it) {
    if (std::find(std::begin(kMethods), std::end(kMethods), it.key()) == std::end(kMethods)) {
      Bad("'" + it.key() + "' is not a prediction method");
    }
  }
  Table input;
  try {
    input = DecodeInput(spec.value("input", Json()), arrays);
  } catch (const Unsupported& u) {
    report->status = ValidationReport::Status::kNotChecked;
    report->reason = "the runtime cannot read " + u.what;
    return;
  }
  report->rows = input.num_rows();

  for (auto it = outputs.begin(); it != outputs.end(); ++it) {
    const std::string& name = it.key();
    const std::optional<Method> method = MethodOf(name);
    if (!method || !model.Supports(*method)) {
      report->unchecked.push_back(name + ": the runtime has no " + name + " for " +
                                  model.description());
      continue;
    }
    // A list of arrays (multi-output predict_proba) lies side by side in the
    // runtime's output.
    std::vector<std::pair<std::string, Expected>> expected;
    try {
      if (it.value().is_object() && it.value().value("kind", "") == "list_of") {
        const Json& items = it.value().value("items", Json());
        if (!items.is_array()) Bad("malformed list_of");
        for (size_t k = 0; k < items.size(); ++k) {
          expected.emplace_back(name + "[" + std::to_string(k) + "]",
                                ExpectedOf(items[k], arrays));
        }
      } else {
        expected.emplace_back(name, ExpectedOf(it.value(), arrays));
      }
    } catch (const Unsupported& u) {
      report->unchecked.push_back(name + ": the runtime cannot compare " + u.what);
      continue;
    }
    Output actual;
    try {
      actual = model.Run(*method, input);
    } catch (const Error& e) {
      report->unchecked.push_back(name + ": the runtime refused the rows (" + e.what() + ")");
      continue;
    }
    size_t col0 = 0, total = 0;
    for (const auto& [label, e] : expected) total += e.cols;
    if (total != actual.cols()) {
      Mismatch(report, name, -1, -1,
               std::to_string(actual.cols()) + " output columns instead of " +
                   std::to_string(total));
      return;
    }
    for (const auto& [label, e] : expected) {
      if (!Compare(label, e, actual, col0, report)) return;
      col0 += e.cols;
      report->checked.push_back(label);
    }
  }
  report->status = report->checked.empty() ? ValidationReport::Status::kNotChecked
                                           : ValidationReport::Status::kMatch;
  if (report->checked.empty()) report->reason = "no stored output could be compared natively";
}

}  // namespace

const char* ValidationStatusName(ValidationReport::Status status) {
  switch (status) {
    case ValidationReport::Status::kAbsent:
      return "absent";
    case ValidationReport::Status::kNotChecked:
      return "not_checked";
    case ValidationReport::Status::kMatch:
      return "match";
    case ValidationReport::Status::kMismatch:
      return "mismatch";
  }
  return "?";
}

ValidationReport CheckValidation(const format::Reader& reader, const Model& model) {
  ValidationReport report;
  const Json& sections = reader.sections();
  const auto section = sections.find("validation");
  if (section == sections.end()) return report;
  try {
    if (!section->is_object() || !section->contains("spec") || !section->contains("blobs") ||
        !(*section)["blobs"].is_array() || !(*section)["spec"].is_object()) {
      Bad("the section is not {spec, blobs}");
    }
    const Arrays arrays(reader, (*section)["blobs"]);
    Run((*section)["spec"], arrays, model, &report);
  } catch (const Malformed& m) {
    report.status = ValidationReport::Status::kMismatch;
    report.reason = m.what;
  }
  return report;
}

}  // namespace ark::runtime
