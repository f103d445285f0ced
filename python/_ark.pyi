"""_ark: the private native module behind the `ark` package (src/python/_ark.cc).

Thin by design: it writes and reads .ark containers and converts object trees
between Python and the C++ model layer. Everything Pythonic (walking sklearn
objects, trust checks, metadata) lives in the plain Python package `ark`.

Errors: every failure of the core raises `_ark.FormatError` or one of its
subclasses (one per ark::ErrorCode), carrying `.code` (e.g. "checksum_mismatch").
The GIL is released around compression, decompression, hashing and I/O.

Object trees cross as plain Python values:
  None, bool, int (any size), float, str, bytes, list, tuple, dict (any keys)
  Object(type_name, state, id=None)  -> object node
  ArrayRef(index)                    -> reference to blob `index`
  Ref(id)                            -> back-reference to an object node's id
"""
from typing import Any, Callable, Optional, Sequence
import numpy as np

class FormatError(Exception):
    code: str
class IoError(FormatError): ...                  # code "io"
class InvalidArgumentError(FormatError): ...     # "invalid_argument"
class TruncatedError(FormatError): ...           # "truncated"
class BadMagicError(FormatError): ...            # "bad_magic"
class UnsupportedVersionError(FormatError): ...  # "unsupported_version"
class OutOfBoundsError(FormatError): ...         # "out_of_bounds"
class OverlapError(FormatError): ...             # "overlap"
class LimitExceededError(FormatError): ...       # "limit_exceeded"
class BadManifestError(FormatError): ...         # "bad_manifest"
class UnknownDtypeError(FormatError): ...        # "unknown_dtype"
class SizeOverflowError(FormatError): ...        # "size_overflow"
class ChecksumMismatchError(FormatError): ...    # "checksum_mismatch"
class CodecError(FormatError): ...               # "codec_error"
class UnsupportedError(FormatError): ...         # "unsupported"

class Object:
    type_name: str
    state: Any
    id: Optional[int]
    def __init__(self, type_name: str, state: Any, id: Optional[int] = None) -> None: ...

class ArrayRef:
    index: int
    def __init__(self, index: int) -> None: ...

class Ref:
    id: int
    def __init__(self, id: int) -> None: ...

class Writer:
    """Writes an .ark file. Pass a path, or None to build the file in memory."""
    def __init__(self, path: Optional[str], threads: int = 0, fsync: bool = True) -> None: ...
    def add_array(self, array: np.ndarray, codec: str = "none", level: Optional[int] = None,
                  shuffle: bool = False, chunk_size: int = 0, aux: bool = False) -> int:
        """Adds a numpy array (any non-object dtype, structured included; made
        C-contiguous little-endian first if needed) and returns its blob index.
        The array is referenced, not copied: keep it unchanged until finish().
        `level` None means the codec's default (0 is a valid lzma level)."""
    def finish(self, root: Any, sections: Optional[dict] = None) -> None:
        """Writes the manifest and publishes the file atomically. `sections`
        must be JSON-compatible (str keys; None/bool/int/float/str/list/dict)."""
    def getvalue(self) -> bytes:
        """In-memory writers, after finish(): the file's bytes."""
    def abort(self) -> None:
        """Discards everything written; the destination is left untouched."""
    file_digest: str   # hex, after finish()
    model_digest: str  # "sha256:<hex>", after finish()
    file_size: int

class Reader:
    """Opens an .ark file (mmap) or bytes; only the manifest is parsed."""
    def __init__(self, source: str | bytes, verify_on_access: bool = True) -> None: ...
    version: tuple[int, int]
    file_size: int
    file_digest: str
    model_digest: str
    blob_count: int
    def manifest_json(self) -> str: ...
    def root(self) -> Any:
        """The object tree as Python values (Object / ArrayRef / Ref markers)."""
    def sections(self) -> dict: ...
    def blob_info(self, index: int) -> dict:
        """{"offset", "stored_size", "raw_size", "dtype" (np.dtype), "shape" (tuple),
        "codec", "level", "filter", "sha256", "aux"}"""
    def array(self, index: int) -> np.ndarray:
        """The blob as a numpy array. Uncompressed: a read-only view of the
        mapped file (no copy). Compressed: a fresh writable array."""
    def verify(self, progress: Optional[Callable[[int, int], None]] = None) -> None:
        """Checks every digest; raises the first problem."""

# Also on Reader (fast audit, manifest only):
#   Reader.type_names() -> tuple[set[str], Optional[set[str]]]
#       every "$object" type name, and the states of ark.global nodes (None when
#       one is not a string: callers then fall back to a full tree walk).

def collect_names(root: Any) -> tuple[set[str], set[str]]:
    """(type names, ark.global names) of a tree of _ark values."""

TREE_ENCODING: str  # "ark.tree.v1"
def encode_tree(nodes: np.ndarray, values: np.ndarray) -> Optional[dict]:
    """Compact fields of an sklearn Tree (docs/OBJECTS.md §5.1), or None when the
    tree cannot be encoded exactly. Always decodes back to the same bytes."""
