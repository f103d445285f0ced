"""ark.dump / ark.load round trips: every node kind of docs/OBJECTS.md, shared
references and cycles, compression options, dumps/loads and file objects,
mmap views, and atomic failure."""
import collections
import functools
import io
import math
import os
import struct

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import _ark
import ark
import trust_helpers
from ark.errors import UnstorableObjectError

HELPERS = ["trust_helpers.Scaler", "trust_helpers.Slotted", "trust_helpers.Color",
           "trust_helpers.Node", "trust_helpers.double"]


def roundtrip(obj, **load_options):
    return ark.loads(ark.dumps(obj), **load_options)


def assert_same(a, b):
    """Equal values of the same types, recursively; NaN equals NaN, bits compared for floats."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b)
    elif isinstance(a, complex):
        assert struct.pack("<dd", a.real, a.imag) == struct.pack("<dd", b.real, b.imag)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == object:
            for x, y in zip(a.ravel(), b.ravel()):
                assert_same(x, y)
        else:
            assert a.tobytes() == b.tobytes()
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif sp.issparse(a):
        assert a.format == b.format and a.shape == b.shape and a.dtype == b.dtype
        assert (a != b).nnz == 0
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            assert_same(a[k], b[k])
        if isinstance(a, collections.defaultdict):
            assert a.default_factory is b.default_factory
    else:
        assert a == b


# --- every node kind -------------------------------------------------------------------------

SCALARS = [
    None, True, False, 0, -1, 2**63 - 1, -2**63, 2**64, -(2**100), 0.0, -0.0, 1.5, 1e300, 5e-324,
    float("inf"), float("-inf"), float("nan"), struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0],
    "", "text", "ünïcode ✓", "$object", b"", b"\x00\xff", 1 + 2j, complex(float("nan"), -0.0),
]

CONTAINERS = [
    [], [1, [2, [3]]], (), (1,), (1, (2, "a")), {}, {"a": 1, "b": [1, 2]}, {1: "int key"},
    {(1, 2): "tuple key", None: 0, 1.5: "float", "$tag": "dollar"}, {"$object": "os.system"},
    set(), {3, 1, 2}, {"b", "a"}, frozenset({1, (2, 3)}), bytearray(b"ab"),
    slice(1, None, 2), slice(None), range(0), range(1, 10, 3),
    collections.OrderedDict(b=1, a=2), collections.defaultdict(list, {"a": [1]}),
    collections.Counter("hello"),
]

ARRAYS = [
    np.arange(12, dtype=np.int8).reshape(3, 4), np.zeros((0, 3)), np.array(3.5), np.array([True, False]),
    np.arange(6, dtype=">i4"), np.array(["a", "bcd"]), np.array([b"x", b"yz"]),
    np.array([1 + 2j], dtype=np.complex64), np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]"),
    np.array([1, 2], dtype="timedelta64[s]"), np.arange(4, dtype=np.float16),
    np.zeros(3, dtype=[("x", "<i4"), ("y", "<f8", (2,)), ("z", [("p", "u1")])]),
    np.array(["a", None, 1.5, [1, 2], {"k": np.float32(2)}], dtype=object),
    np.array([[1, "a"], [None, 2.5]], dtype=object), np.empty((0,), dtype=object),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10.0)[::2],
]

NUMPY_OTHERS = [
    np.float64(0.1), np.float32(1.5), np.float16(2.0), np.int8(-3), np.uint64(2**64 - 1),
    np.int64(-5), np.longlong(7), np.bool_(True), np.complex128(1 - 1j), np.complex64(2j),
    np.str_("abc"), np.bytes_(b"ab"), np.longdouble("1.1"), np.datetime64("2021-05-01T10:00"),
    np.timedelta64(5, "D"), np.float32("nan"), np.zeros(1, dtype=[("a", "<i4")])[0],
    np.dtype("<f8"), np.dtype(">i2"), np.dtype("U5"), np.dtype("O"), np.dtype("M8[ms]"),
    np.dtype([("a", "<i4"), ("b", "<f8", (3,))]), np.dtype(np.float64),
]

GLOBALS = [np.log1p, np.float64, float, len, np.mean, functools.partial(np.mean, axis=0),
           trust_helpers.double, trust_helpers.Scaler, trust_helpers.Color.RED]


@pytest.mark.parametrize("value", SCALARS + CONTAINERS, ids=repr)
def test_python_values(value):
    assert_same(value, roundtrip(value))


@pytest.mark.parametrize("value", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_arrays(value):
    back = roundtrip(value)
    expected = value.astype(value.dtype.newbyteorder("<")) if value.dtype.byteorder == ">" else value
    assert_same(expected, back)
    assert back.flags.writeable
    if value.ndim > 1 and value.flags.f_contiguous and not value.flags.c_contiguous:
        assert back.flags.f_contiguous


@pytest.mark.parametrize("value", NUMPY_OTHERS, ids=repr)
def test_numpy_scalars_and_dtypes(value):
    back = roundtrip(value)
    assert type(back) is type(value)
    if isinstance(value, np.dtype):
        assert back == value
    else:
        assert_same(value, back)


def test_masked_arrays():
    masked = [np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[False, True, False], fill_value=-1.0),
              np.ma.MaskedArray(np.array(["a", None, 3], dtype=object), mask=[True, False, False]),
              np.ma.masked_array(np.arange(4), hard_mask=True)]
    for value, back in zip(masked, roundtrip(masked)):
        assert type(back) is np.ma.MaskedArray
        assert_same(value.data, back.data)
        assert_same(np.ma.getmaskarray(value), np.ma.getmaskarray(back))
        assert back.fill_value == value.fill_value and back.hardmask == value.hardmask


def test_numpy_matrix():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    back = roundtrip(m)
    assert type(back) is np.matrix and (back == m).all()


@pytest.mark.parametrize("value", GLOBALS, ids=repr)
def test_functions_classes_partials(value):
    back = roundtrip(value, trusted=HELPERS)
    if isinstance(value, functools.partial):
        assert back.func is value.func and back.args == value.args and back.keywords == value.keywords
    else:
        assert back is value


def test_random_states():
    rs = np.random.RandomState(7)
    rs.normal()  # leaves a cached Gaussian
    gen = np.random.default_rng(3)
    gen.random(5)
    bit_generator = np.random.Philox(9)
    rs2, gen2, bg2 = roundtrip([rs, gen, bit_generator])
    assert rs2.normal() == rs.normal() and (rs2.randint(0, 10**9, 5) == rs.randint(0, 10**9, 5)).all()
    assert gen2.random() == gen.random()
    assert bg2.random_raw() == bit_generator.random_raw()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"])
@pytest.mark.parametrize("kind", ["matrix", "array"])
def test_sparse(fmt, kind):
    dense = np.array([[0, 1.5, 0, 0], [2, 0, 0, 3], [0, 0, 0, 0], [4, 0, 5, 0]])
    m = getattr(sp, f"{fmt}_{kind}")(dense)
    if fmt in ("csr", "csc", "bsr"):
        m.indices = m.indices.astype(np.int64)
        m.indptr = m.indptr.astype(np.int64)
    back = roundtrip(m)
    assert type(back) is type(m)
    assert_same(m, back)
    assert (back.toarray() == dense).all()
    if fmt in ("csr", "csc", "bsr"):
        assert back.indices.dtype == np.int64 and back.indptr.dtype == np.int64


def test_generic_objects_slots_enums():
    slotted = trust_helpers.Slotted(1, [2])
    back = roundtrip([slotted, trust_helpers.Color.BLUE], trusted=HELPERS)
    assert back[0].a == 1 and back[0].b == [2]
    assert back[1] is trust_helpers.Color.BLUE


def test_estimators_and_cython_objects():
    X, y = load_iris(return_X_y=True)
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.neighbors import KNeighborsClassifier

    models = [
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y),
        HistGradientBoostingRegressor(max_iter=5, loss="quantile", quantile=0.3).fit(X, y),
        KNeighborsClassifier(algorithm="kd_tree").fit(X, y),
        KNeighborsClassifier(algorithm="ball_tree", metric="mahalanobis",
                             metric_params={"VI": np.linalg.inv(np.cov(X.T))}).fit(X, y),
        make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression()).fit(X, y),
    ]
    for model in models:
        back = roundtrip(model)
        assert type(back) is type(model)
        np.testing.assert_array_equal(back.predict(X), model.predict(X))


# --- identity ----------------------------------------------------------------------------------

def test_shared_references_keep_identity():
    shared_list = [1, 2]
    shared_dict = {"k": shared_list}
    array = np.arange(3.0)
    estimator = StandardScaler()
    tree = {"a": (shared_list, array), "b": [shared_list, shared_dict, array],
            "c": shared_dict, "e1": estimator, "e2": [estimator], "t": (array,)}
    back = roundtrip(tree)
    assert back["a"][0] is back["b"][0] is back["c"]["k"]
    assert back["b"][1] is back["c"]
    assert back["a"][1] is back["b"][2] is back["t"][0]
    assert back["e1"] is back["e2"][0]


def test_cycles():
    loop = []
    loop.append(loop)
    d = {}
    d["self"] = d
    root = trust_helpers.Node("root")
    child = trust_helpers.Node("child")
    root.children.append(child)
    child.parent = root
    a, b, r = roundtrip([loop, d, root], trusted=HELPERS)
    assert a[0] is a
    assert b["self"] is b
    assert r.children[0].parent is r


def test_ids_only_where_shared():
    shared = [1]
    reader = _ark.Reader(ark.dumps({"a": shared, "b": shared, "c": [2]}))
    root = reader.root()
    assert isinstance(root["a"], _ark.Object) and root["a"].id == 0
    assert isinstance(root["b"], _ark.Ref) and root["b"].id == 0
    assert root["c"] == [2]


def test_same_object_gives_same_model_digest():
    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    first = _ark.Reader(ark.dumps({"m": model, "s": {"b", "a", "c"}}))
    second = _ark.Reader(ark.dumps({"m": model, "s": {"c", "a", "b"}}))
    assert first.model_digest == second.model_digest


# --- unstorable ----------------------------------------------------------------------------------

def _local_function(x):
    return x


def test_lambda_is_refused_with_advice():
    with pytest.raises(UnstorableObjectError, match="lambda.*module level"):
        ark.dumps(FunctionTransformer(lambda x: x))


def test_local_function_is_refused_with_advice():
    def inner(x):
        return x

    with pytest.raises(UnstorableObjectError, match="inside a function.*module level"):
        ark.dumps(FunctionTransformer(inner))


def test_main_function_is_refused():
    def f(x):
        return x

    f.__module__, f.__qualname__ = "__main__", "f"
    with pytest.raises(UnstorableObjectError, match="__main__"):
        ark.dumps(f)


def test_bound_method_is_refused():
    with pytest.raises(UnstorableObjectError, match="bound to an instance"):
        ark.dumps(StandardScaler().fit)
    with pytest.raises(UnstorableObjectError, match="bound to an instance"):
        ark.dumps([].append)


def test_other_unstorables():
    import pandas as pd

    with pytest.raises(UnstorableObjectError, match="pandas"):
        ark.dumps({"frame": pd.DataFrame({"a": [1]})})
    with pytest.raises(UnstorableObjectError):
        ark.dumps(io.StringIO())
    with pytest.raises(UnstorableObjectError):
        ark.dumps(os)
    with pytest.raises(UnstorableObjectError, match="object fields"):
        ark.dumps(np.zeros(2, dtype=[("a", "O")]))


# --- options -----------------------------------------------------------------------------------

@pytest.mark.parametrize("compress, codec, level", [
    (None, "none", None), (False, "none", None), (0, "none", None), (True, "zstd", 3),
    (1, "zstd", 1), (9, "zstd", 9), ("zstd", "zstd", 3), ("zlib", "zlib", 3), ("lzma", "lzma", 3),
    (("lzma", 9), "lzma", 9), (("zlib", 1), "zlib", 1), (["zstd", 19], "zstd", 19),
])
def test_compress_options(compress, codec, level):
    array = np.tile(np.arange(1000.0), 10)
    data = ark.dumps({"big": array, "small": np.arange(3)}, compress=compress)
    reader = _ark.Reader(data)
    infos = [reader.blob_info(i) for i in range(reader.blob_count)]
    big = next(i for i in infos if i["shape"] == (10000,))
    small = next(i for i in infos if i["shape"] == (3,))
    assert big["codec"] == codec
    if level is not None:
        assert big["level"] == level
    assert small["codec"] == "none"  # tiny arrays stay uncompressed and mmap-able
    np.testing.assert_array_equal(ark.loads(data)["big"], array)


@pytest.mark.parametrize("compress", ["gzip", ("zstd", 0), ("zlib", 10), 20, -1, ("lzma",), 1.5])
def test_bad_compress_options(compress):
    with pytest.raises(ValueError):
        ark.dumps([1], compress=compress)


def test_dump_load_paths_and_file_objects(tmp_path):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    path = tmp_path / "model.ark"
    digest = ark.dump(model, path)
    assert digest.startswith("sha256:")
    assert (ark.load(path).coef_ == model.coef_).all()
    assert (ark.load(str(path)).coef_ == model.coef_).all()
    buffer = io.BytesIO()
    ark.dump(model, buffer)
    assert (ark.load(io.BytesIO(buffer.getvalue())).coef_ == model.coef_).all()
    with open(path, "rb") as f:
        assert (ark.load(f).coef_ == model.coef_).all()


def test_mmap_mode_keeps_arrays_in_the_file(tmp_path):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    path = tmp_path / "model.ark"
    ark.dump({"model": model, "big": np.arange(100_000.0)}, path)
    mapped = ark.load(path, mmap_mode="r")
    assert not mapped["model"].coef_.flags.writeable
    assert not mapped["big"].flags.writeable
    assert not mapped["big"].flags.owndata
    copied = ark.load(path)
    assert copied["model"].coef_.flags.writeable and copied["big"].flags.writeable
    np.testing.assert_array_equal(mapped["model"].predict(X), model.predict(X))
    with pytest.raises(ValueError, match="mmap_mode"):
        ark.load(path, mmap_mode="w+")


def test_mmap_mode_with_trees(tmp_path):
    X, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    path = tmp_path / "forest.ark"
    ark.dump(forest, path, compress="zstd")
    np.testing.assert_array_equal(ark.load(path, mmap_mode="r").predict_proba(X), forest.predict_proba(X))


def test_failed_dump_leaves_nothing(tmp_path):
    path = tmp_path / "model.ark"
    ark.dump({"version": 1}, path)
    before = path.read_bytes()
    with pytest.raises(UnstorableObjectError):
        ark.dump({"version": 2, "f": lambda x: x}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.ark"]
    fresh = tmp_path / "fresh.ark"
    with pytest.raises(UnstorableObjectError):
        ark.dump([np.arange(10), lambda: 0], fresh)
    assert not fresh.exists()
    assert sorted(os.listdir(tmp_path)) == ["model.ark"]


def test_nesting_too_deep_is_refused_at_dump():
    value = []
    for _ in range(5000):
        value = [value]
    with pytest.raises((UnstorableObjectError, ark.FormatError)):
        ark.dumps(value)


def test_float_edge_cases_keep_bits():
    values = [math.pi, -0.0, float("nan"), 2.0**-1074, 1e16, 1.7976931348623157e308]
    back = roundtrip(values)
    assert [struct.pack("<d", v) for v in back] == [struct.pack("<d", v) for v in values]


def test_info_reads_metadata(tmp_path):
    path = tmp_path / "m.ark"
    ark.dump(StandardScaler().fit([[1.0], [2.0]]), path, description="scaler", tags={"team": "x"})
    information = ark.info(path)
    assert information["file"]["model_digest"].startswith("sha256:")
    assert information["file"]["format_version"] == [1, 0]
