"""Validation of the state of classes whose compiled code trusts its arrays.

scikit-learn's Cython code indexes memory with the numbers it is given
(child indices of a tree node, feature indices, node counts) without bounds
checks. Pickle hands a crafted file's numbers straight to that code; ark
checks them first, so a hostile file cannot make predict read out of bounds,
loop forever or allocate without limit. Each check receives the rebuilt
``__new__`` arguments and state of one object, before the class sees them,
and raises InvalidObjectError with what is wrong.

CHECKS maps a class's qualified name to its check; COPIES_ITS_ARRAYS names
classes that copy the arrays of their state and constructor arguments into
their own memory, so the loader may hand them read-only views of the file.

Node arrays are checked in one native pass each (``_ark.find_tree_defect``,
ark/model/sklearn_checks.h, shared with the native runtime); the rest is
cheap shape and count checks here. rf500 (4 million tree nodes) costs a few
milliseconds.
"""
import _ark
import numpy as np

from .errors import InvalidObjectError

TREE = "sklearn.tree._tree.Tree"


def _fail(what, detail):
    raise InvalidObjectError(f"invalid {what}: {detail}")


def _is_int(x):
    return type(x) is int or isinstance(x, np.integer)


def _array(x, what, dtype=None, ndim=None):
    if type(x) is not np.ndarray:
        _fail(what, f"expected an array, got {type(x).__name__}")
    if dtype is not None and x.dtype != dtype:
        _fail(what, f"dtype {x.dtype}, expected {dtype}")
    if ndim is not None and x.ndim != ndim:
        _fail(what, f"{x.ndim} dimensions, expected {ndim}")
    return x


def _node_dtype():
    global _NODE_DTYPE
    if _NODE_DTYPE is None:
        from sklearn.tree._tree import NODE_DTYPE  # noqa: PLC0415

        _NODE_DTYPE = NODE_DTYPE
    return _NODE_DTYPE


_NODE_DTYPE = None
_TREE_FIELDS = None
_HIST_FIELDS = None


def _int_field_offsets(dtype, names, types):
    """Byte offsets of `names` in a structured dtype, for the native checks
    (which read the fields as `types`)."""
    fields = dtype.fields
    for name, expected in zip(names, types):
        if fields[name][0] != expected:
            raise RuntimeError(f"this scikit-learn stores {name} as {fields[name][0]}, which ark "
                               f"cannot check; expected {np.dtype(expected)}")
    return tuple(fields[name][1] for name in names)


def _tree_fields():
    global _TREE_FIELDS
    if _TREE_FIELDS is None:
        _TREE_FIELDS = _int_field_offsets(
            _node_dtype(), ("left_child", "right_child", "feature"), (np.int64,) * 3)
    return _TREE_FIELDS


def check_tree(args, state):
    """sklearn.tree._tree.Tree: __cinit__(n_features, n_classes, n_outputs), then
    __setstate__({max_depth, node_count, nodes, values})."""
    what = "tree"
    if len(args) != 3:
        _fail(what, "expected 3 constructor arguments")
    n_features, n_classes, n_outputs = args
    if not (_is_int(n_features) and 0 < n_features < 2**31 and _is_int(n_outputs)
            and 0 < n_outputs < 2**31):
        _fail(what, "n_features and n_outputs must be positive integers")
    _array(n_classes, "tree n_classes", np.intp, 1)
    counts = n_classes.tolist()
    if len(counts) != n_outputs or min(counts) < 1 or max(counts) >= 2**31:
        _fail(what, "n_classes must hold one positive count per output")
    if type(state) is not dict or not {"max_depth", "node_count", "nodes", "values"} <= state.keys():
        _fail(what, "state must hold max_depth, node_count, nodes and values")
    nodes = _array(state["nodes"], "tree nodes", _node_dtype(), 1)
    if not nodes.flags.c_contiguous:
        _fail(what, "nodes must be contiguous")
    values = _array(state["values"], "tree values", np.float64)
    n = nodes.shape[0]
    if state["node_count"] != n or n < 1:
        _fail(what, f"node_count {state['node_count']!r} but {n} nodes")
    if n >= 2**31:
        _fail(what, "too many nodes")
    if values.shape != (n, n_outputs, max(counts)):
        _fail(what, f"values shape {values.shape} does not match {n} nodes")
    max_depth = state["max_depth"]
    if not (_is_int(max_depth) and 0 <= max_depth < n):
        _fail(what, f"max_depth {max_depth!r} is impossible for {n} nodes")
    # One linear pass in C++ (ark/model/sklearn_checks.h): children in range
    # and after their parent, one parent per node, features below n_features,
    # no node deeper than max_depth.
    defect = _ark.find_tree_defect(nodes, _tree_fields(), int(n_features), int(max_depth))
    if defect is not None:
        _fail(what, defect)


