"""The trust model: defaults, get_untrusted_types, trusted=, and the names
that are never loaded."""
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, SplineTransformer, StandardScaler

import _ark
import ark
import trust_helpers
from ark import _trust
from ark.errors import UntrustedTypeError
from manifest_edit import edit_root, read_manifest

X, Y = load_iris(return_X_y=True)


def test_scikit_learn_numpy_scipy_are_trusted_by_default():
    model = make_pipeline(
        FunctionTransformer(np.log1p, inverse_func=np.expm1), SplineTransformer(n_knots=3),
        SelectKBest(f_classif, k=3), StandardScaler(), RandomForestClassifier(n_estimators=2))
    data = ark.dumps(model.fit(X, Y))
    assert ark.get_untrusted_types(data) == []
    np.testing.assert_array_equal(ark.loads(data).predict(X), model.predict(X))


def test_user_types_are_listed_all_at_once_and_load_when_trusted():
    model = make_pipeline(FunctionTransformer(trust_helpers.double), trust_helpers.Scaler())
    model.fit(X)
    data = ark.dumps({"model": model, "color": trust_helpers.Color.RED})
    expected = ["trust_helpers.Color.RED", "trust_helpers.Scaler", "trust_helpers.double"]
    assert ark.get_untrusted_types(data) == expected
    with pytest.raises(UntrustedTypeError) as caught:
        ark.loads(data)
    assert caught.value.types == expected
    for name in expected:
        assert name in str(caught.value)
    with pytest.raises(UntrustedTypeError) as caught:  # trusting some is not enough
        ark.loads(data, trusted=["trust_helpers.Scaler"])
    assert caught.value.types == ["trust_helpers.Color.RED", "trust_helpers.double"]
    loaded = ark.loads(data, trusted=expected)
    np.testing.assert_array_equal(loaded["model"].transform(X), model.transform(X))
    assert loaded["color"] is trust_helpers.Color.RED
    # A class covers its members.
    assert ark.loads(data, trusted=["trust_helpers.Scaler", "trust_helpers.double",
                                    "trust_helpers.Color"])["color"] is trust_helpers.Color.RED


def test_nothing_is_imported_before_the_trust_check(tmp_path):
    module = tmp_path / "import_canary.py"
    canary = tmp_path / "imported"
    module.write_text(f"open({str(canary)!r}, 'w').close()\nclass Thing:\n    pass\n")
    sys.path.insert(0, str(tmp_path))
    try:
        data = ark.dumps(trust_helpers.Node("x"))

        def rename(root):
            root["$object"] = "import_canary.Thing"
            return root

        hostile = edit_root(data, rename)
        assert ark.get_untrusted_types(hostile) == ["import_canary.Thing"]
        with pytest.raises(UntrustedTypeError):
            ark.loads(hostile)
        assert not canary.exists()
        assert "import_canary" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))


def test_get_untrusted_types_reads_the_manifest_only(tmp_path):
    data = bytearray(ark.dumps({"scaler": trust_helpers.Scaler().fit(X), "big": np.arange(1000.0)}))
    manifest, offset = read_manifest(bytes(data))
    blob = manifest["blobs"][0]
    data[blob["offset"]] ^= 0xFF  # corrupt array bytes: only reading them can notice
    path = tmp_path / "corrupt.ark"
    path.write_bytes(bytes(data))
    assert ark.get_untrusted_types(path) == ["trust_helpers.Scaler"]
    with pytest.raises(ark.ChecksumMismatchError):
        ark.load(path, trusted=["trust_helpers.Scaler"], verify=True)


def test_get_untrusted_types_is_fast(tmp_path):
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, Y)
    path = tmp_path / "forest.ark"
    ark.dump(forest, path)
    start = time.perf_counter()
    assert ark.get_untrusted_types(path) == []
    assert time.perf_counter() - start < 0.5  # generous: shared CI machines; bench/ measures it


def test_re_exports_do_not_pass_as_the_library():
    # trust_helpers does `from json import dumps`: the name must be the definition's.
    data = ark.dumps(np.log1p)

    def alias(_root):
        return {"$object": "ark.global", "state": "trust_helpers:dumps"}

    with pytest.raises(ark.InvalidObjectError, match="json.dumps"):
        ark.loads(edit_root(data, alias), trusted=["trust_helpers.dumps"])


