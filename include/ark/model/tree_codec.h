// A compact, exact encoding of scikit-learn's tree arrays ("ark.tree.v1").
//
// An sklearn.tree._tree.Tree is two arrays: `nodes` (NODE_DTYPE records of
// 56 bytes: left_child, right_child, feature, threshold, impurity,
// n_node_samples, weighted_n_node_samples) and `values` (node_count x
// n_outputs x max_n_classes float64). Most of those bytes are predictable
// from the rest, given how scikit-learn's depth-first builder writes them:
//
//  - nodes are numbered in pre-order, so an inner node's left child is the
//    next node and its right child is implied by the leaf flags: the shape is
//    one bit per node;
//  - leaves carry TREE_LEAF (-1) children and TREE_UNDEFINED (-2) feature and
//    threshold: only inner nodes store a feature (narrow) and a threshold;
//  - an inner node's n_node_samples is the sum of its children's: only
//    leaves store it (narrow);
//  - classifiers' values are weighted class counts; with whole-number sample
//    weights they are whole numbers and an inner node's row is the sum of its
//    children's rows: only leaves store them (narrow);
//  - weighted_n_node_samples is the sum of the node's class counts (or equals
//    n_node_samples, or sums up the tree like the counts);
//  - Gini impurity is recomputed from the counts with scikit-learn's formula,
//    operation for operation (IEEE-754 +, *, / only: same bits everywhere).
//
// Each of those derivations is checked against the actual arrays when
// encoding, field by field; a field whose derivation does not hold is stored
// as plain float64 for every node (regression values, entropy impurity,
// fractional class weights). Trees that break the structural assumptions
// (best-first builders number nodes in another order, other node layouts)
// are not encodable at all, and the caller stores the plain arrays. Finally
// EncodeTree decodes its result and compares it byte for byte with the input:
// an encoded tree always decodes to the very same arrays.
//
// DecodeTree treats its input as hostile: every length, count and width is
// checked before use, the leaf flags must describe one full binary tree, and
// sums that would overflow are refused. It never reads or writes outside the
// spans it is given. Its output still has to pass the usual checks of a Tree
// (ark/model/sklearn_checks.h) before it reaches scikit-learn; by
// construction children follow their parents and every node has one parent.
//
// Integers are little-endian (the hosts ark supports are). Functions are
// pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ark::model {

// The name of this encoding, stored with every encoded tree.
inline constexpr std::string_view kTreeEncodingV1 = "ark.tree.v1";

// One record of sklearn.tree._tree.NODE_DTYPE as scikit-learn 1.0 to 1.2
// lays it out: seven 8-byte fields, no padding.
struct SklearnTreeNode {
  int64_t left_child;
  int64_t right_child;
  int64_t feature;
  double threshold;
  double impurity;
  int64_t n_node_samples;
  double weighted_n_node_samples;
};
static_assert(sizeof(SklearnTreeNode) == 56);

// Sizes of a tree's arrays: `nodes` holds node_count records, `values`
// node_count * n_outputs * max_n_classes doubles.
struct TreeShape {
  int64_t node_count = 0;
  int64_t n_outputs = 0;
  int64_t max_n_classes = 0;
};

// How a field of the compact form is given.
enum class FieldForm {
  kDoubles,       // float64 for every node, as stored by scikit-learn
  kLeafCounts,    // unsigned integers for the leaves, in node order; an inner
                  // node's entry is the sum of its two children's
  kGini,          // impurity only: recomputed from values and weighted_n_node_samples
  kValueSums,     // weighted_n_node_samples only: the sum of the node's values of output 0
  kSampleCounts,  // weighted_n_node_samples only: n_node_samples as a double
};

// The name of a derived form as stored in a file ("gini", "values",
// "n_node_samples"); kDoubles and kLeafCounts are arrays and have none.
const char* DerivedFormName(FieldForm form);
// The inverse for derived forms; std::nullopt for an unknown name.
std::optional<FieldForm> ParseDerivedForm(std::string_view name);

