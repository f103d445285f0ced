"""The native runtime in `ark verify` and `ark inspect`.

`ark verify` re-predicts the stored validation samples with the native
runtime (ark/runtime/validation.h) and applies the tolerance policy of
docs/METADATA.md: a file whose stored outputs were edited fails with exit
status 3 and names the method, row and column; a good file passes; a model the
runtime lacks is reported, not failed. `ark inspect` says whether the
runtime supports the model and marks the tree.

Needs the `ark` binary ($ARK_BIN or $ARK_PREDICT_BIN); skipped without it.
"""
import json
import os
import subprocess

import numpy as np
import pytest

import ark
from edit_ark import rewrite, validation_blob

EXIT_CORRUPT = 3


def _binary():
    for var in ("ARK_PREDICT_BIN", "ARK_BIN"):
        path = os.environ.get(var)
        if path and os.path.exists(path):
            return path
    return None


ARK = _binary()
pytestmark = pytest.mark.skipif(ARK is None, reason="no ark binary ($ARK_BIN)")


def verify(path, *flags):
    return subprocess.run([ARK, "verify", str(path), *flags], capture_output=True, text=True)


def verify_json(path):
    result = verify(path, "--json")
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import make_classification

    return make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)


@pytest.fixture(scope="module")
def forest_file(data, tmp_path_factory):
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    path = tmp_path_factory.mktemp("verify") / "forest.ark"
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    ark.dump(model, str(path), validation_data=X[:20])
    return path


def edited(source, tmp_path, edit, name="edited.ark"):
    return rewrite(str(source), str(tmp_path / name), edit_arrays=edit)


def test_good_file_is_re_predicted_natively(forest_file):
    result = verify(forest_file)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[1]
    assert line == ("validation: 20 samples re-predicted natively (predict, predict_proba), "
                    "all match (max diff 0 ulp)")
    status, out = verify_json(forest_file)
    assert status == 0 and out["ok"] is True
    assert out["validation"]["status"] == "match"
    assert out["validation"]["rows"] == 20
    assert out["validation"]["checked"] == ["predict", "predict_proba"]
    assert out["validation"]["rtol"] == 1e-12  # written here, by scikit-learn 1.2.1


def test_edited_probability_fails_naming_row_and_column(forest_file, tmp_path):
    def bump(sections, arrays):
        arrays[validation_blob(sections, "predict_proba")][3, 1] += 0.25

    path = edited(forest_file, tmp_path, bump)
    result = verify(path)
    assert result.returncode == EXIT_CORRUPT
    assert "FAILED" in result.stderr and "predict_proba" in result.stderr
    assert "row 3, column 1" in result.stderr
    status, out = verify_json(path)
    assert status == EXIT_CORRUPT and out["ok"] is False
    assert out["error"]["code"] == "validation_mismatch"
    v = out["validation"]
    assert (v["status"], v["method"], v["row"], v["column"]) == ("mismatch", "predict_proba", 3, 1)
    assert v["max_abs_diff"] == pytest.approx(0.25)
    # Python's loader agrees that this file is bad.
    with pytest.raises(ark.ValidationError):
        ark.load(str(path))


def test_edited_label_fails(forest_file, tmp_path):
    def flip(sections, arrays):
        labels = arrays[validation_blob(sections, "predict")]
        labels[5] = (labels[5] + 1) % 3

    path = edited(forest_file, tmp_path, flip)
    result = verify(path)
    assert result.returncode == EXIT_CORRUPT
    assert "predict: 1 of 20 rows differ (first at row 5" in result.stderr


def test_tolerance_follows_the_environment(forest_file, tmp_path):
    # One ulp is within any tolerance, and is reported.
    def one_ulp(sections, arrays):
        proba = arrays[validation_blob(sections, "predict_proba")]
        proba[0, 0] = np.nextafter(proba[0, 0], 2.0)

    status, out = verify_json(edited(forest_file, tmp_path, one_ulp, "ulp.ark"))
    assert status == 0 and out["validation"]["max_ulp"] == 1

    # 1e-9 is beyond rtol 1e-12 (same environment) ...
    def small(sections, arrays):
        arrays[validation_blob(sections, "predict_proba")][0, 0] += 1e-9

    status, out = verify_json(edited(forest_file, tmp_path, small, "small.ark"))
    assert status == EXIT_CORRUPT and out["validation"]["rtol"] == 1e-12

    # ... but within 1e-7 when another scikit-learn version wrote the file.
    def small_elsewhere(sections, arrays):
        small(sections, arrays)
        sections["validation"]["spec"]["environment"]["scikit-learn"] = "1.3.0"

    status, out = verify_json(edited(forest_file, tmp_path, small_elsewhere, "other.ark"))
    assert status == 0, out
    assert out["validation"]["rtol"] == 1e-7 and out["validation"]["status"] == "match"