def decode_tree(fields: dict, node_count: int, n_outputs: int, max_n_classes: int,
                node_dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, values) from compact fields; ValueError/TypeError when inconsistent."""

def find_tree_defect(nodes: np.ndarray, fields: Sequence[int], n_features: int,
                     max_depth: int) -> Optional[str]:
    """Checks sklearn Tree node records; None, or what is wrong."""
def find_hist_predictor_defect(nodes: np.ndarray, fields: Sequence[int],
                               bitset_rows: int) -> Optional[str]:
    """Checks HistGradientBoosting predictor node records; None, or what is wrong."""

# ---------------------------------------------------------------- registry
# ark::registry::Registry (src/python/py_registry.cc); the Pythonic client is
# ark.Registry (python/ark/_registry.py). Records are dicts:
#   version: {"name", "version", "label", "description", "digest" ("sha256:<hex>" of the
#             manifest), "content_sha256" (of the whole file), "model_digest", "size",
#             "new_bytes", "stage", "status" ("READY"/"DELETED"),
#             "tags" (dict), "metrics" (dict of float), "metadata_json" (str),
#             "aliases" (list), "data_fingerprint", "source_ref", "parent_version" (0: none),
#             "created_by", "created_ms"}
#   model:   {"name", "description", "tags", "aliases" (alias -> version),
#             "latest_version" (0: none), "created_ms", "updated_ms"}
#   event:   {"id", "time_ms", "actor", "action", "model", "version" (0: the model),
#             "before", "after" (JSON text), "reason"}
# Version 0 in set_tag / delete_tag / set_description / delete means the model.
# The GIL is released around every call; failures raise the FormatError subclasses.

class Registry:
    def __init__(self, path: str, create: bool = False) -> None: ...
    @staticmethod
    def default_path() -> str:
        """$ARK_REGISTRY, else ./ark-registry."""
    def close(self) -> None: ...
    closed: bool
    def register(self, name: str, ark_path: str, description: str = "",
                 tags: dict[str, str] = ..., label: str = "", source_ref: str = "",
                 data_fingerprint: str = "", parent_version: int = 0, actor: str = "") -> dict: ...
    def list_models(self) -> list[dict]: ...
    def get_model(self, name: str) -> dict: ...
    def list_versions(self, name: str, include_deleted: bool = False) -> list[dict]: ...
    def get_version(self, name: str, version: int) -> dict: ...
    def resolve(self, uri: str) -> dict:
        """A models:/ URI -> its live version."""
    def set_alias(self, name: str, alias: str, version: int, reason: str = "",
                  actor: str = "") -> None: ...
    def delete_alias(self, name: str, alias: str, reason: str = "", actor: str = "") -> None: ...
    def set_stage(self, name: str, version: int, stage: str, archive_existing: bool = False,
                  reason: str = "", actor: str = "") -> None: ...
    def set_tag(self, name: str, version: int, key: str, value: str, actor: str = "") -> None: ...
    def delete_tag(self, name: str, version: int, key: str, actor: str = "") -> None: ...
    def set_description(self, name: str, version: int, description: str,
                        actor: str = "") -> None: ...
    def delete(self, name: str, version: int = 0, reason: str = "", actor: str = "") -> None: ...
    def gc(self) -> dict:
        """{"pieces_removed", "bytes_freed"}"""
    def search(self, filter: str = "", order_by: str = "", max_results: int = 100,
               offset: int = 0, include_deleted: bool = False) -> list[dict]: ...
    def history(self, name: str = "", limit: int = 0) -> list[dict]:
        """Audit events, oldest first ("" : every model)."""
    def get(self, name: str, version: int, out_path: str) -> None:
        """Writes the version's .ark file atomically, digest checked."""
    def materialize(self, name: str, version: int) -> str:
        """Path of a checked copy under the registry's cache/."""
    def export(self, name: str, versions: Sequence[int], tar_path: str) -> None: ...
    def import_bundle(self, tar_path: str, actor: str = "") -> list[dict]: ...

def parse_model_uri(uri: str) -> dict:
    """{"name", "version" (0 unless /<n>), "alias", "stage", "latest"};
    InvalidArgumentError when malformed."""
def is_model_uri(text: str) -> bool: ...
# --- pickle / joblib reading and scanning (src/python/py_pickle.cc) ---------------
#
# read_pickle(source) parses a pickle or joblib file (path or bytes) as data,
# nothing executed, and returns:
#   {"nodes": [node, ...], "root": int, "source": memoryview (read-only, the
#    decompressed stream), "protocol": int, "compression": str ("" for none),
#    "joblib": bool, "unfollowable": [str], "scan": <scan() dict of this graph>}
# Each node is a 3-tuple, kind first; node references are indices into
# "nodes", -1 for none; bytes payloads are (offset, length) into "source":
#   ("none", None, None)     ("bool", bool, None)    ("int", int, None)
#   ("float", float, None)   ("str", str, None)
#   ("bytes", offset, length)            ("bytearray", offset, length)
#       (or (kind, bytes, None) for a payload decoded from protocol-0 escapes)
#   ("tuple" | "list" | "dict" | "set" | "frozenset" | "persid", [indices], None)
#       (dict items alternate key, value)
#   ("global", module, name)             ("buffer", index, readonly)
#   ("call", (callkind, callable, args, kwargs, [states], [list items],
#             [dict items k, v, ...], inline (offset, length) or None,
#             inline_pickle, offset), None)
#       callkind: "reduce", "newobj", "newobj_ex", "inst", "obj"
# Raises FormatError subclasses for malformed input, IoError for unreadable files.
def read_pickle(source: str | bytes) -> dict: ...

# scan(path): the ScanReport of a pickle, joblib or skops file:
#   {"path", "format", "compression", "protocol", "verdict" ("safe", "unknown",
#    "dangerous", "unreadable"), "globals": [{"name", "verdict", "reason",
#    "offsets": [int], "called": bool}], "findings": [str], "error": str}
def scan(path: str) -> dict: ...