// Unsigned integers of `width` bytes each (1, 2, 4 or 8), packed.
struct PackedUints {
  int width = 1;
  std::vector<std::byte> bytes;
  size_t size() const { return bytes.size() / static_cast<size_t>(width); }
};

// A field: kDoubles uses `doubles`, kLeafCounts uses `counts`, derived forms
// use neither.
struct CompactField {
  FieldForm form = FieldForm::kDoubles;
  PackedUints counts;
  std::vector<double> doubles;
};

// The encoded tree. Counts: `leaf_bits` has ceil(node_count / 8) bytes (bit
// i % 8 of byte i / 8 set when node i is a leaf; unused high bits zero);
// feature and threshold have one entry per inner node, n_node_samples one
// per leaf, all in node order.
struct CompactTree {
  TreeShape shape;
  std::vector<std::byte> leaf_bits;
  PackedUints feature;
  std::vector<double> threshold;
  PackedUints n_node_samples;
  CompactField impurity;                 // kDoubles or kGini
  CompactField weighted_n_node_samples;  // kDoubles, kLeafCounts, kValueSums or kSampleCounts
  CompactField values;                   // kDoubles or kLeafCounts (n_outputs * max_n_classes per leaf)
};

// Read-only views of the same fields, e.g. numpy arrays of a file. Packed
// integers and doubles are raw little-endian bytes with no alignment
// requirement; `width` is meaningful for kLeafCounts fields and the
// PackedUints views.
struct UintsView {
  int width = 0;
  std::span<const std::byte> bytes;
};
struct FieldView {
  FieldForm form = FieldForm::kDoubles;
  UintsView counts;                   // kLeafCounts
  std::span<const std::byte> doubles;  // kDoubles
};
struct CompactTreeView {
  TreeShape shape;
  std::span<const std::byte> leaf_bits;
  UintsView feature;
  std::span<const std::byte> threshold;
  UintsView n_node_samples;
  FieldView impurity;
  FieldView weighted_n_node_samples;
  FieldView values;
};

CompactTreeView ViewOf(const CompactTree& tree);

// Encodes a tree. `nodes` must hold shape.node_count SklearnTreeNode records
// and `values` the matching doubles (any alignment). Returns std::nullopt
// when the tree cannot be encoded exactly (sizes that do not match, nodes not
// in depth-first pre-order, leaves without the TREE_UNDEFINED markers,
// inconsistent sample counts...), with the reason in `*why_not` when given.
// The result decodes to exactly `nodes` and `values`, byte for byte (checked
// before returning).
std::optional<CompactTree> EncodeTree(std::span<const std::byte> nodes,
                                      std::span<const std::byte> values, const TreeShape& shape,
                                      std::string* why_not = nullptr);

// Checks everything about `tree` that DecodeTree checks before it writes:
// the shape, the leaf-flag counts, every column's size and width and every
// field's form. Throws as DecodeTree does; returns the number of leaves.
// After it passes, the outputs DecodeTree needs are bounded by the input:
// at most 56 bytes per leaf flag bit and 8 bytes per value entry per leaf
// row. Callers allocating outputs for untrusted input call this first.
size_t CheckCompactTree(const CompactTreeView& tree);

// Decodes into `nodes` (node_count records) and `values` (node_count *
// n_outputs * max_n_classes doubles), which must have exactly those sizes.
// Throws ark::Error(kInvalidArgument) with a message naming the problem
// ("compact tree: ...") when the input is inconsistent: sizes, widths, leaf
// flags that are not one full binary tree in pre-order, a derived form on
// the wrong field, integer sums that overflow. On error the outputs hold
// unspecified bytes.
void DecodeTree(const CompactTreeView& tree, std::span<std::byte> nodes,
                std::span<std::byte> values);

}  // namespace ark::model
