#include "ark/runtime/model.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "ark/format/error.h"
#include "ark/model/value.h"
#include "compile.h"
#include "object_tree.h"
#include "program.h"
#include "thread_pool.h"

namespace ark::runtime {

namespace {

// Rows per block: the unit of work of the thread pool, and the rows a tree
// ensemble walks tree by tree. Large blocks load each tree into cache fewer
// times (a 500-tree forest does not fit in cache: it is streamed once per
// block); the blocks are sized evenly so that every thread gets the same
// share.
constexpr size_t kMaxBlockRows = 8192;

struct Blocks {
  size_t count = 0;
  size_t rows = 0;  // per block, the last one shorter
};

Blocks SplitRows(size_t rows, int threads) {
  if (rows == 0) return {};
  const size_t t = threads > 1 ? static_cast<size_t>(threads) : 1;
  size_t count = (rows + kMaxBlockRows - 1) / kMaxBlockRows;
  if (rows >= 64 * t) count = (count + t - 1) / t * t;  // a multiple of the threads
  const size_t per = (rows + count - 1) / count;
  return {(rows + per - 1) / per, per};
}

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// The scratch of a call, which may share its work with the pool's awake
// workers when it is a single block (a few rows: nothing to split).
class CallScratch {
 public:
  CallScratch(ThreadPool* pool, size_t blocks) : scratch_(ThreadScratch()) {
    scratch_.assist = blocks == 1 ? pool : nullptr;
  }
  ~CallScratch() { scratch_.assist = nullptr; }
  CallScratch(const CallScratch&) = delete;
  CallScratch& operator=(const CallScratch&) = delete;
  Scratch& get() { return scratch_; }

 private:
  Scratch& scratch_;
};

[[noreturn]] void Invalid(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, message);
}

// Parses a cell of a string column that the model needs as a number.
double CellAsNumber(const Column& c, size_t row, uint64_t first_row) {
  if (c.is_missing(row)) return std::numeric_limits<double>::quiet_NaN();
  const std::string& s = c.strings()[row];
  double v = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (begin != end && *begin == '+') ++begin;
  const auto r = std::from_chars(begin, end, v);
  if (r.ec != std::errc() || r.ptr != end || begin == end) {
    Invalid("column '" + c.name() + "', row " + std::to_string(first_row + row + 1) + ": '" + s +
            "' is not a number");
  }
  return v;
}

// The code of a cell of a string input (string_codes.h): NaN when missing,
// -1 when the model knows no such string. `strict` names the estimator that
// refuses unknown strings, if any.
double CellAsCode(const Column& c, size_t row, uint64_t first_row, const StringCodes& codes,
                  const std::string& strict) {
  if (c.is_missing(row)) return std::numeric_limits<double>::quiet_NaN();
  const std::string text = c.type() == ColumnType::kString
                               ? c.strings()[row]
                               : FormatDouble(c.doubles()[row], /*python_style=*/true);
  const int32_t code = codes.Find(text);
  if (code < 0 && !strict.empty()) {
    Invalid("column '" + c.name() + "', row " + std::to_string(first_row + row + 1) + ": '" +
            text + "' is a category " + strict +
            " did not see in fit (it was fitted with handle_unknown='error')");
  }
  return code;
}

// Which table column feeds each model input.
std::vector<const Column*> Bind(const Program& program, const Table& table) {
  const auto& schema = program.schema;
  std::vector<const Column*> bound(schema.size(), nullptr);
  if (program.positional || table.positional()) {
    if (table.num_columns() != schema.size()) {
      Invalid("the input has " + std::to_string(table.num_columns()) +
              " columns, the model expects " + std::to_string(schema.size()));
    }
    for (size_t j = 0; j < schema.size(); ++j) bound[j] = &table.column(j);
    return bound;
  }
  std::string missing;
  size_t n_missing = 0;
  for (size_t j = 0; j < schema.size(); ++j) {
    const auto index = table.Find(schema[j].name);
    if (index) {
      bound[j] = &table.column(*index);
    } else if (n_missing++ < 10) {
      missing += (missing.empty() ? "'" : ", '") + schema[j].name + "'";
    }
  }
  if (n_missing > 0) {
    Invalid("the input lacks " + std::to_string(n_missing) + " column" +
            (n_missing > 1 ? "s" : "") + " the model needs: " + missing +
            (n_missing > 10 ? ", ..." : ""));
  }
  return bound;
}

void RequireNumericInput(const Program& p) {
  for (size_t j = 0; j < p.codes.size(); ++j) {
    if (p.codes[j]) {
      Invalid("column '" + p.schema[j].name + "' holds strings: use Run with a Table");
    }
  }
}

}  // namespace

const char* MethodName(Method method) {
  switch (method) {
    case Method::kPredict:
      return "predict";
    case Method::kPredictProba:
      return "predict_proba";
    case Method::kDecisionFunction:
      return "decision_function";
    case Method::kTransform:
      return "transform";
  }
  return "?";
}

Model::~Model() = default;

std::shared_ptr<const Model> Model::Open(const std::string& path, const ModelOptions& options) {
  return FromReader(format::Reader::Open(path, options.reader), options);
}

