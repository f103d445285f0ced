// _ark.encode_tree / _ark.decode_tree: the compact tree encoding of the model
// layer (ark/model/tree_codec.h) on numpy arrays.
//
// encode_tree(nodes, values) takes a Tree's arrays in place (nodes: 1-D,
// C-contiguous, NODE_DTYPE with the 56-byte layout of scikit-learn 1.0-1.2;
// values: C-contiguous float64 of shape (node_count, n_outputs,
// max_n_classes)) and returns the compact fields as a dict, or None when the
// tree cannot be encoded exactly (arrays of another layout included). Field
// values are 1-D numpy arrays that own their memory, or the name of a
// derivation:
//   leaf                     uint8 leaf flags, one bit per node (LSB first)
//   feature, threshold       unsigned integers / float64, one per inner node
//   n_node_samples           unsigned integers, one per leaf
//   impurity                 "gini" or float64 per node
//   weighted_n_node_samples  "values", "n_node_samples", unsigned integers per
//                            leaf, or float64 per node
//   values                   unsigned integers per leaf (n_outputs *
//                            max_n_classes each) or float64 per node (same)
//
// decode_tree(fields, node_count, n_outputs, max_n_classes, node_dtype)
// returns (nodes, values), new writable arrays. Fields come from a file:
// anything unexpected (a missing key, a wrong dtype, inconsistent sizes)
// raises ValueError or TypeError naming it. The GIL is released for the
// linear passes.
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/error.h"
#include "ark/model/tree_codec.h"
#include "py_common.h"

