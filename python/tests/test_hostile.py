"""Hostile files, crafted by hand-editing manifests and arrays as an attacker
would (checksums recomputed): each is refused with a clear error, and no
payload runs - the canary file it would create never appears."""
import copy

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier

import _ark
import ark
from ark.errors import UntrustedTypeError
from edit_ark import rewrite
from manifest_edit import edit_root, find_objects, replace_root, replace_root_text

X, Y = load_iris(return_X_y=True)


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a payload from the file ran"


def base_file():
    return ark.dumps(LogisticRegression(max_iter=300).fit(X, Y))


def payload(canary_path):
    return f"touch {canary_path}"


# --- names that run code ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "builtins.exec", "subprocess.Popen",
                                  "posix.system", "nt.system", "builtins.__import__",
                                  "pickle.loads", "runpy.run_path", "importlib.import_module"])
def test_dangerous_object_types_are_refused_even_when_trusted(name, canary):
    hostile = replace_root(base_file(), {"$object": name, "state": payload(canary)})
    assert name in ark.get_untrusted_types(hostile)
    with pytest.raises(UntrustedTypeError, match=name.replace(".", r"\.")):
        ark.loads(hostile)
    with pytest.raises(ark.ForbiddenTypeError, match="never loaded"):
        ark.loads(hostile, trusted=[name])


@pytest.mark.parametrize("name", ["builtins:exec", "builtins:eval", "os:system", "posix:system",
                                  "subprocess:Popen", "builtins:getattr", "numpy:save"])
def test_function_references_to_dangerous_names_are_refused(name, canary):
    reference = {"$object": "ark.global", "state": name}
    hostile = replace_root(base_file(), {"$object": "functools.partial",
                                         "state": [reference, {"$tuple": [payload(canary)]}, {}, None]})
    dotted = name.replace(":", ".")
    assert ark.get_untrusted_types(hostile) == [dotted]
    with pytest.raises(ark.ForbiddenTypeError):
        ark.loads(hostile, trusted=[dotted])


def test_every_untrusted_name_is_listed_at_once():
    hostile = replace_root(base_file(), [
        {"$object": "os.system", "state": "x"},
        {"$object": "ark.global", "state": "builtins:eval"},
        {"$object": "mypkg.Thing", "state": {}},
    ])
    with pytest.raises(UntrustedTypeError) as caught:
        ark.loads(hostile)
    assert caught.value.types == ["builtins.eval", "mypkg.Thing", "os.system"]


# --- trusted classes whose state smuggles something ---------------------------------------------

def test_function_transformer_smuggling_eval(canary):
    data = ark.dumps(FunctionTransformer(np.log1p).fit(X))

    def smuggle(root):
        root["state"]["func"] = {"$object": "ark.global", "state": "builtins:eval"}
        root["state"]["kw_args"] = {"source": payload(canary)}
        return root

    hostile = edit_root(data, smuggle)
    assert ark.get_untrusted_types(hostile) == ["builtins.eval"]
    with pytest.raises(ark.ForbiddenTypeError):
        ark.loads(hostile, trusted=["builtins.eval"])


def test_object_node_claiming_to_be_a_function():
    hostile = replace_root(base_file(), {"$object": "sklearn.metrics._classification.accuracy_score",
                                         "state": {}})
    with pytest.raises(ark.InvalidObjectError, match="not a class"):
        ark.loads(hostile)


@pytest.mark.parametrize("name", ["sklearn:os.system", "sklearn.base:np.save", "sklearn.base:copy.copy"])
def test_paths_through_modules_are_refused(name):
    hostile = replace_root(base_file(), {"$object": "ark.global", "state": name})
    with pytest.raises((ark.InvalidObjectError, UntrustedTypeError)):
        ark.loads(hostile)


def test_object_path_through_a_module_is_refused():
    hostile = replace_root(base_file(), {"$object": "sklearn.base.copy.deepcopy", "state": {}})
    with pytest.raises((ark.InvalidObjectError, UntrustedTypeError)):
        ark.loads(hostile)


@pytest.mark.parametrize("key", ["predict", "decision_function", "__reduce_ex__", "__deepcopy__", "fit"])
def test_state_may_not_replace_methods(key):
    def smuggle(root):
        root["state"][key] = {"$object": "ark.global", "state": "numpy:log1p"}
        return root

    with pytest.raises(ark.InvalidObjectError, match="method|special"):
        ark.loads(edit_root(base_file(), smuggle))


# --- structure ----------------------------------------------------------------------------------

