"""The model registry from Python: `ark.Registry` and `models:/` URIs.

    reg = ark.Registry("./models")                 # default: $ARK_REGISTRY, else ./ark-registry
    v = reg.register("fraud-detector", pipeline, metrics={"f1": 0.89},
                     training_data=(X, y), validation_data=X[:20])
    reg.set_alias("fraud-detector", "production", v.version)
    model = ark.load("models:/fraud-detector@production")   # or /3, /Production, /latest

A thin layer over the native `_ark.Registry` (src/python/py_registry.cc,
itself over ark::registry::Registry, include/ark/registry/registry.h): the
C++ core owns storage, transactions, locking and the audit log; this module
turns arguments and records into Pythonic ones.

Contract:
- `Registry(path, create=True)` creates the folder on first use, like
  sqlite3.connect: a Python user who names a folder wants a registry there.
  Pass create=False to insist on an existing registry (the error then says to
  run `ark registry init`). `ark.load("models:/...")` never creates one.
- Every mutating call is one transaction of the core: it either happens
  whole or raises and changes nothing. Several processes may share a
  registry; waits on the database lock happen inside the core, never as a
  "database is locked" error.
- Errors from the core are the `_ark` exceptions (`ark.FormatError` and its
  subclasses, e.g. `ark.InvalidArgumentError` for an unknown model or an
  invalid name, `ark.IoError` for a full disk), with the core's message.
  Bad Python arguments raise TypeError / ValueError before anything is done.
- Records are frozen dataclasses (`ModelVersion`, `RegisteredModel`,
  `AuditEvent`): snapshots, not live views.
- The GIL is released while the core works, so threads may share a Registry.
"""
import dataclasses
import datetime
import functools
import json
import os
import shutil
import tempfile
import time
from typing import Any, Optional

import _ark

URI_SCHEME = "models:/"
STAGES = ("None", "Staging", "Production", "Archived")

# Estimators are dumped into a folder with this prefix inside the registry
# (same file system as the store, and cleaned by gc() when a killed process
# left one behind for longer than STALE_UPLOAD_SECONDS).
UPLOAD_PREFIX = ".upload-"
STALE_UPLOAD_SECONDS = 3600


def _time(ms):
    """Unix milliseconds -> aware UTC datetime (None for 0: not recorded)."""
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)


