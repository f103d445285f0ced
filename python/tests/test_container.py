"""Tests of the native `_ark` module: containers, dtypes, trees, errors.

These exercise the contract of python/_ark.pyi directly, below the `ark`
package: every array dtype a model can hold round-trips bit for bit through
every codec, uncompressed blobs come back as zero-copy views of the file, and
every way a file can be damaged surfaces as its own FormatError subclass.
"""
import gc
import math
import os
import struct

import numpy as np
import pytest

import _ark

CODECS = [
    ("none", None, False),
    ("zstd", None, False),
    ("zstd", 19, True),
    ("zlib", 6, False),
    ("zlib", 1, True),
    ("lzma", 0, False),
    ("lzma", None, True),
    ("lzma", 9, True),
]


# --------------------------------------------------------------------------
# helpers


REFS = object()  # default root: a list referencing every array added


def write_file(path, arrays, root=REFS, sections=None, **array_options):
    w = _ark.Writer(str(path), fsync=False)
    indices = [w.add_array(a, **array_options) for a in arrays]
    w.finish([_ark.ArrayRef(i) for i in indices] if root is REFS else root, sections)
    return indices


def write_bytes(arrays, root=REFS, sections=None, **array_options):
    w = _ark.Writer(None)
    indices = [w.add_array(a, **array_options) for a in arrays]
    w.finish([_ark.ArrayRef(i) for i in indices] if root is REFS else root, sections)
    return w.getvalue(), indices


def little(dtype):
    return dtype.newbyteorder("<")


def assert_same_array(expected, got):
    """`got` holds exactly `expected`'s values, as a little-endian C array."""
    assert got.flags.c_contiguous
    assert_same_values(expected, got)


def assert_same_values(expected, got):
    assert got.shape == expected.shape
    assert got.dtype == little(expected.dtype)
    if expected.dtype.names is not None:
        # Field by field: padding bytes between fields carry no value.
        for name in expected.dtype.names:
            assert_same_values(expected[name], got[name])
        return
    want = np.ascontiguousarray(expected.astype(little(expected.dtype)))
    assert want.tobytes() == got.tobytes()


def node_dtype():
    from sklearn.tree._tree import NODE_DTYPE

    return NODE_DTYPE


def fitted_tree_nodes():
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    return tree.tree_.__getstate__()["nodes"]


