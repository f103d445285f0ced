"""ark.scan and ark.convert: pickle, joblib and skops files -> .ark, safely.

    report = ark.scan("model.joblib")      # what the file would import; nothing runs
    ark.convert("model.joblib", "model.ark", compress="zstd")

Contract of convert(src, dst):
- Refuses first: the native scanner (_ark.scan, src/interop/scan.cc) must
  find every global of the file safe, or unknown and named in `trusted=`.
  Otherwise ConversionRefusedError lists every offending name with its class
  (dangerous / unknown) and nothing is written.
- Then reads the file with the native data-only reader (_ark.read_pickle),
  translates its graph into ark's object tree (ark/_convert_graph.py; skops
  files: ark/_convert_skops.py), checks every class and function name of the
  tree against the trust list, and rebuilds the objects with the same
  Rebuilder that ark.load uses (so the same checks run: Tree node
  validation, the attribute-shadowing rule). No callable from the file is
  ever called except trusted class constructors (cls.__new__) and their
  __setstate__.
- Writes dst atomically with ark.dump's writer; metadata records
  "converted_from" (docs/METADATA.md). On any error dst is untouched.
- Returns a ConversionResult (summary, counts, digest).

Thread safety: independent calls may run concurrently.
"""
import concurrent.futures
import hashlib
import os
import zipfile

import _ark

from . import _trust
from ._convert_graph import ConversionError, GraphTranslator
from ._rebuild import Rebuilder
from .errors import ArkError, ForbiddenTypeError, UntrustedTypeError

_HASH_CHUNK = 1 << 22


class ConversionRefusedError(UntrustedTypeError):
    """convert() refused the file: it names globals that are dangerous, or
    unknown and not trusted. `names` maps each offending name to its verdict
    ("dangerous" or "unknown"); `verdict` is the worst. Nothing was written."""

    def __init__(self, path, names, verdict, findings=()):
        self.path = path
        self.names = dict(sorted(names.items()))
        self.verdict = verdict
        self.findings = list(findings)
        super().__init__(list(self.names), path)
        parts = [f"{n} ({v})" for n, v in self.names.items()] + list(self.findings)
        listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
        advice = ""
        unknown = [n for n, v in self.names.items() if v == "unknown"]
        if verdict == "unknown" and unknown:
            advice = f" (after reviewing them, pass trusted={unknown!r})"
        self.args = (f"{path} references {listed}; nothing was written{advice}",)

    def __str__(self):
        return self.args[0]


class UnreadableFileError(ArkError):
    """The source file is not a pickle, joblib or skops file ark can read."""


class ConversionResult:
    """What convert() did. `summary`: e.g. 'Pipeline(ColumnTransformer,
    RandomForestClassifier)'; `untrusted`: names that needed trusted=;
    `arrays`: arrays converted; `model_digest`: of the written file."""

    def __init__(self, summary, untrusted, arrays, model_digest, source):
        self.summary = summary
        self.untrusted = untrusted
        self.arrays = arrays
        self.model_digest = model_digest
        self.source = source

    def __str__(self):
        n = len(self.untrusted)
        return (f"converted: {self.summary} \u2014 {n} untrusted type{'s' if n != 1 else ''}, "
                f"{self.arrays} array{'s' if self.arrays != 1 else ''}")

    __repr__ = __str__


# --------------------------------------------------------------------- scan

def is_skops(path):
    try:
        with zipfile.ZipFile(path) as z:
            return "schema.json" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def scan(path):
    """What a pickle, joblib or skops file would import if it were loaded,
    read without running or importing anything. Returns a dict:
    {"path", "format", "compression", "protocol", "verdict" ("safe",
    "unknown", "dangerous", "unreadable"), "globals": [{"name", "verdict",
    "reason", "offsets", "called"}...], "findings": [...], "error": str}.
    Raises OSError-like ark errors only when the file cannot be read."""
    return _ark.scan(os.fspath(path))


def _check_scan(report, path, trusted):
    """Raises ConversionRefusedError unless every global is safe or trusted."""
    verdict = report["verdict"]
    if verdict == "unreadable":
        raise UnreadableFileError(f"{path}: cannot be read as a pickle, joblib or skops file: "
                                  f"{report.get('error') or 'unreadable'}")
    names = {}
    for g in report["globals"]:
        if g["verdict"] == "dangerous" or (g["verdict"] == "unknown" and g["name"] not in trusted):
            names[g["name"]] = g["verdict"]
    findings = list(report.get("findings") or []) if verdict == "dangerous" else []
    if names or findings:
        worst = "dangerous" if findings or "dangerous" in names.values() else "unknown"
        raise ConversionRefusedError(path, names, worst, findings)
    return [g["name"] for g in report["globals"] if g["verdict"] == "unknown"]


# --------------------------------------------------------------------- convert

