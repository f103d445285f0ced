#include "program.h"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "ark/format/error.h"
#include "numeric.h"

namespace ark::runtime {

namespace {

[[noreturn]] void Refuse(const double v, size_t row, size_t col, uint64_t first_row,
                         const std::vector<ColumnSpec>* names, const std::string& step) {
  std::string where = names ? "column '" + (*names)[col].name + "'"
                            : "feature " + std::to_string(col) + " of the input of " + step;
  where += ", row " + std::to_string(first_row + row + 1);
  std::string what;
  if (std::isnan(v)) {
    what = "missing value (NaN), which " + step +
           " does not accept (scikit-learn refuses it too; impute it first)";
  } else if (std::isinf(v)) {
    what = "infinity, which " + step + " does not accept";
  } else {
    what = FormatDouble(v) + " is too large for float32, which " + step + " computes in";
  }
  throw Error(ErrorCode::kInvalidArgument, where + ": " + what);
}

}  // namespace

void CheckInput(InputCheck check, const double* x, size_t rows, size_t cols, uint64_t first_row,
                const std::vector<ColumnSpec>* names, const std::string& step) {
  if (check == InputCheck::kNone) return;
  const size_t n = rows * cols;
  switch (check) {
    case InputCheck::kNone:
      return;
    case InputCheck::kAllowNan:
      for (size_t i = 0; i < n; ++i) {
        if (std::isinf(x[i])) Refuse(x[i], i / cols, i % cols, first_row, names, step);
      }
      return;
    case InputCheck::kFinite:
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i])) Refuse(x[i], i / cols, i % cols, first_row, names, step);
      }
      return;
    case InputCheck::kFiniteFloat32:
    case InputCheck::kAllowNanFloat32: {
      const bool allow_nan = check == InputCheck::kAllowNanFloat32;
      for (size_t i = 0; i < n; ++i) {
        const float f = ToFloat32(x[i]);
        if (std::isfinite(f) || (allow_nan && std::isnan(f))) continue;
        Refuse(x[i], i / cols, i % cols, first_row, names, step);
      }
      return;
    }
  }
}

void Head::Labels(const double*, size_t, int32_t*, Scratch&) const {
  throw Error(ErrorCode::kInvalidArgument, name + " is not a classifier");
}

bool Program::Supports(Method method) const {
  if (method == Method::kTransform) {
    return (head == nullptr || transform_skips_head) && !steps.empty();
  }
  return head != nullptr && head->Width(method) > 0;
}

size_t Program::Width(Method method) const {
  if (method == Method::kTransform) return steps.empty() ? 0 : steps.back()->n_out;
  return head ? head->Width(method) : 0;
}

std::vector<std::string> Program::OutputNames(Method method) const {
  if (LabelOutput(method)) {
    const size_t k = Width(method);
    if (k == 1) return {"label"};
    std::vector<std::string> names;
    for (size_t i = 0; i < k; ++i) names.push_back("label" + std::to_string(i));
    return names;
  }
  if (method == Method::kTransform || !head) return {};
  if (method == Method::kPredictProba && head->classes) {
    std::vector<std::string> names;
    for (const Label& l : *head->classes) names.push_back(l.ToString());
    return names;
  }
  if (head->output_names.size() == Width(method)) return head->output_names;
  return {};
}

void Program::Run(Method method, const double* x, size_t rows, uint64_t first_row, double* values,
                  int32_t* labels, Scratch& scratch) const {
  if (!Supports(method)) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("this model has no ") + MethodName(method) + " (" + description + ")");
  }
  scratch.first_row = first_row;
  const double* cur = x;
  size_t width = schema.size();
  const std::vector<ColumnSpec>* names = &schema;
  bool use_a = true;
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step& step = *steps[s];
    CheckInput(step.check, cur, rows, width, first_row, names, step.name);
    const bool last_transform = method == Method::kTransform && s + 1 == steps.size();
    double* out =
        last_transform ? values : Scratch::Get(use_a ? scratch.a : scratch.b, rows * step.n_out);
    step.Apply(cur, rows, out, scratch);
    cur = out;
    width = step.n_out;
    names = nullptr;
    use_a = !use_a;
  }
  if (method == Method::kTransform) return;
  CheckInput(head->check, cur, rows, width, first_row, names, head->name);
  if (LabelOutput(method)) {
    head->Labels(cur, rows, labels, scratch);
  } else {
    head->Scores(method, cur, rows, values, scratch);
  }
}

}  // namespace ark::runtime