def sample_arrays():
    rng = np.random.default_rng(7)
    nested = np.dtype([("id", "<u4"), ("pos", [("x", "<f4"), ("y", "<f4")]), ("tag", "S3")])
    subarray = np.dtype([("w", "<f8", (2, 3)), ("flag", "?"), ("n", "<i2", (4,))])
    aligned = np.dtype([("a", "u1"), ("b", "<f8"), ("c", "<i2")], align=True)
    nodes = np.zeros(5, dtype=node_dtype())
    nodes["left_child"] = [1, -1, 3, -1, -1]
    nodes["threshold"] = [0.5, -2.0, 1.25, -2.0, -2.0]
    nodes["weighted_n_node_samples"] = [10.0, 4.0, 6.0, 3.0, 3.0]
    structured = np.zeros(4, dtype=nested)
    structured["id"] = [1, 2, 3, 4]
    structured["pos"]["x"] = [0.5, 1.5, -2.5, 3.0]
    structured["tag"] = [b"ab", b"c", b"", b"xyz"]
    sub = np.zeros(3, dtype=subarray)
    sub["w"] = rng.normal(size=(3, 2, 3))
    sub["flag"] = [True, False, True]
    sub["n"] = rng.integers(-100, 100, size=(3, 4))
    padded = np.zeros(3, dtype=aligned)
    padded["a"], padded["b"], padded["c"] = [1, 2, 3], [0.1, 0.2, 0.3], [-1, 0, 1]
    return {
        "bool": rng.random(33) < 0.5,
        "i1": rng.integers(-128, 127, size=50, dtype=np.int8),
        "i2": rng.integers(-(2**15), 2**15 - 1, size=50, dtype=np.int16),
        "i4": rng.integers(-(2**31), 2**31 - 1, size=(5, 7), dtype=np.int32),
        "i8": np.array([np.iinfo(np.int64).min, -1, 0, 1, np.iinfo(np.int64).max]),
        "u1": np.arange(256, dtype=np.uint8),
        "u2": np.arange(1000, dtype=np.uint16),
        "u4": np.arange(1000, dtype=np.uint32) * 4_000_000,
        "u8": np.array([0, 1, 2**64 - 1], dtype=np.uint64),
        "f2": rng.normal(size=40).astype(np.float16),
        "f4": rng.normal(size=(3, 4, 5)).astype(np.float32),
        "f8": np.array([0.0, -0.0, 1e-310, np.inf, -np.inf, np.nan, 1.5, np.pi]),
        "c8": (rng.normal(size=9) + 1j * rng.normal(size=9)).astype(np.complex64),
        "c16": rng.normal(size=9) + 1j * rng.normal(size=9),
        "U": np.array(["", "a", "héllo", "日本語テキスト"]),
        "S": np.array([b"", b"ab", b"\x00\xff\x01"]),
        "V": np.array([b"\x01\x02\x03", b"\xff\x00\x7f"], dtype="V3"),
        "datetime64[ns]": np.array(["2024-01-02T03:04:05.123456789", "NaT"], dtype="M8[ns]"),
        "datetime64[D]": np.array(["1970-01-01", "2262-04-11"], dtype="M8[D]"),
        "datetime64[10s]": np.array([0, 7, -3], dtype="M8[10s]"),
        "timedelta64[s]": np.array([0, -5, 86400, "NaT"], dtype="m8[s]"),
        "timedelta64[us]": np.array([1, 2, 3], dtype="m8[us]"),
        "node_dtype": nodes,
        "nested": structured,
        "subarray_fields": sub,
        "aligned_padding": padded,
        "0-d": np.array(3.25),
        "0-d structured": np.zeros((), dtype=nested),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "empty structured": np.zeros(0, dtype=node_dtype()),
        "fortran": np.asfortranarray(rng.normal(size=(4, 6))),
        "strided": np.arange(100, dtype=np.int64)[::3],
        "transposed 3-d": np.arange(60, dtype=np.int16).reshape(3, 4, 5).transpose(2, 0, 1),
        "big-endian i4": np.arange(20, dtype=">i4"),
        "big-endian f8": np.linspace(-1, 1, 11).astype(">f8"),
        "big-endian c16": (np.arange(4) * (1 + 2j)).astype(">c16"),
        "big-endian U": np.array(["abc", "dé"], dtype=">U3"),
        "big-endian M8": np.array([1, 2], dtype=">M8[ms]"),
        "big-endian structured": np.array(
            [(1, 2.5, (3, 4)), (-1, -2.5, (5, 6))],
            dtype=[("a", ">i4"), ("b", ">f8"), ("c", [("d", ">u2"), ("e", ">i8")])],
        ),
        "big-endian strided": np.arange(50, dtype=">f4")[::-2],
    }


SAMPLES = sample_arrays()


# --------------------------------------------------------------------------
# arrays