def _json_or_none(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # the core wrote free text: hand it over as is


@dataclasses.dataclass(frozen=True)
class ModelVersion:
    """One registered version. `metrics` and `metadata` come from the
    artifact's metadata section (docs/METADATA.md); `tags`, `stage`,
    `aliases`, `description` are the registry's and can change later."""

    name: str
    version: int
    digest: str                # "sha256:<hex>": the .ark file's digest (SHA-256 of its manifest)
    content_sha256: str        # "sha256:<hex>" of the whole file's bytes
    model_digest: str          # "sha256:<hex>" of the model alone, "" if the file has none
    size: int                  # bytes of the .ark file
    new_bytes: int             # bytes this version added to the store (dedup)
    stage: str
    status: str                # "READY" or "DELETED"
    label: str
    description: str
    tags: dict
    metrics: dict
    aliases: tuple
    metadata_json: str = dataclasses.field(repr=False)  # JSON text; see .metadata
    data_fingerprint: str
    source_ref: str
    parent_version: Optional[int]
    created_by: str
    created_at: Optional[datetime.datetime]

    @property
    def uri(self):
        """models:/<name>/<version>, which ark.load accepts."""
        return f"{URI_SCHEME}{self.name}/{self.version}"

    @functools.cached_property
    def metadata(self):
        """The artifact's metadata section as a dict (docs/METADATA.md),
        decoded on first use: a search page need not parse every record's."""
        metadata = _json_or_none(self.metadata_json)
        return metadata if isinstance(metadata, dict) else {}

    @classmethod
    def _from_record(cls, r):
        return cls(
            name=r["name"], version=r["version"], digest=r["digest"],
            content_sha256=r["content_sha256"],
            model_digest=r["model_digest"], size=r["size"], new_bytes=r["new_bytes"],
            stage=r["stage"], status=r["status"], label=r["label"],
            description=r["description"], tags=dict(r["tags"]), metrics=dict(r["metrics"]),
            aliases=tuple(r["aliases"]), metadata_json=r["metadata_json"],
            data_fingerprint=r["data_fingerprint"], source_ref=r["source_ref"],
            parent_version=r["parent_version"] or None, created_by=r["created_by"],
            created_at=_time(r["created_ms"]))


@dataclasses.dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its name, tags, aliases (alias -> version) and the
    number of its latest live version (None when it has none)."""

    name: str
    description: str
    tags: dict
    aliases: dict
    latest_version: Optional[int]
    created_at: Optional[datetime.datetime]
    updated_at: Optional[datetime.datetime]

    @classmethod
    def _from_record(cls, r):
        return cls(name=r["name"], description=r["description"], tags=dict(r["tags"]),
                   aliases=dict(r["aliases"]), latest_version=r["latest_version"] or None,
                   created_at=_time(r["created_ms"]), updated_at=_time(r["updated_ms"]))


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    """One entry of the append-only audit log. `before` / `after` are the
    decoded JSON the core recorded (None when there was nothing)."""

    id: int
    time: Optional[datetime.datetime]
    actor: str
    action: str                # register, alias, unalias, stage, tag, untag, describe, delete, ...
    model: str
    version: Optional[int]     # None for events about the model
    before: Any
    after: Any
    reason: str

    @classmethod
    def _from_record(cls, r):
        return cls(id=r["id"], time=_time(r["time_ms"]), actor=r["actor"], action=r["action"],
                   model=r["model"], version=r["version"] or None,
                   before=_json_or_none(r["before"]), after=_json_or_none(r["after"]),
                   reason=r["reason"])


def is_model_uri(text):
    """True for a str starting with models:/ (it may still be malformed)."""
    return isinstance(text, str) and text.startswith(URI_SCHEME)


def _reference_uri(name, version):
    """models:/ URI of `version` of `name`: an int (or digits) is a version
    number; None or "latest" the latest live version; a stage name
    ("Production"...) that stage; any other str an alias."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a model name must be a non-empty str, not {name!r}")
    if version is None or version == "latest":
        return f"{URI_SCHEME}{name}/latest"
    if isinstance(version, bool):
        raise TypeError(f"version={version!r}: use a version number, an alias or a stage")
    if isinstance(version, int) or (isinstance(version, str) and version.isdigit()):
        return f"{URI_SCHEME}{name}/{int(version)}"
    if isinstance(version, str):
        if version in STAGES:
            return f"{URI_SCHEME}{name}/{version}"
        return f"{URI_SCHEME}{name}@{version}"
    raise TypeError(f"version={version!r}: use a version number, an alias or a stage")


def _version_number(version):
    if isinstance(version, bool) or not isinstance(version, int):
        raise TypeError(f"version must be an int, not {version!r}")
    return version


