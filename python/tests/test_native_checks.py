"""The native node checks (_ark.find_tree_defect, _ark.find_hist_predictor_defect)
against an independent NumPy statement of the same rules, on real trees and
on thousands of random corruptions of them."""
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import NODE_DTYPE

import _ark
import ark
from ark import _checks

X, Y = make_classification(n_samples=300, n_features=6, random_state=0)


def reference_tree_defect(nodes, n_features, max_depth):
    """True when the records break a rule of ark/model/sklearn_checks.h."""
    n = nodes.shape[0]
    left = nodes["left_child"].astype(np.int64)
    right = nodes["right_child"].astype(np.int64)
    leaf = (left == -1) & (right == -1)
    internal = np.flatnonzero(~leaf)
    lc, rc = left[internal], right[internal]
    if n < 1 or not 0 <= max_depth < n:
        return True
    if ((left == -1) != (right == -1)).any():
        return True
    if internal.size and ((np.minimum(lc, rc) <= internal).any() or max(lc.max(), rc.max()) >= n):
        return True
    if 2 * internal.size != n - 1:
        return True
    parents = np.zeros(n, dtype=np.int64)
    np.add.at(parents, lc, 1)
    np.add.at(parents, rc, 1)
    if parents[0] != 0 or (parents[1:] != 1).any():
        return True
    features = nodes["feature"][internal]
    if internal.size and (features.min() < 0 or features.max() >= n_features):
        return True
    depth = np.zeros(n, dtype=np.int64)
    for i in internal:  # parents come before children
        depth[left[i]] = depth[right[i]] = depth[i] + 1
    return bool(depth.max() > max_depth)


def native_tree_defect(nodes, n_features, max_depth):
    return _ark.find_tree_defect(nodes, _checks._tree_fields(), n_features, max_depth)


@pytest.fixture(scope="module")
def tree():
    return DecisionTreeClassifier(random_state=0, max_depth=6).fit(X, Y).tree_


def test_real_trees_pass(tree):
    nodes = tree.__getstate__()["nodes"]
    assert native_tree_defect(nodes, X.shape[1], tree.max_depth) is None
    assert not reference_tree_defect(nodes, X.shape[1], tree.max_depth)


def test_random_corruptions_agree_with_the_reference(tree):
    rng = np.random.default_rng(0)
    clean = tree.__getstate__()["nodes"]
    n = clean.shape[0]
    refused = 0
    for trial in range(3000):
        nodes = clean.copy()
        for _ in range(rng.integers(1, 3)):
            field = rng.choice(["left_child", "right_child", "feature"])
            i = rng.integers(n)
            nodes[field][i] = rng.choice([-1, -2, 0, i, i + 1, n - 1, n, 2**40, -2**40,
                                          nodes[field][rng.integers(n)], rng.integers(-3, n + 3)])
        max_depth = int(rng.choice([tree.max_depth, tree.max_depth - 1, tree.max_depth + 1]))
        defect = native_tree_defect(nodes, X.shape[1], max_depth)
        expected = reference_tree_defect(nodes, X.shape[1], max_depth)
        assert (defect is not None) == expected, (trial, defect)
        assert defect != "the nodes do not form a valid tree"  # the two native passes agree
        refused += expected
    assert 1000 < refused < 3000  # the corruptions exercise both outcomes


def test_bad_arguments_raise():
    nodes = np.zeros(4, dtype=NODE_DTYPE)
    with pytest.raises(TypeError):
        _ark.find_tree_defect(nodes.tolist(), _checks._tree_fields(), 1, 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _ark.find_tree_defect(nodes[::2], _checks._tree_fields(), 1, 0)
    assert "layout" in _ark.find_tree_defect(nodes, (0, 8, 60), 1, 0)


def test_hist_predictor_checks():
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0).fit(X, Y)
    predictor = model._predictors[0][0]
    fields = (predictor.nodes.dtype.fields["left"][1], predictor.nodes.dtype.fields["right"][1],
              predictor.nodes.dtype.fields["is_leaf"][1],
              predictor.nodes.dtype.fields["is_categorical"][1],
              predictor.nodes.dtype.fields["bitset_idx"][1])
    assert _ark.find_hist_predictor_defect(predictor.nodes, fields, 0) is None
    nodes = predictor.nodes.copy()
    inner = np.flatnonzero(nodes["is_leaf"] == 0)[0]
    nodes["right"][inner] = nodes["left"][inner]
    assert "several parents" in _ark.find_hist_predictor_defect(nodes, fields, 0)
    nodes = predictor.nodes.copy()
    nodes["is_categorical"][inner] = 1
    assert "categorical" in _ark.find_hist_predictor_defect(nodes, fields, 0)
    assert _ark.find_hist_predictor_defect(nodes, fields, 1) is None