@pytest.mark.parametrize("codec,level,shuffle", CODECS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_array_round_trip(tmp_path, name, codec, level, shuffle):
    array = SAMPLES[name]
    path = tmp_path / "a.ark"
    write_file(path, [array], codec=codec, level=level, shuffle=shuffle)
    reader = _ark.Reader(str(path))
    got = reader.array(0)
    assert_same_array(array, got)
    info = reader.blob_info(0)
    assert info["dtype"] == little(array.dtype)
    assert info["shape"] == array.shape
    assert info["codec"] == codec
    assert info["filter"] == ("shuffle" if shuffle else "none")
    if level is not None:
        assert info["level"] == level
    assert info["raw_size"] == array.nbytes
    reader.verify()


def test_every_dtype_in_one_in_memory_file():
    arrays = list(SAMPLES.values())
    data, indices = write_bytes(arrays, codec="zstd")
    reader = _ark.Reader(data)
    assert reader.blob_count == len(set(indices))
    for array, index in zip(arrays, indices):
        assert_same_array(array, reader.array(index))


def test_real_sklearn_tree_nodes(tmp_path):
    nodes = fitted_tree_nodes()
    assert nodes.dtype == node_dtype()
    for codec in ("none", "zstd"):
        path = tmp_path / f"nodes-{codec}.ark"
        write_file(path, [nodes], codec=codec)
        got = _ark.Reader(path).array(0)
        assert got.dtype == node_dtype()
        assert got.tobytes() == nodes.tobytes()


def test_structured_descriptor_spelling():
    nodes = np.zeros(2, dtype=node_dtype())
    sub = np.zeros(1, dtype=[("w", "<f8", (2, 3)), ("s", [("t", "|u1")])])
    data, _ = write_bytes([nodes, sub, np.zeros(1, dtype="M8[10s]")])
    import json

    blobs = json.loads(_ark.Reader(data).manifest_json())["blobs"]
    descr = blobs[0]["dtype"]
    assert descr["names"] == list(node_dtype().names)
    assert descr["offsets"] == [node_dtype().fields[n][1] for n in node_dtype().names]
    assert descr["itemsize"] == node_dtype().itemsize
    assert blobs[1]["dtype"] == {
        "names": ["w", "s"],
        "formats": [["<f8", [2, 3]], {"names": ["t"], "formats": ["|u1"], "offsets": [0],
                                       "itemsize": 1}],
        "offsets": [0, 48],
        "itemsize": 49,
    }
    assert blobs[2]["dtype"] == "<M8[10s]"


def test_identical_arrays_stored_once():
    a = np.arange(1000.0)
    w = _ark.Writer(None)
    first = w.add_array(a)
    second = w.add_array(a.copy())
    third = w.add_array(a.astype(">f8"))  # same values once little-endian
    other = w.add_array(a + 1)
    w.finish([_ark.ArrayRef(first), _ark.ArrayRef(other)])
    assert first == second == third
    assert other != first
    assert _ark.Reader(w.getvalue()).blob_count == 2


def test_output_is_deterministic():
    arrays = [SAMPLES["f8"], SAMPLES["node_dtype"], SAMPLES["U"]]
    root = {"a": [_ark.ArrayRef(0), _ark.ArrayRef(1)], "b": (1, 2.5, None)}
    one, _ = write_bytes(arrays, root=root, codec="zstd", shuffle=True)
    two, _ = write_bytes([a.copy() for a in arrays], root=root, codec="zstd", shuffle=True)
    assert one == two


def test_large_compressed_array_in_many_chunks(tmp_path):
    array = np.repeat(np.arange(300_000, dtype=np.float64), 2)
    path = tmp_path / "big.ark"
    write_file(path, [array], codec="zstd", shuffle=True, chunk_size=64 * 1024)
    reader = _ark.Reader(path)
    assert reader.blob_info(0)["stored_size"] < array.nbytes
    np.testing.assert_array_equal(reader.array(0), array)
    seen = []
    reader.verify(lambda done, total: seen.append((done, total)))
    assert seen[-1] == (array.nbytes, array.nbytes)


# --------------------------------------------------------------------------
# zero copy


def test_uncompressed_blob_is_a_read_only_view_of_the_mapping(tmp_path):
    array = np.arange(4096, dtype=np.float64).reshape(64, 64)
    path = tmp_path / "z.ark"
    write_file(path, [array])
    reader = _ark.Reader(str(path))
    a = reader.array(0)
    b = reader.array(0)
    assert not a.flags.writeable
    assert not a.flags.owndata
    assert type(a.base).__name__ == "PyCapsule"
    assert np.shares_memory(a, b)  # both view the one mapping
    assert a.ctypes.data % 64 == 0  # blobs start on 64-byte boundaries
    with pytest.raises(ValueError):
        a[0, 0] = 1.0
    np.testing.assert_array_equal(a, array)

    # The capsule keeps the mapping alive after the reader is gone.
    del reader, b
    gc.collect()
    np.testing.assert_array_equal(a, array)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_mapping_lives_exactly_as_long_as_its_arrays(tmp_path):
    path = tmp_path / "lifetime.ark"
    write_file(path, [np.arange(100_000.0)])

    def mapped():
        with open("/proc/self/maps") as maps:
            return str(path) in maps.read()

    reader = _ark.Reader(path)
    view = reader.array(0)[10:20]
    del reader
    gc.collect()
    assert mapped()
    assert view[0] == 10.0
    del view
    gc.collect()
    assert not mapped()


def test_zero_copy_from_bytes_too():
    data, _ = write_bytes([np.arange(100, dtype=np.int32)])
    reader = _ark.Reader(data)
    a, b = reader.array(0), reader.array(0)
    assert not a.flags.writeable
    assert np.shares_memory(a, b)


def test_compressed_blob_is_a_fresh_writable_array(tmp_path):
    array = np.arange(10_000, dtype=np.int64)
    path = tmp_path / "c.ark"
    write_file(path, [array], codec="zlib")
    reader = _ark.Reader(path)
    a, b = reader.array(0), reader.array(0)
    assert a.flags.writeable and a.flags.c_contiguous
    assert not np.shares_memory(a, b)
    a[:] = 0
    np.testing.assert_array_equal(b, array)
    del reader
    gc.collect()
    np.testing.assert_array_equal(b, array)


def test_writer_references_the_array_until_finish():
    array = np.arange(1000, dtype=np.float64)
    view = array[::2]  # not contiguous: the writer keeps its own converted copy
    w = _ark.Writer(None)
    w.add_array(view)
    del view
    gc.collect()
    w.finish(_ark.ArrayRef(0))
    np.testing.assert_array_equal(_ark.Reader(w.getvalue()).array(0), array[::2])


# --------------------------------------------------------------------------
# trees


def nan_with_payload(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def float_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def round_trip_tree(root, arrays=()):
    data, _ = write_bytes(list(arrays), root=root)
    return _ark.Reader(data).root()


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, 10**40,
        -(10**60), 0.0, 1.0, 0.1, 1e300, 5e-324, "", "text", "ünï©ødé \x00 \U0001F600",
        b"", b"\x00\xffbytes", [], (), {}, [1, [2, [3, []]]], ((1,), ((2, 3),), ()),
    ],
)
def test_scalar_and_container_round_trip(value):
    got = round_trip_tree(value)
    assert got == value
    assert type(got) is type(value)


