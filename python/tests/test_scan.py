"""`ark scan` end to end: the hostile corpus is dangerous (exit 2, the
dangerous global named), our own scikit-learn pickles and joblib files are
safe (0), a user class is unknown (1), broken files are unreadable (3), and
the canary file that every attack would create never appears.

Runs $ARK_BIN (the `ark` binary), as the other CLI tests do. Nothing here
loads a hostile file: the corpus is raw bytes (hostile_pickles.py).
"""
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.dirname(__file__))
import hostile_pickles  # noqa: E402
import skops_files  # noqa: E402
import userpkg  # noqa: E402

ARK_BIN = os.environ.get("ARK_BIN")


def scan(*args):
    assert ARK_BIN, "set ARK_BIN to the ark binary"
    return subprocess.run([ARK_BIN, "scan", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def no_canary():
    yield
    assert not os.path.exists(hostile_pickles.CANARY), "an attack payload ran"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return hostile_pickles.write_corpus(tmp_path_factory.mktemp("hostile"))


def test_corpus_is_large_and_never_loaded():
    assert len(hostile_pickles.ATTACKS) >= 30
    assert set(hostile_pickles.ATTACKS) == set(hostile_pickles.EXPECTED)


@pytest.mark.parametrize("name", sorted(hostile_pickles.ATTACKS))
def test_every_attack_is_dangerous_and_named(corpus, name):
    result = scan(corpus[name])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "DANGEROUS — " in result.stdout
    verbose = scan("-v", corpus[name]).stdout
    assert hostile_pickles.EXPECTED[name] in verbose, verbose


def test_folder_json_lists_every_file(corpus, tmp_path):
    folder = os.path.dirname(next(iter(corpus.values())))
    result = scan(folder, "--json")
    assert result.returncode == 2
    reports = json.loads(result.stdout)
    assert isinstance(reports, list) and len(reports) == len(corpus)
    for report in reports:
        assert report["verdict"] == "dangerous" and report["exit_code"] == 2, report
        assert {"path", "headline", "format", "globals", "findings"} <= set(report)
    posix = next(r for r in reports if r["path"].endswith("posix-system.pkl"))
    system = next(g for g in posix["globals"] if g["name"] == "posix.system")
    assert system["called"] and system["verdict"] == "dangerous" and system["offsets"]
    assert "touch " + hostile_pickles.CANARY in system["calls"][0]


def test_headline_names_the_call_and_its_argument(corpus):
    out = scan(corpus["posix-system"]).stdout
    assert f"DANGEROUS — calls posix.system('touch {hostile_pickles.CANARY}') at offset 0x" in out


def _fit(model):
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    y = (X[:, 0] > 0.5).astype(int)
    return model.fit(X, y)


SAFE_MODELS = {
    "logreg": lambda: _fit(LogisticRegression()),
    "forest": lambda: _fit(RandomForestClassifier(n_estimators=3, random_state=0)),
    "gbdt": lambda: _fit(GradientBoostingClassifier(n_estimators=3)),
    "hgb": lambda: _fit(HistGradientBoostingClassifier(max_iter=3)),
    "sgd": lambda: _fit(SGDClassifier()),
    "knn": lambda: _fit(KNeighborsClassifier(n_neighbors=3)),
    "pipeline": lambda: _fit(make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression())),
    "onehot": lambda: OneHotEncoder().fit([["a"], ["b"]]),
}


@pytest.mark.parametrize("name", sorted(SAFE_MODELS))
def test_our_own_sklearn_pickles_and_joblib_files_are_safe(tmp_path, name):
    model = SAFE_MODELS[name]()
    paths = []
    for protocol in range(6):
        path = tmp_path / f"{name}_p{protocol}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=protocol))
        paths.append(path)
    for compress in (0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)):
        path = tmp_path / f"{name}_{compress}.joblib"
        joblib.dump(model, path, compress=compress)
        paths.append(path)
    for path in paths:
        result = scan(path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SAFE — " in result.stdout
    result = scan(tmp_path)
    assert result.returncode == 0 and f"{len(paths)} files scanned; worst: SAFE" in result.stdout


def test_our_own_skops_file_is_safe(tmp_path):
    path = tmp_path / "model.skops"
    skops_files.write_skops(_fit(LogisticRegression()), path)
    result = scan(path)
    assert result.returncode == 0, result.stdout
    report = json.loads(scan(path, "--json").stdout)
    assert report["format"] == "skops"
    assert "sklearn.linear_model._logistic.LogisticRegression" in {g["name"] for g in report["globals"]}


def test_hostile_skops_schemas_are_refused(tmp_path):
    for name, schema in skops_files.hostile_schemas().items():
        path = tmp_path / f"{name}.skops"
        skops_files.write_schema(schema, path)
        result = scan(path)
        assert result.returncode in (1, 2), (name, result.stdout)
        if name != "method-node":
            assert result.returncode == 2, (name, result.stdout)


def test_user_class_is_unknown(tmp_path):
    path = tmp_path / "user.pkl"
    path.write_bytes(pickle.dumps(userpkg.__dict__[_user_class_name()](), protocol=4))
    result = scan(path)
    assert result.returncode == 1, result.stdout
    assert "UNKNOWN — userpkg." in result.stdout


def _user_class_name():
    for name, value in vars(userpkg).items():
        if isinstance(value, type) and value.__module__ == "userpkg":
            try:
                value()
            except Exception:  # noqa: BLE001  (needs arguments)
                continue
            return name
    raise AssertionError("userpkg has no class without arguments")


def _broken_files():
    good = pickle.dumps(_fit(LogisticRegression()), protocol=4)
    deep = b"\x80\x02" + b"(" * 200_000 + b"."
    return {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "only-proto": b"\x80\x04",
        "huge-length": b"\x80\x04\x8d" + (2**62).to_bytes(8, "little") + b"x",
        "huge-frame": b"\x80\x04\x95" + (2**62).to_bytes(8, "little") + b".",
        "deep-marks": deep,
        "bad-opcode": b"\x80\x02\xff.",
        "get-missing-memo": b"\x80\x02h\x05.",
        "self-append": b"\x80\x02]q\x00h\x00a" * 1 + b".",
        "text": b"hello, I am not a pickle\n",
        "zip-without-schema": _zip_without_schema(),
        "bad-gzip": b"\x1f\x8b\x08\x00garbage",
    }


def _zip_without_schema():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.npy", b"x")
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(_broken_files()))
def test_broken_files_are_unreadable_without_a_crash(tmp_path, name):
    data = _broken_files()[name]
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(data)
    result = scan(path)
    if name == "self-append":  # a list that contains itself is valid data
        assert result.returncode == 0, result.stdout + result.stderr
        return
    assert result.returncode == 3, result.stdout + result.stderr
    assert "UNREADABLE — " in result.stdout
    report = json.loads(scan(path, "--json").stdout)
    assert report["verdict"] == "unreadable" and report["error"]