# The compact form of a Tree's state (docs/OBJECTS.md, ark/model/tree_codec.h).
_COMPACT_TREE_KEYS = frozenset({
    "encoding", "max_depth", "node_count", "leaf", "feature", "threshold", "n_node_samples",
    "impurity", "weighted_n_node_samples", "values"})
# NODE_DTYPE as scikit-learn 1.0-1.2 lay it out: what "ark.tree.v1" decodes to.
_TREE_V1_NODE_DTYPE = np.dtype({
    "names": ["left_child", "right_child", "feature", "threshold", "impurity", "n_node_samples",
              "weighted_n_node_samples"],
    "formats": ["<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"],
    "offsets": [0, 8, 16, 24, 32, 40, 48], "itemsize": 56})


def decode_tree(args, state):
    """A Tree state in the compact form ({"encoding": "ark.tree.v1", ...})
    -> the plain {max_depth, node_count, nodes, values}, which check_tree then
    validates like any other; plain states are returned as they are. The
    native decoder checks every size before it allocates or writes."""
    if type(state) is not dict or "encoding" not in state:
        return state
    what = "compact tree"
    if state["encoding"] != _ark.TREE_ENCODING:
        _fail(what, f"unknown encoding {state['encoding']!r}")
    if state.keys() != _COMPACT_TREE_KEYS:
        _fail(what, f"missing or unexpected fields {sorted(state.keys() ^ _COMPACT_TREE_KEYS)}")
    if not isinstance(args, (list, tuple)) or len(args) != 3:
        _fail(what, "expected 3 constructor arguments")
    n_classes, n_outputs, node_count = args[1], args[2], state["node_count"]
    _array(n_classes, "tree n_classes", np.intp, 1)
    if not (_is_int(n_outputs) and _is_int(node_count)) or n_classes.size != n_outputs:
        _fail(what, "n_outputs, n_classes and node_count do not fit together")
    try:
        nodes, values = _ark.decode_tree(state, int(node_count), int(n_outputs),
                                         int(n_classes.max()), _TREE_V1_NODE_DTYPE)
    except (ValueError, TypeError, OverflowError) as e:
        _fail(what, str(e))
    return {"max_depth": state["max_depth"], "node_count": node_count, "nodes": nodes,
            "values": values}


def check_hist_predictor(args, state):
    """HistGradientBoosting's TreePredictor: nodes with left/right/feature_idx."""
    from sklearn.ensemble._hist_gradient_boosting.common import (  # noqa: PLC0415
        PREDICTOR_RECORD_DTYPE,
    )

    what = "histogram gradient boosting tree"
    if args or type(state) is not dict:
        _fail(what, "state must be a dict")
    nodes = _array(state.get("nodes"), "predictor nodes", PREDICTOR_RECORD_DTYPE, 1)
    if not nodes.flags.c_contiguous:
        _fail(what, "nodes must be contiguous")
    rows = []
    for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = _array(state.get(name), name, np.uint32, 2)
        if bitsets.shape[1] != 8:
            _fail(what, f"{name} must have 8 words per row")
        rows.append(bitsets.shape[0])
    global _HIST_FIELDS
    if _HIST_FIELDS is None:
        _HIST_FIELDS = _int_field_offsets(
            PREDICTOR_RECORD_DTYPE, ("left", "right", "is_leaf", "is_categorical", "bitset_idx"),
            (np.uint32, np.uint32, np.uint8, np.uint8, np.uint32))
    # Children in range and after their parent, one parent per node, and
    # categorical splits inside both bitset arrays: one pass in C++.
    defect = _ark.find_hist_predictor_defect(nodes, _HIST_FIELDS, min(rows))
    if defect is not None:
        _fail(what, defect)