def test_bool_is_not_int_and_types_survive():
    got = round_trip_tree([True, 1, False, 0, 1.0, (1,), [1]])
    assert [type(x) for x in got] == [bool, int, bool, int, float, tuple, list]


def test_special_floats_keep_their_bits():
    values = [
        float("nan"), float("inf"), float("-inf"), -0.0, nan_with_payload(0x7FF0000000000001),
        nan_with_payload(0xFFF8000000000000), nan_with_payload(0x7FF8DEADBEEF0001),
    ]
    got = round_trip_tree(values)
    assert [float_bits(x) for x in got] == [float_bits(x) for x in values]


def test_dicts_keep_order_and_any_keys():
    tree = {
        "z": 1, "a": 2, "$dollar": 3,
        1: "int", 2.5: "float", None: "none", (1, "x"): "tuple", b"k": "bytes",
        False: "bool", "nested": {3: {"$ref": "not a tag"}},
    }
    got = round_trip_tree(tree)
    assert got == tree
    assert list(got) == list(tree)
    plain = round_trip_tree({"b": 1, "a": {"c": [1, 2]}})
    assert list(plain) == ["b", "a"]


def test_markers_round_trip():
    shared = _ark.Object("sklearn.preprocessing._data.StandardScaler", {"with_mean": True}, id=1)
    tree = {
        "steps": [
            ("scale", shared),
            ("again", _ark.Ref(1)),
            ("model", _ark.Object("sklearn.linear_model._logistic.LogisticRegression",
                                  {"coef_": _ark.ArrayRef(0), "C": 1.0})),
        ],
        _ark.Object("numpy.dtype", "<f8"): "object as a key",
    }
    got = round_trip_tree(tree, [np.zeros(3)])
    assert got == tree
    scale = got["steps"][0][1]
    assert isinstance(scale, _ark.Object)
    assert scale.type_name == "sklearn.preprocessing._data.StandardScaler"
    assert scale.id == 1 and scale.state == {"with_mean": True}
    assert got["steps"][1][1] == _ark.Ref(1)
    assert got["steps"][2][1].state["coef_"] == _ark.ArrayRef(0)
    assert got["steps"][2][1].id is None