def _string_map(name, mapping):
    """Registry tags are str -> str; numbers and booleans are written as text."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise TypeError(f"{name} must be a dict of str to str, not {type(mapping).__name__}")
    out = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"{name}: keys must be str, not {key!r}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = repr(value)
        elif not isinstance(value, str):
            raise TypeError(f"{name}[{key!r}] must be a str or a number, not "
                            f"{type(value).__name__}")
        out[key] = value
    return out


class Registry:
    """A model registry folder (layout and guarantees: include/ark/registry/registry.h).

    path: the folder; None means $ARK_REGISTRY, else ./ark-registry.
    create: create the registry when the folder is not one yet (default True).
    actor: who is recorded in the audit log ("" means $ARK_ACTOR, else $USER).

    Use as a context manager, or call close(), to release the database.
    """

    def __init__(self, path=None, *, create=True, actor=""):
        # Absolute, so that a later os.chdir does not move the registry.
        self.path = os.path.abspath(os.fsdecode(
            path if path is not None else _ark.Registry.default_path()))
        self.actor = actor
        self._native = _ark.Registry(self.path, create=create)

    def __repr__(self):
        return f"ark.Registry({self.path!r})"

    def close(self):
        """Releases the database; later calls raise ValueError."""
        self._native.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ register

    def register(self, name, obj_or_path, *, metrics=None, training_data=None,
                 validation_data=None, description=None, tags=None, label=None,
                 source_ref=None, parent_version=None, compress=None):
        """Registers the next version of `name` (the model is created on first use).

        obj_or_path: a fitted estimator (or anything ark.dump stores), dumped
            with metrics / training_data / validation_data / description /
            tags / compress exactly as ark.dump does; or the path of an .ark
            file, registered as is (checked whole by the core) -- its metadata
            is already written, so metrics, training_data, validation_data and
            compress are refused with it.
        description, tags: the version's registry description and tags (for
            an estimator they are also written into the file's metadata).
        label: a semantic-version label ("1.4.0"); source_ref: a git commit,
            a script hash...; parent_version: the version this one derives from.

        Returns the new ModelVersion. On any error nothing is registered and
        no file is left behind.
        """
        registry_tags = _string_map("tags", tags)
        options = dict(description=description or "", tags=registry_tags, label=label or "",
                       source_ref=source_ref or "",
                       parent_version=0 if parent_version is None
                       else _version_number(parent_version),
                       actor=self.actor)
        if isinstance(obj_or_path, (str, bytes, os.PathLike)):
            given = [k for k, v in (("metrics", metrics), ("training_data", training_data),
                                    ("validation_data", validation_data),
                                    ("compress", compress)) if v is not None]
            if given:
                raise TypeError(
                    f"{', '.join(given)} apply when registering an estimator: the file "
                    f"{os.fsdecode(obj_or_path)!r} already holds its metadata (pass the "
                    f"estimator, or write them with ark.dump first)")
            return ModelVersion._from_record(
                self._native.register(name, obj_or_path, **options))

        from . import dump  # noqa: PLC0415  (ark imports this module)

        upload = tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=self.path)
        try:
            path = os.path.join(upload, "model.ark")
            dump(obj_or_path, path, compress, metrics=metrics, validation_data=validation_data,
                 training_data=training_data, description=description,
                 tags=dict(tags) if tags else None)
            return ModelVersion._from_record(self._native.register(name, path, **options))
        finally:
            shutil.rmtree(upload, ignore_errors=True)

    # ------------------------------------------------------------ read

    def models(self):
        """Every registered model, by name."""
        return [RegisteredModel._from_record(r) for r in self._native.list_models()]

    def get_model(self, name):
        return RegisteredModel._from_record(self._native.get_model(name))

    def versions(self, name, *, include_deleted=False):
        """The versions of `name`, oldest first."""
        return [ModelVersion._from_record(r)
                for r in self._native.list_versions(name, include_deleted)]

    def get_version(self, name, version=None):
        """One version: `version` is a number, an alias, a stage name,
        "latest" or None (latest). Deleted versions are found by number only."""
        if isinstance(version, int) and not isinstance(version, bool):
            return ModelVersion._from_record(self._native.get_version(name, version))
        return self.resolve(_reference_uri(name, version))

    def resolve(self, uri):
        """The live version a models:/ URI names."""
        return ModelVersion._from_record(self._native.resolve(uri))

    def history(self, name=None, *, limit=None):
        """Audit events, oldest first: of `name`, or of every model."""
        return [AuditEvent._from_record(r)
                for r in self._native.history(name or "", limit or 0)]

    def search(self, filter="", *, order_by=None, max_results=100, offset=0,
               include_deleted=False):
        """Versions matching `filter`, e.g. "metrics.f1 > 0.85 and
        tags.team = 'risk'" (grammar: docs/REGISTRY.md), ordered by
        `order_by` (e.g. "metrics.f1 DESC"; default name, version), one page
        of `max_results` starting at `offset`."""
        return [ModelVersion._from_record(r) for r in self._native.search(
            filter or "", order_by or "", max_results, offset, include_deleted)]

    # ------------------------------------------------------------ change

    def set_alias(self, name, alias, version, *, reason=None):
        """Points `alias` at `version` (moving it if it pointed elsewhere; audited)."""
        self._native.set_alias(name, alias, _version_number(version), reason or "", self.actor)

    def delete_alias(self, name, alias, *, reason=None):
        self._native.delete_alias(name, alias, reason or "", self.actor)

    def transition_stage(self, name, version, stage, archive_existing=False, *, reason=None):
        """Moves `version` to `stage` (one of STAGES, any case); with
        archive_existing, the versions that held `stage` move to Archived."""
        canonical = {s.lower(): s for s in STAGES}.get(stage.lower() if isinstance(stage, str)
                                                       else None)
        if canonical is None:
            raise ValueError(f"stage={stage!r}: use one of {', '.join(STAGES)}")
        self._native.set_stage(name, _version_number(version), canonical, archive_existing,
                               reason or "", self.actor)

    def set_tag(self, name, version, key, value):
        """Sets a tag of `version`, or of the model when version is None."""
        value = _string_map("value", {key: value})[key]
        self._native.set_tag(name, 0 if version is None else _version_number(version), key,
                             value, self.actor)

    def delete_tag(self, name, version, key):
        self._native.delete_tag(name, 0 if version is None else _version_number(version), key,
                                self.actor)

    def set_description(self, name, version, description):
        """Sets the description of `version`, or of the model when version is None."""
        self._native.set_description(name, 0 if version is None else _version_number(version),
                                     description, self.actor)

    def delete(self, name, version=None, *, reason=None):
        """Marks `version` deleted (its aliases go), or the whole model when
        version is None. Storage is reclaimed by gc()."""
        self._native.delete(name, 0 if version is None else _version_number(version),
                            reason or "", self.actor)

    def gc(self):
        """Reclaims the pieces no live version uses, and upload folders a
        killed process left. Returns {"pieces_removed", "bytes_freed"}."""
        result = self._native.gc()
        now = time.time()
        for entry in os.scandir(self.path):
            if entry.name.startswith(UPLOAD_PREFIX) and entry.is_dir(follow_symlinks=False):
                try:
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_UPLOAD_SECONDS:
                        shutil.rmtree(entry.path, ignore_errors=True)
                except FileNotFoundError:
                    pass  # another process cleaned it
        return result

    # ------------------------------------------------------------ artifacts

    def path_of(self, name, version=None):
        """Path of a checked copy of the version's .ark file in the registry's
        cache (re-assembled on first use). Do not modify it."""
        v = self.get_version(name, version)
        return self._native.materialize(v.name, v.version)

    def download(self, name, version, out_path):
        """Writes the version's .ark file to `out_path` atomically, digest checked."""
        v = self.get_version(name, version)
        self._native.get(v.name, v.version, os.fspath(out_path))
        return v

    def load(self, uri_or_name, version=None, **load_kwargs):
        """Loads a version with ark.load: `uri_or_name` is a models:/ URI, or
        a model name with `version` (number, alias, stage, "latest"/None)."""
        from . import load  # noqa: PLC0415

        if is_model_uri(uri_or_name):
            if version is not None:
                raise TypeError("pass version= with a model name, not with a models:/ URI")
            v = self.resolve(uri_or_name)
        else:
            v = self.get_version(uri_or_name, version)
        return load(self._native.materialize(v.name, v.version), **load_kwargs)

    def export(self, name, path, versions=None):
        """Writes a tar bundle of `versions` of `name` (all live ones when
        None) with their metadata, tags, aliases and stages."""
        numbers = [_version_number(v) for v in versions] if versions is not None else []
        self._native.export(name, numbers, os.fspath(path))

    def import_bundle(self, path):
        """Imports a bundle written by export(); every artifact's digest is
        checked before anything is committed. Returns the new versions."""
        return [ModelVersion._from_record(r)
                for r in self._native.import_bundle(os.fspath(path), self.actor)]

    # ------------------------------------------------------------ compare

    def diff(self, name, a, b):
        """Versions `a` and `b` of `name` side by side, as a dict:

            {"name", "a", "b": the version numbers,
             "same_model": True when both hold the same model (model digests equal),
             "versions": {field: (value_a, value_b)} for every registry field,
             "metrics":  {metric: (value_a, value_b)} for every metric of either
                         (None where one lacks it),
             "params":   {path: (value_a, value_b)} for the estimator parameters
                         that differ (metadata estimator.params), paths like "C" or
                         "steps[1][1].params.n_estimators",
             "metadata": {path: (value_a, value_b)} for the other metadata that
                         differs (training data, library versions, created_at...;
                         "environment" as (only in a, only in b) package lists)}
        """
        va, vb = self.get_version(name, a), self.get_version(name, b)
        fields = ("digest", "content_sha256", "model_digest", "size", "stage", "status", "label",
                  "description", "tags", "aliases", "data_fingerprint", "source_ref",
                  "parent_version", "created_by", "created_at")
        metric_keys = sorted(set(va.metrics) | set(vb.metrics))
        ma, mb = _without_metrics(va.metadata), _without_metrics(vb.metadata)
        params_a = ma.get("estimator", {}).pop("params", {})
        params_b = mb.get("estimator", {}).pop("params", {})
        env_a, env_b = ma.pop("environment", None), mb.pop("environment", None)
        metadata = _differences(ma, mb)
        if env_a != env_b:
            sa, sb = set(env_a or []), set(env_b or [])
            metadata["environment"] = (sorted(sa - sb), sorted(sb - sa))
        return {
            "name": name, "a": va.version, "b": vb.version,
            "same_model": bool(va.model_digest) and va.model_digest == vb.model_digest,
            "versions": {f: (getattr(va, f), getattr(vb, f)) for f in fields},
            "metrics": {k: (va.metrics.get(k), vb.metrics.get(k)) for k in metric_keys},
            "params": _differences(params_a, params_b),
            "metadata": metadata,
        }


