#include "compact_tree.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ark/format/dtype.h"
#include "ark/format/error.h"
#include "ark/model/tree_codec.h"

namespace ark::runtime {

using model::FieldForm;
using model::Kind;
using model::Value;

namespace {

constexpr const char* kWhat = "compact tree: ";

[[noreturn]] void Fail(const Obj& t, const std::string& what) { t.Fail(kWhat + what); }

// The descriptor of the nodes DecodeTree writes (model::SklearnTreeNode).
nlohmann::ordered_json NodeDescr() {
  return {
      {"names",
       {"left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples",
        "weighted_n_node_samples"}},
      {"formats", {"<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"}},
      {"offsets", {0, 8, 16, 24, 32, 40, 48}},
      {"itemsize", sizeof(model::SklearnTreeNode)},
  };
}

// The dtype string of a numeric array ("" for anything else).
std::string DescrOf(const NdArray& a) {
  if (a.is_object() || a.dtype.structured || !a.dtype.descr.is_string()) return {};
  return a.dtype.descr.get<std::string>();
}

// A 1-D array with the bytes its shape and dtype promise.
void CheckVector(const Obj& t, const NdArray& a, const std::string& key) {
  if (a.is_object() || a.shape.size() != 1) Fail(t, key + " is not a 1-D numeric array");
  if (a.dtype.itemsize == 0 || a.data.bytes.size() / a.dtype.itemsize != a.shape[0] ||
      a.data.bytes.size() % a.dtype.itemsize != 0) {
    Fail(t, key + ": the data does not match the array's shape");
  }
}

bool IsUintDescr(const std::string& d) {
  return d == "|u1" || d == "<u2" || d == "<u4" || d == "<u8";
}

// An array of unsigned integers of 1, 2, 4 or 8 bytes.
model::UintsView Uints(const Obj& t, const NdArray& a, const std::string& key) {
  CheckVector(t, a, key);
  const std::string d = DescrOf(a);
  if (!IsUintDescr(d)) Fail(t, key + " must hold unsigned integers, not dtype " + a.dtype.descr.dump());
  return {static_cast<int>(a.dtype.itemsize), a.data.bytes};
}

std::span<const std::byte> Doubles(const Obj& t, const NdArray& a, const std::string& key) {
  CheckVector(t, a, key);
  if (DescrOf(a) != "<f8") Fail(t, key + " must hold float64, not dtype " + a.dtype.descr.dump());
  return a.data.bytes;
}

// A field given by the name of a derivation (one of `derived`) or by an
// array: unsigned integers (kLeafCounts, when `counts`) or float64
// (kDoubles). An array is read into `*keep`, which must outlive the view.
model::FieldView Field(const Obj& t, const std::string& key,
                       std::initializer_list<FieldForm> derived, bool counts, NdArray* keep) {
  const Value& v = t.Get(key);
  model::FieldView view;
  if (v.is(Kind::kString)) {
    const std::optional<FieldForm> form = model::ParseDerivedForm(v.as_string());
    if (!form || std::find(derived.begin(), derived.end(), *form) == derived.end()) {
      Fail(t, key + " cannot be derived from '" + v.as_string() + "'");
    }
    view.form = *form;
    return view;
  }
  *keep = t.Array(key);
  const std::string d = DescrOf(*keep);
  if (counts && !IsUintDescr(d) && d != "<f8") {
    Fail(t, key + " must hold unsigned integers or float64, not dtype " +
                keep->dtype.descr.dump());
  }
  if (counts && IsUintDescr(d)) {
    view.form = FieldForm::kLeafCounts;
    view.counts = Uints(t, *keep, key);
  } else {
    view.form = FieldForm::kDoubles;
    view.doubles = Doubles(t, *keep, key);
  }
  return view;
}

// An integer in [lo, hi].
int64_t IntIn(const Obj& t, double v, int64_t lo, int64_t hi, const std::string& what) {
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) ||
      v != static_cast<double>(static_cast<int64_t>(v))) {
    Fail(t, what + " is not an integer in range");
  }
  return static_cast<int64_t>(v);
}

// Memory for a decoded array, owned by its BlobView.
NdArray Owned(const nlohmann::ordered_json& descr, std::vector<uint64_t> shape, size_t bytes,
              std::span<std::byte>* out) {
  auto buffer = std::make_shared<std::vector<std::byte>>(bytes);
  *out = std::span<std::byte>(buffer->data(), buffer->size());
  NdArray a;
  a.dtype = format::ParseDtype(descr);
  a.shape = std::move(shape);
  a.data.bytes = std::span<const std::byte>(buffer->data(), buffer->size());
  a.data.owner = std::move(buffer);
  return a;
}

}  // namespace