def test_marker_behaviour():
    o = _ark.Object("m.T", [1, 2])
    assert o.id is None
    o.id = 7  # the walker numbers shared objects after creating them
    assert o == _ark.Object("m.T", [1, 2], id=7)
    assert o != _ark.Object("m.T", [1, 2], id=8)
    assert o != _ark.Object("m.U", [1, 2], id=7)
    assert o != "m.T"
    assert repr(o) == "Object('m.T', [1, 2], id=7)"
    assert repr(_ark.ArrayRef(3)) == "ArrayRef(3)" and repr(_ark.Ref(4)) == "Ref(4)"
    assert _ark.ArrayRef(3) == _ark.ArrayRef(3) != _ark.ArrayRef(4)
    assert _ark.Ref(3) != _ark.ArrayRef(3)
    assert len({_ark.Ref(1), _ark.Ref(1), _ark.ArrayRef(1)}) == 2
    import copy
    import pickle

    assert copy.deepcopy(o) == o
    assert pickle.loads(pickle.dumps(_ark.ArrayRef(5))) == _ark.ArrayRef(5)
    assert o.state == [1, 2] and o.type_name == "m.T"


def test_large_tree_round_trip():
    tree = [
        _ark.Object("sklearn.tree._classes.DecisionTreeClassifier",
                    {"max_depth": i, "criterion": "gini", "classes_": (0, 1, 2),
                     "tree_": _ark.ArrayRef(0), "params": {"a": [0.5] * 10}})
        for i in range(5000)
    ]
    assert round_trip_tree(tree, [np.zeros(1)]) == tree


@pytest.mark.parametrize(
    "bad,where,what",
    [
        ({"a": [1, np.float64(1.0)]}, "root['a'][1]", "numpy.float64"),
        ({"a": {"b": np.int64(3)}}, "root['a']['b']", "numpy.int64"),
        ([object()], "root[0]", "object"),
        ({1: {2: {1.5}}}, "root[1][2]", "set"),
        (_ark.Object("x.Y", {"s": np.zeros(2)}), "root.state['s']", "numpy.ndarray"),
        ({np.int64(1): 2}, "the key", "numpy.int64"),
    ],
)
def test_unstorable_values_name_type_and_path(bad, where, what):
    w = _ark.Writer(None)
    with pytest.raises(TypeError) as info:
        w.finish(bad)
    assert where in str(info.value)
    assert what in str(info.value)


def test_builtin_subclasses_are_refused():
    import collections

    with pytest.raises(TypeError, match="subclass of dict"):
        _ark.Writer(None).finish(collections.OrderedDict(a=1))


def test_self_containing_list_is_refused():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested deeper"):
        _ark.Writer(None).finish(loop)


def nested_lists(depth):
    value = 0
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_limit_matches_the_reader():
    # The manifest object encloses the root, and `sections` each section, so
    # 255 and 254 nested lists are the deepest the reader's 256 levels allow.
    deepest = nested_lists(255)
    assert round_trip_tree(deepest) == deepest
    with pytest.raises(ValueError, match="nested deeper"):
        _ark.Writer(None).finish(nested_lists(256))
    data, _ = write_bytes([], sections={"metadata": nested_lists(254)})
    assert _ark.Reader(data).sections()["metadata"] == nested_lists(254)
    with pytest.raises(ValueError, match=r"nested deeper.*sections\['metadata'\]"):
        _ark.Writer(None).finish(None, {"metadata": nested_lists(255)})


def test_lone_surrogate_is_refused():
    with pytest.raises(ValueError, match=r"root\[0\]"):
        _ark.Writer(None).finish(["\udc80"])


def test_failed_tree_conversion_leaves_the_writer_usable():
    w = _ark.Writer(None)
    w.add_array(np.arange(3))
    with pytest.raises(TypeError):
        w.finish({"x": {1, 2}})
    w.finish({"x": _ark.ArrayRef(0)})
    assert _ark.Reader(w.getvalue()).root() == {"x": _ark.ArrayRef(0)}


