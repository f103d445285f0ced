// _ark.find_tree_defect / _ark.find_hist_predictor_defect: the model layer's
// scikit-learn node checks (ark/model/sklearn_checks.h) for Python.
//
// The loader (python/ark/_checks.py) calls these once per tree, so they take
// the node array's memory in place, without a copy, and release the GIL for
// the linear pass. They return None for a valid tree or the defect's
// description; raising ark.errors.InvalidObjectError with it is the Python
// side's job. Bad arguments (not a C-contiguous 1-D numpy array, field
// offsets outside a record) raise TypeError / ValueError.
#include <array>
#include <optional>
#include <span>
#include <string>

#include "ark/model/sklearn_checks.h"
#include "py_common.h"

namespace ark::python {
namespace {

using py::literals::operator""_a;

// The records of a 1-D C-contiguous array; the array must outlive the span.
std::span<const std::byte> Records(const py::array& nodes, size_t* record_size) {
  if (nodes.ndim() != 1 || !(nodes.flags() & py::array::c_style)) {
    throw py::value_error("node arrays must be 1-D and C-contiguous");
  }
  *record_size = static_cast<size_t>(nodes.itemsize());
  return {static_cast<const std::byte*>(nodes.data()),
          static_cast<size_t>(nodes.shape(0)) * *record_size};
}

std::optional<std::string> FindTreeDefect(const py::array& nodes,
                                          const std::array<size_t, 3>& fields, int64_t n_features,
                                          int64_t max_depth) {
  model::TreeNodeLayout layout;
  std::span<const std::byte> records = Records(nodes, &layout.record_size);
  layout.left_child = fields[0];
  layout.right_child = fields[1];
  layout.feature = fields[2];
  py::gil_scoped_release release;
  return model::FindTreeDefect(records, layout, n_features, max_depth);
}

std::optional<std::string> FindHistPredictorDefect(const py::array& nodes,
                                                   const std::array<size_t, 5>& fields,
                                                   uint64_t bitset_rows) {
  model::HistNodeLayout layout;
  std::span<const std::byte> records = Records(nodes, &layout.record_size);
  layout.left = fields[0];
  layout.right = fields[1];
  layout.is_leaf = fields[2];
  layout.is_categorical = fields[3];
  layout.bitset_idx = fields[4];
  py::gil_scoped_release release;
  return model::FindHistPredictorDefect(records, layout, bitset_rows);
}

}  // namespace

void RegisterChecks(py::module_& m) {
  m.def("find_tree_defect", &FindTreeDefect, "nodes"_a.noconvert(), "fields"_a, "n_features"_a,
        "max_depth"_a,
        "Checks sklearn Tree node records (fields: byte offsets of the int64 left_child, "
        "right_child, feature). Returns None, or what is wrong.");
  m.def("find_hist_predictor_defect", &FindHistPredictorDefect, "nodes"_a.noconvert(), "fields"_a,
        "bitset_rows"_a,
        "Checks HistGradientBoosting predictor node records (fields: byte offsets of left, "
        "right, is_leaf, is_categorical, bitset_idx). Returns None, or what is wrong.");
}

}  // namespace ark::python
