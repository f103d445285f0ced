"""Tests of ark.Registry and ark.load("models:/..."): the Python registry client.

Behaviour (register, versions, aliases, stages, tags, search, history, diff,
export/import, gc) and errors: unknown model or version, invalid name, alias
on a deleted version, a corrupt artifact -- each a clear exception that
changes nothing. Reliability under concurrency and crashes is in
test_registry_reliability.py.
"""
import hashlib
import os

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import _ark
import ark
from ark._metadata import fingerprint

NAME = "fraud-detector"


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)


@pytest.fixture(scope="module")
def tree(data):
    X, y = data
    return DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)


@pytest.fixture
def reg(tmp_path):
    with ark.Registry(tmp_path / "models") as registry:
        yield registry


def file_digest(path):
    return "sha256:" + ark.info(path)["file"]["file_digest"]


def state(registry):
    """Everything a failed call must leave unchanged."""
    models = [(m.name, m.latest_version, sorted(m.aliases.items()), sorted(m.tags.items()))
              for m in registry.models()]
    versions = {m[0]: [(v.version, v.status, v.stage, v.aliases, sorted(v.tags.items()))
                       for v in registry.versions(m[0], include_deleted=True)] for m in models}
    return models, versions, len(registry.history())


def stored_files(registry):
    packs = os.path.join(registry.path, "packs")
    return sorted(os.path.relpath(os.path.join(d, f), packs)
                  for d, _, files in os.walk(packs) for f in files)


# ---------------------------------------------------------------- the issue's example

def test_issue_example(reg, pipeline, data):
    """The issue's own example, word for word: an alias named "production"
    beside the stage "Production" (models:/name@production and
    models:/name/Production cannot be confused: one has "@")."""
    X, y = data
    v = reg.register(NAME, pipeline, metrics={"f1": 0.89}, training_data=(X, y),
                     validation_data=X[:20])
    assert isinstance(v, ark.ModelVersion)
    assert (v.name, v.version, v.status, v.stage) == (NAME, 1, "READY", "None")
    assert v.digest.startswith("sha256:") and len(v.digest) == 7 + 64
    assert v.model_digest.startswith("sha256:")
    assert v.metrics == {"f1": 0.89}
    assert v.metadata["training_data"]["n_samples"] == len(X)
    assert v.metadata["training_data"]["X_sha256"] == fingerprint(X)
    assert v.data_fingerprint  # lineage recorded from the metadata
    assert v.size > 0 and v.created_at is not None and v.created_by
    with pytest.raises(Exception):
        v.version = 2  # frozen

    reg.set_alias(NAME, "production", v.version)
    model = ark.load(f"models:/{NAME}@production", registry=reg.path)
    np.testing.assert_array_equal(model.predict_proba(X), pipeline.predict_proba(X))
    for uri in (f"models:/{NAME}/1", f"models:/{NAME}/latest"):
        np.testing.assert_array_equal(ark.load(uri, registry=reg).predict(X), pipeline.predict(X))
    reg.transition_stage(NAME, 1, "Production")
    assert ark.load(f"models:/{NAME}/Production", registry=reg.path).predict(X[:5]).shape == (5,)
    assert reg.get_version(NAME, "production").aliases == ("production",)
    assert reg.get_version(NAME, "Production").stage == "Production"
    # The upload folder of the dumped estimator is gone.
    assert not [e for e in os.listdir(reg.path) if e.startswith(".upload-")]


def test_load_uses_ark_registry_then_default_path(tmp_path, monkeypatch, pipeline, data):
    X, _ = data
    with ark.Registry(tmp_path / "env-reg") as reg:
        reg.register("m", pipeline)
    monkeypatch.setenv("ARK_REGISTRY", str(tmp_path / "env-reg"))
    np.testing.assert_array_equal(ark.load("models:/m/1").predict(X), pipeline.predict(X))
    with ark.Registry() as default:
        assert os.path.samefile(default.path, tmp_path / "env-reg")
    monkeypatch.delenv("ARK_REGISTRY")
    monkeypatch.chdir(tmp_path)
    # ark.load never creates a registry.
    with pytest.raises(ark.FormatError):
        ark.load("models:/m/1")
    assert not os.path.exists(tmp_path / "ark-registry")
    with ark.Registry() as default:
        default.register("m", pipeline)
    assert os.path.isdir(tmp_path / "ark-registry")
    assert ark.load("models:/m/latest").predict(X[:3]).shape == (3,)


