"""Tests of ark._metadata: collect(), the data fingerprint, requirements(),
and (end to end, once ark.dump exists) the metadata that ark.info returns."""
import datetime
import json
import time

import numpy as np
import pandas as pd
import pytest
import scipy
import scipy.sparse as sp
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ark import _metadata
from ark._metadata import check_versions, collect, fingerprint, requirements
from ark._version import __version__


def strict_json(value):
    """JSON text of value; fails on NaN/inf or non-JSON types."""
    return json.dumps(value, allow_nan=False)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "age": rng.uniform(18, 80, 120),
            "income": rng.lognormal(10, 1, 120),
            "city": rng.choice(["paris", "lyon", "nice"], 120).astype(object),
        }
    )
    y = rng.choice(["churn", "stay"], 120, p=[0.3, 0.7])
    return X, y


@pytest.fixture(scope="module")
def pipeline(frame):
    X, y = frame
    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ]
    )
    model = Pipeline([("prep", columns), ("clf", RandomForestClassifier(n_estimators=5, random_state=0))])
    return model.fit(X, y)


def test_versions_platform_and_time(pipeline):
    meta = collect(pipeline)
    strict_json(meta)
    assert meta["metadata_version"] == 1
    assert meta["versions"] == {
        "ark": __version__,
        "python": meta["versions"]["python"],
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    assert meta["platform"]["machine"]
    created = meta["created_at"]
    assert created.endswith("Z")
    when = datetime.datetime.fromisoformat(created[:-1] + "+00:00")
    assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 60


def test_estimator_description(pipeline):
    info = collect(pipeline)["estimator"]
    assert info["type"] == "sklearn.pipeline.Pipeline"
    assert info["summary"] == "Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), RandomForestClassifier)"
    assert info["kind"] == "classifier"
    assert info["n_features_in"] == 3
    assert info["feature_names_in"] == ["age", "income", "city"]
    assert info["classes"] == ["churn", "stay"]
    # Nested parameters: estimators become {"class", "params"}.
    steps = info["params"]["steps"]
    assert [name for name, _ in steps] == ["prep", "clf"]
    forest = steps[1][1]
    assert forest["class"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert forest["params"]["n_estimators"] == 5
    encoder = steps[0][1]["params"]["transformers"][1]
    assert encoder[0] == "cat" and encoder[2] == ["city"]
    assert encoder[1]["params"]["handle_unknown"] == "ignore"
    assert encoder[1]["params"]["dtype"] == "numpy.float64"


def test_params_functions_arrays_and_specials_are_json_safe():
    model = make_pipeline(FunctionTransformer(np.log1p), LinearRegression())
    X = np.abs(np.random.RandomState(1).randn(30, 4))
    model.fit(X, X.sum(axis=1))
    info = collect(model)["estimator"]
    assert info["summary"] == "Pipeline(FunctionTransformer, LinearRegression)"
    assert info["params"]["steps"][0][1]["params"]["func"] == "numpy.log1p"
    assert info["kind"] == "regressor"
    assert "classes" not in info

    # Non-finite floats, big and small arrays, sets, functions.
    rendered = _metadata.to_json(
        {
            "nan": float("nan"),
            "inf": np.float32("inf"),
            "ninf": -np.inf,
            "small": np.arange(3),
            "big": np.zeros((100, 10)),
            "set": {3, 1, 2},
            "func": json.dumps,
            "cls": StandardScaler,
            1: "int key",
        }
    )
    strict_json(rendered)
    assert rendered["nan"] == "nan" and rendered["inf"] == "inf" and rendered["ninf"] == "-inf"
    assert rendered["small"] == [0, 1, 2]
    assert rendered["big"] == {"dtype": "float64", "shape": [100, 10]}
    assert rendered["set"] == [1, 2, 3]
    assert rendered["func"] == "json.dumps"
    assert rendered["cls"] == "sklearn.preprocessing._data.StandardScaler"
    assert rendered["1"] == "int key"


def test_unfitted_and_meta_estimators():
    meta = collect(LogisticRegression(C=0.5))
    strict_json(meta)
    assert meta["estimator"]["params"]["C"] == 0.5
    assert "n_features_in" not in meta["estimator"]

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    info = collect(search)["estimator"]
    assert info["summary"] == "GridSearchCV(LogisticRegression)"
    assert info["params"]["param_grid"] == {"C": [0.1, 1.0]}
    assert info["classes"] == [0, 1]
    assert info["n_features_in"] == 4


def test_training_data(frame, pipeline):
    X, y = frame
    meta = collect(pipeline, training_data=(X, y))
    data = meta["training_data"]
    assert data["n_samples"] == 120 and data["n_features"] == 3
    assert data["X_sha256"] == fingerprint(X) and data["y_sha256"] == fingerprint(y)
    distribution = data["class_distribution"]
    assert distribution["labels"] == ["churn", "stay"]
    assert sum(distribution["counts"]) == 120
    assert distribution["counts"][0] == int(np.sum(y == "churn"))

    alone = collect(pipeline, training_data=X)["training_data"]
    assert "y_sha256" not in alone and "class_distribution" not in alone

    regressor = LinearRegression().fit(np.eye(3), [1.0, 2.0, 3.0])
    assert "class_distribution" not in collect(regressor, training_data=(np.eye(3), [1.0, 2.0, 3.0]))["training_data"]


def test_fingerprint_is_deterministic_and_sensitive():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4)
    digest = fingerprint(X)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    # Same values, other memory layout or byte order: same fingerprint.
    assert fingerprint(np.asfortranarray(X)) == digest
    assert fingerprint(X.astype(">f8")) == digest
    assert fingerprint(X.tolist()) == digest
    # Any change of value, dtype or shape: another fingerprint.
    changed = X.copy()
    changed[17, 2] = np.nextafter(changed[17, 2], 1.0)
    assert fingerprint(changed) != digest
    assert fingerprint(X.astype(np.float32)) != digest
    assert fingerprint(X.reshape(100, 2)) != digest


def test_fingerprint_known_value():
    # Fixed by the definition in docs/METADATA.md; a change breaks every stored fingerprint.
    import hashlib
    import struct

    def record(data):
        return struct.pack("<Q", len(data)) + data

    array = np.arange(6, dtype=np.int64).reshape(2, 3)
    header = b'{"dtype":"<i8","kind":"ndarray","shape":[2,3]}'
    expected = hashlib.sha256(record(header) + record(array.tobytes())).hexdigest()
    assert fingerprint(array) == "sha256:" + expected


def test_fingerprint_of_dataframes_series_sparse_and_objects():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", None, "z"]})
    digest = fingerprint(df)
    assert fingerprint(df.copy()) == digest
    assert fingerprint(df.set_index(pd.Index([10, 11, 12]))) == digest  # the index is ignored
    assert fingerprint(df.rename(columns={"b": "c"})) != digest
    assert fingerprint(df[["b", "a"]]) != digest
    assert fingerprint(df.astype({"b": "category"})) != digest
    other = df.copy()
    other.loc[2, "b"] = "y"
    assert fingerprint(other) != digest
    # Object arrays: type-tagged values, so 1 and "1" and 1.0 differ.
    assert len({fingerprint(np.array([v], dtype=object)) for v in (1, "1", 1.0, True, None)}) == 5
    series = pd.Series([1, 2, 3], name="y")
    assert fingerprint(series) != fingerprint(series.rename("z"))
    dense = np.array([[0.0, 1.0], [2.0, 0.0]])
    assert fingerprint(sp.csr_matrix(dense)) == fingerprint(sp.csc_matrix(dense))
    assert fingerprint(sp.csr_matrix(dense)) != fingerprint(dense)


def test_user_fields():
    model = LinearRegression()
    meta = collect(
        model,
        metrics={"f1": np.float64(0.89), "auc": float("nan"), "per_class": np.array([0.5, 0.25])},
        tags={"team": "risk"},
        description="fraud detector",
        extra={"owner": {"name": "ada", "ids": (1, 2)}},
    )
    strict_json(meta)
    assert meta["metrics"] == {"f1": 0.89, "auc": "nan", "per_class": [0.5, 0.25]}
    assert meta["tags"] == {"team": "risk"}
    assert meta["description"] == "fraud detector"
    assert meta["extra"] == {"owner": {"name": "ada", "ids": [1, 2]}}
    with pytest.raises(TypeError, match="extra"):
        collect(model, extra={"model": object()})
    with pytest.raises(TypeError, match="metrics"):
        collect(model, metrics={"m": LinearRegression()})
    with pytest.raises(TypeError, match="description"):
        collect(model, description=3)


def test_environment_lock_and_requirements(pipeline):
    meta = collect(pipeline)
    lock = meta["environment"]
    assert lock == sorted(lock, key=str.lower)
    assert f"scikit-learn=={sklearn.__version__}" in lock
    assert f"numpy=={np.__version__}" in lock
    assert all(entry.count("==") == 1 for entry in lock)
    text = requirements(meta)
    assert text.startswith("# environment that saved Pipeline(")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == lock
    assert requirements({}) == "" and requirements(None) == ""


def test_collect_is_fast(pipeline, frame):
    collect(pipeline)  # warms the cached environment lock
    X, y = frame
    started = time.perf_counter()
    for _ in range(10):
        collect(pipeline, training_data=(X, y), metrics={"f1": 0.9})
    per_call = (time.perf_counter() - started) / 10
    # The target is ~50 ms; leave room for a loaded CI machine.
    assert per_call < 0.2, per_call


def test_info_end_to_end(tmp_path, frame, pipeline):
    import ark
    X, y = frame
    path = str(tmp_path / "model.ark")
    ark.dump(
        pipeline,
        path,
        training_data=(X, y),
        metrics={"f1": 0.89},
        tags={"team": "risk"},
        description="churn model",
    )
    info = ark.info(path)
    strict_json(info)
    assert info["estimator"]["summary"].startswith("Pipeline(ColumnTransformer")
    assert info["metrics"] == {"f1": 0.89}
    assert info["tags"] == {"team": "risk"}
    assert info["description"] == "churn model"
    assert info["training_data"]["X_sha256"] == fingerprint(X)
    assert info["versions"]["scikit-learn"] == sklearn.__version__
    assert requirements(info).count("==") == len(info["environment"])
    check_versions(info, False)  # written here: nothing to say
