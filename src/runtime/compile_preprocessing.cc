// Compiles scikit-learn's numeric preprocessing transformers into Steps.
#include <string>
#include <utility>

#include "compile.h"
#include "elementwise_step.h"

namespace ark::runtime {

namespace {

using Op = ElementwiseStep::Op;

std::vector<double> Doubles(const Obj& est, const std::string& key, size_t n) {
  std::vector<double> v;
  if (est.tree().IsNumber(est.Get(key))) {
    v.assign(1, est.Number(key));
  } else {
    v = est.Array(key).ToDoubles(key);
  }
  if (v.size() != n && v.size() != 1) est.Fail(key + " does not have one value per feature");
  return v;
}

bool BoolOr(const Obj& est, const std::string& key, bool fallback) {
  const model::Value* v = est.Find(key);
  if (!v || !est.tree().IsNumber(*v)) return fallback;
  return est.tree().Number(*v, key) != 0;
}

std::unique_ptr<Step> StandardScaler(const Obj& est, size_t n) {
  // X -= mean_ (with_mean), then X /= scale_ (with_std).
  auto step = std::make_unique<ElementwiseStep>("StandardScaler", n, InputCheck::kAllowNan);
  if (BoolOr(est, "with_mean", true) && !est.IsNone("mean_")) {
    step->AddOp(Op::kSubtract, Doubles(est, "mean_", n));
  }
  if (BoolOr(est, "with_std", true) && !est.IsNone("scale_")) {
    step->AddOp(Op::kDivide, Doubles(est, "scale_", n));
  }
  return step;
}

std::unique_ptr<Step> MinMaxScaler(const Obj& est, size_t n) {
  // X *= scale_; X += min_; then np.clip to feature_range when clip.
  auto step = std::make_unique<ElementwiseStep>("MinMaxScaler", n, InputCheck::kAllowNan);
  step->AddOp(Op::kMultiply, Doubles(est, "scale_", n));
  step->AddOp(Op::kAdd, Doubles(est, "min_", n));
  if (BoolOr(est, "clip", false)) {
    const NdArray range = est.Array("feature_range");
    std::vector<double> bounds;
    if (range.is_object()) {
      for (const model::Value& v : range.items)
        bounds.push_back(est.tree().Number(v, "feature_range"));
    } else {
      bounds = range.ToDoubles("feature_range");
    }
    if (bounds.size() != 2) est.Fail("feature_range is not a pair");
    step->AddOp(Op::kClip, bounds);
  }
  return step;
}

std::unique_ptr<Step> MaxAbsScaler(const Obj& est, size_t n) {
  auto step = std::make_unique<ElementwiseStep>("MaxAbsScaler", n, InputCheck::kAllowNan);
  step->AddOp(Op::kDivide, Doubles(est, "scale_", n));
  return step;
}

std::unique_ptr<Step> RobustScaler(const Obj& est, size_t n) {
  auto step = std::make_unique<ElementwiseStep>("RobustScaler", n, InputCheck::kAllowNan);
  if (BoolOr(est, "with_centering", true) && !est.IsNone("center_")) {
    step->AddOp(Op::kSubtract, Doubles(est, "center_", n));
  }
  if (BoolOr(est, "with_scaling", true) && !est.IsNone("scale_")) {
    step->AddOp(Op::kDivide, Doubles(est, "scale_", n));
  }
  return step;
}

}  // namespace

std::unique_ptr<Step> CompilePreprocessingStep(const Obj& est, size_t n_in) {
  const std::string& t = est.type_name();
  const std::string data = "sklearn.preprocessing._data.";
  const size_t n = FeaturesIn(est, n_in);
  if (t == data + "StandardScaler") return StandardScaler(est, n);
  if (t == data + "MinMaxScaler") return MinMaxScaler(est, n);
  if (t == data + "MaxAbsScaler") return MaxAbsScaler(est, n);
  if (t == data + "RobustScaler") return RobustScaler(est, n);
  return nullptr;
}

}  // namespace ark::runtime
