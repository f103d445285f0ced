"""Tests of ark._validation: capture() stores rows and outputs faithfully,
check() accepts a faithful model and names the method and the difference
when outputs change; end to end, a file whose stored outputs were edited
fails to load with ValidationError."""
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ark import _validation
from ark._validation import capture, check, rebuild_input
from ark.errors import ValidationError


def roundtrip_arrays(arrays):
    """What a reader gives back: read-only arrays with the same dtypes and bytes."""
    out = []
    for array in arrays:
        assert array.dtype.kind != "O" and array.flags.c_contiguous
        copy = np.frombuffer(array.tobytes(), dtype=array.dtype).reshape(array.shape)
        out.append(copy)  # frombuffer over bytes: read-only, like an mmap view
    return out


def captured(model, data):
    spec, arrays = capture(model, data)
    json.dumps(spec, allow_nan=False)  # the spec goes into the JSON manifest
    return spec, roundtrip_arrays(arrays)


@pytest.fixture(scope="module")
def classification():
    return make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0)


def test_classifier_outputs_are_stored_and_check(classification):
    X, y = classification
    model = LogisticRegression(max_iter=500).fit(X, y)
    spec, arrays = captured(model, X[:20])
    assert set(spec["outputs"]) == {"predict", "predict_proba", "decision_function"}
    np.testing.assert_array_equal(rebuild_input(spec, arrays), X[:20])
    check(model, spec, arrays)


def test_edited_probability_names_method_and_difference(classification):
    X, y = classification
    model = LogisticRegression(max_iter=500).fit(X, y)
    spec, arrays = captured(model, X[:20])
    arrays = [np.array(a) for a in arrays]
    arrays[spec["outputs"]["predict_proba"]["array"]][7, 1] += 0.03
    with pytest.raises(ValidationError) as caught:
        check(model, spec, arrays)
    assert caught.value.method == "predict_proba"
    assert caught.value.max_difference == pytest.approx(0.03)
    assert "1 of 20 rows" in caught.value.detail and "(7, 1)" in caught.value.detail


def test_edited_labels_count_rows_and_no_difference(classification):
    X, y = classification
    model = DecisionTreeClassifier(random_state=0).fit(X, y)
    spec, arrays = captured(model, X[:20])
    arrays = [np.array(a) for a in arrays]
    labels = arrays[spec["outputs"]["predict"]["array"]]
    labels[[2, 5, 9]] = (labels[[2, 5, 9]] + 1) % 3
    with pytest.raises(ValidationError) as caught:
        check(model, spec, arrays)
    assert caught.value.method == "predict"
    assert caught.value.max_difference is None
    assert "3 of 20 rows differ" in caught.value.detail


def test_string_labels_and_a_different_model(classification):
    X, y = classification
    names = np.array(["ant", "bee", "cat"])[y]
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, names)
    spec, arrays = captured(model, X[:30])
    assert arrays[spec["outputs"]["predict"]["array"]].dtype.kind == "U"
    check(model, spec, arrays)
    other = RandomForestClassifier(n_estimators=5, random_state=1).fit(X, names)
    with pytest.raises(ValidationError) as caught:
        check(other, spec, arrays)
    assert caught.value.method in ("predict", "predict_proba")


def test_object_labels_with_predict_returning_objects(classification):
    X, y = classification
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    model = LogisticRegression(max_iter=500).fit(X, labels)
    assert model.predict(X[:3]).dtype == object
    spec, arrays = captured(model, X[:10])
    check(model, spec, arrays)


def test_dataframe_input_is_rebuilt_with_the_same_dtypes_and_values():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "num": rng.randn(12),
            "int": rng.randint(0, 9, 12),
            "flag": rng.rand(12) > 0.5,
            "text": rng.choice(["x", "yy", "zzz"], 12).astype(object),
            "mixed": np.array([1, 2.5, "s", None, np.nan, True] * 2, dtype=object),
            "cat": pd.Categorical(rng.choice(["lo", "hi"], 12), categories=["lo", "hi"], ordered=True),
            "nullable": pd.array([1, None] * 6, dtype="Int64"),
            "string": pd.array(["a", None, "c"] * 4, dtype="string"),
            "when": pd.date_range("2024-01-01", periods=12, freq="H"),
        }
    )
    frame.loc[3, "text"] = None
    frame.loc[4, "num"] = np.nan
    frame.loc[5, "text"] = np.nan
    spec, arrays = capture(LinearRegression(), frame)  # no fitted methods succeed: input only
    json.dumps(spec, allow_nan=False)
    rebuilt = rebuild_input(spec, roundtrip_arrays(arrays))
    pd.testing.assert_frame_equal(rebuilt, frame)
    assert rebuilt["text"][3] is None and np.isnan(rebuilt["text"][5])
    assert [type(v) for v in rebuilt["mixed"][:4]] == [int, float, str, type(None)]
    assert all(a.dtype.kind != "O" for a in arrays)
    assert set(spec["skipped"]) >= {"predict"}