def test_create_false_refuses_a_folder_that_is_no_registry(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ark.FormatError, match="init"):
        ark.Registry(tmp_path / "empty", create=False)


def test_register_a_file_as_is(reg, tree, tmp_path, data):
    path = tmp_path / "tree.ark"
    ark.dump(tree, path, compress="zstd", metrics={"auc": 0.75}, tags={"team": "risk"})
    v = reg.register("tree", path, description="depth 4", tags={"team": "risk", "n": 4},
                     label="1.0.0", source_ref="git:abc123")
    assert v.digest == file_digest(path)
    assert v.content_sha256 == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert v.metrics == {"auc": 0.75}
    assert v.tags == {"team": "risk", "n": "4"}
    assert (v.description, v.label, v.source_ref) == ("depth 4", "1.0.0", "git:abc123")
    out = tmp_path / "out.ark"
    reg.download("tree", 1, out)
    assert out.read_bytes() == path.read_bytes()
    with open(reg.path_of("tree", 1), "rb") as f:
        assert f.read() == path.read_bytes()
    X, _ = data
    np.testing.assert_array_equal(reg.load("tree", 1).predict(X), tree.predict(X))
    # load keywords pass through: arrays stay views of the registry's cached file.
    mapped = ark.load("models:/tree/1", registry=reg, mmap_mode="r", verify=True)
    np.testing.assert_array_equal(mapped.predict(X), tree.predict(X))


def test_file_with_estimator_only_options_is_refused(reg, tree, tmp_path):
    path = tmp_path / "tree.ark"
    ark.dump(tree, path)
    with pytest.raises(TypeError, match="metrics"):
        reg.register("tree", path, metrics={"f1": 1.0})
    assert reg.models() == []


def test_versions_numbering_lineage_and_dedup(reg, pipeline, tree):
    v1 = reg.register(NAME, pipeline)
    v2 = reg.register(NAME, tree, parent_version=1)
    v3 = reg.register(NAME, pipeline, compress=None)
    assert [v.version for v in reg.versions(NAME)] == [1, 2, 3]
    assert v2.parent_version == 1 and v1.parent_version is None
    # Same model, new metadata (created_at): the arrays are stored once.
    assert v3.model_digest == v1.model_digest
    assert v3.new_bytes < v1.new_bytes
    assert reg.get_model(NAME).latest_version == 3
    assert reg.get_version(NAME).version == 3
    assert reg.get_version(NAME, "latest").version == 3
    assert [m.name for m in reg.models()] == [NAME]


def test_aliases_move_and_are_audited(reg, pipeline, tree):
    reg.register(NAME, pipeline)
    reg.register(NAME, tree)
    reg.set_alias(NAME, "champion", 1)
    reg.set_alias(NAME, "champion", 2, reason="better recall")
    assert reg.get_model(NAME).aliases == {"champion": 2}
    assert reg.get_version(NAME, 1).aliases == ()
    assert reg.resolve(f"models:/{NAME}@champion").version == 2
    reg.delete_alias(NAME, "champion")
    with pytest.raises(ark.FormatError, match="champion"):
        reg.resolve(f"models:/{NAME}@champion")
    events = [e for e in reg.history(NAME) if e.action in ("alias", "unalias")]
    assert [e.action for e in events] == ["alias", "alias", "unalias"]
    assert events[1].reason == "better recall"
    assert all(e.actor for e in events)
    assert [e.id for e in reg.history(NAME)] == sorted(e.id for e in reg.history(NAME))


def test_stages(reg, pipeline, tree):
    reg.register(NAME, pipeline)
    reg.register(NAME, tree)
    reg.transition_stage(NAME, 1, "Production")
    reg.transition_stage(NAME, 2, "Production", archive_existing=True)
    assert [v.stage for v in reg.versions(NAME)] == ["Archived", "Production"]
    reg.transition_stage(NAME, 1, "Staging")
    assert reg.get_version(NAME, "Staging").version == 1
    with pytest.raises(ValueError, match="stage"):
        reg.transition_stage(NAME, 1, "production-ish")
    stage_events = [e for e in reg.history(NAME) if e.action == "stage"]
    assert len(stage_events) == 4  # 1 -> Production, 1 -> Archived, 2 -> Production, 1 -> Staging


