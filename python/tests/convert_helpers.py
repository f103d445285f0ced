"""Helpers of test_convert.py: the estimator matrix, the source formats, and
a strict output comparison.

MODELS: name -> (factory, data kind); fitted() fits once per name.
FORMATS: name -> function(model, path) writing the model in that format
(pickle protocols 2-5, joblib plain and compressed, cloudpickle).
assert_identical_outputs: every prediction method gives bit-identical arrays.
"""
import functools
import pickle

import cloudpickle
import joblib
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.ensemble import (
    AdaBoostClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.impute import SimpleImputer
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import (
    ElasticNet,
    LinearRegression,
    LogisticRegression,
    PoissonRegressor,
    Ridge,
    SGDClassifier,
)
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    QuantileTransformer,
    SplineTransformer,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
           "score_samples")


def _customers():
    rng = np.random.RandomState(0)
    n = 300
    frame = pd.DataFrame({
        "age": rng.randint(18, 80, n).astype(float),
        "income": rng.lognormal(10, 1, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille"], n),
        "plan": rng.choice(["free", "pro", "team"], n),
    })
    y = ((frame["age"] > 40) ^ (frame["city"] == "nice")).astype(int).to_numpy()
    return frame, y


def _column_pipeline(final):
    return make_pipeline(
        ColumnTransformer([
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
        ]),
        final)


# name -> (factory, data): "clf" binary classification, "multi" 3 classes,
# "reg" regression, "frame" a DataFrame with strings, "text" documents,
# "pos" non-negative features.
MODELS = {
    "LogisticRegression": (lambda: LogisticRegression(max_iter=500), "multi"),
    "SGDClassifier": (lambda: SGDClassifier(random_state=0), "clf"),
    "LinearSVC": (lambda: LinearSVC(random_state=0, max_iter=5000), "clf"),
    "SVC": (lambda: SVC(probability=True, random_state=0), "multi"),
    "SVR": (lambda: SVR(), "reg"),
    "KNeighborsClassifier": (lambda: KNeighborsClassifier(algorithm="kd_tree"), "multi"),
    "KNeighborsRegressor": (lambda: KNeighborsRegressor(algorithm="ball_tree"), "reg"),
    "NearestNeighbors": (lambda: NearestNeighbors(n_neighbors=3), "reg"),
    "DecisionTreeClassifier": (lambda: DecisionTreeClassifier(random_state=0), "multi"),
    "DecisionTreeRegressor": (lambda: DecisionTreeRegressor(max_depth=6, random_state=0), "reg"),
    "RandomForestClassifier": (lambda: RandomForestClassifier(20, random_state=0), "multi"),
    "RandomForestRegressor": (lambda: RandomForestRegressor(10, random_state=0), "reg"),
    "ExtraTreesRegressor": (lambda: ExtraTreesRegressor(10, random_state=0), "reg"),
    "GradientBoostingClassifier": (lambda: GradientBoostingClassifier(n_estimators=20, random_state=0), "multi"),
    "GradientBoostingRegressor": (lambda: GradientBoostingRegressor(n_estimators=20, random_state=0), "reg"),
    "HistGradientBoostingClassifier": (lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0), "multi"),
    "HistGradientBoostingRegressor": (lambda: HistGradientBoostingRegressor(max_iter=20, loss="poisson"), "pos_reg"),
    "AdaBoostClassifier": (lambda: AdaBoostClassifier(n_estimators=10, random_state=0), "clf"),
    "IsolationForest": (lambda: IsolationForest(n_estimators=20, random_state=0), "clf"),
    "GaussianNB": (lambda: GaussianNB(), "multi"),
    "MultinomialNB": (lambda: MultinomialNB(), "pos"),
    "LinearDiscriminantAnalysis": (lambda: LinearDiscriminantAnalysis(), "multi"),
    "QuadraticDiscriminantAnalysis": (lambda: QuadraticDiscriminantAnalysis(), "multi"),
    "GaussianProcessRegressor": (lambda: GaussianProcessRegressor(random_state=0), "small_reg"),
    "MLPClassifier": (lambda: MLPClassifier((16,), max_iter=300, random_state=0), "multi"),
    "Ridge": (lambda: Ridge(alpha=0.5), "reg"),
    "ElasticNet": (lambda: ElasticNet(alpha=0.1), "reg"),
    "PoissonRegressor": (lambda: PoissonRegressor(), "pos_reg"),
    "PLSRegression": (lambda: PLSRegression(2), "reg"),
    "KMeans": (lambda: KMeans(3, n_init=3, random_state=0), "multi"),
    "MiniBatchKMeans": (lambda: MiniBatchKMeans(3, n_init=3, random_state=0), "multi"),
    "PCA": (lambda: PCA(3, random_state=0), "multi"),
    "TruncatedSVD": (lambda: TruncatedSVD(3, random_state=0), "multi"),
    "QuantileTransformer": (lambda: QuantileTransformer(n_quantiles=50), "multi"),
    "KBinsDiscretizer": (lambda: KBinsDiscretizer(4, encode="onehot"), "multi"),
    "SplineTransformer": (lambda: SplineTransformer(), "multi"),
    "Nystroem": (lambda: Nystroem(n_components=20, random_state=0), "multi"),
    "CalibratedClassifierCV": (lambda: CalibratedClassifierCV(LinearSVC(random_state=0, max_iter=5000), cv=3), "clf"),
    "StackingClassifier": (lambda: StackingClassifier(
        [("lr", LogisticRegression(max_iter=500)), ("dt", DecisionTreeClassifier(max_depth=3))],
        cv=3), "multi"),
    "VotingClassifier": (lambda: VotingClassifier(
        [("nb", GaussianNB()), ("rf", RandomForestClassifier(5, random_state=0))], voting="soft"), "multi"),
    "Pipeline(scaler,poly,ridge)": (lambda: make_pipeline(MinMaxScaler(), PolynomialFeatures(2), Ridge()), "reg"),
    "Pipeline(imputer,log1p,logreg)": (lambda: make_pipeline(
        SimpleImputer(), FunctionTransformer(np.log1p), LogisticRegression(max_iter=500)), "pos"),
    "Pipeline(tfidf,logreg)": (lambda: make_pipeline(TfidfVectorizer(), LogisticRegression()), "text"),
    "Pipeline(columns,rf)": (lambda: _column_pipeline(RandomForestClassifier(10, random_state=0)), "frame"),
    "Pipeline(columns,hgb)": (lambda: _column_pipeline(HistGradientBoostingClassifier(max_iter=10)), "frame"),
    "GridSearchCV": (lambda: GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, cv=3),
                     "clf"),
    "TransformedTargetRegressor": (lambda: TransformedTargetRegressor(
        regressor=Ridge(), func=np.log1p, inverse_func=np.expm1), "pos_reg"),
}