def test_dangling_references_are_refused_at_write_time():
    w = _ark.Writer(None)
    w.add_array(np.arange(3))
    with pytest.raises(_ark.FormatError):
        w.finish([_ark.ArrayRef(1)])
    w = _ark.Writer(None)
    with pytest.raises(_ark.FormatError):
        w.finish([_ark.Ref(5)])


# --------------------------------------------------------------------------
# sections


def test_sections_round_trip():
    sections = {
        "metadata": {"versions": {"sklearn": "1.2.1"}, "score": 0.93, "n": 2**64 - 1,
                     "neg": -(2**63), "tags": ["a", "b"], "tuple": (1, 2), "none": None,
                     "flag": True},
        "validation": [{"rows": 5}],
    }
    data, _ = write_bytes([], root=None, sections=sections)
    got = _ark.Reader(data).sections()
    expected = dict(sections)
    expected["metadata"] = dict(sections["metadata"], tuple=[1, 2])
    assert got == expected
    assert list(got["metadata"]) == list(sections["metadata"])
    assert _ark.Reader(write_bytes([])[0]).sections() == {}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -math.inf])
def test_sections_refuse_nan_and_inf(value):
    with pytest.raises(ValueError, match="NaN or infinity"):
        _ark.Writer(None).finish(None, {"metadata": {"score": [1.0, value]}})


def test_sections_refuse_non_json():
    with pytest.raises(TypeError, match="keys must be str"):
        _ark.Writer(None).finish(None, {"metadata": {1: "x"}})
    with pytest.raises(TypeError, match="bytes"):
        _ark.Writer(None).finish(None, {"metadata": b"x"})
    with pytest.raises(ValueError, match="64 bits"):
        _ark.Writer(None).finish(None, {"metadata": 2**64})
    with pytest.raises(TypeError, match="dict"):
        _ark.Writer(None).finish(None, ["not", "a", "dict"])


# --------------------------------------------------------------------------
# readers, writers and their sources


def test_reader_sources(tmp_path):
    path = tmp_path / "s.ark"
    write_file(path, [np.arange(5)])
    data = path.read_bytes()
    readers = [
        _ark.Reader(str(path)), _ark.Reader(path), _ark.Reader(data), _ark.Reader(bytearray(data)), _ark.Reader(memoryview(data)),
    ]
    digests = {r.file_digest for r in readers}
    assert len(digests) == 1
    for r in readers:
        assert r.version == (1, 0)
        assert r.file_size == len(data)
        assert r.model_digest.startswith("sha256:")
        np.testing.assert_array_equal(r.array(0), np.arange(5))
    with pytest.raises(TypeError):
        _ark.Reader(12)
    # bytes are the file's contents, never a path
    with pytest.raises(_ark.FormatError):
        _ark.Reader(os.fsencode(path))


def test_writer_properties_and_in_memory_equals_file(tmp_path):
    arrays = [np.arange(7.0), SAMPLES["nested"]]
    root = {"a": _ark.ArrayRef(0), "b": _ark.ArrayRef(1)}
    path = tmp_path / "f.ark"
    wf = _ark.Writer(path, fsync=True)
    for a in arrays:
        wf.add_array(a)
    with pytest.raises(ValueError, match="after finish"):
        wf.file_digest
    wf.finish(root, {"metadata": {"k": 1}})
    wm = _ark.Writer(None, threads=1)
    for a in arrays:
        wm.add_array(a)
    wm.finish(root, {"metadata": {"k": 1}})
    data = wm.getvalue()
    assert data == path.read_bytes()
    assert wm.getvalue() is data or wm.getvalue() == data
    assert wf.file_digest == wm.file_digest == _ark.Reader(data).file_digest
    assert len(wf.file_digest) == 64
    assert wf.model_digest == wm.model_digest == _ark.Reader(path).model_digest
    assert wf.file_size == len(data)
    with pytest.raises(ValueError, match="in-memory"):
        wf.getvalue()
    with pytest.raises(ValueError, match="finished"):
        wf.add_array(np.zeros(1))
    with pytest.raises(ValueError, match="finished"):
        wf.finish(None)