namespace ark::python {
namespace {

using model::FieldForm;

constexpr const char* kFieldNames[] = {"left_child",    "right_child",    "feature",
                                       "threshold",     "impurity",       "n_node_samples",
                                       "weighted_n_node_samples"};
constexpr const char* kFieldTypes[] = {"<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"};

// True when `dtype` is the 56-byte NODE_DTYPE layout the codec reads.
bool IsNodeLayout(const py::dtype& dtype) {
  if (dtype.itemsize() != static_cast<py::ssize_t>(sizeof(model::SklearnTreeNode))) return false;
  py::object names = dtype.attr("names");
  if (names.is_none() || py::len(names) != std::size(kFieldNames)) return false;
  py::dict fields = dtype.attr("fields");
  for (size_t i = 0; i < std::size(kFieldNames); ++i) {
    if (names[py::int_(i)].cast<std::string>() != kFieldNames[i]) return false;
    py::tuple field = fields[kFieldNames[i]];
    if (field.size() != 2 || field[1].cast<size_t>() != 8 * i ||
        field[0].attr("str").cast<std::string>() != kFieldTypes[i]) {
      return false;
    }
  }
  return true;
}

std::span<const std::byte> BytesOf(const py::array& a) {
  return {static_cast<const std::byte*>(a.data()), static_cast<size_t>(a.nbytes())};
}

// A vector's memory as a 1-D numpy array that owns it (no copy).
template <typename T>
py::array Own(std::vector<T>&& data, const char* dtype, size_t item_size) {
  const size_t count = data.size() * sizeof(T) / item_size;
  if (count == 0) return py::array(py::dtype(dtype), std::vector<py::ssize_t>{0});
  auto* heap = new std::vector<T>(std::move(data));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array(py::dtype(dtype), {static_cast<py::ssize_t>(count)},
                   {static_cast<py::ssize_t>(item_size)}, heap->data(), owner);
}

const char* UintDtype(int width) {
  switch (width) {
    case 1:
      return "<u1";
    case 2:
      return "<u2";
    case 4:
      return "<u4";
    default:
      return "<u8";
  }
}

py::object Uints(model::PackedUints&& p) {
  const int width = p.width;
  return Own(std::move(p.bytes), UintDtype(width), static_cast<size_t>(width));
}

py::object Field(model::CompactField&& f) {
  switch (f.form) {
    case FieldForm::kDoubles:
      return Own(std::move(f.doubles), "<f8", 8);
    case FieldForm::kLeafCounts:
      return Uints(std::move(f.counts));
    default:
      return py::str(model::DerivedFormName(f.form));
  }
}

py::object EncodeTree(const py::array& nodes, const py::array& values) {
  if (!IsNodeLayout(nodes.dtype()) || nodes.ndim() != 1 || values.ndim() != 3 ||
      !(nodes.flags() & py::array::c_style) || !(values.flags() & py::array::c_style) ||
      values.dtype().attr("str").cast<std::string>() != "<f8" || values.shape(0) != nodes.shape(0)) {
    return py::none();
  }
  const model::TreeShape shape{values.shape(0), values.shape(1), values.shape(2)};
  std::optional<model::CompactTree> tree;
  {
    py::gil_scoped_release release;
    tree = model::EncodeTree(BytesOf(nodes), BytesOf(values), shape);
  }
  if (!tree) return py::none();
  py::dict out;
  out["leaf"] = Own(std::move(tree->leaf_bits), "|u1", 1);
  out["feature"] = Uints(std::move(tree->feature));
  out["threshold"] = Own(std::move(tree->threshold), "<f8", 8);
  out["n_node_samples"] = Uints(std::move(tree->n_node_samples));
  out["impurity"] = Field(std::move(tree->impurity));
  out["weighted_n_node_samples"] = Field(std::move(tree->weighted_n_node_samples));
  out["values"] = Field(std::move(tree->values));
  return out;
}

// --- decoding: everything below reads a file's values ------------------------

py::object Get(const py::dict& fields, const char* name) {
  if (!fields.contains(name)) throw py::value_error(std::string("compact tree: no ") + name);
  return fields[name];
}

// A 1-D C-contiguous array of one of the dtypes (numpy .str spellings);
// `*kind` receives the dtype's kind character.
py::array ArrayField(const py::dict& fields, const char* name, const std::string& kinds,
                     char* kind) {
  py::object value = Get(fields, name);
  if (!py::isinstance<py::array>(value)) {
    throw py::type_error(std::string("compact tree: ") + name + " must be an array, not " +
                         TypeName(value));
  }
  py::array a = py::reinterpret_borrow<py::array>(value);
  const std::string dtype = a.dtype().attr("str").cast<std::string>();
  const bool uint = dtype == "|u1" || dtype == "<u2" || dtype == "<u4" || dtype == "<u8";
  *kind = uint ? 'u' : (dtype == "<f8" ? 'f' : '?');
  if (kinds.find(*kind) == std::string::npos || a.ndim() != 1 ||
      !(a.flags() & py::array::c_style)) {
    throw py::value_error(std::string("compact tree: ") + name +
                          " has the wrong dtype or shape (" + dtype + ")");
  }
  return a;
}

model::UintsView UintsOf(const py::array& a) {
  return {static_cast<int>(a.itemsize()), BytesOf(a)};
}

// A field given as a derivation name (one of `derived`) or an array (`kinds`
// 'u': leaf counts, 'f': doubles). `keep` holds the array alive.
model::FieldView FieldOf(const py::dict& fields, const char* name,
                         std::initializer_list<FieldForm> derived, const std::string& kinds,
                         std::vector<py::array>* keep) {
  py::object value = Get(fields, name);
  model::FieldView view;
  if (py::isinstance<py::str>(value)) {
    const std::optional<FieldForm> form = model::ParseDerivedForm(value.cast<std::string>());
    if (!form || std::find(derived.begin(), derived.end(), *form) == derived.end()) {
      throw py::value_error(std::string("compact tree: unknown derivation for ") + name);
    }
    view.form = *form;
    return view;
  }
  char kind = 0;
  py::array a = ArrayField(fields, name, kinds, &kind);
  keep->push_back(a);
  if (kind == 'u') {
    view.form = FieldForm::kLeafCounts;
    view.counts = UintsOf(a);
  } else {
    view.form = FieldForm::kDoubles;
    view.doubles = BytesOf(a);
  }
  return view;
}

py::tuple DecodeTree(const py::dict& fields, int64_t node_count, int64_t n_outputs,
                     int64_t max_n_classes, const py::dtype& node_dtype) {
  if (!IsNodeLayout(node_dtype)) {
    throw py::value_error("decode_tree() needs the 56-byte NODE_DTYPE layout");
  }
  std::vector<py::array> keep;
  char kind = 0;
  model::CompactTreeView view;
  view.shape = {node_count, n_outputs, max_n_classes};
  keep.push_back(ArrayField(fields, "leaf", "u", &kind));
  if (keep.back().itemsize() != 1) throw py::value_error("compact tree: leaf must be uint8");
  view.leaf_bits = BytesOf(keep.back());
  keep.push_back(ArrayField(fields, "feature", "u", &kind));
  view.feature = UintsOf(keep.back());
  keep.push_back(ArrayField(fields, "threshold", "f", &kind));
  view.threshold = BytesOf(keep.back());
  keep.push_back(ArrayField(fields, "n_node_samples", "u", &kind));
  view.n_node_samples = UintsOf(keep.back());
  view.impurity = FieldOf(fields, "impurity", {FieldForm::kGini}, "f", &keep);
  view.weighted_n_node_samples =
      FieldOf(fields, "weighted_n_node_samples",
              {FieldForm::kValueSums, FieldForm::kSampleCounts}, "uf", &keep);
  view.values = FieldOf(fields, "values", {}, "uf", &keep);
  // Everything about the input is checked before the outputs are allocated:
  // their sizes are then bounded by the input's (a few bytes per node).
  try {
    model::CheckCompactTree(view);
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  py::array nodes(node_dtype, std::vector<py::ssize_t>{static_cast<py::ssize_t>(node_count)});
  py::array values(py::dtype("<f8"),
                   std::vector<py::ssize_t>{static_cast<py::ssize_t>(node_count),
                                            static_cast<py::ssize_t>(n_outputs),
                                            static_cast<py::ssize_t>(max_n_classes)});
  std::span<std::byte> nodes_out(static_cast<std::byte*>(nodes.mutable_data()),
                                 static_cast<size_t>(nodes.nbytes()));
  std::span<std::byte> values_out(static_cast<std::byte*>(values.mutable_data()),
                                  static_cast<size_t>(values.nbytes()));
  try {
    py::gil_scoped_release release;
    model::DecodeTree(view, nodes_out, values_out);
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  return py::make_tuple(nodes, values);
}

}  // namespace

void RegisterTreeCodec(py::module_& m) {
  using py::literals::operator""_a;
  m.attr("TREE_ENCODING") = py::str(std::string(model::kTreeEncodingV1));
  m.def("encode_tree", &EncodeTree, "nodes"_a, "values"_a,
        "Compact fields of an sklearn Tree's (nodes, values) as a dict, or None when the tree "
        "cannot be encoded exactly. The result decodes to the same bytes.");
  m.def("decode_tree", &DecodeTree, "fields"_a, "node_count"_a, "n_outputs"_a,
        "max_n_classes"_a, "node_dtype"_a,
        "(nodes, values) of the compact fields; ValueError/TypeError for inconsistent fields.");
}

}  // namespace ark::python