def test_lists_series_and_sparse_inputs():
    docs = ["the cat sat", "the dog ran", "a cat ran", "dogs and cats"]
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, [0, 1, 0, 1])
    spec, arrays = captured(model, docs)
    assert rebuild_input(spec, arrays) == docs
    check(model, spec, arrays)

    series = pd.Series(docs, name="body")
    spec, arrays = captured(model, series)
    pd.testing.assert_series_equal(rebuild_input(spec, arrays), series)
    check(model, spec, arrays)

    X, y = make_classification(n_samples=50, n_features=8, random_state=0)
    X[X < 0.5] = 0
    sparse = sp.csr_matrix(X)
    model = LogisticRegression().fit(sparse, y)
    spec, arrays = captured(model, sparse[:10])
    assert (rebuild_input(spec, arrays) != sparse[:10]).nnz == 0
    check(model, spec, arrays)

    nested = [[1.0, 2.0], [3.0, 4.5]]
    model = LinearRegression().fit(nested, [1.0, 2.0])
    spec, arrays = captured(model, nested)
    assert rebuild_input(spec, arrays) == nested
    check(model, spec, arrays)


def test_column_transformer_with_sparse_transform_output():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": ["x", "y", "x", "z"]})
    encoder = ColumnTransformer(
        [("num", StandardScaler(), ["a"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])],
        sparse_threshold=1.0,
    ).fit(frame)
    assert sp.issparse(encoder.transform(frame))
    spec, arrays = captured(encoder, frame)
    assert spec["outputs"]["transform"]["kind"] == "sparse"
    check(encoder, spec, arrays)
    arrays = [np.array(a) for a in arrays]
    arrays[spec["outputs"]["transform"]["data"]][0] += 1.0
    with pytest.raises(ValidationError, match="transform"):
        check(encoder, spec, arrays)


def test_pandas_output_and_multioutput_lists():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 5.0]})
    scaler = StandardScaler().set_output(transform="pandas").fit(frame)
    spec, arrays = captured(scaler, frame)
    assert spec["outputs"]["transform"]["kind"] == "DataFrame"
    check(scaler, spec, arrays)

    X, _ = make_classification(n_samples=60, n_features=4, random_state=0)
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y)
    spec, arrays = captured(forest, X[:8])
    assert spec["outputs"]["predict_proba"]["kind"] == "list_of"
    check(forest, spec, arrays)
    arrays = [np.array(a) for a in arrays]
    arrays[spec["outputs"]["predict_proba"]["items"][1]["array"]][0, 0] = 0.5
    with pytest.raises(ValidationError) as caught:
        check(forest, spec, arrays)
    assert caught.value.method == "predict_proba[1]"


def test_transformers_clusterers_and_outlier_detectors():
    X, y = make_regression(n_samples=80, n_features=5, random_state=0)
    for model in (PCA(n_components=3), KMeans(n_clusters=3, n_init=3, random_state=0), IsolationForest(random_state=0)):
        model.fit(X)
        spec, arrays = captured(model, X[:15])
        assert spec["outputs"], model
        check(model, spec, arrays)
    assert set(spec["outputs"]) == {"predict", "decision_function", "score_samples"}


def test_nondeterministic_methods_are_skipped(classification):
    X, y = classification
    model = DummyClassifier(strategy="stratified", random_state=None).fit(X, y)
    spec, arrays = captured(model, X[:50])
    assert "predict" not in spec["outputs"]
    assert "not deterministic" in spec["skipped"]["predict"]
    check(model, spec, arrays)


def test_failing_methods_are_skipped_then_missing_method_fails(classification):
    X, y = classification
    model = LogisticRegression(max_iter=500).fit(X, y)
    spec, arrays = captured(model, X[:5])
    spec = json.loads(json.dumps(spec))
    spec["outputs"]["transform"] = spec["outputs"]["predict"]
    with pytest.raises(ValidationError, match="has no method transform"):
        check(model, spec, arrays)
    # A method that now raises is a validation failure, naming the method.
    narrow = LogisticRegression(max_iter=500).fit(X[:, :3], y)
    with pytest.raises(ValidationError) as caught:
        check(narrow, *captured(model, X[:5]))
    assert caught.value.method == "predict" and "raised" in caught.value.detail


