"""Every scikit-learn classifier, regressor, transformer and clusterer survives
ark.dump / ark.load with identical outputs.

Each estimator of sklearn.utils.all_estimators() of those types is built with
scikit-learn's own test helper (_construct_instance, set_random_state), fitted
on a small standard dataset shaped by its tags (positive X, multi-output y,
binary y, labels, text, dicts...), dumped, loaded (plainly and with
mmap_mode="r"), and every prediction method it has must give bit-identical
outputs. The test prints `round-trip: N of M estimators`; LEFT_OUT lists the
estimators not attempted, each with its reason.
"""
import io
import warnings

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.datasets import load_iris
from sklearn.utils import all_estimators
from sklearn.utils._tags import _safe_tags
from sklearn.utils._testing import set_random_state
from sklearn.utils.estimator_checks import _construct_instance, _set_checking_parameters

import ark

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
           "score_samples")

# Estimators not attempted, with the reason. (Empty: every estimator is tried.)
LEFT_OUT = {}

# Cross decompositions need several targets for two components.
TWO_TARGETS = {"CCA", "PLSCanonical", "PLSSVD"}

TEXT = ["the cat sat", "the dog ran", "a cat and a dog", "birds fly high", "the bird sat",
        "dogs and cats", "a fish swims", "the fish and the cat"] * 3


def _iris():
    X, y = load_iris(return_X_y=True)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _construct(name, cls):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    if name == "ColumnTransformer":
        return cls([("scale", StandardScaler(), [0, 1]), ("pca", PCA(1), [2, 3])])
    if name == "FeatureUnion":
        return cls([("pca", PCA(2)), ("scale", StandardScaler())])
    if name == "SparseCoder":
        return cls(dictionary=np.random.RandomState(0).normal(size=(3, 4)))
    return _construct_instance(cls)


def _case(name, cls):
    """(estimator, fit args, rows to predict on)."""
    X, y_class = _iris()
    y_reg = X @ np.array([1.5, -2.0, 0.5, 1.0]) + 3.0
    estimator = _construct(name, cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _set_checking_parameters(estimator)  # scikit-learn's settings for small data
    set_random_state(estimator, 0)
    tags = _safe_tags(estimator)
    x_types = tags["X_types"]
    if "dict" in x_types:
        docs = [{w: 1.0 + i % 3 for w in doc.split()} for i, doc in enumerate(TEXT)]
        return estimator, (docs,), docs
    if "string" in x_types and "2darray" not in x_types:
        return estimator, (TEXT,), TEXT
    if "1dlabels" in x_types:
        labels = np.array(["setosa", "versicolor", "virginica"])[y_class]
        return estimator, (labels,), labels
    if "2dlabels" in x_types:
        labels = [tuple(sorted({"a" if v > 0 else "b", "c" if i % 2 else "d"}))
                  for i, v in enumerate(y_reg - y_reg.mean())]
        return estimator, (labels,), labels
    if "categorical" in x_types:
        cats = np.array([["red", "small"], ["blue", "large"], ["green", "small"], ["red", "large"]]
                        * 10, dtype=object)
        return estimator, (cats,), cats
    if "1darray" in x_types:
        return estimator, (X[:, 0], y_reg), X[:, 0]
    if tags["pairwise"]:
        kernel = X @ X.T
        return estimator, (kernel, y_class), kernel
    if tags["multioutput_only"] or name in TWO_TARGETS:
        y = np.c_[y_reg, y_reg * 0.5 + X[:, 0]] if is_regressor(estimator) or name in TWO_TARGETS \
            else np.c_[(y_class == 2).astype(int), (X[:, 0] > 5.8).astype(int)]
        return estimator, (X, y), X
    if is_classifier(estimator):
        y = (y_class == 2).astype(int) if tags["binary_only"] else y_class
        return estimator, (X, y), X
    if is_regressor(estimator):
        y = y_reg - y_reg.min() + 1.0 if tags["requires_positive_y"] else y_reg
        return estimator, (X, y), X
    return estimator, (X, y_class), X


def _outputs(model, rows):
    """Outputs of every prediction method; for clusterers without one, their
    fitted labels. Rows are copied: some estimators take shortcuts when
    called with the very array they were fitted on (X is self.X_)."""
    rows = rows.copy() if hasattr(rows, "copy") else list(rows)
    out = {}
    for method in METHODS:
        if not hasattr(model, method):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = getattr(model, method)(rows)
        if hasattr(result, "toarray"):
            result = result.toarray()
        out[method] = result
    if not out and hasattr(model, "labels_"):
        out["labels_"] = model.labels_
    return out


def _identical(a, b):
    if isinstance(a, (list, tuple)):  # e.g. MultiOutputClassifier.predict_proba
        return type(a) is type(b) and len(a) == len(b) and all(map(_identical, a, b))
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:
        return all(x == y or (x != x and y != y) for x, y in zip(a.ravel(), b.ravel()))
    if a.dtype.kind in "fc":
        return a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def _roundtrip(name, cls):
    """None on success, else a description of the difference."""
    estimator, fit_args, rows = _case(name, cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(*fit_args)
    expected = _outputs(estimator, rows)
    if not expected:
        return "no prediction method to compare"
    buffer = io.BytesIO()
    ark.dump(estimator, buffer)
    data = buffer.getvalue()
    for mode in (None, "r"):
        loaded = ark.loads(data, mmap_mode=mode)
        if type(loaded) is not type(estimator):
            return f"loaded a {type(loaded)}"
        actual = _outputs(loaded, rows)
        for method, value in expected.items():
            if method not in actual or not _identical(value, actual[method]):
                return f"{method} differs (mmap_mode={mode!r})"
    return None


def _population():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = all_estimators(type_filter=["classifier", "regressor", "transformer", "cluster"])
    return sorted(dict(found).items())


def test_every_estimator_round_trips():
    population = _population()
    failures = {}
    passed = 0
    for name, cls in population:
        if name in LEFT_OUT:
            continue
        try:
            problem = _roundtrip(name, cls)
        except Exception as e:  # report every estimator, not just the first failure
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            passed += 1
        else:
            failures[name] = problem
    total = len(population)
    print(f"\nround-trip: {passed} of {total} estimators")
    for name, reason in sorted(LEFT_OUT.items()):
        print(f"  left out {name}: {reason}")
    for name, problem in sorted(failures.items()):
        print(f"  FAILED {name}: {problem}")
    assert passed >= 0.97 * total, failures
    assert not failures, failures


def test_left_out_have_reasons():
    # Today nothing is left out; an entry added later must say why.
    for name, reason in LEFT_OUT.items():
        assert isinstance(reason, str) and reason.strip(), name