def test_getvalue_before_finish_is_an_error():
    w = _ark.Writer(None)
    with pytest.raises(ValueError, match="after finish"):
        w.getvalue()


def test_abort_leaves_no_files(tmp_path):
    dest = tmp_path / "out.ark"
    w = _ark.Writer(str(dest))
    w.add_array(np.arange(100_000.0), codec="zstd")
    w.add_array(np.arange(10))
    w.abort()
    assert list(tmp_path.iterdir()) == []
    w.abort()  # idempotent
    with pytest.raises(ValueError, match="aborted"):
        w.add_array(np.zeros(1))
    with pytest.raises(ValueError, match="aborted"):
        w.finish(None)


def test_abort_keeps_an_existing_destination(tmp_path):
    dest = tmp_path / "out.ark"
    write_file(dest, [np.arange(3)])
    before = dest.read_bytes()
    w = _ark.Writer(dest)
    w.add_array(np.arange(99))
    w.abort()
    assert dest.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.ark"]


def test_dropped_writer_leaves_no_files(tmp_path):
    w = _ark.Writer(tmp_path / "dropped.ark")
    w.add_array(np.arange(1000))
    del w
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_failed_finish_leaves_no_files(tmp_path):
    w = _ark.Writer(tmp_path / "bad.ark")
    w.add_array(np.arange(10))
    with pytest.raises(_ark.FormatError):
        w.finish(_ark.ArrayRef(3))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_is_an_io_error(tmp_path):
    with pytest.raises(_ark.IoError) as info:
        _ark.Writer(tmp_path / "missing-dir" / "x.ark")
    assert info.value.code == "io"


# --------------------------------------------------------------------------
# bad arguments


def test_object_arrays_are_refused():
    w = _ark.Writer(None)
    with pytest.raises(TypeError, match="Python objects"):
        w.add_array(np.array([1, "a", None], dtype=object))
    with pytest.raises(TypeError, match="Python objects"):
        w.add_array(np.zeros(2, dtype=[("a", "<f8"), ("o", "O")]))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        w.add_array([1, 2, 3])


def test_bad_codec_options():
    w = _ark.Writer(None)
    a = np.arange(10.0)
    with pytest.raises(_ark.InvalidArgumentError) as info:
        w.add_array(a, codec="brotli")
    assert info.value.code == "invalid_argument"
    with pytest.raises(_ark.InvalidArgumentError):
        w.add_array(a, codec="zstd", level=42)
    with pytest.raises(_ark.InvalidArgumentError):
        w.add_array(a, codec="zstd", level=0)
    with pytest.raises(_ark.InvalidArgumentError):
        w.add_array(a, codec="none", shuffle=True)


def test_blob_index_out_of_range():
    reader = _ark.Reader(write_bytes([np.arange(3)])[0])
    for index in (1, -1, 2**40):
        with pytest.raises(IndexError):
            reader.array(index)
        with pytest.raises(IndexError):
            reader.blob_info(index)


def test_progress_callback_errors_propagate(tmp_path):
    reader = _ark.Reader(write_bytes([np.arange(3), np.arange(4.0)])[0])

    def boom(done, total):
        raise KeyError("stop")

    with pytest.raises(KeyError):
        reader.verify(boom)


# --------------------------------------------------------------------------
# damaged files


def good_file(tmp_path, codec="none"):
    path = tmp_path / "good.ark"
    array = np.arange(1000, dtype=np.float64)
    write_file(path, [array], codec=codec, root={"w": _ark.ArrayRef(0)})
    return path, bytearray(path.read_bytes())


def damaged(tmp_path, data):
    path = tmp_path / "damaged.ark"
    path.write_bytes(bytes(data))
    return path


def test_error_classes():
    names = {
        "IoError": "io", "InvalidArgumentError": "invalid_argument", "TruncatedError": "truncated",
        "BadMagicError": "bad_magic", "UnsupportedVersionError": "unsupported_version",
        "OutOfBoundsError": "out_of_bounds", "OverlapError": "overlap",
        "LimitExceededError": "limit_exceeded", "BadManifestError": "bad_manifest",
        "UnknownDtypeError": "unknown_dtype", "SizeOverflowError": "size_overflow",
        "ChecksumMismatchError": "checksum_mismatch", "CodecError": "codec_error",
        "UnsupportedError": "unsupported",
    }
    assert issubclass(_ark.FormatError, Exception)
    for name, code in names.items():
        cls = getattr(_ark, name)
        assert issubclass(cls, _ark.FormatError)
        assert cls.__module__ == "_ark"
        assert cls.code == code
        assert cls("raised from Python").code == code