@pytest.mark.parametrize("name, default", [
    ("sklearn.linear_model._logistic.LogisticRegression", True),
    ("sklearn.datasets._svmlight_format_io.dump_svmlight_file", False),
    ("sklearn.utils._testing.assert_run_python_script", False),
    ("sklearn.tree._export.export_graphviz", False),
    ("sklearn.linear_model.tests.test_base.something", False),
    ("numpy.log1p", True), ("numpy.mean", True), ("numpy.save", False), ("numpy.load", False),
    ("numpy.lib.npyio.load", False), ("scipy.special._logsumexp.softmax", True),
    ("builtins.len", True), ("builtins.eval", False), ("os.system", False),
    ("mypkg.thing", False),
])
def test_default_trust_of_globals(name, default):
    assert _trust.trusted_by_default(name, is_global=True) is default


@pytest.mark.parametrize("name", [
    "os.system", "posix.system", "nt.system", "subprocess.Popen", "builtins.eval", "builtins.exec",
    "builtins.__import__", "builtins.getattr", "builtins.open", "importlib.import_module",
    "pickle.loads", "runpy.run_path", "numpy.save", "numpy.load", "shutil.rmtree", "operator.attrgetter",
    "functools.reduce", "sys.modules", "ctypes.CDLL", "sklearn.__check_build.raise_build_error",
])
def test_forbidden_names_are_never_trusted(name):
    assert _trust.is_forbidden(name)
    assert _trust.untrusted_names({name}, set(), trusted=[name]) == [name]
    assert _trust.untrusted_names(set(), {name}, trusted=[name]) == [name]


def test_kinds_are_trusted_only_as_nodes():
    assert _trust.untrusted_names({"functools.partial", "numpy.ndarray"}, set()) == []
    assert _trust.untrusted_names(set(), {"functools.partial"}) == ["functools.partial"]


def _reference_collect_names(root):
    """The pure-Python walk that _ark.collect_names replaces, kept as its oracle."""
    classes, globals_ = set(), set()
    stack = [root]
    while stack:
        v = stack.pop()
        if type(v) in (list, tuple):
            stack.extend(v)
        elif type(v) is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif type(v) is _ark.Object:
            if v.type_name == "ark.global":
                globals_.add(_trust.global_name(v.state))
            else:
                classes.add(v.type_name)
                stack.append(v.state)
    return classes, globals_


def test_fast_audit_matches_the_tree_walk():
    model = make_pipeline(FunctionTransformer(np.log1p), trust_helpers.Scaler(),
                          RandomForestClassifier(n_estimators=3, random_state=0)).fit(X + 1, Y)
    reader = _ark.Reader(ark.dumps(model))
    root = reader.root()
    expected = _reference_collect_names(root)
    assert _trust.collect_names(root) == expected
    assert _trust.collect_reader_names(reader) == expected
    classes, states = reader.type_names()
    assert classes == expected[0] and "numpy:log1p" in states
    assert "trust_helpers.Scaler" in expected[0] and "numpy.log1p" in expected[1]


def test_fast_audit_refuses_what_load_refuses():
    from manifest_edit import replace_root, replace_root_text

    base = ark.dumps([1, 2])
    # A global reference whose state is not a string: the same error as the tree walk.
    odd = replace_root(base, [{"$object": "ark.global", "state": ["os", "system"]},
                              {"$object": "mypkg.A", "state": None}])
    assert _ark.Reader(odd).type_names() == ({"mypkg.A"}, None)
    with pytest.raises(ark.InvalidObjectError, match="malformed global reference"):
        ark.get_untrusted_types(odd)
    with pytest.raises(ark.InvalidObjectError, match="malformed global reference"):
        _trust.collect_names(_ark.Reader(odd).root())
    # A malformed tree is refused by the audit as by root().
    for tree in ('{"$object":"a.B","state":{"$ref":7}}', '{"a":1,"a":2}',
                 '[{"$array":99}]', '{"$object":"a b","state":1}'):
        data = replace_root_text(base, tree)
        with pytest.raises(ark.BadManifestError) as audit:
            ark.get_untrusted_types(data)
        with pytest.raises(ark.BadManifestError) as full:
            _ark.Reader(data).root()
        assert str(audit.value) == str(full.value)
