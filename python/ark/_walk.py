"""The object walker: a Python object -> an ark object tree (docs/OBJECTS.md).

Contract: ``walk(obj, add_array)`` returns the tree as plain values and
``_ark`` markers (Object, ArrayRef, Ref), calling ``add_array(ndarray)`` for
every array it stores and using the returned blob index. It raises
``UnstorableObjectError`` (with advice) for what cannot be stored as data:
lambdas, locally defined functions, bound methods of instances, objects that
only a foreign function can rebuild, pandas objects...

Identity: an object reached twice (a shared estimator, a shared list, an
array referenced from two attributes, a cycle) is written once with an
``id`` and referenced by ``Ref`` afterwards, so it is one object after load.
To know up front which objects are shared, the walk runs in two passes over
the same reductions: the first counts references, the second emits. Every
object reached stays alive until the walk ends, so no ``id()`` is reused.

The walker does not look at trust: it stores what it can, and the loader
decides what it will build.
"""
import collections
import copyreg
import enum
import functools
import importlib
import sys
import types

import numpy as np

import _ark
from _ark import ArrayRef, Object, Ref

from . import _kinds
from .errors import UnstorableObjectError

_ATOMS = (type(None), bool, int, float, str, bytes)

_GLOBAL_TYPES = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, np.ufunc,
    types.MethodDescriptorType, types.ClassMethodDescriptorType, types.WrapperDescriptorType,
)


def _sparse_module():
    # scipy is imported only when a sparse matrix may be around.
    return sys.modules.get("scipy.sparse")


class _Reduction:
    """How a generic object is rebuilt: class, __new__ args, state, and the
    items of list/dict subclasses. Computed once per object, used by both passes."""

    __slots__ = ("type_name", "args", "state", "list_items", "dict_items")

    def __init__(self, type_name, args, state, list_items, dict_items):
        self.type_name = type_name
        self.args = args
        self.state = state
        self.list_items = list_items
        self.dict_items = dict_items

    def children(self):
        yield from self.args
        yield self.state
        if self.list_items is not None:
            yield from self.list_items
        if self.dict_items is not None:
            for k, v in self.dict_items:
                yield k
                yield v