bool IsEncodedTree(const Obj& tree) { return tree.Has("encoding"); }

TreeArrays DecodeCompactTree(const Obj& t) {
  const Value& encoding = t.Get("encoding");
  if (!encoding.is(Kind::kString)) Fail(t, "'encoding' is not a string");
  if (encoding.as_string() != model::kTreeEncodingV1) {
    try {
      t.Fail("unknown tree encoding '" + encoding.as_string() + "' (this runtime reads '" +
             std::string(model::kTreeEncodingV1) + "'; the file may come from a newer ark)");
    } catch (const Error& e) {
      throw Error(ErrorCode::kUnsupported, e.what());  // the message names the object
    }
  }

  // The shape: node_count from the state, n_outputs and max(n_classes) from
  // the constructor arguments (n_features, n_classes, n_outputs).
  const std::vector<Value>& args = t.args();
  if (args.size() != 3) Fail(t, "expected 3 constructor arguments");
  constexpr int64_t kMaxDim = int64_t{1} << 31;  // as model::DecodeTree
  model::TreeShape shape;
  shape.node_count = IntIn(t, t.Number("node_count"), 1, kMaxDim - 1, "node_count");
  IntIn(t, t.Number("max_depth"), 0, kMaxDim - 1, "max_depth");
  IntIn(t, t.tree().Number(args[0], "n_features"), 0, INT64_MAX / 2, "n_features");
  shape.n_outputs = IntIn(t, t.tree().Number(args[2], "n_outputs"), 1, kMaxDim - 1, "n_outputs");
  const NdArray n_classes_array = t.tree().Array(args[1], "n_classes");
  if (n_classes_array.is_object() || n_classes_array.shape.size() != 1 ||
      n_classes_array.shape[0] != static_cast<uint64_t>(shape.n_outputs)) {
    Fail(t, "n_classes does not hold one count per output");
  }
  CheckVector(t, n_classes_array, "n_classes");
  for (int64_t c : n_classes_array.ToInts("n_classes")) {
    shape.max_n_classes = std::max(shape.max_n_classes, IntIn(t, static_cast<double>(c), 1,
                                                               kMaxDim - 1, "n_classes"));
  }

  // The fields. The NdArrays keep their bytes alive while `view` is used.
  model::CompactTreeView view;
  view.shape = shape;
  const NdArray leaf = t.Array("leaf");
  CheckVector(t, leaf, "leaf");
  if (DescrOf(leaf) != "|u1") Fail(t, "leaf must be uint8, not dtype " + leaf.dtype.descr.dump());
  view.leaf_bits = leaf.data.bytes;
  const NdArray feature = t.Array("feature");
  view.feature = Uints(t, feature, "feature");
  const NdArray threshold = t.Array("threshold");
  view.threshold = Doubles(t, threshold, "threshold");
  const NdArray samples = t.Array("n_node_samples");
  view.n_node_samples = Uints(t, samples, "n_node_samples");
  NdArray impurity, weights, values;
  view.impurity = Field(t, "impurity", {FieldForm::kGini}, false, &impurity);
  view.weighted_n_node_samples =
      Field(t, "weighted_n_node_samples", {FieldForm::kValueSums, FieldForm::kSampleCounts}, true,
            &weights);
  view.values = Field(t, "values", {}, true, &values);

  // Everything is checked before the outputs are allocated: their sizes are
  // then bounded by the input's (model::CheckCompactTree).
  TreeArrays out;
  try {
    model::CheckCompactTree(view);
    const uint64_t n = static_cast<uint64_t>(shape.node_count);
    const uint64_t outputs = static_cast<uint64_t>(shape.n_outputs);
    const uint64_t classes = static_cast<uint64_t>(shape.max_n_classes);
    std::span<std::byte> nodes_out, values_out;
    out.nodes = Owned(NodeDescr(), {n}, n * sizeof(model::SklearnTreeNode), &nodes_out);
    out.values = Owned("<f8", {n, outputs, classes}, n * outputs * classes * 8, &values_out);
    model::DecodeTree(view, nodes_out, values_out);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) throw;
    t.Fail(e.what());  // "compact tree: ..." from the codec
  }
  return out;
}

}  // namespace ark::runtime
