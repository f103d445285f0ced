"""The compact "ark.tree.v1" form of scikit-learn trees (docs/OBJECTS.md §5,
ark/model/tree_codec.h): compressed dumps store it when it is exact, loads
give back bit-identical node and value arrays, trees outside its assumptions
fall back to the plain arrays, and hostile compact fields are refused."""
import io

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import NODE_DTYPE

import _ark
import ark
from ark.errors import InvalidObjectError

X, y = make_classification(n_samples=600, n_features=12, n_informative=6, n_classes=3,
                           random_state=0)
XR, yr = make_regression(n_samples=500, n_features=8, random_state=0)


def _trees(model):
    if hasattr(model, "tree_"):
        return [model.tree_]
    return [e.tree_ for e in np.ravel(model.estimators_)]


def _same_trees(a, b):
    for ta, tb in zip(_trees(a), _trees(b), strict=True):
        sa, sb = ta.__getstate__(), tb.__getstate__()
        assert sa["nodes"].tobytes() == sb["nodes"].tobytes()
        assert sa["values"].tobytes() == sb["values"].tobytes()
        assert sa["max_depth"] == sb["max_depth"] and sa["node_count"] == sb["node_count"]


def _tree_states(data):
    """The state dicts of every Tree node in a file's object tree."""
    reader = _ark.Reader(data)
    found = []

    def visit(v):
        if isinstance(v, _ark.Object):
            if v.type_name == "sklearn.tree._tree.Tree":
                found.append(v.state[1])
            visit(v.state)
        elif isinstance(v, (list, tuple)):
            for x in v:
                visit(x)
        elif isinstance(v, dict):
            for x in v.values():
                visit(x)

    visit(reader.root())
    return found


def _round_trip(model, compress="zstd", X_=X):
    data = ark.dumps(model, compress=compress)
    loaded = ark.loads(data)
    _same_trees(model, loaded)
    for method in ("predict", "predict_proba", "decision_function"):
        if hasattr(model, method):
            expected, got = getattr(model, method)(X_), getattr(loaded, method)(X_)
            if isinstance(expected, list):  # multi-output predict_proba
                assert len(expected) == len(got)
                for e, g in zip(expected, got):
                    np.testing.assert_array_equal(e, g)
            else:
                np.testing.assert_array_equal(expected, got)
    return data, loaded


MODELS = [
    ("tree", lambda: DecisionTreeClassifier(random_state=0).fit(X, y), X),
    ("forest", lambda: RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0).fit(X, y), X),
    ("extra", lambda: ExtraTreesClassifier(n_estimators=6, random_state=0).fit(X, y), X),
    ("entropy", lambda: RandomForestClassifier(n_estimators=3, criterion="entropy",
                                               random_state=0).fit(X, y), X),
    ("gb_clf", lambda: GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y), X),
    ("gb_reg", lambda: GradientBoostingRegressor(n_estimators=5, random_state=0).fit(XR, yr), XR),
    ("forest_reg", lambda: RandomForestRegressor(n_estimators=4, random_state=0).fit(XR, yr), XR),
    ("tree_reg", lambda: DecisionTreeRegressor(random_state=0).fit(XR, yr), XR),
    ("class_weight", lambda: RandomForestClassifier(
        n_estimators=3, class_weight={0: 0.3, 1: 1.7, 2: 1.0}, random_state=0).fit(X, y), X),
    ("sample_weight", lambda: DecisionTreeClassifier(random_state=0).fit(
        X, y, sample_weight=np.linspace(0.5, 2, len(y))), X),
    ("multi_output", lambda: RandomForestClassifier(n_estimators=3, random_state=0).fit(
        X, np.column_stack([y, y % 2, (X[:, 0] > 0).astype(int) * 4])), X),
    ("best_first", lambda: DecisionTreeClassifier(max_leaf_nodes=20, random_state=0).fit(X, y), X),
]


@pytest.mark.parametrize("name,make,X_", MODELS, ids=[m[0] for m in MODELS])
@pytest.mark.parametrize("compress", ["zstd", ("lzma", 1), ("zlib", 1)])
def test_round_trip_is_bit_identical(name, make, X_, compress):
    data, _ = _round_trip(make(), compress, X_)
    states = _tree_states(data)
    assert states
    if name == "best_first":
        # Best-first builders do not number nodes in pre-order: plain arrays.
        assert all("encoding" not in s for s in states)
    else:
        assert all(s.get("encoding") == "ark.tree.v1" for s in states)


def test_which_fields_are_derived():
    clf = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    state = _tree_states(ark.dumps(clf, compress=True))[0]
    assert state["impurity"] == "gini"
    assert state["weighted_n_node_samples"] == "values"
    reg = GradientBoostingRegressor(n_estimators=2, random_state=0).fit(XR, yr)
    state = _tree_states(ark.dumps(reg, compress=True))[0]
    assert state["weighted_n_node_samples"] == "n_node_samples"
    assert not isinstance(state["impurity"], str)  # MSE is not derivable
    weighted = RandomForestClassifier(n_estimators=2, class_weight={0: 0.3, 1: 1.7, 2: 1.0},
                                      random_state=0).fit(X, y)
    state = _tree_states(ark.dumps(weighted, compress=True))[0]
    assert not isinstance(state["values"], str)  # fractional counts: stored (as a blob)


