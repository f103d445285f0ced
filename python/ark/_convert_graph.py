"""Pickle graph -> ark object tree (docs/OBJECTS.md), without running the pickle.

Contract: ``GraphTranslator(graph, buffers).translate()`` returns
``(root, arrays)``: ``root`` a tree of ``_ark`` values (Object / ArrayRef /
Ref markers and plain values) that ``_rebuild.Rebuilder`` builds, and
``arrays`` the numpy arrays its ArrayRefs index (read-only, C-contiguous views
of the pickle's bytes: nothing is copied here).

``graph`` is the dict ``_ark.read_pickle`` returns (src/python/py_pickle.cc):
``nodes`` (one tuple per PickleNode, kind first), ``root``, ``source`` (a
memoryview of the decompressed stream, which bytes payloads index), and the
stream's ``protocol`` / ``compression`` / ``joblib``.

What is interpreted, and nothing else: the plumbing that pickle, numpy,
joblib, Cython and scikit-learn use to say "this class, with this state"
(copyreg's reconstructors, NEWOBJ, a class as its own reducer, Cython's
``__pyx_unpickle_<Class>``, scikit-learn's ``newObj``); numpy arrays (from
``_reconstruct`` + BUILD, ``_frombuffer``, joblib's NumpyArrayWrapper and
its inline bytes), dtypes, scalars and random states; ``_codecs.encode``;
set, frozenset, complex, slice, range, bytearray; OrderedDict, defaultdict,
Counter; functools.partial. Classes and functions become tree names, which
the caller checks against the trust list before anything is built. No
callable of the file is ever called here; the only constructors run are
numpy's dtype and array views over the file's bytes.

Errors: ``ConversionError`` (an InvalidObjectError) naming the construct
that cannot be converted and where it is in the stream.
"""
import _compat_pickle
import re

import numpy as np

from _ark import ArrayRef, Object, Ref

from . import _kinds
from ._walk import _emit_dtype, _emit_scalar
from .errors import InvalidObjectError

NO_NODE = -1

