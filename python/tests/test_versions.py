"""Tests of the version policy (ark._metadata.check_versions), directly and
end to end through ark.load on files whose recorded versions were edited."""
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from ark._metadata import _parse_version, check_versions
from ark.errors import InconsistentVersionWarning, VersionMismatchError

INSTALLED = sklearn.__version__
MAJOR, MINOR, PATCH = _parse_version(INSTALLED)
OTHER_MINOR = f"{MAJOR}.{MINOR + 1}.0"
OTHER_PATCH = f"{MAJOR}.{MINOR}.{PATCH + 1}"
OTHER_MAJOR = f"{MAJOR + 1}.0.0"
OLDER_MAJOR = "0.24.2"


def metadata(sklearn_version=INSTALLED, numpy_version=np.__version__):
    return {"versions": {"scikit-learn": sklearn_version, "numpy": numpy_version}}


def no_warnings(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


def test_parse_version():
    assert _parse_version("1.2.1") == (1, 2, 1)
    assert _parse_version("1.3") == (1, 3, 0)
    assert _parse_version("1.3.0rc1") == (1, 3, 0)
    assert _parse_version("1.4.dev0") == (1, 4, 0)
    assert _parse_version("garbage") == (0, 0, 0)


def test_same_version_is_silent():
    no_warnings(check_versions, metadata(), False)
    no_warnings(check_versions, metadata(), True)


@pytest.mark.parametrize("saved", [OTHER_MINOR, OTHER_PATCH, f"{INSTALLED}.post1"])
def test_minor_or_patch_difference_warns_with_both_versions(saved):
    with pytest.warns(InconsistentVersionWarning) as record:
        check_versions(metadata(saved), False)
    [warning] = [w for w in record if issubclass(w.category, InconsistentVersionWarning)]
    assert warning.message.package == "scikit-learn"
    assert warning.message.saved == saved
    assert warning.message.installed == INSTALLED
    assert saved in str(warning.message) and INSTALLED in str(warning.message)
    assert warning.filename == __file__  # the first frame outside ark


@pytest.mark.parametrize("saved", [OTHER_MAJOR, OLDER_MAJOR])
def test_major_difference_is_refused(saved):
    with pytest.raises(VersionMismatchError) as caught:
        check_versions(metadata(saved), False)
    assert caught.value.package == "scikit-learn"
    assert caught.value.saved == saved and caught.value.installed == INSTALLED
    assert "allow_version_mismatch=True" in str(caught.value)


def test_major_difference_allowed_still_warns():
    with pytest.warns(InconsistentVersionWarning) as record:
        check_versions(metadata(OTHER_MAJOR), True)
    assert record[0].message.saved == OTHER_MAJOR


def test_numpy_major_difference_warns_minor_is_silent():
    numpy_major = _parse_version(np.__version__)[0]
    with pytest.warns(InconsistentVersionWarning) as record:
        check_versions(metadata(numpy_version=f"{numpy_major + 1}.0.0"), False)
    assert record[0].message.package == "numpy"
    no_warnings(check_versions, metadata(numpy_version=f"{numpy_major}.999.0"), False)


@pytest.mark.parametrize(
    "meta", [None, {}, {"versions": None}, {"versions": {}}, {"versions": {"scikit-learn": 3}}, "text"]
)
def test_missing_or_malformed_metadata_is_silent(meta):
    no_warnings(check_versions, meta, False)


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def ark_module():
    import ark
    return ark


@pytest.fixture(scope="module")
def saved_model(ark_module, tmp_path_factory):
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    model = LogisticRegression().fit(X, y)
    path = str(tmp_path_factory.mktemp("versions") / "model.ark")
    ark_module.dump(model, path, validation_data=X[:10])
    return model, X, path


def with_sklearn_version(source, destination, version):
    from edit_ark import rewrite

    def edit(sections):
        sections["metadata"]["versions"]["scikit-learn"] = version

    return rewrite(str(source), str(destination), edit_sections=edit)


def test_load_same_version_is_silent(ark_module, saved_model):
    model, X, path = saved_model
    loaded = no_warnings(ark_module.load, path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_load_minor_difference_warns(ark_module, saved_model, tmp_path):
    model, X, path = saved_model
    edited = with_sklearn_version(path, tmp_path / "minor.ark", OTHER_MINOR)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = ark_module.load(edited)
    warning = [w for w in record if issubclass(w.category, InconsistentVersionWarning)][0]
    assert (warning.message.saved, warning.message.installed) == (OTHER_MINOR, INSTALLED)
    assert warning.filename == __file__  # points at the user's ark.load call
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_load_major_difference_refused_unless_allowed(ark_module, saved_model, tmp_path):
    model, X, path = saved_model
    edited = with_sklearn_version(path, tmp_path / "major.ark", OTHER_MAJOR)
    with pytest.raises(VersionMismatchError) as caught:
        ark_module.load(edited)
    assert (caught.value.saved, caught.value.installed) == (OTHER_MAJOR, INSTALLED)
    with pytest.warns(InconsistentVersionWarning):
        loaded = ark_module.load(edited, allow_version_mismatch=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_load_without_metadata_versions_is_silent(ark_module, saved_model, tmp_path):
    from edit_ark import rewrite

    model, X, path = saved_model
    edited = rewrite(path, str(tmp_path / "bare.ark"), edit_sections=lambda s: s["metadata"].pop("versions"))
    loaded = no_warnings(ark_module.load, edited)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