_MISSING = None


def _without_metrics(metadata):
    """A copy of a metadata dict to diff: metrics are compared on their own,
    and the estimator dict is copied so that its params can be split off."""
    out = {k: v for k, v in metadata.items() if k != "metrics"}
    if isinstance(out.get("estimator"), dict):
        out["estimator"] = dict(out["estimator"])
    else:
        out.pop("estimator", None)
    return out


def _flatten(value, prefix, out):
    """Leaves of nested dicts and lists under dotted / indexed paths."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value and any(isinstance(i, (dict, list)) for i in value):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out)
    else:
        out[prefix] = value
    return out


def _differences(a, b):
    fa, fb = _flatten(a, "", {}), _flatten(b, "", {})
    return {k: (fa.get(k, _MISSING), fb.get(k, _MISSING))
            for k in sorted(set(fa) | set(fb)) if fa.get(k, _MISSING) != fb.get(k, _MISSING)}


def load_uri(uri, registry=None, **load_kwargs):
    """ark.load("models:/...") : resolves the URI in `registry` (a Registry,
    a path, or None for $ARK_REGISTRY / ./ark-registry; never created) and
    loads the version's file from the registry's cache."""
    if isinstance(registry, Registry):
        return registry.load(uri, **load_kwargs)
    with Registry(registry, create=False) as opened:
        return opened.load(uri, **load_kwargs)