class Walker:
    """One dump's walk. Use once: ``tree = Walker(add_array).walk(obj)``.

    With ``compact_trees``, scikit-learn Trees are stored in the compact
    "ark.tree.v1" form (docs/OBJECTS.md) when it is exact, and arrays of more
    than one byte per item that the form produces are added with
    ``add_array(array, shuffle=True)``."""

    def __init__(self, add_array, compact_trees=False):
        self._add_array_to_file = add_array
        self._compact_trees = compact_trees
        self._shuffled = set()    # id() of arrays to add with the shuffle filter
        self._alive = []          # keeps every reached object alive: ids stay unique
        self._reductions = {}     # id(obj) -> what emit() needs, computed in pass 1
        self._counts = {}         # id(obj) -> references seen in pass 1
        self._ids = {}            # id(obj) -> node id, for shared objects being or already emitted
        self._next_id = 0
        self._emitters = {
            list: self._emit_list,
            dict: self._emit_dict,
            tuple: self._emit_tuple,
            set: self._emit_set,
            frozenset: self._emit_frozenset,
            complex: self._emit_complex,
            bytearray: self._emit_bytearray,
            slice: self._emit_slice,
            range: self._emit_range,
            np.ndarray: self._emit_ndarray,
            np.ma.MaskedArray: self._emit_masked,
            functools.partial: self._emit_partial,
            np.random.RandomState: self._emit_random_state,
            np.random.Generator: self._emit_generator,
        }

    def _add_array(self, array):
        # The writer reads the array at finish(): temporaries (transposes,
        # converted sparse parts, RandomState keys) must outlive the walk.
        self._alive.append(array)
        if self._shuffled and id(array) in self._shuffled:
            return self._add_array_to_file(array, shuffle=True)
        return self._add_array_to_file(array)

    def walk(self, obj):
        try:
            self._count(obj)
            return self._emit(obj)
        except RecursionError:
            raise UnstorableObjectError(
                "the object is nested too deeply to store (ark's limit is 256 levels); "
                "flatten the structure") from None

    # --- classification ---------------------------------------------------------

    def _children(self, obj):
        """(shareable, children) of obj for pass 1; also caches reductions."""
        t = type(obj)
        if t is list or t is tuple or t is set or t is frozenset:
            return t is not tuple and t is not frozenset, obj
        if t is dict:
            return True, _dict_children(obj)
        if t in (complex, slice, range, bytearray):
            return t is bytearray, ((obj.start, obj.stop, obj.step) if t in (slice, range) else ())
        if isinstance(obj, np.ma.MaskedArray):
            return True, (obj.data, obj.mask, obj.fill_value)
        if isinstance(obj, np.ndarray):
            _check_array_type(obj)
            if obj.dtype.hasobject:
                return True, obj.ravel().tolist() if obj.dtype == object else ()
            return True, ()
        if isinstance(obj, (np.generic, np.dtype)):
            return False, ()
        if t is functools.partial:
            return True, (obj.func, obj.args, obj.keywords, obj.__dict__ or None)
        if t is np.random.RandomState or t is np.random.Generator:
            return True, ()
        if isinstance(obj, np.random.BitGenerator):
            return True, ()
        sparse = _sparse_module()
        if sparse is not None and sparse.issparse(obj):
            return True, ()
        if isinstance(obj, _GLOBAL_TYPES) or _is_global_like(obj) or isinstance(obj, enum.Enum):
            self._reductions[id(obj)] = _global_reference(obj)
            return False, ()
        reduction = self._reduce(obj)
        self._reductions[id(obj)] = reduction
        if isinstance(reduction, str):  # a module-level singleton
            return False, ()
        return True, reduction.children()

    # --- pass 1: count references ----------------------------------------------

    def _count(self, root):
        counts = self._counts
        alive = self._alive.append
        stack = [root]
        pop = stack.pop
        while stack:
            obj = pop()
            t = type(obj)
            if t in _ATOMS:
                continue
            key = id(obj)
            seen = counts.get(key)
            if seen is not None:
                counts[key] = seen + 1
                continue
            counts[key] = 1
            alive(obj)
            shareable, children = self._children(obj)
            if not shareable:
                # Values without identity (tuples, scalars...) may be reached
                # again through another path: count them afresh each time.
                del counts[key]
            stack.extend(children)

    # --- pass 2: emit ---------------------------------------------------------

    def _emit(self, obj):
        t = type(obj)
        if t in _ATOMS:
            return obj
        key = id(obj)
        node_id = self._ids.get(key)
        if node_id is not None:
            return Ref(node_id)
        emitter = self._emitters.get(t)
        if emitter is None:
            emitter = self._emitter_for(obj)
        if self._counts.get(key, 1) > 1:
            node_id = self._next_id
            self._next_id += 1
            self._ids[key] = node_id
            node = emitter(obj)
            return _with_id(node, node_id)
        return emitter(obj)

    def _emitter_for(self, obj):
        if isinstance(obj, np.ma.MaskedArray):
            return self._emit_masked
        if isinstance(obj, np.ndarray):
            return self._emit_ndarray
        if isinstance(obj, np.generic):
            return _emit_scalar
        if isinstance(obj, np.dtype):
            return _emit_dtype
        if isinstance(obj, np.random.BitGenerator):
            return self._emit_bit_generator
        sparse = _sparse_module()
        if sparse is not None and sparse.issparse(obj):
            return self._emit_sparse
        reduction = self._reductions.get(id(obj))
        if reduction is None:  # not seen in pass 1: cannot happen for reachable objects
            raise AssertionError(f"object of {type(obj)} missed by the counting pass")
        if isinstance(reduction, str):
            return lambda _obj: Object(_kinds.GLOBAL, reduction)
        return self._emit_reduction

    # --- builtins -----------------------------------------------------------------

    def _emit_list(self, obj):
        emit = self._emit
        return [emit(x) for x in obj]

    def _emit_tuple(self, obj):
        emit = self._emit
        return tuple([emit(x) for x in obj])

    def _emit_dict(self, obj):
        emit = self._emit
        out = {}
        for k, v in obj.items():
            out[k if type(k) is str else emit(k)] = emit(v)
        return out

    def _emit_set(self, obj):
        return Object(_kinds.SET, [self._emit(x) for x in _stable_order(obj)])

    def _emit_frozenset(self, obj):
        return Object(_kinds.FROZENSET, [self._emit(x) for x in _stable_order(obj)])

    def _emit_complex(self, obj):
        return Object(_kinds.COMPLEX, [obj.real, obj.imag])

    def _emit_bytearray(self, obj):
        return Object(_kinds.BYTEARRAY, bytes(obj))

    def _emit_slice(self, obj):
        emit = self._emit
        return Object(_kinds.SLICE, [emit(obj.start), emit(obj.stop), emit(obj.step)])

    def _emit_range(self, obj):
        return Object(_kinds.RANGE, [obj.start, obj.stop, obj.step])

    # --- numpy ----------------------------------------------------------------------

    def _emit_ndarray(self, obj):
        _check_array_type(obj)
        if type(obj) is np.matrix:
            return Object(_kinds.MATRIX, ArrayRef(self._add_array(np.ascontiguousarray(obj))))
        if obj.dtype.hasobject:
            if obj.dtype != object:
                raise UnstorableObjectError(
                    f"a structured array with object fields ({obj.dtype}) cannot be stored; "
                    f"store its fields as separate arrays")
            emit = self._emit
            return Object(_kinds.NDARRAY, {
                "dtype": "|O",
                "shape": list(obj.shape),
                "items": [emit(x) for x in obj.ravel().tolist()],
            })
        if type(obj) is not np.ndarray:
            obj = obj.view(np.ndarray)  # np.memmap and friends: the data, not the file
        if obj.ndim > 1 and obj.flags.f_contiguous and not obj.flags.c_contiguous:
            # Keep Fortran order (some Cython code requires it): store the
            # C-ordered transpose, a view without a copy.
            return Object(_kinds.NDARRAY, {"order": "F", "data": ArrayRef(self._add_array(obj.T))})
        return ArrayRef(self._add_array(obj))

    def _emit_masked(self, obj):
        if type(obj) is not np.ma.MaskedArray:
            raise UnstorableObjectError(f"masked arrays of type {type(obj)} cannot be stored")
        emit = self._emit
        return Object(_kinds.MASKED, {
            "data": emit(obj.data), "mask": emit(obj.mask), "fill_value": emit(obj.fill_value),
            "hard_mask": bool(obj.hardmask)})

    # --- others ------------------------------------------------------------------------

    def _emit_partial(self, obj):
        emit = self._emit
        return Object(_kinds.PARTIAL, [emit(obj.func), emit(obj.args), emit(obj.keywords),
                                       emit(obj.__dict__ or None)])

    def _emit_random_state(self, obj):
        return Object(_kinds.RANDOM_STATE, self._emit_dict(obj.get_state(legacy=False)))

    def _emit_generator(self, obj):
        return Object(_kinds.GENERATOR, self._emit_dict(obj.bit_generator.state))

    def _emit_bit_generator(self, bg):
        name = "numpy.random." + type(bg).__name__
        if _kinds.BIT_GENERATORS.get(name) is not type(bg):
            raise UnstorableObjectError(f"bit generator {type(bg)} cannot be stored")
        return Object(name, self._emit_dict(bg.state))

    def _emit_sparse(self, obj):
        sparse = _sparse_module()
        name = type(obj).__name__
        fmt = obj.format
        if getattr(sparse, name, None) is not type(obj) or fmt not in _kinds.SPARSE_COMPONENTS:
            raise UnstorableObjectError(
                f"{type(obj).__module__}.{type(obj).__qualname__} is not one of scipy.sparse's "
                f"public matrix or array classes; convert it with .tocsr()")
        if fmt == "lil":
            obj = obj.tocsr()
        elif fmt == "dok":
            obj = obj.tocoo()
        state = {"shape": [int(n) for n in obj.shape]}
        for component in _kinds.SPARSE_COMPONENTS[fmt]:
            state[component] = self._emit_ndarray(getattr(obj, component))
        return Object("scipy.sparse." + name, state)

    def _emit_reduction(self, obj):
        r = self._reductions[id(obj)]
        emit = self._emit
        state = emit(r.state)
        if not r.args and r.list_items is None and r.dict_items is None and type(state) is dict:
            return Object(r.type_name, state)
        args = tuple([emit(a) for a in r.args])
        if r.list_items is None and r.dict_items is None:
            return Object(r.type_name, (args, state))
        items = None if r.list_items is None else [emit(x) for x in r.list_items]
        pairs = None if r.dict_items is None else [(emit(k), emit(v)) for k, v in r.dict_items]
        return Object(r.type_name, (args, state, items, pairs))

    # --- generic objects ------------------------------------------------------------------

    def _reduce(self, obj):
        cls = type(obj)
        if _is_pandas(cls):
            raise UnstorableObjectError(
                f"a pandas {cls.__name__} cannot be stored inside a model; keep data out of "
                f"estimators (e.g. store .to_numpy() and column names)")
        if isinstance(obj, (types.ModuleType, types.GeneratorType, types.CodeType, types.FrameType)) \
                or hasattr(obj, "read") and hasattr(obj, "close"):
            raise UnstorableObjectError(f"{cls.__qualname__} objects cannot be stored")
        try:
            rv = obj.__reduce_ex__(4)
        except Exception as e:
            raise UnstorableObjectError(
                f"cannot store {_class_name(cls)}: it cannot be reduced to data ({e})") from e
        if isinstance(rv, str):
            module = getattr(obj, "__module__", None) or _find_module(obj, rv)
            return f"{module}:{rv}"
        if not isinstance(rv, tuple) or len(rv) < 2:
            raise UnstorableObjectError(f"cannot store {_class_name(cls)}: unusual __reduce_ex__")
        rv = rv + (None,) * (5 - len(rv))
        func, args, state, list_items, dict_items = rv[:5]
        target, new_args = _decode_constructor(obj, func, args)
        if target is cls and func is cls and isinstance(obj, (dict, list)):
            # Container subclasses that reduce to cls(contents) (Counter,
            # defaultdict): __new__ alone would drop the contents, so store
            # them as items, and defaultdict's factory as a slot-like attribute.
            new_args, state = (), getattr(obj, "__dict__", None) or None
            if isinstance(obj, collections.defaultdict):
                state = (state, {"default_factory": obj.default_factory})
            list_items = iter(obj) if isinstance(obj, list) else None
            dict_items = iter(obj.items()) if isinstance(obj, dict) else None
        elif target is cls and func is cls and cls.__new__ is object.__new__:
            raise UnstorableObjectError(
                f"cannot store {_class_name(cls)}: it reduces to calling the class with "
                f"arguments, which ark does not do; give it __getstate__/__setstate__")
        if isinstance(func, types.BuiltinFunctionType) and func.__name__.startswith("__pyx_unpickle_"):
            # Cython's automatic pickling: (unpickler, (cls, checksum, state)) or
            # state in the third slot. We rebuild with cls.__new__ and
            # __setstate_cython__(state).
            state = args[2] if args[2] is not None else state
        if target is None:
            raise UnstorableObjectError(
                f"cannot store {_class_name(cls)}: it is rebuilt by calling "
                f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)!s}, and ark "
                f"rebuilds objects only from their class and state (never by calling a function "
                f"from the file). Give the class __getstate__/__setstate__ instead of __reduce__")
        _check_storable_class(target)
        if self._compact_trees and target.__name__ == "Tree" and _class_name(target) == _TREE:
            state = self._compact_tree(state)
        return _Reduction(
            _class_name(target), tuple(new_args), state,
            None if list_items is None else list(list_items),
            None if dict_items is None else list(dict_items),
        )


    def _compact_tree(self, state):
        """The "ark.tree.v1" state of a Tree (docs/OBJECTS.md), or `state`
        itself when the tree cannot be encoded exactly (the encoder checks
        that the result decodes to the same bytes)."""
        if type(state) is not dict or state.keys() != _TREE_STATE_KEYS:
            return state
        nodes, values = state["nodes"], state["values"]
        if type(nodes) is not np.ndarray or type(values) is not np.ndarray:
            return state
        fields = _ark.encode_tree(nodes, values)
        if fields is None:
            return state
        compact = {"encoding": _ark.TREE_ENCODING, "max_depth": state["max_depth"],
                   "node_count": state["node_count"]}
        for name, value in fields.items():
            if type(value) is np.ndarray and value.dtype.itemsize > 1:
                self._shuffled.add(id(value))  # alive: held by the reduction
            compact[name] = value
        return compact


