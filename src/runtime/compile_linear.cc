// Compiles scikit-learn's linear models: coef_ and intercept_ plus, for
// classifiers, classes_ and the rule that turns decision values into
// probabilities.
#include <map>
#include <string>
#include <utility>

#include "compile.h"
#include "linear_heads.h"

namespace ark::runtime {

using model::Kind;

namespace {

enum class Family { kClassifier, kRegressor };

const std::map<std::string, Family> kLinearModels = {
    {"sklearn.linear_model._logistic.LogisticRegression", Family::kClassifier},
    {"sklearn.linear_model._logistic.LogisticRegressionCV", Family::kClassifier},
    {"sklearn.linear_model._ridge.RidgeClassifier", Family::kClassifier},
    {"sklearn.linear_model._ridge.RidgeClassifierCV", Family::kClassifier},
    {"sklearn.linear_model._stochastic_gradient.SGDClassifier", Family::kClassifier},
    {"sklearn.linear_model._perceptron.Perceptron", Family::kClassifier},
    {"sklearn.linear_model._passive_aggressive.PassiveAggressiveClassifier", Family::kClassifier},
    {"sklearn.svm._classes.LinearSVC", Family::kClassifier},
    {"sklearn.linear_model._base.LinearRegression", Family::kRegressor},
    {"sklearn.linear_model._ridge.Ridge", Family::kRegressor},
    {"sklearn.linear_model._ridge.RidgeCV", Family::kRegressor},
    {"sklearn.linear_model._coordinate_descent.Lasso", Family::kRegressor},
    {"sklearn.linear_model._coordinate_descent.LassoCV", Family::kRegressor},
    {"sklearn.linear_model._coordinate_descent.ElasticNet", Family::kRegressor},
    {"sklearn.linear_model._coordinate_descent.ElasticNetCV", Family::kRegressor},
    {"sklearn.linear_model._stochastic_gradient.SGDRegressor", Family::kRegressor},
    {"sklearn.linear_model._bayes.BayesianRidge", Family::kRegressor},
    {"sklearn.linear_model._huber.HuberRegressor", Family::kRegressor},
    {"sklearn.svm._classes.LinearSVR", Family::kRegressor},
};

// coef_ as rows × n, and intercept_ broadcast to rows.
void ReadCoefficients(const Obj& est, size_t n_in, std::vector<double>* coef,
                      std::vector<double>* intercept, size_t* rows) {
  const NdArray c = est.Array("coef_");
  *coef = c.ToDoubles("coef_");
  if (c.shape.size() == 1) {
    *rows = 1;
  } else if (c.shape.size() == 2) {
    *rows = c.shape[0];
  } else {
    est.Fail("coef_ is not 1-D or 2-D");
  }
  if (*rows == 0 || coef->size() != *rows * n_in) {
    est.Fail("coef_ does not have " + std::to_string(n_in) + " columns");
  }
  const model::Value& i = est.Get("intercept_");
  if (est.tree().IsNumber(i)) {
    intercept->assign(*rows, est.tree().Number(i, "intercept_"));
  } else {
    *intercept = est.Array("intercept_").ToDoubles("intercept_");
    if (intercept->size() == 1 && *rows > 1) intercept->assign(*rows, (*intercept)[0]);
    if (intercept->size() != *rows) est.Fail("intercept_ does not match coef_");
  }
}

std::string StringOr(const Obj& est, const std::string& key, const std::string& fallback) {
  const model::Value* v = est.Find(key);
  return v && v->is(Kind::kString) ? v->as_string() : fallback;
}

LinearClassifierHead::Proba ProbaRule(const Obj& est, size_t n_classes) {
  const std::string short_name = est.short_name();
  if (short_name == "LogisticRegression" || short_name == "LogisticRegressionCV") {
    // LogisticRegression.predict_proba (1.2.1).
    const std::string multi_class = StringOr(est, "multi_class", "auto");
    const std::string solver = StringOr(est, "solver", "lbfgs");
    const bool ovr = multi_class == "ovr" || multi_class == "warn" ||
                     (multi_class == "auto" && (n_classes <= 2 || solver == "liblinear"));
    return ovr ? LinearClassifierHead::Proba::kOvr : LinearClassifierHead::Proba::kMultinomial;
  }
  if (short_name == "SGDClassifier") {
    const std::string loss = StringOr(est, "loss", "hinge");
    if (loss == "log_loss" || loss == "log") return LinearClassifierHead::Proba::kOvr;
    if (loss == "modified_huber") return LinearClassifierHead::Proba::kModifiedHuber;
  }
  return LinearClassifierHead::Proba::kNone;
}

}  // namespace

std::unique_ptr<Head> CompileLinearHead(const Obj& est, size_t n_in) {
  const auto it = kLinearModels.find(est.type_name());
  if (it == kLinearModels.end()) return nullptr;
  const size_t n = FeaturesIn(est, n_in);
  std::vector<double> coef, intercept;
  size_t rows = 0;
  ReadCoefficients(est, n, &coef, &intercept, &rows);
  std::unique_ptr<Head> head;
  if (it->second == Family::kClassifier) {
    auto classes = est.Has("classes_") ? ReadClasses(est)
                                       : ReadClasses(est.Child("_label_binarizer"), "classes_");
    const size_t c = classes->size();
    if (!((c == 2 && rows == 1) || (c > 2 && rows == c))) {
      est.Fail("coef_ has " + std::to_string(rows) + " rows for " + std::to_string(c) + " classes");
    }
    head = std::make_unique<LinearClassifierHead>(std::move(coef), std::move(intercept), n,
                                                  ProbaRule(est, c));
    head->classes = std::move(classes);
  } else {
    head = std::make_unique<LinearRegressorHead>(std::move(coef), std::move(intercept), n);
  }
  head->n_in = n;
  head->check = InputCheck::kFinite;
  return head;
}

}  // namespace ark::runtime
