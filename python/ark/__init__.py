"""ark: persist fitted scikit-learn models safely, at pickle speed.

    import ark
    ark.dump(model, "model.ark")                     # like joblib.dump
    ark.dump(model, "model.ark", compress="zstd")    # or ("lzma", 9), ("zlib", 3), an int zstd level
    model = ark.load("model.ark")                    # no code from the file runs
    model = ark.load("model.ark", mmap_mode="r")     # arrays stay in the mapped file
    ark.get_untrusted_types("model.ark")             # read from the manifest alone
    model = ark.load("model.ark", trusted=["mypkg.MyTransformer"])
    ark.info("model.ark")                            # metadata as a dict
    reg = ark.Registry("./models"); reg.register("fraud", model)   # versioned registry
    model = ark.load("models:/fraud@production")     # or /3, /Production, /latest
    data = ark.dumps(model); model = ark.loads(data)

Loading never unpickles, evals or imports a module that is not trusted:
objects are rebuilt from data by their class's __new__ and __setstate__
(see docs/OBJECTS.md and the trust model in ark._trust). Functions are stored
by qualified name; lambdas and locally defined functions are refused at dump
time with advice.
"""
import os

import _ark

from . import _registry, _trust
from ._registry import AuditEvent, ModelVersion, RegisteredModel, Registry  # noqa: F401
from ._rebuild import Rebuilder
from .errors import ForbiddenTypeError, InvalidObjectError
from ._walk import Walker
from .errors import (  # noqa: F401  (re-exported)
    ArkError,
    BadMagicError,
    BadManifestError,
    ChecksumMismatchError,
    CodecError,
    FormatError,
    InconsistentVersionWarning,
    InvalidArgumentError,
    IoError,
    LimitExceededError,
    OutOfBoundsError,
    OverlapError,
    SizeOverflowError,
    TruncatedError,
    UnknownDtypeError,
    UnstorableObjectError,
    UnsupportedVersionError,
    UntrustedTypeError,
    ValidationError,
    VersionMismatchError,
)

__all__ = [
    "dump", "dumps", "load", "loads", "info", "get_untrusted_types",
    "Registry", "ModelVersion", "RegisteredModel", "AuditEvent",
    "ArkError", "FormatError", "UntrustedTypeError", "ForbiddenTypeError", "UnstorableObjectError",
    "InvalidObjectError", "ValidationError", "VersionMismatchError", "InconsistentVersionWarning",
]

from ._convert import ConversionRefusedError, convert, scan  # noqa: E402  (pickle/joblib/skops -> .ark)

__all__ += ["scan", "convert", "ConversionRefusedError"]

# Codec levels accepted (FORMAT.md §3.1) and the default when only a name is given.
_LEVELS = {"zstd": range(1, 20), "zlib": range(1, 10), "lzma": range(0, 10)}
_DEFAULT_LEVEL = 3
# Arrays smaller than this stay uncompressed: compressing them saves nothing
# and uncompressed blobs are used in place through mmap.
_MIN_COMPRESSED_BYTES = 1024


def _codec(compress):
    """(codec name, level) from joblib-like `compress`:
    None/False/0 -> none; True -> zstd 3; an int 1..19 -> zstd at that level
    (unlike joblib, whose ints mean zlib: zstd is faster and smaller at every
    level); "zstd"/"zlib"/"lzma" -> that codec at level 3; ("lzma", 9) tuples."""
    if compress is None or compress is False or compress == 0 or compress == "none":
        return "none", 0
    if compress is True:
        return "zstd", _DEFAULT_LEVEL
    if isinstance(compress, int) and not isinstance(compress, bool):
        name, level = "zstd", compress
    elif isinstance(compress, str):
        name, level = compress, _DEFAULT_LEVEL
    elif isinstance(compress, (tuple, list)) and len(compress) == 2:
        name, level = compress
    else:
        raise ValueError(f"compress={compress!r}: use None, True, a zstd level, a codec name "
                         f"('zstd', 'zlib', 'lzma') or a (name, level) pair")
    if name not in _LEVELS:
        raise ValueError(f"unknown codec {name!r}: use 'zstd', 'zlib' or 'lzma'")
    if not isinstance(level, int) or level not in _LEVELS[name]:
        allowed = _LEVELS[name]
        raise ValueError(f"{name} level {level!r} is outside {allowed.start}..{allowed.stop - 1}")
    return name, level