class _ArrayReader:
    """The Rebuilder's view of the arrays of a converted file (its reader
    interface is only array(index))."""

    def __init__(self, arrays):
        self._arrays = arrays

    def array(self, index):
        return self._arrays[index]


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def translate(graph, buffers=None):
    """(tree, arrays, class names) of a graph from _ark.read_pickle."""
    translator = GraphTranslator(graph, buffers)
    root, arrays = translator.translate()
    return root, arrays, translator.class_names


def rebuild(root, arrays, trusted=(), label=None, writable=True):
    """The live object of a converted tree, through ark.load's trust check and
    Rebuilder. writable=False leaves arrays as read-only views of the source
    (as ark.load(mmap_mode="r") does), for objects that are only written out."""
    classes, globals_ = _trust.collect_names(root)
    try:
        _trust.check(classes, globals_, trusted, label)
    except ForbiddenTypeError as e:
        forbidden = set(e.forbidden)
        raise ConversionRefusedError(
            label, {n: "dangerous" if n in forbidden else "unknown" for n in e.types},
            "dangerous") from None
    except UntrustedTypeError as e:
        raise ConversionRefusedError(label, {n: "unknown" for n in e.types}, "unknown") from None
    return Rebuilder(_ArrayReader(arrays), _trust.Resolver(trusted),
                     None if writable else "r").build(root)


def load_source(path, *, trusted=None, buffers=None, writable=True):
    """The object a pickle / joblib / skops file holds, built as convert()
    builds it, and a description of the source: (obj, info dict, untrusted
    names, array count). Refuses like convert(). writable: see rebuild()."""
    path = os.fspath(path)
    trusted = [trusted] if isinstance(trusted, str) else list(trusted or ())
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if is_skops(path):
        report = scan(path)
        untrusted = _check_scan(report, path, set(trusted))
        from ._convert_skops import read_skops  # noqa: PLC0415

        info = {"format": "skops", "protocol": None, "compression": None}
        root, arrays, classes = read_skops(path)
    else:
        # One parse serves both: the native reader scans the graph it built
        # (nothing in it has run; the verdict gates everything below).
        try:
            graph = _ark.read_pickle(path)
        except _ark.FormatError as e:
            if isinstance(e, _ark.IoError):
                raise
            raise UnreadableFileError(f"{path}: cannot be read as a pickle, joblib or skops "
                                      f"file: {e}") from None
        report = graph.get("scan") or scan(path)
        untrusted = _check_scan(report, path, set(trusted))
        info = {"format": "joblib" if graph["joblib"] else "pickle",
                "protocol": graph["protocol"],
                "compression": graph["compression"] or None}
        root, arrays, classes = translate(graph, buffers)
    del classes
    obj = rebuild(root, arrays, trusted, path, writable)
    return obj, info, untrusted, len(arrays)


def convert(src, dst, *, compress=None, trusted=None, buffers=None, metrics=None,
            description=None, tags=None, metadata=None, threads=0):
    """Converts a pickle, joblib (any compression) or skops file to .ark.

    Refuses (ConversionRefusedError, nothing written) when the file names
    anything dangerous, or unknown and not in `trusted`. compress, metrics,
    description, tags, metadata, threads: as for ark.dump. buffers: the
    out-of-band buffers of a protocol-5 pickle written with buffer_callback.
    Returns a ConversionResult; str() of it is the one-line summary.
    """
    from . import _codec, _metadata  # noqa: PLC0415  (ark's own writer options)
    from ._walk import Walker  # noqa: PLC0415

    src = os.fspath(src)
    codec, level = _codec(compress)
    # The source's digest is computed on a second core while the file is
    # converted (hashlib releases the GIL); it is only recorded on success.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_sha256, src) if os.path.isfile(src) else None
        # Converted arrays are written out at once, never modified: read-only
        # views of the source do (no copy).
        obj, info, untrusted, n_arrays = load_source(src, trusted=trusted, buffers=buffers,
                                                     writable=False)
        source = {"path": os.path.abspath(src), "sha256": digest.result(),
                  "format": info["format"], "protocol": info["protocol"],
                  "compression": info["compression"]}
    writer = _ark.Writer(os.fspath(dst), threads=threads)
    try:
        def add_array(array, aux=False, shuffle=False):
            if codec != "none" and array.nbytes >= 1024:
                return writer.add_array(array, codec=codec, level=level, shuffle=shuffle, aux=aux)
            return writer.add_array(array, aux=aux)

        root = Walker(add_array, compact_trees=codec != "none").walk(obj)
        meta = _metadata.collect(obj, metrics=metrics, tags=tags, description=description,
                                 extra=metadata, converted_from=source)
        writer.finish(root, {"metadata": meta})
    except BaseException:
        writer.abort()
        raise
    return ConversionResult(_metadata.summary(obj, depth=2), untrusted, n_arrays,
                            writer.model_digest, source)


__all__ = ["scan", "convert", "ConversionRefusedError", "ConversionResult", "ConversionError",
           "UnreadableFileError"]