def test_tags_and_descriptions(reg, pipeline):
    reg.register(NAME, pipeline)
    reg.set_tag(NAME, 1, "team", "risk")
    reg.set_tag(NAME, None, "owner", "ml-platform")
    reg.set_tag(NAME, 1, "reviewed", True)
    assert reg.get_version(NAME, 1).tags == {"team": "risk", "reviewed": "true"}
    assert reg.get_model(NAME).tags == {"owner": "ml-platform"}
    reg.delete_tag(NAME, 1, "reviewed")
    assert reg.get_version(NAME, 1).tags == {"team": "risk"}
    reg.set_description(NAME, 1, "first fit")
    reg.set_description(NAME, None, "scores card payments")
    assert reg.get_version(NAME, 1).description == "first fit"
    assert reg.get_model(NAME).description == "scores card payments"
    with pytest.raises(TypeError):
        reg.set_tag(NAME, 1, "bad", ["a", "list"])


def test_search_filters_orders_and_pages(reg, tmp_path, data):
    X, y = data
    f1s = [0.80, 0.86, 0.95, 0.90, 0.70, 0.88]
    for i, f1 in enumerate(f1s):
        model = LogisticRegression(C=0.1 * (i + 1)).fit(X, y)
        reg.register("m-risk" if i % 2 == 0 else "m-ops", model, metrics={"f1": f1},
                     tags={"team": "risk" if i % 2 == 0 else "ops"})
    hits = reg.search("metrics.f1 > 0.85", order_by="metrics.f1 DESC")
    assert [v.metrics["f1"] for v in hits] == [0.95, 0.90, 0.88, 0.86]
    risk = reg.search("metrics.f1 > 0.85 and tags.team = 'risk'", order_by="metrics.f1 DESC")
    assert [(v.name, v.metrics["f1"]) for v in risk] == [("m-risk", 0.95)]
    page1 = reg.search("metrics.f1 > 0", order_by="metrics.f1 DESC", max_results=4)
    page2 = reg.search("metrics.f1 > 0", order_by="metrics.f1 DESC", max_results=4, offset=4)
    assert [v.metrics["f1"] for v in page1 + page2] == sorted(f1s, reverse=True)
    with pytest.raises(ark.FormatError):
        reg.search("metrics.f1 >>> 'oops")


def test_diff_puts_versions_side_by_side(reg, data):
    X, y = data
    reg.register("m", LogisticRegression(C=1.0).fit(X, y), metrics={"f1": 0.8, "auc": 0.9})
    reg.register("m", LogisticRegression(C=2.0).fit(X, y), metrics={"f1": 0.85})
    reg.register("m", LogisticRegression(C=2.0).fit(X, y), metrics={"f1": 0.85})
    d = reg.diff("m", 1, 2)
    assert (d["a"], d["b"], d["same_model"]) == (1, 2, False)
    assert d["params"] == {"C": (1.0, 2.0)}
    assert d["metrics"] == {"auc": (0.9, None), "f1": (0.8, 0.85)}
    assert d["versions"]["digest"][0] != d["versions"]["digest"][1]
    assert "created_at" in d["metadata"]
    assert "estimator.type" not in d["metadata"]  # same class
    assert reg.diff("m", 2, 3)["same_model"] is True
    assert reg.diff("m", 2, 3)["params"] == {}


def test_export_import_round_trip(reg, tmp_path, pipeline, tree, data):
    X, _ = data
    reg.register(NAME, pipeline, tags={"team": "risk"})
    reg.register(NAME, tree)
    reg.set_alias(NAME, "champion", 1)
    reg.transition_stage(NAME, 2, "Staging")
    bundle = tmp_path / "bundle.tar"
    reg.export(NAME, bundle)
    with ark.Registry(tmp_path / "other") as other:
        imported = other.import_bundle(bundle)
        assert sorted(v.digest for v in imported) == sorted(v.digest for v in reg.versions(NAME))
        v1 = other.get_version(NAME, "champion")
        assert v1.digest == reg.get_version(NAME, 1).digest
        assert v1.tags["team"] == "risk"  # import may add lineage tags (ark.source_version)
        assert other.get_version(NAME, "Staging").digest == reg.get_version(NAME, 2).digest
        np.testing.assert_array_equal(
            ark.load(f"models:/{NAME}@champion", registry=other).predict(X), pipeline.predict(X))
        assert any(e.action == "import" for e in other.history(NAME))