def _write(writer, obj, compress, metrics, validation_data, training_data, description,
           tags, metadata):
    codec, level = _codec(compress)

    def add_array(array, aux=False, shuffle=False):
        if codec != "none" and array.nbytes >= _MIN_COMPRESSED_BYTES:
            return writer.add_array(array, codec=codec, level=level, shuffle=shuffle, aux=aux)
        return writer.add_array(array, aux=aux)

    from . import _metadata, _validation  # noqa: PLC0415  (kept out of import-time cost)

    # Compressed files store scikit-learn trees in their compact exact form
    # (docs/OBJECTS.md); uncompressed files keep the arrays, which mmap serves in place.
    root = Walker(add_array, compact_trees=codec != "none").walk(obj)
    sections = {"metadata": _metadata.collect(
        obj, training_data=training_data, metrics=metrics, tags=tags,
        description=description, extra=metadata)}
    if validation_data is not None:
        spec, arrays = _validation.capture(obj, validation_data)
        sections["validation"] = {
            "spec": spec, "blobs": [add_array(a, aux=True) for a in arrays]}
    writer.finish(root, sections)


def dump(obj, path, compress=None, *, metrics=None, validation_data=None, training_data=None,
         description=None, tags=None, metadata=None, threads=0):
    """Writes `obj` (any fitted scikit-learn object, pipeline, or plain data)
    to `path` atomically: on any error nothing is written and an existing
    file is left untouched.

    path: a file path, or a binary file object (the file is built in memory).
    compress: None (default; mmap-able), True (zstd level 3), an int (zstd
        level 1..19), "zstd" / "zlib" / "lzma" (level 3), or (name, level).
    metrics, tags, description, metadata: stored in the metadata section
        (metadata: any JSON-safe dict of your own).
    validation_data: rows whose outputs are stored and re-checked by load().
    training_data: X or (X, y); its size and a fingerprint are recorded.
    threads: compression threads (0: one per core).

    Returns the model digest ("sha256:..."), which names the model
    independently of compression and metadata.
    Raises UnstorableObjectError for what cannot be stored as data (lambdas,
    locally defined functions...), with advice.
    """
    options = dict(compress=compress, metrics=metrics, validation_data=validation_data,
                   training_data=training_data, description=description, tags=tags,
                   metadata=metadata)
    if hasattr(path, "write"):
        path.write(dumps(obj, threads=threads, **options))
        return None
    writer = _ark.Writer(os.fspath(path), threads=threads)
    try:
        _write(writer, obj, **options)
    except BaseException:
        writer.abort()
        raise
    return writer.model_digest


def dumps(obj, compress=None, *, metrics=None, validation_data=None, training_data=None,
          description=None, tags=None, metadata=None, threads=0):
    """Like dump(), returning the file's bytes."""
    writer = _ark.Writer(None, threads=threads)
    try:
        _write(writer, obj, compress, metrics, validation_data, training_data, description,
               tags, metadata)
    except BaseException:
        writer.abort()
        raise
    return writer.getvalue()


