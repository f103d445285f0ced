"""ark.convert / ark.scan / `ark convert`: pickle, joblib, cloudpickle and
skops files become .ark files that predict bit-identically, and every file
that would run code is refused with nothing written.

The matrix: convert_helpers.MODELS (classifiers, regressors, transformers,
pipelines with ColumnTransformer + OneHotEncoder on strings) x FORMATS
(pickle protocols 2-5, joblib plain and zlib/gzip/bz2/lzma/xz, cloudpickle).
CLI tests run $ARK_BIN (the `ark` binary), as the other CLI tests do.
"""
import hashlib
import io
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest

import ark
import userpkg
from ark import _convert
from convert_helpers import FORMATS, MODELS, assert_identical_outputs, eval_data, fitted

ARK_BIN = os.environ.get("ARK_BIN")


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


# ----------------------------------------------------------------- the matrix

@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", list(MODELS))
def test_converted_model_predicts_identically(tmp_path, name, fmt):
    model = fitted(name)
    src, dst = tmp_path / "model.src", tmp_path / "model.ark"
    FORMATS[fmt](model, src)
    result = ark.convert(src, dst)
    assert result.untrusted == []
    assert_identical_outputs(model, ark.load(dst), eval_data(name))


@pytest.mark.parametrize("compress", ["zstd", ("zlib", 6), ("lzma", 1)])
def test_compressed_output(tmp_path, compress):
    model = fitted("KNeighborsClassifier")  # its training data is a large array
    src, dst = tmp_path / "knn.joblib", tmp_path / "knn.ark"
    joblib.dump(model, src, compress=3)
    ark.convert(src, dst, compress=compress)
    assert_identical_outputs(model, ark.load(dst), eval_data("KNeighborsClassifier"))
    codecs = {ark._ark.Reader(str(dst)).blob_info(i)["codec"]
              for i in range(ark._ark.Reader(str(dst)).blob_count)}
    assert (compress if isinstance(compress, str) else compress[0]) in codecs


def test_conversion_equals_direct_dump(tmp_path):
    """The converted file names the same model as ark.dump of the live object."""
    model = fitted("Pipeline(columns,rf)")
    src, dst, direct = tmp_path / "m.pkl", tmp_path / "m.ark", tmp_path / "d.ark"
    src.write_bytes(pickle.dumps(model, 4))
    result = ark.convert(src, dst)
    assert result.model_digest == ark.dump(model, direct)


def test_summary_line_and_counts(tmp_path):
    model = fitted("Pipeline(columns,rf)")
    src, dst = tmp_path / "m.joblib", tmp_path / "m.ark"
    joblib.dump(model, src)
    result = ark.convert(src, dst)
    text = str(result)
    assert text.startswith("converted: Pipeline(ColumnTransformer")
    assert "RandomForestClassifier" in text and "0 untrusted types" in text
    assert result.arrays > 10 and f"{result.arrays} arrays" in text


# ----------------------------------------------------------------- metadata

@pytest.mark.parametrize("fmt,expected", [
    ("pickle2", {"format": "pickle", "protocol": 2, "compression": None}),
    ("pickle5", {"format": "pickle", "protocol": 5, "compression": None}),
    ("joblib", {"format": "joblib", "compression": None}),
    ("joblib-xz", {"format": "joblib", "compression": "xz"}),
    ("joblib-gzip", {"format": "joblib", "compression": "gzip"}),
])
def test_metadata_records_the_source(tmp_path, fmt, expected):
    src, dst = tmp_path / "m.src", tmp_path / "m.ark"
    FORMATS[fmt](fitted("Ridge"), src)
    ark.convert(src, dst)
    record = ark.info(dst)["converted_from"]
    assert record["sha256"] == _sha256(src)
    assert record["path"] == str(src.resolve())
    for key, value in expected.items():
        assert record[key] == value, key
    assert isinstance(record["protocol"], int)


# ----------------------------------------------------------------- objects beyond estimators