# --- helpers -------------------------------------------------------------------------

_TREE = "sklearn.tree._tree.Tree"
_TREE_STATE_KEYS = {"max_depth", "node_count", "nodes", "values"}


def _with_id(node, node_id):
    """Gives a node an id; wraps values that have no object node of their own."""
    if type(node) is Object:
        return Object(node.type_name, node.state, node_id)
    if type(node) is list:
        return Object(_kinds.LIST, node, node_id)
    if type(node) is dict:
        return Object(_kinds.DICT, node, node_id)
    if type(node) is ArrayRef:
        return Object(_kinds.NDARRAY, node, node_id)
    raise AssertionError(f"cannot give an id to {type(node)}")


def _dict_children(d):
    for k, v in d.items():
        yield k
        yield v


def _stable_order(items):
    """Sets iterate in hash order, which varies between runs for strings;
    sort when possible so the same model gives the same bytes."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _check_array_type(a):
    if type(a) is np.ndarray or type(a) is np.matrix or isinstance(a, np.memmap):
        return
    raise UnstorableObjectError(
        f"arrays of type {type(a).__module__}.{type(a).__qualname__} cannot be stored; "
        f"convert with np.asarray() (masked arrays: store .data and .mask)")


def _emit_scalar(x):
    t = type(x)
    name = _kinds.SCALAR_NAMES.get(t)
    if name is not None:
        value = x.item()
        if t is np.complex64 or t is np.complex128:
            value = [value.real, value.imag]
            back = t(complex(*value))
        else:
            back = t(value)
        if back.tobytes() == x.tobytes():
            return Object(name, value)
    return Object(_kinds.GENERIC, {"dtype": _kinds.dtype_to_descr(x.dtype), "data": x.tobytes()})


def _emit_dtype(dt):
    if dt.hasobject and dt != object:
        raise UnstorableObjectError(f"structured dtypes with object fields ({dt}) cannot be stored")
    return Object(_kinds.DTYPE, _kinds.dtype_to_descr(dt))




def _class_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_pandas(cls):
    return cls.__module__.startswith("pandas.")


def _is_global_like(obj):
    # Cython-compiled functions have their own types.
    return type(obj).__name__ in ("cython_function_or_method", "fused_cython_function")


def _find_module(obj, name):
    for module_name, module in list(sys.modules.items()):
        if module_name != "__main__" and getattr(module, name, None) is obj:
            return module_name
    raise UnstorableObjectError(f"cannot find the module of {name!r}")


def _decode_constructor(obj, func, args):
    """(class, __new__ args) for reductions ark can rebuild with cls.__new__;
    (None, None) otherwise."""
    if func is copyreg.__newobj__:
        return args[0], args[1:]
    if func is copyreg.__newobj_ex__:
        cls, new_args, kwargs = args
        return (cls, new_args) if not kwargs else (None, None)
    if isinstance(func, type) and func is type(obj):
        # Extension types such as sklearn's Tree reduce to (cls, args): their
        # __cinit__ runs in __new__, so cls.__new__(cls, *args) rebuilds them;
        # enum members reduce to (cls, (value,)) and Enum.__new__ looks them up.
        return func, args
    if isinstance(func, types.BuiltinFunctionType):
        owner = sys.modules.get(getattr(func, "__module__", None) or "")
        if owner is None or getattr(owner, func.__name__, None) is not func:
            return None, None
        if func.__name__ == "newObj" and len(args) == 1 and args[0] is type(obj):
            # scikit-learn's Cython helper newObj(cls) is cls.__new__(cls).
            return args[0], ()
        if (func.__name__ == f"__pyx_unpickle_{type(obj).__name__}" and len(args) == 3
                and args[0] is type(obj)):
            return args[0], ()
    return None, None


def _check_storable_class(cls):
    qualname = cls.__qualname__
    if "<locals>" in qualname:
        raise UnstorableObjectError(
            f"class {qualname} is defined inside a function; define it at module level in an "
            f"importable module so it can be found by name when loading")
    if cls.__module__ == "__main__":
        raise UnstorableObjectError(
            f"class {qualname} is defined in __main__ (a script or notebook), where a loading "
            f"process cannot find it; move it to an importable module")


def _global_reference(obj):
    """'module:qualname' for a function, class or ufunc that can be found again by name."""
    if isinstance(obj, np.ufunc):
        for module_name in ("numpy", "scipy.special"):
            module = sys.modules.get(module_name)
            if module is not None and getattr(module, obj.__name__, None) is obj:
                return f"{module_name}:{obj.__name__}"
        raise UnstorableObjectError(f"ufunc {obj.__name__} is not numpy.{obj.__name__}; it cannot be stored")
    if isinstance(obj, enum.Enum):
        # Members are module-level names too: Class.MEMBER.
        cls = type(obj)
        _check_storable_class(cls)
        return f"{cls.__module__}:{cls.__qualname__}.{obj.name}"
    self_ = getattr(obj, "__self__", None)
    if isinstance(obj, (types.MethodType, types.BuiltinMethodType)) and self_ is not None \
            and not isinstance(self_, (type, types.ModuleType)):
        raise UnstorableObjectError(
            f"{getattr(obj, '__qualname__', obj)!s} is a method bound to an instance of "
            f"{type(self_).__qualname__}; ark stores functions by name only. Use a module-level "
            f"function (or functools.partial of one) instead")
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    what = "class" if isinstance(obj, type) else "function"
    if qualname is None or module is None:
        raise UnstorableObjectError(f"{obj!r} has no module-level name and cannot be stored")
    if "<lambda>" in qualname:
        raise UnstorableObjectError(
            f"a lambda ({module}.{qualname}) cannot be stored: ark stores functions by name and "
            f"never stores code. Define it with def at module level in an importable module "
            f"and pass that function")
    if "<locals>" in qualname:
        raise UnstorableObjectError(
            f"{what} {qualname} is defined inside a function and cannot be found by name when "
            f"loading. Define it at module level in an importable module")
    if module == "__main__":
        raise UnstorableObjectError(
            f"{what} {qualname} is defined in __main__ (a script or notebook), where a loading "
            f"process cannot find it. Move it to an importable module and import it from there")
    try:
        found = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        found = None
    if found is not obj and not (self_ is not None and found == obj):
        raise UnstorableObjectError(
            f"{what} {module}.{qualname} cannot be found again under that name, so it cannot "
            f"be stored by name. Store a module-level {what} instead")
    return f"{module}:{qualname}"
