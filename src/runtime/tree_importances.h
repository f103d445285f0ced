// The impurity-based feature_importances_ of scikit-learn's tree models,
// which scikit-learn 1.2.1 computes from the fitted trees when asked (a
// property; nothing is stored). They are recomputed here with the same
// float64 operations in the same order, so that a selector thresholding them
// (SelectFromModel) keeps exactly the features scikit-learn keeps, ties
// included:
//
//   one tree   Tree.compute_feature_importances(normalize): for each split
//              node in index order, importance[feature] +=
//              (w * impurity - w_left * impurity_left) - w_right * impurity_right
//              (w: weighted_n_node_samples); then each divided by the root's
//              w; then, when normalizing and numpy's pairwise sum is > 0,
//              each divided by that sum.
//   DecisionTree*, ExtraTree*: the normalized importances of tree_.
//   RandomForest*, ExtraTrees*, RandomTreesEmbedding: np.mean over the trees
//              with node_count > 1 of their normalized importances (rows
//              added one after the other, then divided by their count),
//              divided by its pairwise sum; all zero when no tree splits.
//   GradientBoosting*: the same mean over every tree of estimators_ (stages
//              × K, C order) with node_count > 1, of the unnormalized
//              importances, divided by its sum (0/0 is NaN, as in numpy).
//
// The input is untrusted: the trees (plain or compact, compact_tree.h) must
// have node_count records, children inside the tree, split features inside
// [0, n_features), and n_features equal to the caller's. Anything else is
// ark::Error(kBadManifest) naming the tree ("estimators_[3].tree_: ...").
// Memory is one tree's arrays at a time plus a few n_features vectors.
//
// Thread-safe: reads the object tree, writes nothing shared.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "object_tree.h"

namespace ark::runtime {

// True when scikit-learn computes the feature_importances_ of an estimator of
// this class from its trees (the types listed above).
bool HasTreeFeatureImportances(const std::string& type_name);

// est.feature_importances_ of an estimator of such a class, n_features long.
// REQUIRES: HasTreeFeatureImportances(est.type_name()).
std::vector<double> TreeFeatureImportances(const Obj& est, size_t n_features);

// tree.compute_feature_importances(normalize) of one sklearn.tree._tree.Tree
// node (an estimator's tree_), n_features long.
std::vector<double> ComputeTreeImportances(const Obj& tree, size_t n_features, bool normalize);

}  // namespace ark::runtime