def _plain_roundtrip(tmp_path, obj, protocol=4):
    src, dst = tmp_path / "o.pkl", tmp_path / "o.ark"
    src.write_bytes(pickle.dumps(obj, protocol))
    ark.convert(src, dst)
    return ark.load(dst)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_data_and_numpy_objects(tmp_path, protocol):
    import collections
    import functools

    shared = [1, 2]
    obj = {
        "shared": shared, "again": shared, "set": {1, 2, 3}, "frozen": frozenset("ab"),
        "complex": 1 + 2j, "bytes": b"\x00\xff", "empty_bytes": b"", "bytearray": bytearray(b"xy"),
        "big": 2 ** 100, "neg_big": -(2 ** 70), "float": 0.1, "none": None, "tuple": (1, "a"),
        "f_order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "big_endian": np.arange(5, dtype=">i4"),
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))]),
        "object_array": np.array(["a", None, 3], dtype=object),
        "strings": np.array(["x", "yz"]), "empty": np.zeros((0, 3)),
        "scalar": np.float32(1.5), "int_scalar": np.int64(-3), "dtype": np.dtype("<u2"),
        "rng": np.random.RandomState(7), "ufunc": np.log1p, "cls": np.float64,
        "odict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "ddict": collections.defaultdict(list, {"k": [1]}),
        "counter": collections.Counter("hello"),
        "partial": functools.partial(np.round, decimals=2),
        "slice": slice(1, 5, 2), "range": range(2, 9, 3),
        "generator": np.random.default_rng(3),
        "masked": np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0], fill_value=-1.0),
        "masked_object": np.ma.array(np.array([1, "a"], dtype=object), mask=[0, 1]),
    }
    back = _plain_roundtrip(tmp_path, obj, protocol)
    assert back["again"] is back["shared"]
    for key in ("set", "frozen", "complex", "bytes", "empty_bytes", "bytearray", "big", "neg_big",
                "float", "none", "tuple", "scalar", "int_scalar", "dtype", "odict", "counter",
                "slice", "range"):
        assert back[key] == obj[key] and type(back[key]) is type(obj[key]), key
    for key in ("f_order", "big_endian", "structured", "strings", "empty"):
        np.testing.assert_array_equal(back[key], obj[key])
        assert type(back[key]) is type(obj[key])
    assert back["f_order"].flags.f_contiguous
    assert back["object_array"].tolist() == obj["object_array"].tolist()
    assert back["rng"].randint(0, 10 ** 6) == np.random.RandomState(7).randint(0, 10 ** 6)
    assert back["ufunc"] is np.log1p and back["cls"] is np.float64
    assert back["ddict"].default_factory is list and back["ddict"]["k"] == [1]
    assert back["partial"](1.23456) == 1.23
    assert back["generator"].integers(10 ** 6) == np.random.default_rng(3).integers(10 ** 6)
    for key in ("masked", "masked_object"):
        assert type(back[key]) is np.ma.MaskedArray
        assert back[key].mask.tolist() == obj[key].mask.tolist()
        assert back[key].data.tolist() == obj[key].data.tolist()
        assert back[key].fill_value == obj[key].fill_value


@pytest.mark.parametrize("protocol", [2, 5])
def test_numpy_matrix(tmp_path, protocol):
    matrix = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    back = _plain_roundtrip(tmp_path, {"m": matrix, "f": np.array(matrix, order="F", subok=True)}, protocol)
    for key in ("m", "f"):
        assert type(back[key]) is np.matrix
        np.testing.assert_array_equal(back[key], matrix)


def test_cycle_through_a_list(tmp_path):
    cyclic = [1]
    cyclic.append(cyclic)
    back = _plain_roundtrip(tmp_path, {"c": cyclic})
    assert back["c"][1] is back["c"]


def test_out_of_band_buffers(tmp_path):
    array = np.arange(100.0)
    buffers = []
    data = pickle.dumps({"a": array}, protocol=5, buffer_callback=buffers.append)
    src, dst = tmp_path / "oob.pkl", tmp_path / "oob.ark"
    src.write_bytes(data)
    with pytest.raises(_convert.ConversionError, match="buffers="):
        ark.convert(src, dst)
    assert not dst.exists()
    ark.convert(src, dst, buffers=[b.raw() for b in buffers])
    np.testing.assert_array_equal(ark.load(dst)["a"], array)


# ----------------------------------------------------------------- trust: unknown types

def _user_pipeline():
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    X, y = np.random.RandomState(0).normal(size=(50, 3)), np.arange(50.0)
    return make_pipeline(userpkg.QuantileClipper(), LinearRegression()).fit(X, y), X


def test_unknown_class_refused_then_trusted(tmp_path):
    model, X = _user_pipeline()
    src, dst = tmp_path / "user.joblib", tmp_path / "user.ark"
    joblib.dump(model, src)
    with pytest.raises(ark.ConversionRefusedError) as info:
        ark.convert(src, dst)
    assert info.value.names == {"userpkg.QuantileClipper": "unknown"}
    assert info.value.verdict == "unknown"
    assert "nothing was written" in str(info.value)
    assert not dst.exists()
    result = ark.convert(src, dst, trusted=["userpkg.QuantileClipper"])
    assert result.untrusted == ["userpkg.QuantileClipper"]
    assert "1 untrusted type," in str(result)
    loaded = ark.load(dst, trusted=["userpkg.QuantileClipper"])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ----------------------------------------------------------------- hostile files