def _open(source, verify=False):
    """A _ark.Reader for a path, bytes, or a binary file object; and a label for errors."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _ark.Reader(bytes(source), verify_on_access=verify), None
    if hasattr(source, "read"):
        return _ark.Reader(source.read(), verify_on_access=verify), getattr(source, "name", None)
    path = os.fspath(source)
    return _ark.Reader(path, verify_on_access=verify), path


def _read(reader, label, trusted, mmap_mode, validate, allow_version_mismatch):
    if mmap_mode not in (None, "r"):
        raise ValueError(f"mmap_mode={mmap_mode!r}: use None (writable arrays) or 'r' "
                         f"(read-only views of the file)")
    if isinstance(trusted, str):
        trusted = [trusted]
    from . import _metadata, _validation  # noqa: PLC0415

    sections = reader.sections() or {}
    _metadata.check_versions(sections.get("metadata") or {}, allow_version_mismatch)
    root = reader.root()
    classes, globals_ = _trust.collect_names(root)
    _trust.check(classes, globals_, trusted, label)
    obj = Rebuilder(reader, _trust.Resolver(trusted), mmap_mode).build(root)
    validation = sections.get("validation")
    if validate and validation:
        _check_validation_section(validation, reader)
        arrays = [reader.array(i) for i in validation["blobs"]]
        _validation.check(obj, validation["spec"], arrays)
    return obj


def _check_validation_section(validation, reader):
    blobs = validation.get("blobs") if isinstance(validation, dict) else None
    if not isinstance(blobs, list) or not all(type(i) is int and 0 <= i < reader.blob_count
                                              for i in blobs):
        raise InvalidObjectError("the validation section names blobs that do not exist")


def load(path_or_file, *, trusted=None, mmap_mode=None, validate=True,
         allow_version_mismatch=False, verify=False, registry=None):
    """Loads an object written by dump(), or a registered version named by a
    models:/ URI (models:/<name>/<version>, @<alias>, /<stage>, /latest).

    trusted: names (as listed by get_untrusted_types) to trust beyond the
        defaults: scikit-learn, numpy, scipy's data types, a few builtins.
        Names that can run code (os.system, builtins.eval...) are never loaded.
    mmap_mode: None (arrays are writable copies) or "r" (uncompressed arrays
        stay read-only views of the mapped file).
    validate: re-run the stored validation samples, if any, and raise
        ValidationError when the outputs differ.
    allow_version_mismatch: load a file written under another major
        scikit-learn version.
    verify: also check each array's SHA-256 as it is read (catches
        corruption of array bytes; costs about 0.8 s per GB, more than the
        rest of a load). The manifest's digest and the structure of every
        array ark hands to compiled code are always checked; digests do not
        protect against a hostile file, whose author recomputes them.
    registry: for models:/ URIs, the registry (an ark.Registry or its path);
        default $ARK_REGISTRY, else ./ark-registry.

    Raises UntrustedTypeError listing every untrusted name at once,
    InvalidObjectError for malformed or inconsistent contents, FormatError
    (and subclasses) for files that are not valid .ark files.
    """
    if _registry.is_model_uri(path_or_file):
        return _registry.load_uri(path_or_file, registry, trusted=trusted, mmap_mode=mmap_mode,
                                  validate=validate,
                                  allow_version_mismatch=allow_version_mismatch, verify=verify)
    reader, label = _open(path_or_file, verify)
    return _read(reader, label, trusted, mmap_mode, validate, allow_version_mismatch)


def loads(data, *, trusted=None, mmap_mode=None, validate=True, allow_version_mismatch=False,
          verify=False):
    """Like load(), from the bytes of a file."""
    return _read(_ark.Reader(bytes(data), verify_on_access=verify), None, trusted, mmap_mode,
                 validate, allow_version_mismatch)


def get_untrusted_types(path_or_bytes):
    """Sorted names in the file that load() would refuse without trusted=
    (including any it refuses always). Reads the manifest only."""
    reader, _ = _open(path_or_bytes)
    classes, globals_ = _trust.collect_reader_names(reader)
    return _trust.untrusted_names(classes, globals_)


def info(path_or_bytes):
    """The file's metadata section as a dict, plus a "file" entry with its
    format version, size, digests and blob count. Reads the manifest only."""
    reader, _ = _open(path_or_bytes)
    out = dict((reader.sections() or {}).get("metadata") or {})
    out.setdefault("file", {
        "format_version": list(reader.version),
        "file_size": reader.file_size,
        "file_digest": reader.file_digest,
        "model_digest": reader.model_digest,
        "blob_count": reader.blob_count,
    })
    return out