def check_hist_gradient_boosting(args, state):
    """Every predictor's splits use features the estimator checks X for."""
    what = "histogram gradient boosting model"
    if type(state) is not dict or "_predictors" not in state:
        return  # not fitted
    n_features = _n_features_in(state, what)
    mapper = state.get("_bin_mapper")
    is_categorical = getattr(mapper, "is_categorical_", None)
    if is_categorical is not None:
        is_categorical = _array(is_categorical, "is_categorical_", ndim=1)
        if is_categorical.shape != (n_features,):
            _fail(what, "is_categorical_ does not match n_features_in_")
    for trees in state["_predictors"]:
        for predictor in trees:
            nodes = predictor.nodes
            internal = nodes["is_leaf"] == 0
            if internal.any():
                features = nodes["feature_idx"][internal]
                if features.max() >= n_features:
                    _fail(what, f"a split uses a feature outside 0..{n_features - 1}")
                categorical = nodes["is_categorical"][internal] != 0
                if categorical.any() and (is_categorical is None
                                          or not np.all(is_categorical[features[categorical]])):
                    _fail(what, "a categorical split on a feature that is not categorical")


def _n_features_in(state, what):
    n = state.get("n_features_in_")
    if not _is_int(n) or n < 1:
        _fail(what, "a fitted model must record n_features_in_")
    return int(n)


def check_decision_tree(args, state):
    """The tree's feature indices must stay below the width predict checks X for."""
    what = "decision tree estimator"
    if type(state) is not dict or "tree_" not in state:
        return
    n_features = _n_features_in(state, what)
    if state["tree_"].n_features != n_features:
        _fail(what, "tree_.n_features differs from n_features_in_")


def check_ensemble(args, state):
    """Ensembles call their members without re-checking X (check_input=False):
    every member must expect the ensemble's width, or the width of its feature
    subset when the ensemble draws one."""
    what = "ensemble"
    if type(state) is not dict or "estimators_" not in state:
        return
    n_features = _n_features_in(state, what)
    members = state["estimators_"]
    members = members.ravel().tolist() if isinstance(members, np.ndarray) else list(members)
    subsets = state.get("estimators_features_")
    if subsets is not None and len(subsets) != len(members):
        _fail(what, "estimators_features_ does not match estimators_")
    for i, member in enumerate(members):
        width = getattr(member, "n_features_in_", None)
        if width is None:
            continue
        if subsets is None:
            expected = n_features
        else:
            features = _array(subsets[i], "estimators_features_", ndim=1)
            if features.size and (features.min() < 0 or features.max() >= n_features):
                _fail(what, "a feature subset reaches outside n_features_in_")
            expected = features.shape[0]
        if width != expected:
            _fail(what, f"member {i} expects {width} features, not {expected}")


def check_binary_tree(args, state):
    """KDTree / BallTree: (data, idx_array, node_data, node_bounds, leaf_size,
    n_levels, n_nodes, n_trims, n_leaves, n_splits, n_calls, dist_metric,
    sample_weight)."""
    what = "neighbors tree"
    if type(state) is not tuple or len(state) != 13:
        _fail(what, "state must be a tuple of 13 values")
    data, idx, node_data, bounds = state[:4]
    _array(data, "tree data", np.float64, 2)
    n_samples, n_features = data.shape
    _array(idx, "idx_array", np.intp, 1)
    if idx.shape != (n_samples,) or (n_samples and (idx.min() < 0 or idx.max() >= n_samples)):
        _fail(what, "idx_array does not index the data")
    _array(node_data, "node_data", ndim=1)
    if node_data.dtype.names != ("idx_start", "idx_end", "is_leaf", "radius"):
        _fail(what, "node_data has an unexpected dtype")
    n_nodes = node_data.shape[0]
    n_levels = state[5]
    if not (_is_int(n_levels) and 0 < n_levels < 64 and state[6] == n_nodes == 2**n_levels - 1):
        _fail(what, "n_levels / n_nodes do not match node_data")
    start, end = node_data["idx_start"], node_data["idx_end"]
    if np.any(start < 0) or np.any(end < start) or np.any(end > n_samples):
        _fail(what, "a node's index range is outside the data")
    internal = np.flatnonzero(node_data["is_leaf"] == 0)
    if internal.size and 2 * internal.max() + 2 >= n_nodes:
        _fail(what, "an inner node's children are outside node_data")
    _array(bounds, "node_bounds", np.float64, 3)
    if bounds.shape[1:] != (n_nodes, n_features) or bounds.shape[0] not in (1, 2):
        _fail(what, "node_bounds does not match the nodes")
    weights = state[12]
    if weights is not None and (_array(weights, "sample_weight", np.float64).shape != (n_samples,)):
        _fail(what, "sample_weight does not match the data")
    metric = state[11]
    size = getattr(metric, "size", None)
    if _is_int(size) and size not in (0, n_features):
        _fail(what, "the distance metric expects another number of features")