def test_legitimate_cycle_loads():
    data = ark.dumps(LogisticRegression())

    def cycle(root):
        root["id"] = 0
        root["state"]["me"] = {"$ref": 0}
        return root

    model = ark.loads(edit_root(data, cycle))
    assert model.me is model


def test_cycle_through_constructor_arguments_is_refused():
    data = ark.dumps(DecisionTreeClassifier(max_depth=2).fit(X, Y))

    def cycle(root):
        tree = find_objects(root, "sklearn.tree._tree.Tree")[0]
        tree["id"] = 99
        tree["state"]["$tuple"][0]["$tuple"][0] = {"$ref": 99}
        return root

    with pytest.raises(ark.InvalidObjectError, match="still being built"):
        ark.loads(edit_root(data, cycle))


@pytest.mark.parametrize("node", [
    {"$object": "builtins.set", "id": 5, "state": [{"$ref": 5}]},
    {"$object": "functools.partial", "id": 5,
     "state": [{"$ref": 5}, {"$tuple": []}, {}, None]},
])
def test_cycles_through_fixed_constructors_are_refused(node):
    with pytest.raises((ark.InvalidObjectError, ark.FormatError)):
        ark.loads(replace_root(base_file(), node))


def test_dangling_reference_is_refused():
    with pytest.raises((ark.InvalidObjectError, ark.FormatError)):
        ark.loads(replace_root(base_file(), [{"$ref": 7}]))


def test_deeply_nested_tree_is_refused():
    deep = "[" * 100_000 + "null" + "]" * 100_000
    with pytest.raises(ark.FormatError, match="depth|nest"):
        ark.loads(replace_root_text(base_file(), deep))


def test_nesting_within_the_limit_loads():
    deep = 1
    for _ in range(250):
        deep = [deep]
    loaded = ark.loads(replace_root(base_file(), deep))
    for _ in range(250):
        loaded = loaded[0]
    assert loaded == 1


@pytest.mark.parametrize("node, match", [
    ({"$object": "numpy.ndarray", "state": {"dtype": "|O", "shape": [5], "items": [1]}}, "shape"),
    ({"$object": "numpy.ndarray", "state": {"dtype": "|O", "shape": [-1], "items": []}}, "shape"),
    ({"$object": "numpy.ndarray", "state": "nope"}, "state form"),
    ({"$object": "numpy.dtype", "state": "f8; __import__('os')"}, "descriptor"),
    ({"$object": "numpy.int8", "state": 1000}, "fit"),
    ({"$object": "numpy.float64", "state": "1.0"}, "state"),
    ({"$object": "numpy.random.RandomState", "state": {"bit_generator": "Evil"}}, "bit generator"),
    ({"$object": "builtins.range", "state": [0, 1.5, 1]}, "integer"),
    ({"$object": "builtins.complex", "state": ["a", 1]}, "number"),
    ({"$object": "numpy.generic", "state": {"dtype": "<f8", "data": {"$bytes": "AAA="}}}, "dtype"),
    ({"$object": "sklearn.linear_model._logistic.LogisticRegression", "state": "x"}, "state"),
    ({"$object": "ark.global", "state": "no-colon"}, "global"),
])
def test_malformed_nodes(node, match):
    with pytest.raises(ark.InvalidObjectError, match=match):
        ark.loads(replace_root(base_file(), node))


def test_sparse_indices_out_of_range():
    import scipy.sparse as sp

    data = ark.dumps(sp.csr_matrix(np.eye(4)))

    def shrink(root):
        root["state"]["shape"] = [4, 2]
        return root

    with pytest.raises(ark.InvalidObjectError, match="column index|index"):
        ark.loads(edit_root(data, shrink))


# --- compiled code that trusts its arrays ---------------------------------------------------------

def _tree_file(tmp_path, model):
    path = tmp_path / "model.ark"
    ark.dump(model, path)
    return path


def _edit_tree_nodes(tmp_path, model, edit):
    path = _tree_file(tmp_path, model)
    reader = _ark.Reader(str(path))
    trees = [o for o in _objects(reader.root()) if o.type_name == "sklearn.tree._tree.Tree"]
    index = trees[0].state[1]["nodes"].index
    out = tmp_path / "edited.ark"

    def edit_arrays(sections, arrays):
        edit(arrays[index])

    rewrite(str(path), str(out), edit_arrays=edit_arrays)
    return out


def _objects(value):
    stack, found = [value], []
    while stack:
        v = stack.pop()
        if isinstance(v, _ark.Object):
            found.append(v)
            stack.append(v.state)
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return found


def _first_internal(nodes):
    return int(np.flatnonzero(nodes["left_child"] != -1)[0])


