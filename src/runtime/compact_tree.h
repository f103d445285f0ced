// Reading a scikit-learn Tree stored in its compact form ("ark.tree.v1",
// docs/OBJECTS.md §5.1), which compressed files use for trees whose compact
// encoding is exact.
//
// The node is `sklearn.tree._tree.Tree(((n_features, n_classes, n_outputs),
// {"encoding": "ark.tree.v1", "max_depth", "node_count", "leaf", "feature",
// "threshold", "n_node_samples", "impurity", "weighted_n_node_samples",
// "values"}))`. DecodeCompactTree turns it back into the plain arrays a Tree
// state holds, `nodes` and `values`, byte for byte as scikit-learn wrote
// them, by model::DecodeTree (ark/model/tree_codec.h, the only definition of
// the encoding).
//
// The input is untrusted: every key listed above must be present (others
// are ignored), and the constructor arguments, every array's dtype, rank and
// byte length, and the consistency of the compact fields
// (model::CheckCompactTree) are all checked before the outputs are
// allocated, so their size is bounded by the file's. Problems are
// ark::Error(kBadManifest) naming the tree ("estimators_[3].tree_: compact
// tree: ..."); an encoding other than "ark.tree.v1" is
// ark::Error(kUnsupported) naming it.
//
// Thread-safe: reads the object tree, writes nothing shared.
#pragma once

#include "object_tree.h"

namespace ark::runtime {

// The plain arrays of a Tree state.
struct TreeArrays {
  // 1-D, node_count records of NODE_DTYPE as scikit-learn 1.0 to 1.2 lays it
  // out (left_child, right_child, feature <i8; threshold, impurity <f8;
  // n_node_samples <i8; weighted_n_node_samples <f8; 56 bytes).
  NdArray nodes;
  // node_count × n_outputs × max_n_classes, <f8.
  NdArray values;
};

// True when the state of `tree` (a sklearn.tree._tree.Tree node) names an
// encoding, i.e. is not the plain {max_depth, node_count, nodes, values}.
bool IsEncodedTree(const Obj& tree);

// Decodes the compact state of `tree`. The arrays own their memory (kept
// alive by their BlobView), independent of the object tree.
TreeArrays DecodeCompactTree(const Obj& tree);

}  // namespace ark::runtime