def check_bspline(args, state):
    """scipy's BSpline: its compiled evaluation trusts len(t), k and len(c)."""
    what = "B-spline"
    if args or type(state) is not dict or not {"t", "c", "k", "extrapolate", "axis"} <= state.keys():
        _fail(what, "state must hold t, c, k, extrapolate and axis")
    t, c, k, axis = state["t"], state["c"], state["k"], state["axis"]
    _array(t, "spline knots", np.float64, 1)
    _array(c, "spline coefficients")
    if not (_is_int(k) and 0 <= k < 64 and _is_int(axis) and 0 <= axis < max(c.ndim, 1)):
        _fail(what, "bad degree or axis")
    n = t.shape[0] - k - 1
    if n < k + 1 or c.ndim < 1 or c.shape[0] < n or np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
        _fail(what, "knots, degree and coefficients do not fit together")


def _int_array(x, what):
    x = _array(x, what, ndim=1)
    if x.dtype.kind not in "iu":
        _fail(what, f"dtype {x.dtype}, expected integers")
    return x


def check_libsvm(args, state):
    """SVC, NuSVC, SVR, NuSVR, OneClassSVM: libsvm's C code sizes its loops by
    the counts it is given (`_n_support`, the number of classes it implies) and,
    for a precomputed kernel, indexes the caller's kernel matrix with `support_`.
    scikit-learn re-checks only the sum of `_n_support` (CVE-2020-28975); every
    other array must agree with them before predict can run."""
    what = "libsvm estimator"
    if type(state) is not dict or "support_vectors_" not in state:
        return
    n_support = _int_array(state.get("_n_support"), "_n_support")
    support = _int_array(state.get("support_"), "support_")
    sv = state["support_vectors_"]
    if not hasattr(sv, "shape") or len(sv.shape) != 2:
        _fail(what, "support_vectors_ must be a 2-D array or sparse matrix")
    if n_support.size and n_support.min() < 0:
        _fail(what, "_n_support holds a negative count")
    n_sv = int(n_support.sum()) if "classes_" in state else support.shape[0]
    classes = state.get("classes_")
    n_class = len(classes) if classes is not None else 2
    if n_support.shape[0] != n_class:
        _fail(what, f"_n_support has {n_support.shape[0]} entries for {n_class} classes")
    if support.shape[0] != n_sv:
        _fail(what, "support_ does not match _n_support")
    kernel = state.get("kernel")
    shape_fit = state.get("shape_fit_")
    if not (isinstance(shape_fit, tuple) and len(shape_fit) == 2 and all(map(_is_int, shape_fit))):
        _fail(what, "shape_fit_ must be (n_samples, n_features)")
    if kernel == "precomputed" or callable(kernel):
        if support.size and (support.min() < 0 or support.max() >= shape_fit[0]):
            _fail(what, "a support_ index is outside the training kernel matrix")
    else:
        if sv.shape[0] != n_sv:
            _fail(what, "support_vectors_ does not match _n_support")
        if sv.shape[1] != _n_features_in(state, what):
            _fail(what, "support_vectors_ width differs from n_features_in_")
    rows = n_class - 1 if classes is not None else 1
    for name in ("_dual_coef_", "dual_coef_"):
        coef = state.get(name)
        if not hasattr(coef, "shape") or tuple(coef.shape) != (rows, n_sv):
            _fail(what, f"{name} must have shape ({rows}, {n_sv})")
    n_pairs = n_class * (n_class - 1) // 2 if classes is not None else 1
    intercept = _array(state.get("_intercept_"), "_intercept_", np.float64, 1)
    if intercept.shape[0] != n_pairs:
        _fail(what, f"_intercept_ must hold {n_pairs} values")
    for name in ("_probA", "_probB"):
        prob = _array(state.get(name), name, np.float64, 1)
        if prob.shape[0] not in (0, n_pairs):
            _fail(what, f"{name} must be empty or hold {n_pairs} values")


