// Compiles scikit-learn's tree models: DecisionTree*, ExtraTree*,
// RandomForest*, ExtraTrees*, GradientBoosting*, HistGradientBoosting*.
//
// Object conventions read here (docs/OBJECTS.md): an estimator's `tree_` is
// the node "sklearn.tree._tree.Tree" with args (n_features, n_classes,
// n_outputs) and state {max_depth, node_count, nodes, values}; `nodes` is a
// structured array with numpy's NODE_DTYPE fields (missing_go_to_left from
// scikit-learn 1.3 on); `values` is node_count × n_outputs × max_n_classes.
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "compact_tree.h"
#include "compile.h"
#include "multi_output_head.h"
#include "numeric.h"
#include "tree_heads.h"

namespace ark::runtime {

using model::Kind;
using model::Value;

namespace {

const std::set<std::string> kForestClassifiers = {
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
};
const std::set<std::string> kForestRegressors = {
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
};
const std::set<std::string> kTreeClassifiers = {
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
};
const std::set<std::string> kTreeRegressors = {
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeRegressor",
};

struct SkTree {
  size_t n = 0;
  size_t n_outputs = 0;
  size_t max_classes = 0;
  std::vector<int64_t> left, right, feature;
  std::vector<double> threshold, weight;
  std::vector<uint8_t> missing_go_to_left;
  std::vector<double> values;  // n × n_outputs × max_classes
};

SkTree ReadTree(const Obj& est) {
  const Obj t = est.Child("tree_");
  if (t.type_name() != "sklearn.tree._tree.Tree") t.Fail("is not a sklearn.tree._tree.Tree");
  // Compressed files may hold the compact form (docs/OBJECTS.md §5.1).
  const TreeArrays arrays = IsEncodedTree(t) ? DecodeCompactTree(t)
                                             : TreeArrays{t.Array("nodes"), t.Array("values")};
  const NdArray& nodes = arrays.nodes;
  const NdArray& values = arrays.values;
  SkTree out;
  const int64_t count = t.Int("node_count");
  if (count <= 0 || static_cast<uint64_t>(count) != nodes.size() || nodes.shape.size() != 1) {
    t.Fail("node_count does not match the nodes array");
  }
  out.n = static_cast<size_t>(count);
  if (values.shape.size() != 3 || values.shape[0] != out.n || values.shape[1] == 0 ||
      values.shape[2] == 0) {
    t.Fail("values is not a node_count × n_outputs × n_classes array");
  }
  out.n_outputs = values.shape[1];
  out.max_classes = values.shape[2];
  const std::string what = t.short_name() + ".nodes";
  out.left = nodes.FieldInts("left_child", what);
  out.right = nodes.FieldInts("right_child", what);
  out.feature = nodes.FieldInts("feature", what);
  out.threshold = nodes.FieldDoubles("threshold", what);
  out.weight = nodes.FieldDoubles("weighted_n_node_samples", what);
  if (nodes.HasField("missing_go_to_left")) {
    for (int64_t v : nodes.FieldInts("missing_go_to_left", what)) {
      out.missing_go_to_left.push_back(v != 0);
    }
  }
  out.values = values.ToDoubles(t.short_name() + ".values");
  return out;
}

TreeSpec SpecOf(SkTree&& t) {
  TreeSpec spec;
  spec.node_count = t.n;
  spec.left = std::move(t.left);
  spec.right = std::move(t.right);
  spec.feature = std::move(t.feature);
  spec.threshold = std::move(t.threshold);
  spec.weight = std::move(t.weight);
  spec.missing_go_to_left = std::move(t.missing_go_to_left);
  return spec;
}

std::vector<Obj> TreesOf(const Obj& est) {
  std::vector<Obj> trees;
  const Value& list = est.Get("estimators_");
  if (!list.is(Kind::kList)) est.Fail("estimators_ is not a list");
  for (size_t i = 0; i < list.items().size(); ++i) {
    trees.emplace_back(est.tree(), list.items()[i], "estimators_[" + std::to_string(i) + "]");
  }
  if (trees.empty()) est.Fail("estimators_ is empty");
  return trees;
}

InputCheck TreeCheck(const TreeEnsemble& e) {
  return e.has_missing_go_to_left() ? InputCheck::kAllowNanFloat32 : InputCheck::kFiniteFloat32;
}

void CheckSingleOutput(const Obj& est) {
  if (est.Has("n_outputs_") && est.Int("n_outputs_") != 1) {
    UnsupportedError(est.type_name(), "multi-output classification");
  }
}

// A multi-output classifier (multi_output_head.h): per output k, the leaf
// holds value[:, k, :n_classes_[k]] / its sum, side by side.
std::unique_ptr<Head> MultiOutputForestClassifier(const Obj& est, size_t n_in, bool single) {
  const model::Value& list = est.Get("classes_");
  if (!list.is(model::Kind::kList) || list.items().empty()) est.Fail("classes_ is not a list");
  auto classes = std::make_shared<Classes>();
  std::vector<size_t> offsets = {0};
  for (const model::Value& item : list.items()) {
    const auto c = ReadClassesOf(est, item, "classes_");
    classes->insert(classes->end(), c->begin(), c->end());
    offsets.push_back(classes->size());
  }
  const size_t outputs = offsets.size() - 1, width = classes->size();
  const size_t n_features = FeaturesIn(est, n_in);
  TreeEnsemble proba(n_features, width);
  std::unique_ptr<TreeEnsemble> raw;
  if (single) raw = std::make_unique<TreeEnsemble>(n_features, width);
  const std::vector<Obj> trees = single ? std::vector<Obj>{est} : TreesOf(est);
  for (const Obj& tree_est : trees) {
    SkTree t = ReadTree(tree_est);
    if (t.n_outputs != outputs) tree_est.Fail("tree values do not have one row per output");
    const size_t m = t.max_classes;
    for (size_t k = 0; k < outputs; ++k) {
      if (offsets[k + 1] - offsets[k] > m) tree_est.Fail("tree values have too few classes");
    }
    std::vector<double> values = std::move(t.values);
    TreeSpec spec = SpecOf(std::move(t));
    spec.leaf_width = width;
    spec.leaf_values.assign(spec.node_count * width, 0.0);
    std::vector<double> raw_values(spec.node_count * width);
    for (size_t i = 0; i < spec.node_count; ++i) {
      for (size_t k = 0; k < outputs; ++k) {
        const size_t c = offsets[k + 1] - offsets[k];
        const double* v = values.data() + (i * outputs + k) * m;
        double sum = PairwiseSum(v, c);
        if (sum == 0.0) sum = 1.0;
        for (size_t j = 0; j < c; ++j) {
          spec.leaf_values[i * width + offsets[k] + j] = v[j] / sum;
          raw_values[i * width + offsets[k] + j] = v[j];
        }
      }
    }
    if (raw) {
      TreeSpec raw_spec = spec;
      raw_spec.leaf_values = std::move(raw_values);
      raw->AddTree(raw_spec);
    }
    proba.AddTree(spec);
  }
  const InputCheck check = TreeCheck(proba);
  auto head = std::make_unique<MultiOutputForestHead>(std::move(proba), !single, std::move(raw),
                                                      std::move(offsets));
  head->n_in = n_features;
  head->check = check;
  head->classes = std::move(classes);
  return head;
}

std::unique_ptr<Head> ForestClassifier(const Obj& est, size_t n_in, bool single) {
  if (est.Has("n_outputs_") && est.Int("n_outputs_") > 1) {
    return MultiOutputForestClassifier(est, n_in, single);
  }
  CheckSingleOutput(est);
  auto classes = ReadClasses(est);
  const size_t c = classes->size();
  const size_t n_features = FeaturesIn(est, n_in);
  TreeEnsemble proba(n_features, c);
  std::unique_ptr<TreeEnsemble> raw;
  if (single) raw = std::make_unique<TreeEnsemble>(n_features, c);
  const std::vector<Obj> trees = single ? std::vector<Obj>{est} : TreesOf(est);
  for (const Obj& tree_est : trees) {
    SkTree t = ReadTree(tree_est);
    if (t.n_outputs != 1 || t.max_classes != c) {
      tree_est.Fail("tree values do not have one column per class");
    }
    std::vector<double> values = std::move(t.values);
    TreeSpec spec = SpecOf(std::move(t));
    spec.leaf_width = c;
    spec.leaf_values.resize(values.size());
    // DecisionTreeClassifier.predict_proba: value / value.sum(axis=1), a
    // zero sum replaced by 1.
    for (size_t i = 0; i < spec.node_count; ++i) {
      const double* v = values.data() + i * c;
      double sum = PairwiseSum(v, c);
      if (sum == 0.0) sum = 1.0;
      for (size_t k = 0; k < c; ++k) spec.leaf_values[i * c + k] = v[k] / sum;
    }
    if (raw) {
      TreeSpec raw_spec = spec;
      raw_spec.leaf_values = values;
      raw->AddTree(raw_spec);
    }
    proba.AddTree(spec);
  }
  const InputCheck check = TreeCheck(proba);
  auto head = std::make_unique<ForestClassifierHead>(std::move(proba), !single, std::move(raw));
  head->n_in = n_features;
  head->check = check;
  head->classes = std::move(classes);
  return head;
}

std::unique_ptr<Head> ForestRegressor(const Obj& est, size_t n_in, bool single) {
  const size_t n_features = FeaturesIn(est, n_in);
  const size_t outputs = est.Has("n_outputs_") ? static_cast<size_t>(est.Int("n_outputs_")) : 1;
  if (outputs == 0 || outputs > 1u << 20) est.Fail("n_outputs_ out of range");
  TreeEnsemble trees(n_features, outputs);
  for (const Obj& tree_est : single ? std::vector<Obj>{est} : TreesOf(est)) {
    SkTree t = ReadTree(tree_est);
    if (t.n_outputs != outputs || t.max_classes != 1)
      tree_est.Fail("tree values have the wrong shape");
    std::vector<double> values = std::move(t.values);
    TreeSpec spec = SpecOf(std::move(t));
    spec.leaf_width = outputs;
    spec.leaf_values = std::move(values);
    trees.AddTree(spec);
  }
  const InputCheck check = TreeCheck(trees);
  auto head = std::make_unique<ForestRegressorHead>(std::move(trees), !single);
  head->n_in = n_features;
  head->check = check;
  return head;
}

// --- GradientBoosting -------------------------------------------------------

// The init estimator's raw prediction, as _gb_losses computes it.
std::vector<double> GradientBoostingInit(const Obj& est, const std::string& loss, size_t k) {
  const Value& init = est.Get("init_");
  if (init.is(Kind::kString) && init.as_string() == "zero") return std::vector<double>(k, 0.0);
  const Obj dummy(est.tree(), init, "init_");
  const std::string& type = dummy.type_name();
  if (loss == "regression") {
    if (type != "sklearn.dummy.DummyRegressor") UnsupportedError(est.type_name(), "init=" + type);
    const std::vector<double> c = dummy.Array("constant_").ToDoubles("init_.constant_");
    if (c.size() != k) dummy.Fail("constant_ has the wrong size");
    return c;
  }
  if (type != "sklearn.dummy.DummyClassifier" || dummy.String("_strategy") != "prior") {
    UnsupportedError(est.type_name(), "init=" + type);
  }
  std::vector<double> prior = dummy.Array("class_prior_").ToDoubles("init_.class_prior_");
  // np.clip(p, eps, 1 - eps) with eps = np.finfo(np.float32).eps; the bounds
  // are float32 numbers, exact in float64.
  const double eps = static_cast<double>(std::numeric_limits<float>::epsilon());
  const double high = static_cast<double>(1.0f - std::numeric_limits<float>::epsilon());
  auto clip = [&](double p) { return p < eps ? eps : (p > high ? high : p); };
  if (loss == "multinomial") {
    if (prior.size() != k) dummy.Fail("class_prior_ has the wrong size");
    std::vector<double> raw(k);
    for (size_t i = 0; i < k; ++i) raw[i] = std::log(clip(prior[i]));
    return raw;
  }
  if (prior.size() != 2) dummy.Fail("class_prior_ is not binary");
  const double p = clip(prior[1]);
  const double logit = std::log(p / (1 - p));
  return {loss == "exponential" ? 0.5 * logit : logit};
}

std::unique_ptr<Head> GradientBoosting(const Obj& est, size_t n_in, bool classifier) {
  const size_t n_features = FeaturesIn(est, n_in);
  const std::string loss_type = est.Child("_loss").short_name();
  std::string loss;
  GradientBoostingHead::Loss kind;
  if (!classifier) {
    if (loss_type != "LeastSquaresError" && loss_type != "LeastAbsoluteError" &&
        loss_type != "HuberLossFunction" && loss_type != "QuantileLossFunction") {
      UnsupportedError(est.type_name(), "loss " + loss_type);
    }
    loss = "regression";
    kind = GradientBoostingHead::Loss::kRegression;
  } else if (loss_type == "BinomialDeviance") {
    loss = "binomial";
    kind = GradientBoostingHead::Loss::kBinomial;
  } else if (loss_type == "MultinomialDeviance") {
    loss = "multinomial";
    kind = GradientBoostingHead::Loss::kMultinomial;
  } else if (loss_type == "ExponentialLoss") {
    loss = "exponential";
    kind = GradientBoostingHead::Loss::kExponential;
  } else {
    UnsupportedError(est.type_name(), "loss " + loss_type);
  }
  const NdArray stages = est.Array("estimators_");
  if (!stages.is_object() || stages.shape.size() != 2 || stages.shape[0] == 0 ||
      stages.shape[1] == 0) {
    est.Fail("estimators_ is not an n_stages × K array of trees");
  }
  const size_t k = stages.shape[1];
  const double learning_rate = est.Number("learning_rate");
  TreeEnsemble trees(n_features, k);
  for (size_t i = 0; i < stages.items.size(); ++i) {
    const Obj tree_est(est.tree(), stages.items[i],
                       "estimators_[" + std::to_string(i / k) + ", " + std::to_string(i % k) + "]");
    SkTree t = ReadTree(tree_est);
    if (t.n_outputs != 1 || t.max_classes != 1) tree_est.Fail("tree values have the wrong shape");
    std::vector<double> values = std::move(t.values);
    TreeSpec spec = SpecOf(std::move(t));
    // predict_stages adds `scale * value[node]`: the same product, once.
    for (double& v : values) v = learning_rate * v;
    spec.leaf_values = std::move(values);
    spec.first_column = i % k;
    trees.AddTree(spec);
  }
  std::vector<double> init = GradientBoostingInit(est, loss, k);
  const InputCheck check = TreeCheck(trees);
  auto head = std::make_unique<GradientBoostingHead>(std::move(trees), std::move(init), kind);
  head->n_in = n_features;
  head->check = check;
  if (classifier) {
    head->classes = ReadClasses(est);
    const size_t expected = kind == GradientBoostingHead::Loss::kMultinomial ? k : 1;
    if (k != expected ||
        (kind != GradientBoostingHead::Loss::kMultinomial && head->classes->size() != 2) ||
        (kind == GradientBoostingHead::Loss::kMultinomial && head->classes->size() != k)) {
      est.Fail("estimators_ does not match the number of classes");
    }
  }
  return head;
}

// --- HistGradientBoosting ---------------------------------------------------

std::unique_ptr<Head> HistGradientBoosting(const Obj& est, size_t n_in, bool classifier) {
  const size_t n_features =
      est.Has("_n_features") ? static_cast<size_t>(est.Int("_n_features")) : FeaturesIn(est, n_in);
  const std::string loss_type = est.Child("_loss").short_name();
  HistGradientBoostingHead::Loss kind;
  if (loss_type == "HalfBinomialLoss" && classifier) {
    kind = HistGradientBoostingHead::Loss::kBinomial;
  } else if (loss_type == "HalfMultinomialLoss" && classifier) {
    kind = HistGradientBoostingHead::Loss::kMultinomial;
  } else if (!classifier && (loss_type == "HalfSquaredError" || loss_type == "AbsoluteError" ||
                             loss_type == "PinballLoss")) {
    kind = HistGradientBoostingHead::Loss::kIdentity;
  } else if (!classifier && loss_type == "HalfPoissonLoss") {
    kind = HistGradientBoostingHead::Loss::kLog;
  } else {
    UnsupportedError(est.type_name(), "loss " + loss_type);
  }
  const std::vector<double> baseline =
      est.Array("_baseline_prediction").ToDoubles("_baseline_prediction");
  const size_t k = baseline.size();
  if (k == 0) est.Fail("_baseline_prediction is empty");

  // BinMapper.make_known_categories_bitsets.
  std::vector<uint32_t> known;
  std::vector<uint32_t> f_idx_map;
  const Obj mapper = est.Child("_bin_mapper");
  if (!mapper.IsNone("is_categorical_")) {
    const std::vector<int64_t> is_cat = mapper.Array("is_categorical_").ToInts("is_categorical_");
    if (is_cat.size() != n_features) mapper.Fail("is_categorical_ has the wrong size");
    f_idx_map.assign(n_features, 0);
    const Value& thresholds = mapper.Get("bin_thresholds_");
    if (!thresholds.is(Kind::kList) || thresholds.items().size() != n_features) {
      mapper.Fail("bin_thresholds_ is not a list with one array per feature");
    }
    uint32_t n_cat = 0;
    for (size_t f = 0; f < n_features; ++f) {
      if (!is_cat[f]) continue;
      f_idx_map[f] = n_cat++;
      known.resize(known.size() + HistEnsemble::kBitsetWords, 0);
      uint32_t* bits = known.data() + known.size() - HistEnsemble::kBitsetWords;
      for (double v : est.tree()
                          .Array(thresholds.items()[f], "bin_thresholds_")
                          .ToDoubles("bin_thresholds_")) {
        // set_bitset_memoryview(bitset, <uint8>value)
        const uint32_t c = static_cast<uint32_t>(static_cast<int32_t>(v)) & 0xFFu;
        bits[c >> 5] |= 1u << (c & 31);
      }
    }
  }

  HistEnsemble trees(n_features, k, std::move(known), std::move(f_idx_map));
  const Value& predictors = est.Get("_predictors");
  if (!predictors.is(Kind::kList) || predictors.items().empty()) est.Fail("_predictors is empty");
  for (size_t i = 0; i < predictors.items().size(); ++i) {
    const Value& iteration = est.tree().Deref(predictors.items()[i]);
    if (!iteration.is(Kind::kList) || iteration.items().size() != k) {
      est.Fail("_predictors[" + std::to_string(i) + "] does not hold one predictor per output");
    }
    for (size_t j = 0; j < k; ++j) {
      const Obj p(est.tree(), iteration.items()[j],
                  "_predictors[" + std::to_string(i) + "][" + std::to_string(j) + "]");
      const NdArray nodes = p.Array("nodes");
      const std::string what = "TreePredictor.nodes";
      HistTreeSpec spec;
      spec.node_count = nodes.size();
      spec.value = nodes.FieldDoubles("value", what);
      spec.num_threshold = nodes.FieldDoubles("num_threshold", what);
      spec.feature_idx = nodes.FieldInts("feature_idx", what);
      auto u32 = [&](const char* field) {
        std::vector<uint32_t> out;
        for (int64_t v : nodes.FieldInts(field, what)) {
          if (v < 0 || v > UINT32_MAX) p.Fail(std::string("nodes.") + field + " out of range");
          out.push_back(static_cast<uint32_t>(v));
        }
        return out;
      };
      auto u8 = [&](const char* field) {
        std::vector<uint8_t> out;
        for (int64_t v : nodes.FieldInts(field, what)) out.push_back(v != 0);
        return out;
      };
      spec.count = u32("count");
      spec.left = u32("left");
      spec.right = u32("right");
      spec.bitset_idx = u32("bitset_idx");
      spec.missing_go_to_left = u8("missing_go_to_left");
      spec.is_leaf = u8("is_leaf");
      spec.is_categorical = u8("is_categorical");
      if (p.Has("raw_left_cat_bitsets") && !p.IsNone("raw_left_cat_bitsets")) {
        for (int64_t v : p.Array("raw_left_cat_bitsets").ToInts("raw_left_cat_bitsets")) {
          spec.raw_left_cat_bitsets.push_back(static_cast<uint32_t>(v));
        }
      }
      spec.column = j;
      trees.AddTree(spec);
    }
  }
  trees.Finish();
  auto head = std::make_unique<HistGradientBoostingHead>(std::move(trees), baseline, kind);
  head->n_in = n_features;
  head->check = InputCheck::kNone;
  if (classifier) {
    head->classes = ReadClasses(est);
    const size_t c = head->classes->size();
    if ((kind == HistGradientBoostingHead::Loss::kBinomial && (c != 2 || k != 1)) ||
        (kind == HistGradientBoostingHead::Loss::kMultinomial && c != k)) {
      est.Fail("the predictors do not match the number of classes");
    }
  }
  return head;
}

}  // namespace

std::unique_ptr<Head> CompileTreeHead(const Obj& est, size_t n_in) {
  const std::string& t = est.type_name();
  if (kForestClassifiers.count(t)) return ForestClassifier(est, n_in, false);
  if (kTreeClassifiers.count(t)) return ForestClassifier(est, n_in, true);
  if (kForestRegressors.count(t)) return ForestRegressor(est, n_in, false);
  if (kTreeRegressors.count(t)) return ForestRegressor(est, n_in, true);
  if (t == "sklearn.ensemble._gb.GradientBoostingClassifier")
    return GradientBoosting(est, n_in, true);
  if (t == "sklearn.ensemble._gb.GradientBoostingRegressor")
    return GradientBoosting(est, n_in, false);
  const std::string hgb = "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.";
  if (t == hgb + "HistGradientBoostingClassifier") return HistGradientBoosting(est, n_in, true);
  if (t == hgb + "HistGradientBoostingRegressor") return HistGradientBoosting(est, n_in, false);
  return nullptr;
}

}  // namespace ark::runtime
