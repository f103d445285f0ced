#include "tree_importances.h"

#include <cstdint>
#include <set>
#include <utility>

#include "compact_tree.h"
#include "numeric.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

const std::set<std::string> kSingleTrees = {
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
};
const std::set<std::string> kForests = {
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._forest.RandomTreesEmbedding",
};
const std::set<std::string> kBoosting = {
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
};

// scikit-learn's TREE_LEAF: the child index of a leaf.
constexpr int64_t kTreeLeaf = -1;

Obj TreeOf(const Obj& est) {
  Obj tree = est.Child("tree_");
  if (tree.type_name() != "sklearn.tree._tree.Tree") tree.Fail("is not a sklearn.tree._tree.Tree");
  return tree;
}

int64_t NodeCount(const Obj& tree) {
  const int64_t count = tree.Int("node_count");
  if (count <= 0) tree.Fail("node_count is not positive");
  return count;
}

// np.mean(rows, axis=0, dtype=np.float64) of the rows added so far, built
// one row at a time. numpy reduces axis 0 of the C-contiguous stack row after
// row (the rows' columns are the inner loop), except for a single column,
// which is one contiguous run and so a pairwise sum.
class StackMean {
 public:
  explicit StackMean(size_t n) : sums_(n, 0.0) {}

  void Add(const std::vector<double>& row) {
    if (sums_.size() == 1) {
      column_.push_back(row[0]);
    } else {
      for (size_t j = 0; j < sums_.size(); ++j) sums_[j] += row[j];
    }
    ++rows_;
  }
  size_t rows() const { return rows_; }

  // REQUIRES: rows() > 0.
  std::vector<double> Mean() const {
    std::vector<double> mean = sums_;
    if (mean.size() == 1) mean[0] = PairwiseSum(column_.data(), column_.size());
    for (double& m : mean) m /= static_cast<double>(rows_);
    return mean;
  }

 private:
  std::vector<double> sums_;
  std::vector<double> column_;
  size_t rows_ = 0;
};

// mean / np.sum(mean): BaseForest and BaseGradientBoosting divide without
// checking the sum.
std::vector<double> DivideBySum(std::vector<double> v) {
  const double sum = PairwiseSum(v.data(), v.size());
  for (double& x : v) x /= sum;
  return v;
}

std::vector<double> ForestImportances(const Obj& est, size_t n_features) {
  const Value& list = est.Get("estimators_");
  if (!list.is(Kind::kList)) est.Fail("estimators_ is not a list");
  StackMean mean(n_features);
  for (size_t i = 0; i < list.items().size(); ++i) {
    const Obj tree_est(est.tree(), list.items()[i], "estimators_[" + std::to_string(i) + "]");
    const Obj tree = TreeOf(tree_est);
    if (NodeCount(tree) > 1) mean.Add(ComputeTreeImportances(tree, n_features, true));
  }
  if (mean.rows() == 0) return std::vector<double>(n_features, 0.0);
  return DivideBySum(mean.Mean());
}

std::vector<double> BoostingImportances(const Obj& est, size_t n_features) {
  const NdArray stages = est.Array("estimators_");
  if (!stages.is_object() || stages.shape.size() != 2 || stages.items.size() != stages.size()) {
    est.Fail("estimators_ is not an n_stages × K array of trees");
  }
  const size_t k = stages.shape[1];
  StackMean mean(n_features);
  for (size_t i = 0; i < stages.items.size(); ++i) {
    const Obj tree_est(est.tree(), stages.items[i],
                       "estimators_[" + std::to_string(i / k) + ", " + std::to_string(i % k) + "]");
    const Obj tree = TreeOf(tree_est);
    if (NodeCount(tree) > 1) mean.Add(ComputeTreeImportances(tree, n_features, false));
  }
  if (mean.rows() == 0) return std::vector<double>(n_features, 0.0);
  return DivideBySum(mean.Mean());
}

}  // namespace

bool HasTreeFeatureImportances(const std::string& type_name) {
  return kSingleTrees.count(type_name) || kForests.count(type_name) || kBoosting.count(type_name);
}

std::vector<double> TreeFeatureImportances(const Obj& est, size_t n_features) {
  const std::string& t = est.type_name();
  if (kSingleTrees.count(t)) return ComputeTreeImportances(TreeOf(est), n_features, true);
  if (kForests.count(t)) return ForestImportances(est, n_features);
  if (kBoosting.count(t)) return BoostingImportances(est, n_features);
  est.Fail("has no feature_importances_ computed from trees");
}

std::vector<double> ComputeTreeImportances(const Obj& tree, size_t n_features, bool normalize) {
  const std::vector<Value>& args = tree.args();
  if (args.size() != 3) tree.Fail("expected 3 constructor arguments");
  const double declared = tree.tree().Number(args[0], "n_features");
  if (declared != static_cast<double>(n_features)) {
    tree.Fail("n_features is " + std::to_string(declared) + ", the selector's input has " +
              std::to_string(n_features) + " columns");
  }
  const TreeArrays arrays =
      IsEncodedTree(tree) ? DecodeCompactTree(tree) : TreeArrays{tree.Array("nodes"), NdArray{}};
  const NdArray& nodes = arrays.nodes;
  const int64_t count = NodeCount(tree);
  if (nodes.shape.size() != 1 || nodes.size() != static_cast<uint64_t>(count)) {
    tree.Fail("node_count does not match the nodes array");
  }
  const std::string what = tree.short_name() + ".nodes";
  const std::vector<int64_t> left = nodes.FieldInts("left_child", what);
  const std::vector<int64_t> right = nodes.FieldInts("right_child", what);
  const std::vector<int64_t> feature = nodes.FieldInts("feature", what);
  const std::vector<double> impurity = nodes.FieldDoubles("impurity", what);
  const std::vector<double> weight = nodes.FieldDoubles("weighted_n_node_samples", what);
  const size_t n = static_cast<size_t>(count);
  if (left.size() != n || right.size() != n || feature.size() != n || impurity.size() != n ||
      weight.size() != n) {
    tree.Fail("the nodes' fields do not have node_count values");
  }

  std::vector<double> importances(n_features, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (left[i] == kTreeLeaf) continue;
    const int64_t l = left[i], r = right[i], f = feature[i];
    if (l < 0 || l >= count || r < 0 || r >= count) {
      tree.Fail("node " + std::to_string(i) + " has a child outside the tree");
    }
    if (f < 0 || static_cast<uint64_t>(f) >= n_features) {
      tree.Fail("node " + std::to_string(i) + " splits on feature " + std::to_string(f) +
                ", outside [0, " + std::to_string(n_features) + ")");
    }
    const double drop = weight[i] * impurity[i] - weight[l] * impurity[l];
    importances[f] += drop - weight[r] * impurity[r];
  }
  for (double& v : importances) v /= weight[0];
  if (normalize) {
    const double normalizer = PairwiseSum(importances.data(), importances.size());
    if (normalizer > 0.0) {
      for (double& v : importances) v /= normalizer;
    }
  }
  return importances;
}

}  // namespace ark::runtime