class _Call:
    """Pickles as a call of `func(*args)`: what a hostile pickle does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _own_attacks(canary):
    import builtins

    touch = f"touch {canary}"
    return {
        "os.system": pickle.dumps(_Call(os.system, touch), 2),
        "eval": pickle.dumps({"model": _Call(builtins.eval, f"open({str(canary)!r}, 'w')")}, 4),
        "exec-in-list": pickle.dumps([1, _Call(builtins.exec, f"open({str(canary)!r}, 'w')")], 3),
        "subprocess": pickle.dumps(_Call(subprocess.call, ["touch", str(canary)]), 5),
        "getattr": pickle.dumps(_Call(getattr, "os", "system"), 4),
        "eval+unknown": pickle.dumps([_Call(builtins.eval, "1"), userpkg.QuantileClipper()], 4),
    }


def _joblib_bytes(obj, compress):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=compress)
    return buffer.getvalue()


def _all_attacks(canary):
    attacks = _own_attacks(canary)
    for codec in ("zlib", "xz"):
        attacks[f"joblib-{codec}-system"] = _joblib_bytes(
            [np.arange(3.0), _Call(os.system, f"touch {canary}")], (codec, 3))
    return attacks


def _hostile_corpus():
    """H2's corpus (python/tests/hostile_pickles.py): name -> bytes, and the
    canary file each attack would create if anything ran."""
    import hostile_pickles

    return dict(hostile_pickles.ATTACKS), hostile_pickles.CANARY


@pytest.mark.parametrize("name", list(_own_attacks("CANARY")) + ["joblib-zlib-system", "joblib-xz-system"])
def test_own_attacks_refused(tmp_path, name):
    canary = tmp_path / "CANARY"
    src, dst = tmp_path / "evil.pkl", tmp_path / "evil.ark"
    src.write_bytes(_all_attacks(canary)[name])
    with pytest.raises(ark.ConversionRefusedError) as info:
        ark.convert(src, dst)
    assert info.value.verdict == "dangerous"
    assert "nothing was written" in str(info.value)
    assert not dst.exists() and not canary.exists()
    assert os.listdir(tmp_path) == ["evil.pkl"]


def test_refusal_leaves_an_existing_destination_untouched(tmp_path):
    src, dst = tmp_path / "evil.pkl", tmp_path / "model.ark"
    src.write_bytes(_own_attacks(tmp_path / "CANARY")["os.system"])
    dst.write_bytes(b"previous")
    with pytest.raises(ark.ConversionRefusedError):
        ark.convert(src, dst)
    assert dst.read_bytes() == b"previous"


def test_refusal_names_every_offender(tmp_path):
    src, dst = tmp_path / "evil.pkl", tmp_path / "x.ark"
    src.write_bytes(_own_attacks(tmp_path / "CANARY")["eval+unknown"])
    with pytest.raises(ark.ConversionRefusedError) as info:
        ark.convert(src, dst)
    assert info.value.names == {"builtins.eval": "dangerous", "userpkg.QuantileClipper": "unknown"}
    assert "builtins.eval (dangerous) and userpkg.QuantileClipper (unknown)" in str(info.value)


def test_hostile_corpus_refused(tmp_path):
    corpus, canary = _hostile_corpus()
    assert corpus, "the hostile corpus is empty"
    assert not os.path.exists(canary)
    for name, data in corpus.items():
        work = tmp_path / name.replace("/", "_")
        work.mkdir()
        src, dst = work / "attack.pkl", work / "out.ark"
        src.write_bytes(data)
        with pytest.raises((ark.ConversionRefusedError, _convert.UnreadableFileError,
                            _convert.ConversionError, ark.FormatError)):
            ark.convert(src, dst)
        assert os.listdir(work) == ["attack.pkl"], name
        assert not os.path.exists(canary), name


def test_scan_report(tmp_path):
    src = tmp_path / "evil.pkl"
    src.write_bytes(_own_attacks(tmp_path / "CANARY")["os.system"])
    report = ark.scan(src)
    assert report["verdict"] == "dangerous"
    assert any(g["verdict"] == "dangerous" and g["name"] in ("posix.system", "os.system")
               for g in report["globals"])
    good = tmp_path / "good.joblib"
    joblib.dump(fitted("Ridge"), good, compress=("zlib", 3))
    report = ark.scan(good)
    assert report["verdict"] == "safe" and report["compression"] == "zlib"


def test_unreadable_source(tmp_path):
    src, dst = tmp_path / "junk.pkl", tmp_path / "junk.ark"
    src.write_bytes(b"\x80\x04this is not a pickle")
    with pytest.raises((_convert.UnreadableFileError, _convert.ConversionError, ark.FormatError)):
        ark.convert(src, dst)
    assert not dst.exists()


# ----------------------------------------------------------------- the CLI

def _ark(*args):
    assert ARK_BIN, "set ARK_BIN to the ark binary"
    # The user's own package (userpkg, for --trust) is on their PYTHONPATH.
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([ARK_BIN, "convert", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_converts(tmp_path):
    model = fitted("Pipeline(columns,rf)")
    src, dst = tmp_path / "model.joblib", tmp_path / "model.ark"
    joblib.dump(model, src)
    out = _ark(src, dst, "--compress", "zstd")
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith("converted: Pipeline(ColumnTransformer"), line
    assert "\u2014 0 untrusted types, " in line and line.endswith(" arrays")
    assert_identical_outputs(model, ark.load(dst), eval_data("Pipeline(columns,rf)"))


def test_cli_compress_with_level(tmp_path):
    src, dst = tmp_path / "m.pkl", tmp_path / "m.ark"
    FORMATS["pickle4"](fitted("RandomForestRegressor"), src)
    assert _ark(src, dst, "--compress", "lzma-6").returncode == 0
    reader = ark._ark.Reader(str(dst))
    levels = {(reader.blob_info(i)["codec"], reader.blob_info(i)["level"]) for i in range(reader.blob_count)}
    assert ("lzma", 6) in levels
    bad = _ark(src, tmp_path / "n.ark", "--compress", "brotli")
    assert bad.returncode == 64 and not (tmp_path / "n.ark").exists()


def test_cli_refuses_dangerous(tmp_path):
    canary = tmp_path / "CANARY"
    src, dst = tmp_path / "suspicious.pkl", tmp_path / "x.ark"
    src.write_bytes(_own_attacks(canary)["eval+unknown"])
    out = _ark(src, dst)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("refused: ")
    assert "builtins.eval (dangerous) and userpkg.QuantileClipper (unknown)" in out.stderr
    assert "nothing was written" in out.stderr
    assert not dst.exists() and not canary.exists()


def test_cli_refuses_unknown_then_trusts(tmp_path):
    model, X = _user_pipeline()
    src, dst = tmp_path / "user.pkl", tmp_path / "user.ark"
    src.write_bytes(pickle.dumps(model, 5))
    out = _ark(src, dst)
    assert out.returncode == 1 and "userpkg.QuantileClipper (unknown)" in out.stderr
    assert not dst.exists()
    out = _ark(src, dst, "--trust", "userpkg.QuantileClipper")
    assert out.returncode == 0, out.stderr
    assert "1 untrusted type," in out.stdout


def test_cli_unreadable_and_missing(tmp_path):
    junk, dst = tmp_path / "junk.pkl", tmp_path / "x.ark"
    junk.write_bytes(b"not a pickle at all")
    assert _ark(junk, dst).returncode == 3
    missing = _ark(tmp_path / "nope.pkl", dst)
    assert missing.returncode == 1 and "nope.pkl" in missing.stderr
    assert not dst.exists()


def test_cli_hostile_corpus(tmp_path):
    corpus, canary = _hostile_corpus()
    for name, data in corpus.items():
        work = tmp_path / name.replace("/", "_")
        work.mkdir()
        src, dst = work / "attack.pkl", work / "out.ark"
        src.write_bytes(data)
        out = _ark(src, dst)
        assert out.returncode in (1, 2, 3), (name, out.returncode, out.stdout, out.stderr)
        assert os.listdir(work) == ["attack.pkl"], name
        assert not os.path.exists(canary), name


def test_module_entry_point_usage():
    out = subprocess.run([sys.executable, "-m", "ark._convert_main"], capture_output=True,
                         text=True, env=dict(os.environ))
    assert out.returncode == 64


# ----------------------------------------------------------------- skops

SKOPS_MODELS = ["LogisticRegression", "SVC", "KNeighborsClassifier", "DecisionTreeClassifier",
                "RandomForestClassifier", "GradientBoostingRegressor",
                "HistGradientBoostingClassifier", "Pipeline(columns,rf)", "Pipeline(imputer,log1p,logreg)",
                "PCA", "MLPClassifier", "GaussianNB"]


@pytest.mark.parametrize("name", SKOPS_MODELS)
def test_skops_converts(tmp_path, name):
    from skops_files import write_skops

    model = fitted(name)
    src, dst = tmp_path / "model.skops", tmp_path / "model.ark"
    write_skops(model, src)
    ark.convert(src, dst)
    assert_identical_outputs(model, ark.load(dst), eval_data(name))
    record = ark.info(dst)["converted_from"]
    assert record["format"] == "skops" and record["sha256"] == _sha256(src)


def test_skops_cli(tmp_path):
    from skops_files import write_skops

    src, dst = tmp_path / "model.skops", tmp_path / "model.ark"
    write_skops(fitted("RandomForestClassifier"), src)
    out = _ark(src, dst)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("converted: RandomForestClassifier \u2014 0 untrusted types, ")


@pytest.mark.parametrize("attack", ["function-os.system", "object-subprocess", "reduce-eval",
                                    "method-node"])
def test_skops_hostile_refused(tmp_path, attack):
    from skops_files import hostile_schemas, write_schema

    src, dst = tmp_path / "evil.skops", tmp_path / "evil.ark"
    write_schema(hostile_schemas()[attack], src)
    with pytest.raises((ark.ConversionRefusedError, _convert.ConversionError)):
        ark.convert(src, dst)
    assert os.listdir(tmp_path) == ["evil.skops"]
    out = _ark(src, dst)
    assert out.returncode in (1, 2, 3) and not dst.exists()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_matrices(tmp_path, fmt):
    import scipy.sparse

    matrix = scipy.sparse.random(20, 7, density=0.3, format=fmt, random_state=0)
    back = _plain_roundtrip(tmp_path, {"m": matrix}, 4)["m"]
    assert type(back) is type(matrix)
    np.testing.assert_array_equal(back.toarray(), matrix.toarray())


# ----------------------------------------------------------------- crafted files with safe names
# Files whose every name is trusted but whose data is hostile: the same checks
# as ark.load apply (tree validation, no method shadowing), and nothing is written.

class _Reduced:
    def __init__(self, reduced):
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced


def test_tree_with_out_of_range_child_refused(tmp_path):
    from sklearn.tree._tree import Tree

    tree = fitted("DecisionTreeClassifier").tree_
    _, args, state = tree.__reduce__()
    state = dict(state)
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = 10 ** 6
    state["nodes"] = nodes
    src, dst = tmp_path / "tree.pkl", tmp_path / "tree.ark"
    src.write_bytes(pickle.dumps(_Reduced((Tree, args, state)), 4))
    with pytest.raises(ark.InvalidObjectError):
        ark.convert(src, dst)
    assert not dst.exists()


def test_state_shadowing_a_method_refused(tmp_path):
    model = fitted("LogisticRegression")
    state = dict(model.__dict__, predict=np.log1p)
    src, dst = tmp_path / "lr.pkl", tmp_path / "lr.ark"
    import copyreg

    src.write_bytes(pickle.dumps(_Reduced((copyreg._reconstructor, (type(model), object, None), state)), 2))
    with pytest.raises(ark.InvalidObjectError, match="predict"):
        ark.convert(src, dst)
    assert not dst.exists()


def test_trusted_function_called_as_reducer_refused(tmp_path):
    """np.add is trusted as a value, but calling it from a file is not data."""
    src, dst = tmp_path / "call.pkl", tmp_path / "call.ark"
    src.write_bytes(pickle.dumps(_Reduced((np.add, (1, 2))), 4))
    with pytest.raises((_convert.ConversionError, ark.ConversionRefusedError)):
        ark.convert(src, dst)
    assert not dst.exists()


def test_array_bytes_not_matching_shape_refused(tmp_path):
    from numpy.core.multiarray import _reconstruct

    state = (1, (10,), np.dtype("<f8"), False, b"\x00" * 16)  # 2 values for a shape of 10
    src, dst = tmp_path / "short.pkl", tmp_path / "short.ark"
    src.write_bytes(pickle.dumps(_Reduced((_reconstruct, (np.ndarray, (0,), b"b"), state)), 4))
    with pytest.raises(_convert.ConversionError, match="needs 80 bytes"):
        ark.convert(src, dst)
    assert not dst.exists()