std::shared_ptr<const Model> Model::FromReader(std::shared_ptr<const format::Reader> reader,
                                               const ModelOptions& options) {
  const model::Value root = model::FromJsonText(reader->root_json_text(), reader->blobs().size());
  const std::unique_ptr<ArraySource> arrays = ReaderArrays(reader);
  std::shared_ptr<Model> m(new Model());
  m->program_ = CompileProgram(root, *arrays);
  m->type_name_ = root.is(model::Kind::kObject) ? root.type_name() : "";
  m->reader_ = std::move(reader);
  if (options.threads > 1) m->pool_ = std::make_unique<ThreadPool>(options.threads);
  return m;
}

Support CheckSupport(std::shared_ptr<const format::Reader> reader, const ModelOptions& options) {
  Support support;
  try {
    support.model = Model::FromReader(std::move(reader), options);
  } catch (const UnsupportedModelError& e) {
    support.unsupported_type = e.type_name();
    support.detail = e.detail();
    support.message = e.what();
  } catch (const Error& e) {
    support.message = e.what();
  }
  return support;
}

const std::string& Model::type_name() const { return type_name_; }
const std::string& Model::description() const { return program_->description; }
bool Model::Supports(Method method) const { return program_->Supports(method); }
size_t Model::OutputWidth(Method method) const { return program_->Width(method); }
std::shared_ptr<const Classes> Model::classes() const {
  return program_->head ? program_->head->classes : nullptr;
}
const std::vector<ColumnSpec>& Model::input_schema() const { return program_->schema; }
bool Model::positional_input() const { return program_->positional; }

Output Model::Run(Method method, const Table& input) const {
  const Program& p = *program_;
  if (!p.Supports(method)) {
    Invalid(std::string("this model has no ") + MethodName(method) + " (" + p.description + ")");
  }
  const std::vector<const Column*> bound = Bind(p, input);
  const size_t rows = input.num_rows();
  const size_t width = p.Width(method);
  const size_t n = p.schema.size();
  const bool labels = p.LabelOutput(method);
  Output out = labels ? Output::Labels(rows, width, p.head->classes, p.OutputNames(method))
                      : Output::Float64(rows, width, p.OutputNames(method));
  if (rows == 0) return out;
  double* values = labels ? nullptr : out.mutable_values().data();
  int32_t* label_out = labels ? out.mutable_label_indices().data() : nullptr;

  const Blocks blocks = SplitRows(rows, pool_ ? pool_->threads() : 1);
  auto run_block = [&](size_t block) {
    const size_t start = block * blocks.rows;
    const size_t count = std::min(blocks.rows, rows - start);
    CallScratch call(pool_.get(), blocks.count);
    Scratch& scratch = call.get();
    double* x = Scratch::Get(scratch.input, count * n);
    for (size_t j = 0; j < n; ++j) {
      const Column& c = *bound[j];
      if (j < p.codes.size() && p.codes[j]) {
        for (size_t r = 0; r < count; ++r) {
          x[r * n + j] = CellAsCode(c, start + r, input.first_row(), *p.codes[j], p.strict[j]);
        }
      } else if (p.schema[j].type == ColumnType::kString) {
        for (size_t r = 0; r < count; ++r) x[r * n + j] = 0;  // read by no step
      } else if (c.type() == ColumnType::kFloat64) {
        const double* src = c.doubles().data() + start;
        for (size_t r = 0; r < count; ++r) x[r * n + j] = src[r];
      } else {
        for (size_t r = 0; r < count; ++r) {
          x[r * n + j] = CellAsNumber(c, start + r, input.first_row());
        }
      }
    }
    p.Run(method, x, count, input.first_row() + start, values ? values + start * width : nullptr,
          label_out ? label_out + start * width : nullptr, scratch);
  };
  if (pool_ && blocks.count > 1) {
    pool_->ParallelFor(blocks.count, run_block);
  } else {
    for (size_t b = 0; b < blocks.count; ++b) run_block(b);
  }
  return out;
}

void Model::Scores(Method method, const double* x, size_t rows, double* out) const {
  const Program& p = *program_;
  if (p.LabelOutput(method)) Invalid("predict of a classifier gives labels: use PredictLabels");
  RequireNumericInput(p);
  const size_t n = p.schema.size(), width = p.Width(method);
  const Blocks blocks = SplitRows(rows, pool_ ? pool_->threads() : 1);
  auto run_block = [&](size_t block) {
    const size_t start = block * blocks.rows;
    const size_t count = std::min(blocks.rows, rows - start);
    CallScratch call(pool_.get(), blocks.count);
    p.Run(method, x + start * n, count, start, out + start * width, nullptr, call.get());
  };
  if (pool_ && blocks.count > 1) {
    pool_->ParallelFor(blocks.count, run_block);
  } else {
    for (size_t b = 0; b < blocks.count; ++b) run_block(b);
  }
}

void Model::PredictLabels(const double* x, size_t rows, int32_t* out) const {
  const Program& p = *program_;
  if (!p.LabelOutput(Method::kPredict)) Invalid("this model is not a classifier: use Scores");
  RequireNumericInput(p);
  const size_t n = p.schema.size();
  const Blocks blocks = SplitRows(rows, pool_ ? pool_->threads() : 1);
  auto run_block = [&](size_t block) {
    const size_t start = block * blocks.rows;
    const size_t count = std::min(blocks.rows, rows - start);
    CallScratch call(pool_.get(), blocks.count);
    p.Run(Method::kPredict, x + start * n, count, start, nullptr, out + start, call.get());
  };
  if (pool_ && blocks.count > 1) {
    pool_->ParallelFor(blocks.count, run_block);
  } else {
    for (size_t b = 0; b < blocks.count; ++b) run_block(b);
  }
}

}  // namespace ark::runtime
