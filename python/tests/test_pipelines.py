"""End-to-end round trips of pipelines as people write them: each is dumped
and loaded with ark, and the loaded model must give identical outputs for
every prediction method it has."""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC

import userpkg

import ark  # noqa: E402

from ark.errors import UntrustedTypeError  # noqa: E402

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "score_samples")


def assert_same_outputs(model, loaded, X):
    assert type(loaded) is type(model)
    compared = 0
    for method in METHODS:
        if not hasattr(model, method):
            continue
        with np.errstate(divide="ignore"):  # predict_log_proba of a forest: log(0)
            expected = getattr(model, method)(X)
            actual = getattr(loaded, method)(X)
        if hasattr(expected, "toarray"):
            expected, actual = expected.toarray(), actual.toarray()
        np.testing.assert_array_equal(actual, expected, err_msg=method)
        compared += 1
    assert compared, "no prediction method compared"


def roundtrip(model, path, **dump_options):
    ark.dump(model, str(path), **dump_options)
    return ark.load(str(path))


@pytest.fixture(scope="module")
def customers():
    rng = np.random.RandomState(42)
    n = 400
    frame = pd.DataFrame(
        {
            "age": rng.randint(18, 90, n).astype(float),
            "balance": rng.lognormal(8, 1.5, n),
            "tenure": rng.randint(0, 30, n),
            "country": rng.choice(["fr", "de", "es", "it"], n).astype(object),
            "plan": rng.choice(["basic", "plus", "pro"], n).astype(object),
        }
    )
    churn = ((frame["age"] < 35) & (frame["plan"] == "basic")) | (rng.rand(n) < 0.1)
    return frame, np.where(churn, "churn", "stay")


def test_column_transformer_and_random_forest_on_a_dataframe(customers, tmp_path):
    X, y = customers
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "balance", "tenure"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["country", "plan"]),
                    ]
                ),
            ),
            ("forest", RandomForestClassifier(n_estimators=50, random_state=0)),
        ]
    ).fit(X[:300], y[:300])
    loaded = roundtrip(
        model,
        tmp_path / "churn.ark",
        validation_data=X[300:320],
        training_data=(X[:300], y[:300]),
        metrics={"accuracy": float(model.score(X[300:], y[300:]))},
    )
    assert_same_outputs(model, loaded, X[300:])
    unseen = X[300:310].copy()
    unseen["country"] = "pt"  # handle_unknown="ignore" keeps working after load
    assert_same_outputs(model, loaded, unseen)
    assert list(loaded.feature_names_in_) == list(X.columns)
    info = ark.info(str(tmp_path / "churn.ark"))
    assert info["estimator"]["summary"] == "Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), RandomForestClassifier)"
    assert info["training_data"]["class_distribution"]["labels"] == ["churn", "stay"]


def test_compressed_and_in_memory_round_trips(customers, tmp_path):
    X, y = customers
    model = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["country", "plan"])], remainder="passthrough"),
        RandomForestClassifier(n_estimators=20, random_state=0),
    ).fit(X, y)
    for compress in ("zstd", ("lzma", 6), ("zlib", 3), 3):
        assert_same_outputs(model, roundtrip(model, tmp_path / "c.ark", compress=compress), X)
    assert_same_outputs(model, ark.loads(ark.dumps(model)), X)


def test_function_transformer_log1p(tmp_path):
    X, y = make_regression(n_samples=200, n_features=6, random_state=0)
    X = np.abs(X)
    model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), Ridge(alpha=0.3)).fit(X, y)
    loaded = roundtrip(model, tmp_path / "log1p.ark", validation_data=X[:10])
    assert loaded[0].func is np.log1p
    assert_same_outputs(model, loaded, X)


def test_grid_search_with_best_estimator(tmp_path):
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)),
        {"svc__C": [0.1, 1.0, 10.0], "svc__gamma": ["scale", 0.1]},
        cv=3,
    ).fit(X, y)
    loaded = roundtrip(search, tmp_path / "search.ark", validation_data=X[:20])
    assert loaded.best_params_ == search.best_params_
    assert loaded.best_score_ == search.best_score_
    assert sorted(loaded.cv_results_) == sorted(search.cv_results_)
    np.testing.assert_array_equal(loaded.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"])
    assert_same_outputs(search, loaded, X)
    assert_same_outputs(search.best_estimator_, loaded.best_estimator_, X)


def test_user_defined_estimator_needs_trust(tmp_path):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    model = make_pipeline(userpkg.QuantileClipper(lower=0.1), LogisticRegression()).fit(X, y)
    path = str(tmp_path / "custom.ark")
    ark.dump(model, path, validation_data=X[:10])
    assert ark.get_untrusted_types(path) == ["userpkg.QuantileClipper"]
    with pytest.raises(UntrustedTypeError) as caught:
        ark.load(path)
    assert caught.value.types == ["userpkg.QuantileClipper"]
    loaded = ark.load(path, trusted=["userpkg.QuantileClipper"])
    assert isinstance(loaded[0], userpkg.QuantileClipper)
    assert loaded[0].lower == 0.1
    assert_same_outputs(model, loaded, X)