def test_tolerance_policy(classification):
    X, y = classification
    model = LogisticRegression(max_iter=500).fit(X, y)
    spec, arrays = captured(model, X[:20])
    assert _validation.tolerance(spec) == _validation.RTOL_SAME_ENVIRONMENT
    arrays = [np.array(a) for a in arrays]
    scores = arrays[spec["outputs"]["decision_function"]["array"]]
    scale = np.abs(scores[:, 0]).max()
    scores[0, 0] += 1e-9 * scale  # noise far below a real change, far above summation order
    with pytest.raises(ValidationError, match="decision_function"):
        check(model, spec, arrays)
    # Under another recorded library version the tolerance is 1e-7 of the scale.
    other = dict(spec, environment=dict(spec["environment"], **{"scikit-learn": "0.0.0"}))
    assert _validation.tolerance(other) == _validation.RTOL_OTHER_ENVIRONMENT
    check(model, other, arrays)
    scores[0, 0] += 1e-5 * scale
    with pytest.raises(ValidationError, match="decision_function"):
        check(model, other, arrays)


def test_nan_and_infinity_must_match():
    expected = np.array([1.0, np.nan, np.inf])
    _validation._compare("m", expected, expected.copy(), 0.0)
    for actual in ([1.0, 0.0, np.inf], [1.0, np.nan, -np.inf], [1.0, np.nan, 1e308]):
        with pytest.raises(ValidationError) as caught:
            _validation._compare("m", expected, np.array(actual), 1e-7)
        assert caught.value.max_difference == float("inf")
    with pytest.raises(ValidationError, match="shape"):
        _validation._compare("m", expected, expected[:2], 1e-7)


def test_unstorable_data_is_a_clear_type_error():
    with pytest.raises(TypeError, match="validation data holds a value of type"):
        capture(LinearRegression(), np.array([[object()]], dtype=object))


def test_hostile_specs_are_refused_without_calling_or_allocating(classification):
    from ark._trust import InvalidObjectError

    X, y = classification
    model = LogisticRegression(max_iter=500).fit(X, y)
    spec, arrays = captured(model, X[:5])
    coefficients = model.coef_.copy()

    def edited(**changes):
        copy = json.loads(json.dumps(spec))
        copy.update(changes)
        return copy

    # A method name from the file is never called unless it predicts.
    for name in ("fit", "set_params", "__init__", "partial_fit"):
        bad = edited(outputs={name: spec["outputs"]["predict"]})
        with pytest.raises(InvalidObjectError, match="not a prediction method"):
            check(model, bad, arrays)
    np.testing.assert_array_equal(model.coef_, coefficients)

    bad_inputs = [
        {"kind": "ndarray", "array": len(arrays)},
        {"kind": "ndarray", "array": -1},
        {"kind": "ndarray", "array": True},
        {"kind": "ndarray", "objects": {"encoding": "objects", "shape": [10**9, 10**9], "parts": {}, "all": 4}},
        {"kind": "ndarray", "objects": {"encoding": "objects", "shape": [3], "parts": {"str": 0}, "all": 0}},
        {"kind": "sparse", "shape": [2, 2], "data": 0, "indices": 0, "indptr": 0},
        {"kind": "pickle", "payload": "..."},
        {"kind": "DataFrame", "n_rows": -5, "columns": []},
        "not a value",
        None,
    ]
    for bad_input in bad_inputs:
        with pytest.raises(InvalidObjectError):
            check(model, edited(input=bad_input), arrays)
    with pytest.raises(InvalidObjectError):
        check(model, ["not", "a", "spec"], arrays)


def test_sparse_with_out_of_range_indices_is_refused():
    from ark._trust import InvalidObjectError

    frame = pd.DataFrame({"c": ["x", "y", "x", "z"]})
    encoder = OneHotEncoder().fit(frame)
    spec, arrays = captured(encoder, frame)
    arrays = [np.array(a) for a in arrays]
    arrays[spec["outputs"]["transform"]["indices"]][0] = 10**6
    with pytest.raises(InvalidObjectError):
        check(encoder, spec, arrays)


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def ark_module():
    import ark
    return ark


def test_file_with_edited_outputs_fails_to_load(ark_module, classification, tmp_path):
    from edit_ark import rewrite, validation_blob

    X, y = classification
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    path = str(tmp_path / "model.ark")
    ark_module.dump(model, path, validation_data=X[:20])
    loaded = ark_module.load(path)  # validates by default
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))

    def bump_probability(sections, arrays):
        arrays[validation_blob(sections, "predict_proba")][3, 0] += 0.25

    edited = rewrite(path, str(tmp_path / "edited.ark"), edit_arrays=bump_probability)
    with pytest.raises(ValidationError) as caught:
        ark_module.load(edited)
    assert caught.value.method == "predict_proba"
    assert caught.value.max_difference == pytest.approx(0.25)
    ark_module.load(edited, validate=False)  # inspecting it anyway is possible

    def flip_label(sections, arrays):
        labels = arrays[validation_blob(sections, "predict")]
        labels[0] = (labels[0] + 1) % 3

    edited = rewrite(path, str(tmp_path / "labels.ark"), edit_arrays=flip_label)
    with pytest.raises(ValidationError) as caught:
        ark_module.load(edited)
    assert caught.value.method == "predict" and caught.value.max_difference is None