@functools.lru_cache(maxsize=None)
def data(kind):
    """(X_fit, y, X_eval) for a data kind."""
    rng = np.random.RandomState(42)
    if kind == "frame":
        X, y = _customers()
        return X, y, X
    if kind == "text":
        words = ["red", "green", "blue", "cat", "dog", "fast", "slow", "big"]
        docs = [" ".join(rng.choice(words, 5)) for _ in range(120)]
        y = np.array(["cat" in d for d in docs], dtype=int)
        return docs, y, docs
    n = 60 if kind == "small_reg" else 240
    X = rng.normal(size=(n, 5))
    if kind in ("pos", "pos_reg"):
        X = np.abs(X)
    if kind in ("reg", "small_reg"):
        y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=n)
    elif kind == "pos_reg":
        y = np.exp(X @ np.array([0.3, -0.2, 0.1, 0.2, 0.0]))
    elif kind == "multi":
        y = (X[:, 0] > 0.3).astype(int) + (X[:, 1] > 0).astype(int)
    else:
        score = X[:, 0] + X[:, 1]
        y = (score > np.median(score)).astype(int)
    X_eval = rng.normal(size=(50, 5))
    if kind in ("pos", "pos_reg"):
        X_eval = np.abs(X_eval)
    return X, y, X_eval


@functools.lru_cache(maxsize=None)
def fitted(name):
    factory, kind = MODELS[name]
    X, y, _ = data(kind)
    return factory().fit(X, y)


def eval_data(name):
    return data(MODELS[name][1])[2]


def _pickle_writer(protocol):
    def write(model, path):
        with open(path, "wb") as f:
            pickle.dump(model, f, protocol=protocol)
    return write


def _joblib_writer(codec):
    def write(model, path):
        joblib.dump(model, path, compress=(codec, 3) if codec else 0)
    return write


def _cloudpickle_writer(model, path):
    with open(path, "wb") as f:
        cloudpickle.dump(model, f)


FORMATS = {
    **{f"pickle{p}": _pickle_writer(p) for p in (2, 3, 4, 5)},
    "joblib": _joblib_writer(None),
    **{f"joblib-{c}": _joblib_writer(c) for c in ("zlib", "gzip", "bz2", "lzma", "xz")},
    "cloudpickle": _cloudpickle_writer,
}


def assert_identical(actual, expected, what):
    """Same type, dtype, shape and bytes (NaN payloads included)."""
    if hasattr(expected, "toarray"):
        assert type(actual) is type(expected), what
        expected, actual = expected.toarray(), actual.toarray()
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.hasobject:
        assert actual.tolist() == expected.tolist(), what
    else:
        assert np.ascontiguousarray(actual).tobytes() == np.ascontiguousarray(expected).tobytes(), \
            f"{what}: values differ"


def assert_identical_outputs(model, converted, X):
    assert type(converted) is type(model)
    compared = 0
    for method in METHODS:
        if not hasattr(model, method):
            continue
        with np.errstate(all="ignore"):
            expected = getattr(model, method)(X)
            actual = getattr(converted, method)(X)
        if isinstance(expected, tuple):  # NearestNeighbors-like outputs
            for a, e in zip(actual, expected):
                assert_identical(a, e, method)
        else:
            assert_identical(actual, expected, method)
        compared += 1
    if hasattr(model, "kneighbors"):
        for a, e in zip(converted.kneighbors(X), model.kneighbors(X)):
            assert_identical(a, e, "kneighbors")
        compared += 1
    assert compared, "no prediction method compared"
