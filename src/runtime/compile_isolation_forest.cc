// Compiles sklearn.ensemble.IsolationForest into an IsolationForestHead.
#include <string>
#include <utility>

#include "compact_tree.h"
#include "compile.h"
#include "isolation_forest.h"

namespace ark::runtime {

namespace {

IsolationForestHead::Tree ReadIsolationTree(const Obj& est) {
  const Obj t = est.Child("tree_");
  if (t.type_name() != "sklearn.tree._tree.Tree") t.Fail("is not a sklearn.tree._tree.Tree");
  const TreeArrays arrays =
      IsEncodedTree(t) ? DecodeCompactTree(t) : TreeArrays{t.Array("nodes"), t.Array("values")};
  const NdArray& nodes = arrays.nodes;
  const std::string what = t.short_name() + ".nodes";
  IsolationForestHead::Tree out;
  out.left = nodes.FieldInts("left_child", what);
  out.right = nodes.FieldInts("right_child", what);
  out.feature = nodes.FieldInts("feature", what);
  out.threshold = nodes.FieldDoubles("threshold", what);
  const std::vector<int64_t> samples = nodes.FieldInts("n_node_samples", what);
  const size_t n = out.left.size();
  if (n == 0 || out.right.size() != n || out.feature.size() != n || samples.size() != n) {
    t.Fail("malformed nodes");
  }
  out.leaf_length.resize(n);
  // Children come after their parent (depth-first build order), so every
  // walk ends; anything else is refused.
  for (size_t i = 0; i < n; ++i) {
    if (out.left[i] < 0) {
      out.leaf_length[i] = AveragePathLength(static_cast<double>(samples[i]));
      continue;
    }
    if (out.left[i] <= static_cast<int64_t>(i) || out.right[i] <= static_cast<int64_t>(i) ||
        out.left[i] >= static_cast<int64_t>(n) || out.right[i] >= static_cast<int64_t>(n) ||
        out.feature[i] < 0) {
      t.Fail("malformed node " + std::to_string(i));
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<Head> CompileAnomalyHead(const Obj& est, size_t n_in) {
  if (est.type_name() != "sklearn.ensemble._iforest.IsolationForest") return nullptr;
  auto head = std::make_unique<IsolationForestHead>();
  head->n_in = FeaturesIn(est, n_in);
  head->check = InputCheck::kFiniteFloat32;
  head->name = "IsolationForest";
  const model::Value& list = est.Get("estimators_");
  const model::Value& feats = est.Get("estimators_features_");
  if (!list.is(model::Kind::kList) || !feats.is(model::Kind::kList) ||
      list.items().size() != feats.items().size() || list.items().empty()) {
    est.Fail("estimators_ and estimators_features_ do not match");
  }
  for (size_t i = 0; i < list.items().size(); ++i) {
    const Obj tree_est(est.tree(), est.tree().Deref(list.items()[i]), "estimators_");
    IsolationForestHead::Tree t = ReadIsolationTree(tree_est);
    for (int64_t f :
         est.tree().Array(feats.items()[i], "estimators_features_").ToInts("features")) {
      if (f < 0 || static_cast<size_t>(f) >= head->n_in)
        est.Fail("a feature index is out of range");
      t.features.push_back(static_cast<size_t>(f));
    }
    for (size_t k = 0; k < t.feature.size(); ++k) {
      if (t.left[k] >= 0 && static_cast<size_t>(t.feature[k]) >= t.features.size()) {
        est.Fail("a tree feature is out of range");
      }
    }
    head->trees.push_back(std::move(t));
  }
  head->denominator =
      static_cast<double>(head->trees.size()) * AveragePathLength(est.Number("max_samples_"));
  head->offset = est.Number("offset_");
  return head;
}

}  // namespace ark::runtime