def sparse_matrix(sparse, name, fmt, shape, parts):
    """Builds a scipy.sparse matrix from its components and checks every index
    (scipy's C++ kernels do not)."""
    cls = getattr(sparse, name)
    if fmt in ("csr", "csc", "bsr", "lil"):
        base = "bsr" if fmt == "bsr" else ("csc" if fmt == "csc" else "csr")
        base_cls = getattr(sparse, f"{base}_{name.split('_')[1]}")
        matrix = base_cls((parts["data"], parts["indices"], parts["indptr"]), shape=shape, copy=False)
        # The constructor may narrow index dtypes; keep the stored ones.
        matrix.indices, matrix.indptr = parts["indices"], parts["indptr"]
        matrix.check_format(full_check=True)
        return matrix.tolil() if fmt == "lil" else matrix
    if fmt in ("coo", "dok"):
        row, col = parts["row"], parts["col"]
        if row.shape != col.shape or row.shape != parts["data"].shape or row.ndim != 1:
            raise InvalidObjectError("coo components differ in length")
        if row.size and (row.min() < 0 or col.min() < 0 or row.max() >= shape[0] or col.max() >= shape[1]):
            raise InvalidObjectError("a sparse index is outside the matrix")
        base_cls = getattr(sparse, f"coo_{name.split('_')[1]}")
        matrix = base_cls((parts["data"], (row, col)), shape=shape, copy=False)
        return matrix.todok() if fmt == "dok" else matrix
    if fmt == "dia":
        data, offsets = parts["data"], parts["offsets"]
        if data.ndim != 2 or offsets.ndim != 1 or data.shape[0] != offsets.shape[0]:
            raise InvalidObjectError("dia components do not match")
        return cls((data, offsets), shape=shape, copy=False)
    raise InvalidObjectError(f"unknown sparse format {fmt!r}")


_FORESTS = [
    f"sklearn.ensemble._forest.{c}" for c in (
        "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
        "ExtraTreesRegressor", "RandomTreesEmbedding")
] + [
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.ensemble._bagging.BaggingClassifier",
    "sklearn.ensemble._bagging.BaggingRegressor",
]

CHECKS = {
    TREE: check_tree,
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": check_hist_predictor,
    "sklearn.neighbors._kd_tree.KDTree": check_binary_tree,
    "scipy.interpolate._bsplines.BSpline": check_bspline,
    "sklearn.neighbors._ball_tree.BallTree": check_binary_tree,
    **{f"sklearn.tree._classes.{c}": check_decision_tree for c in (
        "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
        "ExtraTreeRegressor")},
    **{f"sklearn.ensemble._hist_gradient_boosting.gradient_boosting.{c}":
       check_hist_gradient_boosting for c in (
           "HistGradientBoostingClassifier", "HistGradientBoostingRegressor")},
    **{name: check_ensemble for name in _FORESTS},
    **{f"sklearn.svm._classes.{c}": check_libsvm
       for c in ("SVC", "NuSVC", "SVR", "NuSVR", "OneClassSVM")},
}

COPIES_ITS_ARRAYS = frozenset({TREE})

# Classes whose state may come in a compact form: DECODERS[name](args, state)
# returns the state the class expects, before CHECKS[name] sees it.
DECODERS = {TREE: decode_tree}

# Classes whose compiled code writes to (or declares non-const) the arrays of
# their state: they get writable copies even with mmap_mode="r".
NEEDS_WRITABLE_ARRAYS = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "scipy.interpolate._bsplines.BSpline",
})
