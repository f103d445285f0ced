"""Metadata of a saved model: what it is, what made it, and what it was fitted on.

`collect()` builds the dict that `ark.dump` stores as the manifest's
`sections.metadata`; `check_versions()` applies the version policy on load;
`requirements()` prints the recorded environment as a requirements.txt.
The layout of the dict is documented field by field in docs/METADATA.md.

Contract:
- `collect()` returns plain JSON (dict/list/str/int/float/bool/None, str keys)
  with no NaN or infinity: non-finite floats become the strings "nan", "inf",
  "-inf". Values describing the estimator never make it fail (anything
  unrecognised is summarised by its type name); values the user passes
  (metrics, tags, description, extra) must be JSON-like or numpy scalars/arrays,
  otherwise it raises TypeError naming the offending key.
- `collect()` is cheap (a few ms on a typical pipeline) apart from hashing
  `training_data`, which reads the data once. The list of installed
  distributions is computed once per process.
- `check_versions()` never raises for missing or malformed metadata: a file
  without versions loads without a version check.
"""
import datetime
import functools
import hashlib
import importlib.metadata
import json
import math
import platform
import re
import struct
import sys
import types
import warnings

import numpy as np

from ._version import __version__
from .errors import InconsistentVersionWarning, VersionMismatchError

# Bumped when the layout of the metadata dict changes incompatibly.
METADATA_VERSION = 1

# Arrays up to this many elements are written out in full in parameters and
# attributes; larger ones are summarised by dtype and shape, so that the
# manifest stays small and readable.
MAX_INLINE_ARRAY = 64

# Nesting depth after which parameter values are summarised: parameters are
# user objects and may be arbitrarily deep or even cyclic.
MAX_DEPTH = 12

# Packages whose saved and installed versions are compared on load.
SKLEARN = "scikit-learn"


# ---------------------------------------------------------------- versions

