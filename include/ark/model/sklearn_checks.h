// Structural checks of scikit-learn's tree node arrays.
//
// scikit-learn's compiled tree code indexes memory with the numbers stored in
// its node records (child indices, feature indices) without bounds checks,
// and sizes buffers by the recorded max_depth. A file is untrusted input, so
// before those records reach compiled code (the Python loader handing them to
// Tree.__setstate__, or the native runtime compiling a predictor) they must
// describe a real tree: every check here is one linear pass over the records.
//
// The functions read records in place: scikit-learn's structured dtypes are
// described by a layout (record size and field offsets, as numpy reports
// them), so they work on any version's dtype as long as the fields keep
// their integer types. Fields are read with memcpy: records need no
// particular alignment.
//
// Each function returns std::nullopt for valid records and otherwise a short
// description of the first defect found, phrased to follow "invalid tree: "
// (e.g. "a child index is out of range or does not follow its parent"). They
// do not throw (except std::bad_alloc), hold no state and are safe to call
// from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace ark::model {

// Byte layout of sklearn.tree._tree.NODE_DTYPE: left_child, right_child and
// feature are native-endian int64 (np.intp on 64-bit platforms).
struct TreeNodeLayout {
  size_t record_size = 0;
  size_t left_child = 0;
  size_t right_child = 0;
  size_t feature = 0;
};

// Checks the node records of an sklearn.tree._tree.Tree:
//  - node i is a leaf (left_child == right_child == -1) or has two children,
//    both in (i, node count): children follow their parent, so walking the
//    tree always ends;
//  - every node but the root (node 0) has exactly one parent: the records
//    form one tree;
//  - an inner node's feature lies in [0, n_features);
//  - no node lies deeper than max_depth, and 0 <= max_depth < node count
//    (Tree.decision_path sizes a buffer by max_depth).
// A span that is not a whole number of records, or a layout whose fields do
// not fit in a record, is reported as a defect.
std::optional<std::string> FindTreeDefect(std::span<const std::byte> nodes,
                                          const TreeNodeLayout& layout, int64_t n_features,
                                          int64_t max_depth);

// Byte layout of HistGradientBoosting's PREDICTOR_RECORD_DTYPE: left, right
// and bitset_idx are native-endian uint32, is_leaf and is_categorical uint8.
struct HistNodeLayout {
  size_t record_size = 0;
  size_t left = 0;
  size_t right = 0;
  size_t is_leaf = 0;
  size_t is_categorical = 0;
  size_t bitset_idx = 0;
};

// Checks the node records of a HistGradientBoosting TreePredictor: at least
// one node; the child rule and the one-parent rule of FindTreeDefect for the
// nodes whose is_leaf is 0 (a leaf's left and right are ignored, as the
// predictor ignores them); an inner categorical node's bitset_idx below
// `bitset_rows` (the row count of the smaller of its two bitset arrays).
// Feature indices are checked by the estimator, which knows its width.
// Unusable spans and layouts are reported as for FindTreeDefect.
std::optional<std::string> FindHistPredictorDefect(std::span<const std::byte> nodes,
                                                   const HistNodeLayout& layout,
                                                   uint64_t bitset_rows);

}  // namespace ark::model