def test_exit_status_is_the_worst_over_files(tmp_path, corpus):
    safe = tmp_path / "safe.pkl"
    safe.write_bytes(pickle.dumps(_fit(LogisticRegression()), protocol=4))
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"\x80\x04")
    assert scan(safe).returncode == 0
    assert scan(safe, corpus["os-system-p2"]).returncode == 2
    assert scan(safe, corpus["os-system-p2"], broken).returncode == 3
    reports = json.loads(scan(safe, broken, "--json").stdout)
    assert [r["verdict"] for r in reports] == ["safe", "unreadable"]


def test_folder_picks_files_by_extension_or_by_content_with_all(tmp_path):
    (tmp_path / "sub").mkdir()
    data = hostile_pickles.ATTACKS["os-system-p4"]
    (tmp_path / "sub" / "model.bin").write_bytes(data)
    (tmp_path / "README.txt").write_text("not a model")
    result = scan(tmp_path)
    assert result.returncode == 0 and "0 files scanned" in result.stdout
    result = scan(tmp_path, "--all")
    assert result.returncode == 2 and "model.bin: DANGEROUS" in result.stdout


def test_missing_path_and_help():
    result = scan("/no/such/path.pkl")
    assert result.returncode == 1 and "no such file" in result.stderr
    help_text = subprocess.run([ARK_BIN, "scan", "--help"], capture_output=True, text=True).stdout
    for line in ("0   every file is safe", "1   unknown types", "2   at least one file is dangerous",
                 "3   at least one file is unreadable"):
        assert line in help_text


def test_trust_lists_are_one_file_shared_with_python():
    from ark import _trust  # noqa: PLC0415

    path = os.path.join(os.path.dirname(_trust.__file__), "trust_lists.json")
    with open(path, encoding="utf-8") as f:
        lists = json.load(f)
    assert "_comment" in lists
    assert _trust.FORBIDDEN_MODULES == frozenset(lists["FORBIDDEN_MODULES"])
    assert _trust.BUILTIN_GLOBALS == frozenset(lists["BUILTIN_GLOBALS"])
    # The generated numpy lists match this numpy.
    # (In a fresh interpreter: other tests patch numpy attributes on purpose.)
    fresh = subprocess.run(
        [sys.executable, "-c",
         "import json, numpy as np; print(json.dumps(sorted(n for n in dir(np) "
         "if isinstance(getattr(np, n), np.ufunc))))"],
        check=True, capture_output=True, text=True).stdout
    assert lists["numpy_ufuncs"] == json.loads(fresh)
    # Every module Python forbids has a reason the scanner shows.
    assert set(lists["FORBIDDEN_MODULES"]) <= set(lists["dangerous_modules"])