def test_unsupported_model_is_reported_not_failed(data, tmp_path):
    from sklearn.svm import SVC

    X, y = data
    path = tmp_path / "svc.ark"
    ark.dump(SVC().fit(X, y), str(path), validation_data=X[:10])
    result = verify(path)
    assert result.returncode == 0, result.stderr
    assert ("validation samples: not checked natively (runtime lacks sklearn.svm._classes.SVC); "
            "run ark.load in Python") in result.stdout
    status, out = verify_json(path)
    assert status == 0 and out["validation"]["status"] == "not_checked"


def test_dataframe_with_strings_and_string_labels(tmp_path):
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200),
                          "c": rng.choice(["red", "green", "blue"], size=200).astype(object)})
    y = np.where(frame["a"] + (frame["c"] == "red") > 0.5, "yes", "no")
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), (StandardScaler(), ["a", "b"])),
        LogisticRegression()).fit(frame, y)
    path = tmp_path / "ct.ark"
    ark.dump(model, str(path), validation_data=frame.iloc[:30])
    status, out = verify_json(path)
    assert status == 0, out
    assert out["validation"]["checked"] == ["predict", "predict_proba", "decision_function"]
    assert out["validation"]["max_ulp"] <= 4

    def flip(sections, arrays):
        labels = arrays[validation_blob(sections, "predict")]  # a '<U3' array
        labels[2] = "no" if labels[2] == "yes" else "yes"

    result = verify(edited(path, tmp_path, flip, "ct_edited.ark"))
    assert result.returncode == EXIT_CORRUPT
    got = model.predict(frame.iloc[:30])[2]
    expected = "no" if got == "yes" else "yes"
    assert f"predict: 1 of 30 rows differ (first at row 2: expected '{expected}', got '{got}')" \
        in result.stderr, result.stderr


def test_multi_output_probabilities_compare_per_output(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    Y = np.c_[X[:, 0] > 0, (X[:, 1] > 0.3).astype(int) + (X[:, 2] > 0)]
    path = tmp_path / "multi.ark"
    ark.dump(RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y), str(path),
             validation_data=X[:15])
    status, out = verify_json(path)
    assert status == 0, out
    assert "predict_proba[1]" in out["validation"]["checked"]


def test_inspect_marks_native_support(forest_file, data, tmp_path):
    from sklearn.svm import SVC

    result = subprocess.run([ARK, "inspect", str(forest_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "\n  native        supported: RandomForestClassifier\n" in result.stdout
    tree = result.stdout.split("\nTree\n")[1]
    assert tree.startswith("  sklearn.ensemble._forest.RandomForestClassifier  [native ✓]\n")
    assert "✗" not in tree

    X, y = data
    path = tmp_path / "svc_pipe.ark"
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ark.dump(make_pipeline(StandardScaler(), SVC()).fit(X, y), str(path))
    result = subprocess.run([ARK, "inspect", str(path)], capture_output=True, text=True)
    assert ("native        not supported: sklearn.svm._classes.SVC (use ark.load in Python)"
            in result.stdout)
    assert "sklearn.svm._classes.SVC  [native ✗]" in result.stdout
    assert "✓" not in result.stdout
    out = json.loads(subprocess.run([ARK, "inspect", "--json", str(path)], capture_output=True,
                                    text=True).stdout)
    assert out["native_runtime"]["supported"] is False
    assert out["native_runtime"]["unsupported_class"] == "sklearn.svm._classes.SVC"


@pytest.mark.parametrize("edit,message", [
    (lambda v: v["spec"]["outputs"].__setitem__("fit", v["spec"]["outputs"]["predict"]),
     "'fit' is not a prediction method"),
    (lambda v: v["spec"]["outputs"]["predict_proba"].__setitem__("array", 999),
     "array position 999 out of range"),
    (lambda v: v["spec"]["input"].__setitem__("array", -1), "array position -1 out of range"),
    (lambda v: v.__setitem__("blobs", v["blobs"][:1]), "out of range"),
    (lambda v: v.__setitem__("spec", []), "the section is not {spec, blobs}"),
])
def test_hostile_validation_section_fails_cleanly(forest_file, tmp_path, edit, message):
    """A section edited by hand is refused with a message, never a crash."""
    def edit_sections(sections):
        edit(sections["validation"])

    path = rewrite(str(forest_file), str(tmp_path / "hostile.ark"), edit_sections=edit_sections)
    result = verify(path)
    assert result.returncode == EXIT_CORRUPT, result.stderr
    assert "validation section is malformed" in result.stderr and message in result.stderr
    assert "terminate" not in result.stderr