def test_delete_and_gc(reg, pipeline, tree, data):
    X, _ = data
    reg.register(NAME, pipeline)
    reg.register(NAME, tree)
    reg.set_alias(NAME, "champion", 2)
    before = stored_files(reg)
    reg.delete(NAME, 2, reason="leaked labels")
    assert [v.version for v in reg.versions(NAME)] == [1]
    deleted = reg.get_version(NAME, 2)
    assert deleted.status == "DELETED" and deleted.aliases == ()
    assert reg.get_model(NAME).aliases == {}
    freed = reg.gc()
    assert freed["pieces_removed"] > 0 and freed["bytes_freed"] > 0
    assert len(stored_files(reg)) < len(before)
    np.testing.assert_array_equal(reg.load(NAME, 1).predict(X), pipeline.predict(X))
    assert reg.gc() == {"pieces_removed": 0, "bytes_freed": 0}
    v3 = reg.register(NAME, tree)  # numbers are never reused
    assert v3.version == 3


# ---------------------------------------------------------------- errors change nothing

def test_unknown_model_and_version(reg, pipeline):
    reg.register(NAME, pipeline)
    before = state(reg)
    with pytest.raises(ark.FormatError, match="no-such-model"):
        reg.get_version("no-such-model", 1)
    with pytest.raises(ark.FormatError, match="no-such-model"):
        reg.versions("no-such-model")
    with pytest.raises(ark.FormatError, match="7"):
        reg.get_version(NAME, 7)
    with pytest.raises(ark.FormatError, match="7"):
        reg.set_alias(NAME, "champion", 7)
    with pytest.raises(ark.FormatError, match="no-such-model"):
        ark.load("models:/no-such-model/1", registry=reg)
    with pytest.raises(ark.FormatError, match="nope"):
        ark.load(f"models:/{NAME}@nope", registry=reg)
    with pytest.raises(ark.FormatError):
        reg.set_tag("no-such-model", 1, "k", "v")
    assert state(reg) == before


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "../escape", "x" * 300, "tab\tname"])
def test_invalid_model_name(reg, pipeline, bad):
    with pytest.raises(ark.InvalidArgumentError):
        reg.register(bad, pipeline)
    assert reg.models() == []
    assert not [e for e in os.listdir(reg.path) if e.startswith(".upload-")]


@pytest.mark.parametrize("uri", ["models:/", "models:/m", "models:/m/", "models:/m@",
                                 "models:/m/0", "models:/m/-1", "models:/m/1/2"])
def test_malformed_uri(reg, uri):
    with pytest.raises(ark.InvalidArgumentError):
        ark.load(uri, registry=reg)


def test_parse_model_uri():
    assert _ark.parse_model_uri("models:/fraud-detector/3")["version"] == 3
    assert _ark.parse_model_uri("models:/fraud-detector@champion")["alias"] == "champion"
    assert _ark.parse_model_uri("models:/fraud-detector/Production")["stage"] == "Production"
    assert _ark.parse_model_uri("models:/fraud-detector/latest")["latest"] is True
    assert _ark.is_model_uri("models:/a/1") and not _ark.is_model_uri("a.ark")


def test_alias_on_deleted_version(reg, pipeline, tree):
    reg.register(NAME, pipeline)
    reg.register(NAME, tree)
    reg.delete(NAME, 1)
    before = state(reg)
    with pytest.raises(ark.FormatError, match="deleted"):
        reg.set_alias(NAME, "champion", 1)
    with pytest.raises(ark.FormatError):
        reg.transition_stage(NAME, 1, "Production")
    with pytest.raises(ark.FormatError):
        reg.load(NAME, 1)
    assert state(reg) == before