def _installed_version(package):
    """Installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _library_versions():
    import scipy
    import sklearn

    return {
        "ark": __version__,
        "python": platform.python_version(),
        SKLEARN: sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


@functools.lru_cache(maxsize=1)
def _environment_lock():
    """Sorted "name==version" for every installed distribution.

    Cached: scanning site-packages takes ~100 ms, more than the rest of
    collect() together. A distribution found twice on sys.path counts once,
    with the version that Python would import (the first one found).
    """
    seen = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        seen.setdefault(key, f"{name}=={dist.version}")
    return tuple(sorted(seen.values(), key=str.lower))


@functools.lru_cache(maxsize=1)
def _platform():
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "byteorder": sys.byteorder,
    }


def _parse_version(text):
    """(major, minor, patch) from a version string; missing parts are 0.

    Only leading digits count ("1.3.0rc1" -> (1, 3, 0)): the policy compares
    release numbers, and any other textual difference is still a difference.
    """
    parts = []
    for piece in str(text).split(".")[:3]:
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


# ---------------------------------------------------------------- JSON-safe values

def qualified_name(obj):
    """'module.QualName' of a class, function, ufunc or builtin."""
    if isinstance(obj, np.ufunc):
        return f"numpy.{obj.__name__}"
    module = getattr(obj, "__module__", None) or "builtins"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}"


def _json_float(value):
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _is_estimator(obj):
    return hasattr(obj, "get_params") and not isinstance(obj, type)


class _Unsupported(TypeError):
    pass


def to_json(value, *, strict=False, _depth=0):
    """A JSON-safe rendering of `value`.

    Non-strict (estimator parameters and attributes): never fails; estimators
    become {"class": ..., "params": ...}, functions and classes their qualified
    name, large arrays {"dtype", "shape"}, anything unknown {"type", "repr"}.
    Strict (values given by the user): only JSON-like values, numpy scalars and
    arrays are accepted; anything else raises TypeError.
    """
    if _depth > MAX_DEPTH:
        if strict:
            raise _Unsupported("nested too deeply")
        return "..."
    depth = _depth + 1
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _json_float(value)
    if isinstance(value, (complex, np.complexfloating)):
        if strict:
            raise _Unsupported("complex numbers are not JSON")
        return {"real": _json_float(value.real), "imag": _json_float(value.imag)}
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                if strict and not isinstance(key, (int, float, bool, np.integer)):
                    raise _Unsupported(f"dict key {key!r} is not a string")
                key = str(key)
            out[key] = to_json(item, strict=strict, _depth=depth)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, strict=strict, _depth=depth) for item in value]
    if isinstance(value, (set, frozenset)):
        # Sorted by JSON text so that the same set always gives the same list.
        items = [to_json(item, strict=strict, _depth=depth) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, np.ndarray):
        if value.size <= MAX_INLINE_ARRAY and value.dtype.kind in "biufUSO":
            return to_json(value.tolist(), strict=strict, _depth=depth)
        if strict and value.dtype.kind not in "biufUS":
            raise _Unsupported(f"arrays of dtype {value.dtype} are not JSON")
        return {"dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, np.dtype):
        return str(value)
    if strict:
        raise _Unsupported(f"values of type {qualified_name(type(value))} are not JSON")

    if _is_estimator(value):
        try:
            params = value.get_params(deep=False)
        except Exception:  # a broken get_params must not stop dump
            params = {}
        return {"class": qualified_name(type(value)), "params": to_json(params, _depth=depth)}
    if isinstance(value, functools.partial):
        return {
            "partial": to_json(value.func, _depth=depth),
            "args": to_json(list(value.args), _depth=depth),
            "keywords": to_json(dict(value.keywords), _depth=depth),
        }
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
        return qualified_name(value)
    if callable(value) and hasattr(value, "__qualname__"):
        return qualified_name(value)
    if isinstance(value, np.random.RandomState):
        return {"type": "numpy.random.RandomState"}
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):  # scipy.sparse, pandas objects
        return {"type": qualified_name(type(value)), "shape": list(shape)}
    try:
        text = repr(value)
    except Exception:
        text = "<unrepresentable>"
    if len(text) > 200:
        text = text[:197] + "..."
    return {"type": qualified_name(type(value)), "repr": text}


def _user_json(name, value):
    try:
        return to_json(value, strict=True)
    except _Unsupported as error:
        raise TypeError(
            f"ark.dump: {name} must be JSON-like (dict, list, str, int, float, bool, None; "
            f"numpy scalars and arrays are converted): {error}"
        ) from None


# ---------------------------------------------------------------- estimator description

def _sub_estimators(estimator):
    """Direct children of a meta-estimator, in parameter order: estimators, or
    the strings 'drop'/'passthrough' that stand for steps."""
    try:
        params = estimator.get_params(deep=False)
    except Exception:
        return []
    children = []
    for value in params.values():
        if _is_estimator(value):
            children.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                # (name, estimator[, columns]) as in Pipeline, FeatureUnion,
                # ColumnTransformer, Voting*, Stacking*; or bare estimators.
                candidates = item[1:2] if isinstance(item, tuple) and len(item) >= 2 else [item]
                for candidate in candidates:
                    if _is_estimator(candidate) or (
                        isinstance(candidate, str) and candidate in ("drop", "passthrough")
                    ):
                        children.append(candidate)
    return children


def summary(estimator, depth=3):
    """Short structure, e.g. 'Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), RandomForestClassifier)'."""
    if isinstance(estimator, str):
        return estimator
    name = type(estimator).__name__
    if depth <= 0:
        return name
    children = _sub_estimators(estimator)
    if not children:
        return name
    return f"{name}({', '.join(summary(child, depth - 1) for child in children)})"


def _attribute(estimator, name):
    # Properties of meta-estimators (Pipeline.n_features_in_, ...) raise
    # AttributeError when the wrapped step lacks the attribute.
    try:
        return getattr(estimator, name)
    except Exception:
        return None


def describe_estimator(estimator):
    info = {
        "type": qualified_name(type(estimator)),
        "summary": summary(estimator),
    }
    kind = _attribute(estimator, "_estimator_type")
    if isinstance(kind, str):
        info["kind"] = kind
    if _is_estimator(estimator):
        info["params"] = to_json(estimator).get("params", {})
    for attribute, key in (
        ("n_features_in_", "n_features_in"),
        ("feature_names_in_", "feature_names_in"),
        ("classes_", "classes"),
    ):
        value = _attribute(estimator, attribute)
        if value is None:
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufUSO":
            value = value.tolist()  # these are wanted in full, whatever their length
        elif isinstance(value, list):  # multi-output classes_: a list of arrays
            value = [v.tolist() if isinstance(v, np.ndarray) else v for v in value]
        info[key] = to_json(value)
    return info


# ---------------------------------------------------------------- data fingerprint

FINGERPRINT_PREFIX = "sha256:"


class _Hasher:
    """SHA-256 over a sequence of records, each framed as an 8-byte
    little-endian length followed by its bytes, so that no two different
    sequences of records give the same byte stream."""

    def __init__(self):
        self._sha = hashlib.sha256()

    def record(self, data):
        data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self._sha.update(struct.pack("<Q", len(data)))
        self._sha.update(data)

    def header(self, **fields):
        self.record(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())

    def hexdigest(self):
        return FINGERPRINT_PREFIX + self._sha.hexdigest()


def _element_bytes(value):
    """Canonical bytes of one element of an object array: a type tag, then text."""
    if value is None:
        return b"none:"
    if isinstance(value, (bool, np.bool_)):
        return b"bool:" + (b"1" if value else b"0")
    if isinstance(value, (int, np.integer)):
        return b"int:" + str(int(value)).encode()
    if isinstance(value, (float, np.floating)):
        return b"float:" + float(value).hex().encode()
    if isinstance(value, str):
        return b"str:" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return b"bytes:" + value
    return f"{qualified_name(type(value))}:{value!r}".encode("utf-8", "backslashreplace")


def _hash_ndarray(hasher, array):
    if array.dtype.kind == "O":
        hasher.header(kind="ndarray", dtype="object", shape=list(array.shape))
        for element in array.ravel(order="C"):
            hasher.record(_element_bytes(element))
        return
    # Little-endian, C order: the same values hash the same whatever the
    # memory layout or byte order they arrive in.
    canonical = array.astype(array.dtype.newbyteorder("<"), copy=False)
    canonical = np.ascontiguousarray(canonical)
    hasher.header(kind="ndarray", dtype=canonical.dtype.str, shape=list(canonical.shape))
    hasher.record(canonical.view(np.uint8).reshape(-1) if canonical.size else b"")


def _hash_column(hasher, name, series):
    hasher.header(kind="column", name=str(name), dtype=str(series.dtype))
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        _hash_ndarray(hasher, series.to_numpy())
    else:
        # object, category, string and other extension dtypes: by value.
        _hash_ndarray(hasher, series.to_numpy(dtype=object))


def fingerprint(data):
    """Deterministic SHA-256 of a data set, "sha256:<hex>" (see docs/METADATA.md)."""
    hasher = _Hasher()
    module = type(data).__module__ or ""
    if module.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            hasher.header(kind="DataFrame", shape=list(data.shape))
            for position, name in enumerate(data.columns):
                _hash_column(hasher, name, data.iloc[:, position])
            return hasher.hexdigest()
        if isinstance(data, pd.Series):
            hasher.header(kind="Series", shape=list(data.shape))
            _hash_column(hasher, data.name, data)
            return hasher.hexdigest()
    if module.startswith("scipy.sparse"):
        matrix = data.tocsr(copy=True)
        matrix.sum_duplicates()
        matrix.sort_indices()
        hasher.header(kind="sparse", shape=list(matrix.shape))
        _hash_ndarray(hasher, matrix.data)
        _hash_ndarray(hasher, matrix.indices.astype(np.int64))
        _hash_ndarray(hasher, matrix.indptr.astype(np.int64))
        return hasher.hexdigest()
    array = data if isinstance(data, np.ndarray) else np.asarray(data)
    _hash_ndarray(hasher, array)
    return hasher.hexdigest()


def _n_samples(data):
    shape = getattr(data, "shape", None)
    if isinstance(shape, tuple) and shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError:
        return None


def _class_distribution(y):
    """{"labels": [...], "counts": [...]} per output, or None when y cannot be counted."""
    try:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        columns = [y] if y.ndim == 1 else [y[:, j] for j in range(y.shape[1])]
        out = []
        for column in columns:
            labels, counts = np.unique(column, return_counts=True)
            out.append({"labels": to_json(labels.tolist()), "counts": counts.tolist()})
        return out[0] if y.ndim == 1 else out
    except Exception:  # e.g. labels of mixed, unorderable types
        return None


def describe_training_data(estimator, training_data):
    if isinstance(training_data, tuple) and len(training_data) == 2:
        X, y = training_data
    else:
        X, y = training_data, None
    info = {"n_samples": _n_samples(X)}
    shape = getattr(X, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2:
        info["n_features"] = int(shape[1])
    info["X_type"] = qualified_name(type(X))
    info["X_sha256"] = fingerprint(X)
    if y is not None:
        info["y_sha256"] = fingerprint(y)
        if _attribute(estimator, "_estimator_type") == "classifier":
            distribution = _class_distribution(y)
            if distribution is not None:
                info["class_distribution"] = distribution
    return info


# ---------------------------------------------------------------- public API

def collect(estimator, *, training_data=None, metrics=None, tags=None, description=None, extra=None,
            converted_from=None):
    """The metadata dict of `estimator` (layout: docs/METADATA.md).

    training_data: (X, y) or X alone; summarised and fingerprinted, not stored.
    metrics, tags, extra: JSON-like values given by the user; description: str.
    converted_from: for ark.convert, the source file's {"path", "sha256",
    "format", "protocol", "compression"}.
    """
    metadata = {
        "metadata_version": METADATA_VERSION,
        "created_at": datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "versions": dict(_library_versions()),
        "platform": dict(_platform()),
        "estimator": describe_estimator(estimator),
    }
    if training_data is not None:
        metadata["training_data"] = describe_training_data(estimator, training_data)
    if metrics is not None:
        metadata["metrics"] = _user_json("metrics", metrics)
    if tags is not None:
        metadata["tags"] = _user_json("tags", tags)
    if description is not None:
        if not isinstance(description, str):
            raise TypeError(f"ark.dump: description must be a str, not {type(description).__name__}")
        metadata["description"] = description
    if extra is not None:
        metadata["extra"] = _user_json("extra", extra)
    if converted_from is not None:
        metadata["converted_from"] = _converted_from(converted_from)
    metadata["environment"] = list(_environment_lock())
    return metadata


_CONVERTED_FROM_KEYS = ("path", "sha256", "format", "protocol", "compression")


def _converted_from(source):
    """The "converted_from" record: exactly its documented keys, JSON values."""
    missing = [k for k in _CONVERTED_FROM_KEYS if k not in source]
    if missing:
        raise TypeError(f"converted_from lacks {', '.join(missing)}")
    return {k: _user_json(f"converted_from.{k}", source[k]) for k in _CONVERTED_FROM_KEYS}


def _user_stacklevel():
    """stacklevel for warnings.warn that points at the first frame outside the
    ark package (the user's ark.load call), however deep ark's own calls are."""
    frame, level = sys._getframe(1), 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "ark" and not module.startswith("ark."):
            return level
        frame, level = frame.f_back, level + 1
    return 1


def check_versions(metadata, allow_version_mismatch=False, *, stacklevel=None):
    """Applies the version policy to a file's metadata before it is rebuilt.

    scikit-learn: same version -> nothing; a different minor or patch version
    -> InconsistentVersionWarning; a different major version ->
    VersionMismatchError, or only the warning when allow_version_mismatch.
    numpy: a different major version -> InconsistentVersionWarning (arrays are
    stored as plain little-endian data, so numpy's own pickle format changes do
    not matter, but behaviour may). Missing metadata -> nothing.
    `stacklevel` is passed to warnings.warn; by default the warning points at
    the first caller outside the ark package.
    """
    if stacklevel is None:
        stacklevel = _user_stacklevel()
    if not isinstance(metadata, dict):
        return
    saved_versions = metadata.get("versions")
    if not isinstance(saved_versions, dict):
        return
    installed = _library_versions()

    saved = saved_versions.get(SKLEARN)
    if isinstance(saved, str) and saved != installed[SKLEARN]:
        now = installed[SKLEARN]
        if _parse_version(saved)[0] != _parse_version(now)[0] and not allow_version_mismatch:
            raise VersionMismatchError(SKLEARN, saved, now)
        warnings.warn(InconsistentVersionWarning(SKLEARN, saved, now), stacklevel=stacklevel)

    saved = saved_versions.get("numpy")
    if isinstance(saved, str) and _parse_version(saved)[0] != _parse_version(installed["numpy"])[0]:
        warnings.warn(
            InconsistentVersionWarning("numpy", saved, installed["numpy"]), stacklevel=stacklevel
        )


def requirements(metadata):
    """The recorded environment as requirements.txt text ('' when none was recorded)."""
    if not isinstance(metadata, dict):
        return ""
    lock = metadata.get("environment")
    if not isinstance(lock, list) or not lock:
        return ""
    lines = []
    estimator = metadata.get("estimator") or {}
    versions = metadata.get("versions") or {}
    header = "# environment that saved"
    if isinstance(estimator, dict) and estimator.get("summary"):
        header += f" {estimator['summary']}"
    if metadata.get("created_at"):
        header += f" at {metadata['created_at']}"
    lines.append(header)
    if isinstance(versions, dict) and versions.get("python"):
        lines.append(f"# python {versions['python']}, ark {versions.get('ark', '?')}")
    lines.extend(str(entry) for entry in lock)
    return "\n".join(lines) + "\n"
