"""The fixed vocabulary of object-node kinds that ark builds with its own code.

docs/OBJECTS.md is the specification; this module holds the names and the
small conversions that the walker (dump) and the rebuilder (load) share, so
both sides cannot drift apart. A kind is an object-node type name whose node
ark rebuilds with a fixed constructor (a set, an ndarray, a sparse matrix...)
rather than through the trust list; kinds are therefore always trusted.

Nothing here imports anything named in a file.
"""
import re

import numpy as np

# builtins rebuilt from their state by fixed code.
COMPLEX = "builtins.complex"        # state [real, imag]
SET = "builtins.set"                # state [items]
FROZENSET = "builtins.frozenset"    # state [items]
SLICE = "builtins.slice"            # state [start, stop, step]
RANGE = "builtins.range"            # state [start, stop, step]
BYTEARRAY = "builtins.bytearray"    # state bytes
LIST = "builtins.list"              # state [items]; only used to give a shared list an id
DICT = "builtins.dict"              # state {..}; only used to give a shared dict an id

# numpy.
NDARRAY = "numpy.ndarray"           # $array | {"order": "F", "data": $array} | {"dtype", "shape", "items"}
MATRIX = "numpy.matrix"             # state $array (2-D, C order)
MASKED = "numpy.ma.MaskedArray"     # state {"data": array, "mask": array or bool, "fill_value", "hard_mask"}
DTYPE = "numpy.dtype"               # state: dtype descriptor (see dtype_to_descr)
GENERIC = "numpy.generic"           # state {"dtype": descr, "data": bytes}: any other numpy scalar
RANDOM_STATE = "numpy.random.RandomState"   # state: get_state(legacy=False)
GENERATOR = "numpy.random.Generator"        # state: bit_generator.state

# functools.partial: state [func, args tuple, keywords dict, instance dict or None].
PARTIAL = "functools.partial"

# A reference to a module-level object (function, class, ufunc) by name:
# state "module:qualname". Resolved through the trust list on load.
GLOBAL = "ark.global"

# numpy scalar types stored as {"$object": "numpy.<name>", "state": <python value>}.
# The Python value round-trips exactly (checked when dumping; otherwise the
# scalar is stored as numpy.generic).
SCALAR_TYPES = {
    "numpy." + t.__name__: t
    for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.longlong,
        np.uint8, np.uint16, np.uint32, np.uint64, np.ulonglong,
        np.float16, np.float32, np.float64, np.complex64, np.complex128,
        np.str_, np.bytes_,
    )
}
SCALAR_NAMES = {t: name for name, t in SCALAR_TYPES.items()}

BIT_GENERATORS = {
    "numpy.random." + name: getattr(np.random, name)
    for name in ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
}

# scipy.sparse classes by public name; the components stored for each format.
SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "dia", "lil", "dok")
SPARSE_COMPONENTS = {
    "csr": ("data", "indices", "indptr"),
    "csc": ("data", "indices", "indptr"),
    "bsr": ("data", "indices", "indptr"),
    "coo": ("data", "row", "col"),
    "dia": ("data", "offsets"),
    "lil": ("data", "indices", "indptr"),  # stored as its CSR form
    "dok": ("data", "row", "col"),         # stored as its COO form
}
SPARSE_NAMES = frozenset(
    f"scipy.sparse.{fmt}_{suffix}" for fmt in SPARSE_FORMATS for suffix in ("matrix", "array")
)

KINDS = frozenset(
    {COMPLEX, SET, FROZENSET, SLICE, RANGE, BYTEARRAY, LIST, DICT,
     NDARRAY, MATRIX, MASKED, DTYPE, GENERIC, RANDOM_STATE, GENERATOR, PARTIAL, GLOBAL}
    | set(SCALAR_TYPES) | set(BIT_GENERATORS) | SPARSE_NAMES
)


# --- dtype descriptors (FORMAT.md §4, extended with "|O" and ">" for dtype nodes) ---

def dtype_to_descr(dtype):
    """np.dtype -> a JSON-safe descriptor: a string, a [descr, dims] sub-array,
    or {"names", "formats", "offsets", "itemsize"} for structured dtypes."""
    if dtype.subdtype is not None:
        base, dims = dtype.subdtype
        return [dtype_to_descr(base), list(dims)]
    if dtype.names is not None:
        fields = dtype.fields
        return {
            "names": list(dtype.names),
            "formats": [dtype_to_descr(fields[n][0]) for n in dtype.names],
            "offsets": [fields[n][1] for n in dtype.names],
            "itemsize": dtype.itemsize,
        }
    return dtype.str


# A simple descriptor: byte order, kind, size, optional datetime unit. Nothing
# else reaches np.dtype(), whose string parser accepts far more.
_SIMPLE_DESCR = re.compile(r"[<>|=]?[biufcmMOSUV]\d{0,10}(\[\d{0,10}(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\])?")
_MAX_FIELDS = 10_000


def descr_to_dtype(descr):
    """Inverse of dtype_to_descr. Raises ValueError for anything malformed."""
    if isinstance(descr, str):
        if not _SIMPLE_DESCR.fullmatch(descr):
            raise ValueError(f"bad dtype descriptor {descr!r}")
        return np.dtype(descr)
    if isinstance(descr, list) and len(descr) == 2 and isinstance(descr[1], list):
        dims = descr[1]
        if not all(type(d) is int and 0 <= d < 2**31 for d in dims) or len(dims) > 32:
            raise ValueError(f"bad sub-array dims {dims!r}")
        return np.dtype((descr_to_dtype(descr[0]), tuple(dims)))
    if isinstance(descr, dict) and set(descr) == {"names", "formats", "offsets", "itemsize"}:
        names, formats, offsets = descr["names"], descr["formats"], descr["offsets"]
        itemsize = descr["itemsize"]
        if not (isinstance(names, list) and isinstance(formats, list) and isinstance(offsets, list)
                and len(names) == len(formats) == len(offsets) <= _MAX_FIELDS
                and all(isinstance(n, str) for n in names)
                and all(type(o) is int and o >= 0 for o in offsets)
                and type(itemsize) is int and 0 <= itemsize < 2**31):
            raise ValueError("bad structured dtype descriptor")
        return np.dtype({"names": names, "formats": [descr_to_dtype(f) for f in formats],
                         "offsets": offsets, "itemsize": itemsize})
    raise ValueError(f"bad dtype descriptor {descr!r}")