def test_corrupt_artifact_is_refused_and_changes_nothing(reg, tree, tmp_path):
    reg.register("tree", tree)
    before, files = state(reg), stored_files(reg)
    good = tmp_path / "good.ark"
    ark.dump(DecisionTreeClassifier(max_depth=2).fit([[0], [1], [2]], [0, 1, 1]), good)
    data = bytearray(good.read_bytes())
    reader = _ark.Reader(bytes(data))
    offset = reader.blob_info(0)["offset"]
    data[offset] ^= 0xFF  # one flipped bit in an array: the blob's SHA-256 no longer matches
    bad = tmp_path / "bad.ark"
    bad.write_bytes(bytes(data))
    with pytest.raises(ark.ChecksumMismatchError):
        reg.register("tree", bad)
    truncated = tmp_path / "truncated.ark"
    truncated.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(ark.FormatError):
        reg.register("tree", truncated)
    not_ark = tmp_path / "model.pkl"
    not_ark.write_bytes(b"\x80\x04not an ark file at all" * 10)
    with pytest.raises(ark.FormatError):
        reg.register("other", not_ark)
    with pytest.raises(ark.FormatError):
        reg.register("tree", tmp_path / "missing.ark")
    assert state(reg) == before
    assert stored_files(reg) == files


def test_corrupt_stored_piece_is_detected_on_get(reg, tree, tmp_path):
    v = reg.register("tree", tree)
    packs = os.path.join(reg.path, "packs")
    pieces = [os.path.join(d, f) for d, _, fs in os.walk(packs) for f in fs]
    largest = max(pieces, key=os.path.getsize)
    data = bytearray(open(largest, "rb").read())
    data[len(data) // 2] ^= 0x01
    os.chmod(largest, 0o644)
    with open(largest, "wb") as f:
        f.write(data)
    out = tmp_path / "out.ark"
    with pytest.raises(ark.FormatError):
        reg.download("tree", v.version, out)
    assert not out.exists()


def test_closed_registry(tmp_path):
    reg = ark.Registry(tmp_path / "r")
    reg.close()
    with pytest.raises(ValueError, match="closed"):
        reg.models()


def test_digest_names_the_file(reg, tree, tmp_path):
    """The registry digest is the .ark file digest: the SHA-256 of its manifest."""
    v = reg.register("tree", tree)
    path = reg.path_of("tree", v.version)
    reader = _ark.Reader(path)
    assert v.digest == "sha256:" + hashlib.sha256(reader.manifest_json().encode()).hexdigest()


def test_column_transformer_pipeline(reg):
    import pandas as pd
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"age": rng.uniform(18, 80, 60), "city": rng.choice(["a", "b"], 60)})
    y = rng.randint(0, 2, 60)
    model = make_pipeline(ColumnTransformer([("num", StandardScaler(), ["age"]),
                                             ("cat", OneHotEncoder(), ["city"])]),
                          LogisticRegression()).fit(X, y)
    reg.register("ct", model, validation_data=X[:10])
    np.testing.assert_array_equal(ark.load("models:/ct/1", registry=reg).predict(X),
                                  model.predict(X))


def test_unstorable_estimator_registers_nothing(reg, data):
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    model = make_pipeline(FunctionTransformer(lambda x: x), LogisticRegression()).fit(X, y)
    with pytest.raises(ark.UnstorableObjectError):
        reg.register(NAME, model)
    assert reg.models() == []
    assert not [e for e in os.listdir(reg.path) if e.startswith(".upload-")]


def test_threads_share_one_registry(reg, tmp_path):
    """Calls release the GIL and the core serialises them: threads may share a handle."""
    import concurrent.futures

    paths = []
    for i in range(12):
        path = tmp_path / f"a{i}.ark"
        ark.dump({"i": np.full(100, i)}, path)
        paths.append(path)

    def work(path):
        v = reg.register("threads", path)
        reg.set_tag("threads", v.version, "file", path.name)
        return v

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, paths))
    assert sorted(v.version for v in results) == list(range(1, 13))
    for v in reg.versions("threads"):
        assert v.digest == file_digest(tmp_path / v.tags["file"])


def test_records_are_readable(reg, pipeline):
    v = reg.register(NAME, pipeline, description="first")
    assert repr(reg).startswith("ark.Registry(")
    assert "metadata_json" not in repr(v) and "fraud-detector" in repr(v)
    assert v.uri == f"models:/{NAME}/1"
    assert v.metadata["estimator"]["type"] == "sklearn.pipeline.Pipeline"
    model = reg.get_model(NAME)
    assert isinstance(model, ark.RegisteredModel) and model.latest_version == 1
    events = reg.history()
    assert all(isinstance(e, ark.AuditEvent) for e in events)
    assert events[-1].action == "register" and events[-1].version == 1
    assert reg.history(NAME, limit=1) == events[-1:]