# numpy moved its private modules (numpy.core -> numpy._core in 2.0); both
# spellings name the same plumbing.
_NUMPY_CORE = ("numpy.core", "numpy._core")
_RECONSTRUCT = {f"{m}.multiarray._reconstruct" for m in _NUMPY_CORE}
_FROMBUFFER = {f"{m}.numeric._frombuffer" for m in _NUMPY_CORE}
_SCALAR = {f"{m}.multiarray.scalar" for m in _NUMPY_CORE}
_UFUNC_MODULES = {f"{m}._multiarray_umath" for m in _NUMPY_CORE} | {"numpy"}
_RANDOM_CTORS = {
    "numpy.random._pickle.__randomstate_ctor": _kinds.RANDOM_STATE,
    "numpy.random._pickle.__generator_ctor": _kinds.GENERATOR,
}
_BIT_GENERATOR_CTOR = "numpy.random._pickle.__bit_generator_ctor"
_JOBLIB_WRAPPERS = {"joblib.numpy_pickle.NumpyArrayWrapper",
                    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"}
_SPARSE_CLASS = re.compile(r"scipy\.sparse\._?\w+\.(csr|csc|coo|bsr|dia)_(matrix|array)$")
_PYX_UNPICKLE = "__pyx_unpickle_"
# Builtins rebuilt by a fixed constructor from REDUCE arguments.
_BUILTIN_KINDS = {
    "builtins.set": _kinds.SET, "builtins.frozenset": _kinds.FROZENSET,
    "builtins.complex": _kinds.COMPLEX, "builtins.slice": _kinds.SLICE,
    "builtins.range": _kinds.RANGE,
}
# The largest array this will view, as a guard against a shape whose product
# overflows before the byte count is compared.
_MAX_ELEMENTS = 1 << 62


class GlobalName(str):
    """A global reference met where plain data was expected (joblib's
    `subclass`): its 'module.qualname', never imported."""


class ConversionError(InvalidObjectError):
    """The pickle uses a construct that ark does not convert (or is malformed)."""


def normalize_name(module, name):
    """'module.name' as Python 3 spells it (protocol 0-2 pickles say
    __builtin__, copy_reg... through pickle's fix_imports)."""
    key = (module, name)
    if key in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[key]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


def _global_state(qualified):
    """'module.qualname' -> the ark.global state 'module:qualname'. The module
    is the longest importable-looking prefix: pickle keeps module and name
    apart, and the caller passes them through here joined only for lookups."""
    module, _, name = qualified.rpartition(".")
    return f"{module}:{name}"


class GraphTranslator:
    """One conversion. Use once: ``GraphTranslator(graph).translate()``."""

    def __init__(self, graph, buffers=None):
        self._nodes = graph["nodes"]
        self._root = graph["root"]
        self._source = graph["source"]
        self._buffers = None if buffers is None else [memoryview(b) for b in buffers]
        self.arrays = []
        self._shared = self._shared_nodes()
        self._ids = {}          # graph node -> tree id (shared nodes)
        self._values = {}       # shared nodes whose value has no identity
        self._next_id = 0
        self._live_cache = {}
        self.class_names = []   # classes instantiated, in order (for the summary line)

    # --- entry ----------------------------------------------------------------------

    def translate(self):
        if self._root is None or self._root == NO_NODE:
            raise ConversionError("the pickle has no root object")
        try:
            return self.tree(self._root), self.arrays
        except RecursionError:
            raise ConversionError("the pickle is nested too deeply to convert") from None

    # --- helpers ----------------------------------------------------------------------

    def _node(self, i):
        if type(i) is not int or not 0 <= i < len(self._nodes):
            raise ConversionError(f"the pickle graph refers to node {i!r}, which does not exist")
        return self._nodes[i]

    def _where(self, i):
        node = self._nodes[i]
        if node[0] == "call":
            return f" (at offset {node[1][9]:#x})"
        return ""

    def _shared_nodes(self):
        """Nodes with identity (containers and calls) reached more than once."""
        counts = {}
        seen = set()
        stack = [self._root] if self._root not in (None, NO_NODE) else []
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            for child in self._children(i):
                if child == NO_NODE:
                    continue
                counts[child] = counts.get(child, 0) + 1
                if child not in seen:
                    stack.append(child)
        return {i for i, n in counts.items() if n > 1
                and self._node(i)[0] in ("list", "dict", "set", "frozenset", "call")}

    def _children(self, i):
        node = self._node(i)
        kind = node[0]
        if kind in ("tuple", "list", "dict", "set", "frozenset", "persid"):
            return node[1]
        if kind == "call":
            callkind, callable_, args, kwargs, states, list_items, dict_items, _, nested, _ = node[1]
            return [callable_, args, kwargs, *states, *list_items, *dict_items, nested]
        return ()

    def _bytes_view(self, node):
        if type(node[1]) is bytes:  # decoded from protocol-0 escapes: not in the stream
            return node[1]
        offset, length = node[1], node[2]
        return self._source[offset:offset + length]

    def _global_name(self, i):
        node = self._node(i)
        if node[0] != "global":
            raise ConversionError(f"a call through a computed object{self._where(i)}: "
                                  f"ark converts only calls of named classes")
        return normalize_name(node[1], node[2])

    def _items(self, i, kind="tuple"):
        node = self._node(i)
        if node[0] != kind:
            raise ConversionError(f"expected a {kind}, found a {node[0]}")
        return node[1]

    # --- live values (small plain data: dtype states, shapes, codec args) ----------------

    def live(self, i):
        """The plain Python value of node i: None, bool, int, float, str, bytes,
        tuples, lists and dicts of those, and numpy dtypes. Anything else is
        refused (it is only used where pickle itself needs plain data)."""
        node = self._node(i)
        kind = node[0]
        if kind in ("none", "bool", "int", "float", "str"):
            return node[1]
        if kind in ("bytes", "bytearray"):
            return bytes(self._bytes_view(node))
        if kind == "tuple":
            return tuple(self.live(x) for x in node[1])
        if kind == "list":
            return [self.live(x) for x in node[1]]
        if kind == "dict":
            items = node[1]
            return {self.live(items[k]): self.live(items[k + 1]) for k in range(0, len(items), 2)}
        if kind == "global":
            return GlobalName(normalize_name(node[1], node[2]))
        if kind == "call":
            cached = self._live_cache.get(i)
            if cached is None:
                cached = self._live_cache[i] = self._live_call(i)
            return cached
        raise ConversionError(f"a {kind} where plain data was expected")

    def _live_call(self, i):
        callkind, callable_, args, _, states, _, _, _, _, _ = self._node(i)[1]
        name = self._global_name(callable_)
        if name == "_codecs.encode" and callkind == "reduce":
            text, encoding = self.live(args)
            if type(text) is not str or encoding not in ("latin1", "latin-1"):
                raise ConversionError("_codecs.encode with unexpected arguments")
            return text.encode("latin-1")
        if name == "numpy.dtype":
            return self._dtype(args, states)
        if name == "builtins.bytes" and callkind == "reduce":
            # Protocol 0-2 write b"" as bytes() and other bytes as _codecs.encode.
            data = self.live(args)
            if data == ():
                return b""
            if len(data) == 2 and type(data[0]) is str and data[1] in ("latin1", "latin-1"):
                return data[0].encode("latin-1")
            raise ConversionError("builtins.bytes with unexpected arguments")
        raise ConversionError(f"{name} where plain data was expected{self._where(i)}")

    def _dtype(self, args, states):
        args = self.live(args)
        if not (1 <= len(args) <= 3 and type(args[0]) is str and len(args[0]) <= 64):
            raise ConversionError(f"numpy.dtype arguments {args!r}")
        dtype = np.dtype(args[0], *[bool(a) for a in args[1:]])
        for state in states:
            # numpy's own dtype __setstate__ checks the layout it is given;
            # the state is plain data (tuples, strings, ints, nested dtypes).
            dtype.__setstate__(self.live(state))
        return dtype

    # --- tree values ----------------------------------------------------------------------

    def tree(self, i):
        node = self._node(i)
        kind = node[0]
        if kind in ("none", "bool", "int", "float", "str"):
            return node[1]
        if kind == "bytes":
            return bytes(self._bytes_view(node))
        if kind == "tuple":
            return tuple([self.tree(x) for x in node[1]])
        shared = i in self._shared
        if shared:
            if i in self._ids:
                return Ref(self._ids[i])
            if i in self._values:
                return self._values[i]
        node_id = None
        if shared:
            node_id = self._ids[i] = self._next_id
            self._next_id += 1
        if kind == "list":
            items = [self.tree(x) for x in node[1]]
            return Object(_kinds.LIST, items, id=node_id) if shared else items
        if kind == "dict":
            out = {}
            items = node[1]
            for k in range(0, len(items), 2):
                key = self.tree(items[k])
                if isinstance(key, (list, dict)) or type(key) is Ref:
                    raise ConversionError("a dict key that is a list, dict or shared object")
                out[key] = self.tree(items[k + 1])
            return Object(_kinds.DICT, out, id=node_id) if shared else out
        if kind in ("set", "frozenset"):
            name = _kinds.SET if kind == "set" else _kinds.FROZENSET
            return Object(name, [self.tree(x) for x in node[1]], id=node_id)
        if kind == "bytearray":
            return Object(_kinds.BYTEARRAY, bytes(self._bytes_view(node)), id=node_id)
        if kind == "global":
            return Object(_kinds.GLOBAL, self._global_reference(node[1], node[2]), id=node_id)
        if kind == "call":
            out = self._call(i, node_id)
            if shared and not (type(out) is Object and out.id == node_id):
                # A value without identity (scalar, dtype, bytes): repeated, not referenced.
                del self._ids[i]
                self._values[i] = out
            return out
        if kind == "buffer":
            raise ConversionError(
                "the pickle refers to out-of-band buffers (pickle protocol 5 with "
                "buffer_callback); pass them with buffers=")
        if kind == "persid":
            raise ConversionError("the pickle uses persistent ids, which only its own "
                                  "unpickler can resolve")
        raise ConversionError(f"unknown pickle node kind {kind!r}")

    def _global_reference(self, module, name):
        qualified = normalize_name(module, name)
        module, _, short = qualified.rpartition(".")
        # ufuncs pickle under numpy's private module; ark names them numpy.<name>.
        if module in _UFUNC_MODULES and isinstance(getattr(np, short, None), np.ufunc):
            return f"numpy:{short}"
        if module.startswith("numpy.core.") or module.startswith("numpy._core."):
            # numpy scalar types and functions re-exported at the top level.
            if getattr(np, short, None) is not None and "." not in short:
                return f"numpy:{short}"
        return f"{module}:{short}"

    # --- calls -----------------------------------------------------------------------------

    def _call(self, i, node_id):
        (callkind, callable_, args, kwargs, states, list_items, dict_items, inline,
         nested, _) = self._node(i)[1]
        name = self._global_name(callable_)
        if callkind == "newobj_ex":
            if kwargs != NO_NODE and self._items(kwargs, "dict"):
                raise ConversionError(f"{name} is created with keyword arguments{self._where(i)}")
            callkind = "newobj"
        if callkind in ("inst", "obj"):
            if self._items(args):
                raise ConversionError(f"{name} is created by calling it with arguments "
                                      f"(pickle protocol 0/1 INST/OBJ){self._where(i)}")
            callkind = "newobj"

        if name in _JOBLIB_WRAPPERS:
            return self._joblib_array(i, states, inline, nested, node_id)
        if callkind == "newobj":
            arg_items = self._items(args)
            return self._instance(i, name, arg_items, states, list_items, dict_items, node_id)

        # REDUCE: what the reducer means.
        arg_items = self._items(args)
        if name == "copyreg._reconstructor":
            if len(arg_items) != 3:
                raise ConversionError(f"copyreg._reconstructor with {len(arg_items)} arguments")
            base = self._global_name(arg_items[1])
            if base != "builtins.object" or self._node(arg_items[2])[0] != "none":
                raise ConversionError(f"copyreg._reconstructor over {base}{self._where(i)}")
            return self._instance(i, self._global_name(arg_items[0]), [], states, list_items,
                                  dict_items, node_id)
        if name == "copyreg.__newobj__":
            if not arg_items:
                raise ConversionError("copyreg.__newobj__ without a class")
            return self._instance(i, self._global_name(arg_items[0]), arg_items[1:], states,
                                  list_items, dict_items, node_id)
        if name == "copyreg.__newobj_ex__":
            if len(arg_items) != 3 or self._items(arg_items[2], "dict"):
                raise ConversionError(f"copyreg.__newobj_ex__ with keyword arguments{self._where(i)}")
            return self._instance(i, self._global_name(arg_items[0]), self._items(arg_items[1]),
                                  states, list_items, dict_items, node_id)
        if name in _RECONSTRUCT:
            return self._reconstructed_array(i, arg_items, states, node_id)
        if name in _FROMBUFFER:
            return self._frombuffer_array(i, arg_items, states, node_id)
        if name == "numpy.ma.core._mareconstruct":
            return self._masked_array(i, arg_items, states, node_id)
        if name in _SCALAR:
            return self._scalar(arg_items)
        if name == "numpy.dtype":
            return _emit_dtype(self._dtype(args, [self._single_state(i, states)] if states else []))
        if name in _RANDOM_CTORS or name == _BIT_GENERATOR_CTOR:
            return self._random(i, name, arg_items, states, node_id)
        if name in ("_codecs.encode", "builtins.bytes"):
            return self.live(i)
        if name in _BUILTIN_KINDS:
            return self._builtin(i, name, arg_items, states, node_id)
        if name == "builtins.bytearray":
            data = self.live(arg_items[0]) if arg_items else b""
            if type(data) is str:
                data = data.encode("latin-1")
            if type(data) is not bytes or len(arg_items) > 2:
                raise ConversionError("bytearray with unexpected arguments")
            return Object(_kinds.BYTEARRAY, data, id=node_id)
        if name == "functools.partial":
            return self._partial(i, states, node_id)
        if name in ("collections.OrderedDict", "collections.defaultdict", "collections.Counter"):
            return self._dict_subclass(i, name, arg_items, states, list_items, dict_items, node_id)
        short = name.rpartition(".")[2]
        if short.startswith(_PYX_UNPICKLE) and name.startswith("sklearn."):
            # Cython's automatic pickling: (cls, checksum, state or None) then maybe BUILD.
            if len(arg_items) != 3:
                raise ConversionError(f"{name} with {len(arg_items)} arguments")
            cls = self._global_name(arg_items[0])
            state = [] if self._node(arg_items[2])[0] == "none" else [arg_items[2]]
            return self._instance(i, cls, [], state + list(states), list_items, dict_items,
                                  node_id, force_args=True)
        if short == "newObj" and name.startswith("sklearn."):
            if len(arg_items) != 1:
                raise ConversionError(f"{name} with {len(arg_items)} arguments")
            return self._instance(i, self._global_name(arg_items[0]), [], states, list_items,
                                  dict_items, node_id, force_args=True)
        if self._node(callable_)[0] == "global" and self._looks_like_class(name):
            # A class as its own reducer (extension types such as sklearn's
            # Tree, whose __cinit__ runs in __new__; datetime; enums).
            return self._instance(i, name, arg_items, states, list_items, dict_items, node_id,
                                  force_args=True)
        raise ConversionError(f"the pickle calls {name}{self._where(i)}, which ark does not "
                              f"interpret as data")

    @staticmethod
    def _looks_like_class(name):
        # Classes are CamelCase by convention; the trust check that follows
        # resolves the name and refuses anything that is not a class.
        short = name.rpartition(".")[2]
        return short[:1].isupper()

    def _single_state(self, i, states):
        if len(states) > 1:
            raise ConversionError(f"an object set from {len(states)} BUILD states{self._where(i)}")
        return states[0] if states else NO_NODE

    def _instance(self, i, name, arg_items, states, list_items, dict_items, node_id,
                  force_args=False):
        if _SPARSE_CLASS.match(name):
            return self._sparse(i, name, arg_items, states, node_id)
        self.class_names.append(name)
        state_node = self._single_state(i, states)
        node = Object(name, None, id=node_id)
        args = tuple([self.tree(x) for x in arg_items])
        state = None if state_node == NO_NODE else self.tree(state_node)
        extra_items = list_items or dict_items
        if extra_items:
            lst = [self.tree(x) for x in list_items] if list_items else None
            dct = None
            if dict_items:
                dct = [(self.tree(dict_items[k]), self.tree(dict_items[k + 1]))
                       for k in range(0, len(dict_items), 2)]
            node.state = (args, state, lst, dct)
        elif not args and type(state) is dict and not force_args:
            node.state = state
        else:
            node.state = (args, state)
        return node

    # --- numpy --------------------------------------------------------------------------------

    def _add_array(self, array, node_id, fortran=False):
        """The tree node of an array viewed over the file's bytes. `array` is
        C-contiguous; with `fortran` it holds the transpose of the array meant."""
        self.arrays.append(array)
        ref = ArrayRef(len(self.arrays) - 1)
        if fortran:
            return Object(_kinds.NDARRAY, {"order": "F", "data": ref}, id=node_id)
        if node_id is not None:
            return Object(_kinds.NDARRAY, ref, id=node_id)
        return ref

    def _view(self, data, dtype, shape, fortran):
        """A read-only array over `data` (a memoryview or bytes): C order, or,
        with `fortran`, the C-ordered transpose (shape reversed)."""
        if type(shape) is int:
            shape = (shape,)
        if type(shape) not in (tuple, list) or not all(type(n) is int and n >= 0 for n in shape) \
                or len(shape) > 32:
            raise ConversionError(f"array shape {shape!r}")
        count = 1
        for n in shape:
            count *= n
            if count > _MAX_ELEMENTS:
                raise ConversionError(f"array shape {shape!r} is too large")
        if dtype.hasobject:
            raise ConversionError("object dtype where array bytes were expected")
        if len(data) != count * dtype.itemsize:
            raise ConversionError(f"array of shape {tuple(shape)} and dtype {dtype} needs "
                                  f"{count * dtype.itemsize} bytes, the pickle holds {len(data)}")
        view_shape = tuple(reversed(shape)) if fortran and len(shape) > 1 else tuple(shape)
        array = np.frombuffer(data, dtype=dtype, count=count).reshape(view_shape)
        return array, fortran and len(shape) > 1

    def _object_array(self, dtype, shape, items, node_id):
        if type(shape) is int:
            shape = (shape,)
        return Object(_kinds.NDARRAY, {"dtype": "|O", "shape": list(shape), "items": items},
                      id=node_id)

    def _reconstructed_array(self, i, arg_items, states, node_id):
        # _reconstruct(subtype, (0,), b'b') then BUILD (version, shape, dtype, is_fortran, data).
        if len(arg_items) != 3:
            raise ConversionError("numpy _reconstruct with unexpected arguments")
        subtype = self._global_name(arg_items[0])
        if subtype not in ("numpy.ndarray", "numpy.matrix"):
            raise ConversionError(f"an array of type {subtype}{self._where(i)}")
        state_node = self._single_state(i, states)
        if state_node == NO_NODE:
            raise ConversionError("numpy array without its state")
        state = self._items(state_node)
        if len(state) == 5:
            state = state[1:]
        if len(state) != 4:
            raise ConversionError("numpy array state of unexpected length")
        shape, dtype, fortran = self.live(state[0]), self.live(state[1]), self.live(state[2])
        return self._array_from_state(subtype, shape, dtype, fortran, state[3], node_id)

    def _array_from_state(self, subtype, shape, dtype, fortran, data_id, node_id):
        """An ndarray (or np.matrix) node from numpy's pickled state parts."""
        if not isinstance(dtype, np.dtype):
            raise ConversionError("numpy array state without a dtype")
        data_node = self._node(data_id)
        if dtype.hasobject:
            if data_node[0] != "list":
                raise ConversionError("object array whose items are not a list")
            if subtype != "numpy.ndarray":
                raise ConversionError(f"an object array of type {subtype}")
            return self._object_array(dtype, shape, [self.tree(x) for x in data_node[1]], node_id)
        if data_node[0] in ("bytes", "bytearray"):
            data = self._bytes_view(data_node)
        else:
            data = self.live(data_id)
            if type(data) is not bytes:
                raise ConversionError("numpy array data that is not bytes")
        array, transposed = self._view(data, dtype, shape, bool(fortran))
        if subtype == "numpy.matrix":
            if transposed:
                array = np.ascontiguousarray(array.T)
            self.arrays.append(array)
            return Object(_kinds.MATRIX, ArrayRef(len(self.arrays) - 1), id=node_id)
        return self._add_array(array, node_id, transposed)

    def _masked_array(self, i, arg_items, states, node_id):
        # numpy.ma's _mareconstruct(cls, baseclass, (0,), 'b') then BUILD
        # (version, shape, dtype, is_fortran, data, mask bytes, fill_value).
        if len(arg_items) != 4:
            raise ConversionError("numpy.ma _mareconstruct with unexpected arguments")
        names = [self._global_name(arg_items[0]), self._global_name(arg_items[1])]
        if names != ["numpy.ma.core.MaskedArray", "numpy.ndarray"]:
            raise ConversionError(f"a masked array of type {names[0]} over {names[1]}")
        state_node = self._single_state(i, states)
        if state_node == NO_NODE:
            raise ConversionError("masked array without its state")
        state = self._items(state_node)
        if len(state) != 7:
            raise ConversionError("masked array state of unexpected length")
        shape, dtype, fortran = self.live(state[1]), self.live(state[2]), self.live(state[3])
        data = self._array_from_state("numpy.ndarray", shape, dtype, fortran, state[4], None)
        mask = self._array_from_state("numpy.ndarray", shape, np.dtype(bool), fortran, state[5], None)
        return Object(_kinds.MASKED, {"data": data, "mask": mask, "fill_value": self.tree(state[6]),
                                      "hard_mask": False}, id=node_id)

    def _frombuffer_array(self, i, arg_items, states, node_id):
        # Protocol 5: _frombuffer(buffer, dtype, shape, order).
        if len(arg_items) != 4 or states:
            raise ConversionError("numpy _frombuffer with unexpected arguments")
        buffer_node = self._node(arg_items[0])
        if buffer_node[0] in ("bytes", "bytearray"):
            data = self._bytes_view(buffer_node)
        elif buffer_node[0] == "buffer":
            if self._buffers is None:
                raise ConversionError(
                    "the pickle refers to out-of-band buffers (pickle protocol 5 with "
                    "buffer_callback); pass them with buffers=")
            index = buffer_node[1]
            if not 0 <= index < len(self._buffers):
                raise ConversionError(f"out-of-band buffer {index} was not given")
            data = self._buffers[index].cast("B")
        else:
            raise ConversionError("numpy _frombuffer over something that is not a buffer")
        dtype, shape, order = (self.live(x) for x in arg_items[1:])
        if not isinstance(dtype, np.dtype) or order not in ("C", "F"):
            raise ConversionError("numpy _frombuffer with a bad dtype or order")
        array, transposed = self._view(data, dtype, shape, order == "F")
        return self._add_array(array, node_id, transposed)

    def _joblib_array(self, i, states, inline, nested, node_id):
        state = self.live(self._single_state(i, states)) if states else None
        if type(state) is not dict:
            raise ConversionError("joblib array wrapper without its state")
        subclass = state.get("subclass")
        dtype, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
        if nested not in (None, NO_NODE):
            # Object arrays: joblib pickles the array itself after the wrapper.
            return self.tree(nested)
        if not isinstance(dtype, np.dtype) or order not in ("C", "F"):
            raise ConversionError(f"joblib array wrapper with unexpected state{self._where(i)}")
        # No inline bytes: an empty array (the size check below refuses anything else).
        data = b"" if inline is None else self._source[inline[0]:inline[0] + inline[1]]
        array, transposed = self._view(data, dtype, shape, order == "F")
        if subclass is not None and subclass != "numpy.ndarray":
            if subclass == "numpy.matrix":
                if transposed:
                    array = np.ascontiguousarray(array.T)
                self.arrays.append(array)
                return Object(_kinds.MATRIX, ArrayRef(len(self.arrays) - 1), id=node_id)
            raise ConversionError(f"a joblib array of type {subclass}")
        return self._add_array(array, node_id, transposed)

    def _scalar(self, arg_items):
        if len(arg_items) not in (1, 2):
            raise ConversionError("numpy scalar with unexpected arguments")
        dtype = self.live(arg_items[0])
        if not isinstance(dtype, np.dtype):
            raise ConversionError("numpy scalar without a dtype")
        if dtype.hasobject:
            return self.tree(arg_items[1]) if len(arg_items) == 2 else None
        data = self.live(arg_items[1]) if len(arg_items) == 2 else b"\0" * dtype.itemsize
        if type(data) is not bytes or len(data) != dtype.itemsize:
            raise ConversionError("numpy scalar whose bytes do not match its dtype")
        return _emit_scalar(np.frombuffer(data, dtype=dtype)[0])

    def _random(self, i, name, arg_items, states, node_id):
        bit_generator = self.live(arg_items[0]) if arg_items else "MT19937"
        if type(bit_generator) is not str or f"numpy.random.{bit_generator}" not in _kinds.BIT_GENERATORS:
            raise ConversionError(f"{name} with bit generator {bit_generator!r}")
        state_node = self._single_state(i, states)
        if state_node == NO_NODE:
            raise ConversionError(f"{name} without its state")
        state = self.tree(state_node)
        if name == _BIT_GENERATOR_CTOR:
            return Object(f"numpy.random.{bit_generator}", state, id=node_id)
        return Object(_RANDOM_CTORS[name], state, id=node_id)

    # --- builtins and the standard library --------------------------------------------------

    def _builtin(self, i, name, arg_items, states, node_id):
        if states:
            raise ConversionError(f"{name} with a BUILD state{self._where(i)}")
        kind = _BUILTIN_KINDS[name]
        if kind in (_kinds.SET, _kinds.FROZENSET):
            if len(arg_items) > 1:
                raise ConversionError(f"{name} with {len(arg_items)} arguments")
            items = []
            if arg_items:
                source = self._node(arg_items[0])
                if source[0] not in ("list", "tuple", "set", "frozenset"):
                    raise ConversionError(f"{name} of a {source[0]}")
                items = [self.tree(x) for x in source[1]]
            return Object(kind, items, id=node_id)
        values = [self.tree(x) for x in arg_items]
        if kind == _kinds.COMPLEX:
            values = (values + [0.0, 0.0])[:2]
        elif kind == _kinds.SLICE:
            values = [None, values[0], None] if len(values) == 1 else (values + [None])[:3]
        elif kind == _kinds.RANGE:
            values = [0, values[0], 1] if len(values) == 1 else (values + [1])[:3]
        return Object(kind, values, id=node_id)

    def _partial(self, i, states, node_id):
        state_node = self._single_state(i, states)
        if state_node == NO_NODE:
            raise ConversionError("functools.partial without its state")
        state = self._items(state_node)
        if len(state) != 4:
            raise ConversionError("functools.partial state of unexpected length")
        func, args, keywords, attributes = (self.tree(x) for x in state)
        keywords = {} if keywords is None else keywords
        if type(args) is not tuple or type(keywords) is not dict:
            raise ConversionError("functools.partial state of unexpected types")
        return Object(_kinds.PARTIAL, [func, args, keywords, attributes], id=node_id)

    def _dict_subclass(self, i, name, arg_items, states, list_items, dict_items, node_id):
        self.class_names.append(name)
        if list_items:
            raise ConversionError(f"{name} with list items")
        state = None
        slots = None
        pairs = []
        if name == "collections.defaultdict":
            if len(arg_items) > 1:
                raise ConversionError("defaultdict with unexpected arguments")
            factory = self.tree(arg_items[0]) if arg_items else None
            slots = {"default_factory": factory}
        elif name == "collections.Counter":
            if len(arg_items) > 1:
                raise ConversionError("Counter with unexpected arguments")
            if arg_items:
                items = self._items(arg_items[0], "dict")
                pairs = [(self.tree(items[k]), self.tree(items[k + 1]))
                         for k in range(0, len(items), 2)]
        elif arg_items:
            raise ConversionError(f"{name} with constructor arguments")
        state_node = self._single_state(i, states)
        if state_node != NO_NODE:
            state = self.tree(state_node)
            if state is not None and type(state) is not dict:
                raise ConversionError(f"{name} with a state that is not a dict")
            if state == {}:
                state = None
        pairs += [(self.tree(dict_items[k]), self.tree(dict_items[k + 1]))
                  for k in range(0, len(dict_items), 2)]
        full_state = (state, slots) if slots is not None else state
        return Object(name, ((), full_state, None, pairs), id=node_id)

    # --- scipy.sparse --------------------------------------------------------------------------

    def _sparse(self, i, name, arg_items, states, node_id):
        fmt, kind = _SPARSE_CLASS.match(name).groups()
        if arg_items:
            raise ConversionError(f"{name} created with arguments")
        state_node = self._single_state(i, states)
        state = self.tree(state_node) if state_node != NO_NODE else None
        if type(state) is not dict:
            raise ConversionError(f"{name} without its state")
        components = _kinds.SPARSE_COMPONENTS[fmt]
        shape = state.get("_shape", state.get("shape"))
        if type(shape) is not tuple or any(c not in state for c in components):
            raise ConversionError(f"{name} with an unexpected state")
        out = {"shape": list(shape)}
        for c in components:
            out[c] = state[c]
        return Object(f"scipy.sparse.{fmt}_{kind}", out, id=node_id)