def test_load_checks_blob_digests_only_when_asked(tmp_path):
    # verify=False (the default) skips the per-blob SHA-256; verify=True catches the flip.
    import ark
    from sklearn.linear_model import LogisticRegression

    path = tmp_path / "model.ark"
    ark.dump(LogisticRegression().fit(X, Y), path)
    reader = _ark.Reader(str(path), verify_on_access=False)
    biggest = max(range(reader.blob_count), key=lambda i: reader.blob_info(i)["raw_size"])
    offset = reader.blob_info(biggest)["offset"]
    del reader
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    ark.load(path)
    with pytest.raises(ark.ChecksumMismatchError):
        ark.load(path, verify=True)


# --- libsvm (SVC & co.): counts and indices its C code trusts -----------------

def _svm_states():
    from sklearn.svm import SVC, SVR, NuSVC, OneClassSVM  # noqa: PLC0415

    Xm, ym = make_classification(n_samples=80, n_features=5, n_classes=3, n_informative=3,
                                 random_state=1)
    fitted = {
        "SVC": SVC(probability=True, random_state=0).fit(Xm, ym),
        "NuSVC": NuSVC().fit(Xm, ym),
        "SVR": SVR().fit(Xm, ym.astype(float)),
        "OneClassSVM": OneClassSVM().fit(Xm),
        "precomputed": SVC(kernel="precomputed").fit(Xm @ Xm.T, ym),
    }
    return {name: dict(model.__dict__) for name, model in fitted.items()}


SVM_STATES = _svm_states()


@pytest.mark.parametrize("name", sorted(SVM_STATES))
def test_real_libsvm_states_pass(name):
    _checks.check_libsvm((), dict(SVM_STATES[name]))


def _grow(a):
    return np.concatenate([a, a[:1]])


SVM_CORRUPTIONS = {
    "more support than vectors": ("SVC", lambda s: s.update(_n_support=s["_n_support"] + 1)),
    "negative count": ("SVC", lambda s: s.update(
        _n_support=s["_n_support"] * np.array([1, -1, 1], dtype=s["_n_support"].dtype))),
    "a class count missing": ("SVC", lambda s: s.update(_n_support=s["_n_support"][:2])),
    "float counts": ("SVC", lambda s: s.update(_n_support=s["_n_support"].astype(float))),
    "short intercept": ("SVC", lambda s: s.update(_intercept_=s["_intercept_"][:1])),
    "long probA": ("SVC", lambda s: s.update(_probA=_grow(s["_probA"]))),
    "dual_coef_ too narrow": ("NuSVC", lambda s: s.update(_dual_coef_=s["_dual_coef_"][:, :-1])),
    "vectors of another width": ("SVR", lambda s: s.update(
        support_vectors_=s["support_vectors_"][:, :-1])),
    "support_ longer than the vectors": ("OneClassSVM", lambda s: s.update(
        support_=_grow(s["support_"]))),
    "precomputed index past the training rows": ("precomputed", lambda s: s.update(
        support_=s["support_"] + s["shape_fit_"][0])),
    "precomputed negative index": ("precomputed", lambda s: s.update(
        support_=s["support_"] - 10_000)),
    "shape_fit_ not a pair": ("SVC", lambda s: s.update(shape_fit_=(80,))),
}


@pytest.mark.parametrize("case", sorted(SVM_CORRUPTIONS))
def test_libsvm_corruptions_are_refused(case):
    name, corrupt = SVM_CORRUPTIONS[case]
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in SVM_STATES[name].items()}
    corrupt(state)
    with pytest.raises(ark.InvalidObjectError, match="libsvm estimator|_n_support|support_|_probA|_intercept_"):
        _checks.check_libsvm((), state)


def test_load_refuses_an_svc_whose_counts_were_edited(tmp_path):
    from sklearn.svm import SVC  # noqa: PLC0415

    from edit_ark import rewrite  # noqa: PLC0415

    model = SVC().fit(X, Y)
    good, bad = tmp_path / "good.ark", tmp_path / "bad.ark"
    ark.dump(model, good)
    n_support_blob = None
    reader = _ark.Reader(str(good))
    for i in range(reader.blob_count):
        a = np.array(reader.array(i))
        if a.shape == model._n_support.shape and np.array_equal(a, model._n_support):
            n_support_blob = i

    def inflate(sections, arrays):
        arrays[n_support_blob] = arrays[n_support_blob] * 100

    rewrite(str(good), str(bad), edit_arrays=inflate)
    assert (ark.load(good).predict(X) == model.predict(X)).all()
    with pytest.raises(ark.InvalidObjectError, match="_n_support"):
        ark.load(bad)