def test_errors_are_reexported_by_ark_errors():
    import ark.errors as errors
    assert errors.FormatError is _ark.FormatError
    assert errors.ChecksumMismatchError is _ark.ChecksumMismatchError


@pytest.mark.parametrize("verify_on_access", [True, False])
def test_flipped_blob_byte_is_a_checksum_mismatch(tmp_path, verify_on_access):
    path, data = good_file(tmp_path)
    data[64 + 100] ^= 0x01  # inside blob 0, which starts right after the header
    reader = _ark.Reader(damaged(tmp_path, data), verify_on_access=verify_on_access)
    if verify_on_access:
        with pytest.raises(_ark.ChecksumMismatchError) as info:
            reader.array(0)
        assert info.value.code == "checksum_mismatch"
        assert isinstance(info.value, _ark.FormatError)
    else:
        assert not np.array_equal(reader.array(0), np.arange(1000.0))
    with pytest.raises(_ark.ChecksumMismatchError):
        reader.verify()


def test_flipped_compressed_byte_is_refused(tmp_path):
    path, data = good_file(tmp_path, codec="zstd")
    data[64 + 20] ^= 0xFF
    reader = _ark.Reader(damaged(tmp_path, data))
    with pytest.raises((_ark.CodecError, _ark.ChecksumMismatchError)):
        reader.array(0)


def test_flipped_manifest_byte_fails_verify(tmp_path):
    path, data = good_file(tmp_path)
    manifest = data.find(b'"root"')
    data[manifest + 2] = ord("R")  # still valid JSON, but a different manifest
    with pytest.raises(_ark.FormatError):
        _ark.Reader(damaged(tmp_path, data)).verify()


def test_truncated_file(tmp_path):
    path, data = good_file(tmp_path)
    with pytest.raises(_ark.TruncatedError) as info:
        _ark.Reader(damaged(tmp_path, data[:100]))
    assert info.value.code == "truncated"
    with pytest.raises(_ark.TruncatedError):
        _ark.Reader(bytes(data[:10]))
    # Cut anywhere: always a FormatError, never a crash.
    for cut in (1, 63, 64, 65, 500, len(data) // 2, len(data) - 65):
        with pytest.raises(_ark.FormatError):
            _ark.Reader(bytes(data[:-cut]))


def test_wrong_magic(tmp_path):
    path, data = good_file(tmp_path)
    data[1] = ord("Z")
    with pytest.raises(_ark.BadMagicError) as info:
        _ark.Reader(damaged(tmp_path, data))
    assert info.value.code == "bad_magic"
    with pytest.raises(_ark.BadMagicError):
        _ark.Reader(b"\x89PNG\r\n\x1a\n" + bytes(200))


def test_unsupported_major_version(tmp_path):
    path, data = good_file(tmp_path)
    data[8] = 9
    with pytest.raises(_ark.UnsupportedVersionError):
        _ark.Reader(bytes(data))


def test_missing_file_is_an_io_error(tmp_path):
    with pytest.raises(_ark.IoError):
        _ark.Reader(tmp_path / "nope.ark")


def test_every_single_byte_flip_is_caught_or_harmless(tmp_path):
    path, data = good_file(tmp_path, codec="zstd")
    expected = np.arange(1000, dtype=np.float64)
    for i in range(0, len(data), 7):
        corrupt = bytearray(data)
        corrupt[i] ^= 0x5A
        try:
            reader = _ark.Reader(bytes(corrupt))
            np.testing.assert_array_equal(reader.array(0), expected)
            reader.root()
            reader.verify()
        except _ark.FormatError:
            continue
        # Undetected flips may only touch bytes no check covers.
        pytest.fail(f"flip at byte {i} of {len(data)} went unnoticed")