@pytest.mark.parametrize("edit, match", [
    (lambda n: n["left_child"].__setitem__(_first_internal(n), 10**6), "child"),
    (lambda n: n["right_child"].__setitem__(_first_internal(n), -5), "child"),
    (lambda n: n["left_child"].__setitem__(_first_internal(n), 0), "child"),  # a loop
    (lambda n: n["feature"].__setitem__(_first_internal(n), 4), "feature"),
    (lambda n: n["feature"].__setitem__(_first_internal(n), -3), "feature"),
    (lambda n: n["right_child"].__setitem__(_first_internal(n), -1), "child"),  # one child
])
def test_tree_node_arrays_are_checked(tmp_path, edit, match):
    model = DecisionTreeClassifier(random_state=0).fit(X, Y)
    with pytest.raises(ark.InvalidObjectError, match=match):
        ark.load(_edit_tree_nodes(tmp_path, model, edit))


def test_tree_counts_are_checked():
    data = ark.dumps(DecisionTreeClassifier(random_state=0).fit(X, Y))
    for field, value, match in [("node_count", 10**6, "node_count"), ("max_depth", 1, "max_depth")]:
        def edit(root):
            find_objects(root, "sklearn.tree._tree.Tree")[0]["state"]["$tuple"][1][field] = value
            return root

        with pytest.raises(ark.InvalidObjectError, match=match):
            ark.loads(edit_root(data, edit))

    def edit_args(root):
        args = find_objects(root, "sklearn.tree._tree.Tree")[0]["state"]["$tuple"][0]["$tuple"]
        args[2] = 5  # n_outputs larger than n_classes holds
        return root

    with pytest.raises(ark.InvalidObjectError, match="n_classes"):
        ark.loads(edit_root(data, edit_args))


def test_forest_member_width_is_checked():
    data = ark.dumps(RandomForestClassifier(n_estimators=2, random_state=0).fit(X, Y))

    def narrow(root):
        root["state"]["n_features_in_"] = 2
        return root

    with pytest.raises(ark.InvalidObjectError, match="features"):
        ark.loads(edit_root(data, narrow))

    def forget(root):
        members = find_objects(root, "sklearn.tree._classes.DecisionTreeClassifier")
        del [m for m in members if "tree_" in m["state"]][0]["state"]["n_features_in_"]
        return root

    with pytest.raises(ark.InvalidObjectError, match="n_features_in_"):
        ark.loads(edit_root(data, forget))


def test_hist_gradient_boosting_nodes_are_checked(tmp_path):
    model = HistGradientBoostingClassifier(max_iter=3).fit(X, Y)
    path = tmp_path / "hgb.ark"
    ark.dump(model, path)
    reader = _ark.Reader(str(path))
    predictors = [o for o in _objects(reader.root())
                  if o.type_name.endswith("predictor.TreePredictor")]
    index = predictors[0].state["nodes"].index

    for field, value in [("left", 10**6), ("feature_idx", 99)]:
        def edit_arrays(sections, arrays, field=field, value=value):
            nodes = arrays[index]
            nodes[field][np.flatnonzero(nodes["is_leaf"] == 0)[0]] = value

        out = tmp_path / f"bad_{field}.ark"
        rewrite(str(path), str(out), edit_arrays=edit_arrays)
        with pytest.raises(ark.InvalidObjectError):
            ark.load(out)


def test_kd_tree_indices_are_checked(tmp_path):
    model = KNeighborsClassifier(algorithm="kd_tree").fit(X, Y)
    path = tmp_path / "knn.ark"
    ark.dump(model, path)
    reader = _ark.Reader(str(path))
    kd = [o for o in _objects(reader.root()) if o.type_name.endswith("KDTree")][0]
    index = kd.state[1][1].index  # idx_array

    def edit_arrays(sections, arrays):
        arrays[index][3] = 10**6

    out = tmp_path / "bad_kd.ark"
    rewrite(str(path), str(out), edit_arrays=edit_arrays)
    with pytest.raises(ark.InvalidObjectError, match="idx_array"):
        ark.load(out)


def test_untouched_files_still_load(tmp_path):
    # The helpers themselves do not break valid files.
    model = DecisionTreeClassifier(random_state=0).fit(X, Y)
    out = _edit_tree_nodes(tmp_path, model, lambda nodes: None)
    np.testing.assert_array_equal(ark.load(out).predict(X), model.predict(X))
    data = ark.dumps(model)
    np.testing.assert_array_equal(ark.loads(edit_root(data, copy.deepcopy)).predict(X), model.predict(X))