def test_uncompressed_dumps_keep_plain_arrays_and_mmap():
    clf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    data = ark.dumps(clf)
    assert all("encoding" not in s for s in _tree_states(data))
    with io.BytesIO(data) as f:
        _same_trees(clf, ark.load(f))


def test_mmap_load_of_compressed_file(tmp_path):
    clf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    path = tmp_path / "m.ark"
    ark.dump(clf, path, compress="zstd")
    _same_trees(clf, ark.load(path, mmap_mode="r"))


def test_encoder_refuses_unusual_arrays():
    t = DecisionTreeClassifier(random_state=0).fit(X, y).tree_.__getstate__()
    assert _ark.encode_tree(t["nodes"], t["values"]) is not None
    assert _ark.encode_tree(t["nodes"][::-1].copy(), t["values"]) is None   # not pre-order
    assert _ark.encode_tree(t["nodes"][:-1].copy(), t["values"]) is None    # sizes differ
    other = np.zeros(3, dtype=[("a", "<i8"), ("b", "<f8")])
    assert _ark.encode_tree(other, np.zeros((3, 1, 2))) is None             # another layout
    nodes = t["nodes"].copy()
    nodes["n_node_samples"][0] += 1
    assert _ark.encode_tree(nodes, t["values"]) is None


def _fields():
    t = DecisionTreeClassifier(random_state=0).fit(X, y).tree_
    state = t.__getstate__()
    return _ark.encode_tree(state["nodes"], state["values"]), state["node_count"]


def test_decoder_round_trip_and_refusals():
    fields, n = _fields()
    nodes, values = _ark.decode_tree(fields, n, 1, 3, NODE_DTYPE)
    assert nodes.dtype == NODE_DTYPE and values.shape == (n, 1, 3)

    def refused(change, n_=n, outputs=1, classes=3):
        bad = dict(fields)
        change(bad)
        with pytest.raises((ValueError, TypeError)):
            _ark.decode_tree(bad, n_, outputs, classes, NODE_DTYPE)

    refused(lambda f: f.pop("threshold"))
    refused(lambda f: f.update(leaf=f["leaf"][:-1]))
    refused(lambda f: f.update(leaf=np.zeros_like(f["leaf"])))
    refused(lambda f: f.update(leaf=np.full_like(f["leaf"], 0xFF)))
    refused(lambda f: f.update(feature=f["feature"][:-1]))
    refused(lambda f: f.update(feature=f["feature"].astype(np.int16)))
    refused(lambda f: f.update(threshold=f["threshold"].astype(np.float32)))
    refused(lambda f: f.update(n_node_samples=f["n_node_samples"][1:]))
    refused(lambda f: f.update(values=f["values"][:-3]))
    refused(lambda f: f.update(values="gini"))
    refused(lambda f: f.update(impurity="entropy"))
    refused(lambda f: f.update(impurity=[0.5]))
    refused(lambda f: f.update(weighted_n_node_samples=np.zeros(3, dtype=np.int8)))
    refused(lambda f: None, n_=n + 1)
    refused(lambda f: None, n_=2**40)
    refused(lambda f: None, classes=4)
    refused(lambda f: None, outputs=0)
    huge = np.full(fields["n_node_samples"].shape, 2**62, dtype=np.uint64)
    refused(lambda f: f.update(n_node_samples=huge))


def _edit_tree_state(data, edit):
    """Rewrites the first Tree's compact state of a file with `edit(state)`."""
    reader = _ark.Reader(data)
    root = reader.root()
    writer = _ark.Writer(None)
    arrays = [reader.array(i) for i in range(reader.blob_count)]
    for a in arrays:
        writer.add_array(a)
    done = []

    def visit(v):
        if isinstance(v, _ark.Object):
            if v.type_name == "sklearn.tree._tree.Tree" and not done:
                state = v.state[1]
                edit(state, arrays, writer)
                done.append(True)
            else:
                visit(v.state)
        elif isinstance(v, (list, tuple)):
            for x in v:
                visit(x)
        elif isinstance(v, dict):
            for x in v.values():
                visit(x)

    visit(root)
    writer.finish(root, reader.sections())
    return writer.getvalue()


@pytest.mark.parametrize("edit,message", [
    (lambda s, a, w: s.update(encoding="ark.tree.v9"), "unknown encoding"),
    (lambda s, a, w: s.pop("feature"), "missing or unexpected"),
    (lambda s, a, w: s.update(node_count=s["node_count"] + 8), "leaf flags"),
    (lambda s, a, w: s.update(leaf=_ark.ArrayRef(w.add_array(np.zeros(3, np.uint8)))), "leaf flags"),
    (lambda s, a, w: s.update(impurity="entropy"), "derivation"),
    (lambda s, a, w: s.update(max_depth=10**6), "max_depth"),
])
def test_hostile_compact_trees_are_refused(edit, message):
    clf = DecisionTreeClassifier(random_state=0).fit(X, y)
    data = _edit_tree_state(ark.dumps(clf, compress="zstd"), edit)
    with pytest.raises(InvalidObjectError, match=message):
        ark.loads(data)
