"""The rebuilder: an ark object tree -> Python objects (docs/OBJECTS.md).

Contract: ``Rebuilder(reader, resolver, mmap_mode).build(root)`` returns the
object the tree describes. The caller has already checked every name in the
tree against the trust list (``_trust.check``); the resolver checks again,
per name, when it imports (nothing is imported for a name that failed).

What runs: only fixed constructors of the node kinds (set, ndarray, sparse
matrices, RandomState, functools.partial...), and for trusted classes
``cls.__new__(cls, *args)`` then ``__setstate__(state)`` (or
``__setstate_cython__``, or the instance dict update pickle does). Never
pickle, eval, or a callable named in the file. Before a class whose compiled
code trusts its arrays receives them (sklearn's Tree, KDTree...), ``_checks``
validates the arrays so that a crafted file cannot make predict read out of
bounds or loop forever.

Errors: malformed or inconsistent trees raise ``InvalidObjectError`` naming
the innermost object being built; trust failures raise ``UntrustedTypeError``.

Arrays: without mmap_mode every array is writable (read-only views of the
mapped file are copied, except for consumers that copy anyway, e.g. Tree);
with mmap_mode="r" uncompressed arrays stay read-only views of the file.
"""
import functools

import numpy as np

from _ark import ArrayRef, FormatError, Object, Ref

from . import _checks, _kinds
from .errors import InvalidObjectError
from .errors import ArkError

_MISSING = object()


class _ClassInfo:
    """What rebuilding instances of one class needs, computed once per class."""

    __slots__ = ("cls", "setstate", "setstate_cython", "shadowed", "check", "arrays_copied",
                 "needs_writable", "decode")

    def __init__(self, name, cls):
        self.cls = cls
        self.setstate = getattr(cls, "__setstate__", None)
        self.setstate_cython = getattr(cls, "__setstate_cython__", None)
        self.shadowed = _method_names(cls)
        self.check = _checks.CHECKS.get(name)
        self.arrays_copied = name in _checks.COPIES_ITS_ARRAYS
        self.needs_writable = name in _checks.NEEDS_WRITABLE_ARRAYS
        self.decode = _checks.DECODERS.get(name)  # compact state forms (Tree)


def _method_names(cls):
    """Names an instance dict must not set: attributes of the class that an
    instance attribute would shadow (methods, available_if descriptors...).
    A file must not be able to replace `predict` with a function of its choice."""
    names = set()
    for klass in cls.__mro__:
        for name, attr in vars(klass).items():
            kind = type(attr)
            if kind is property:
                continue
            if hasattr(kind, "__get__") and not hasattr(kind, "__set__"):
                names.add(name)
    return frozenset(names)


class Rebuilder:
    """One load's rebuild. Use once: ``Rebuilder(...).build(root)``."""

    def __init__(self, reader, resolver, mmap_mode=None):
        self._reader = reader
        self._resolver = resolver
        self._copy_arrays = mmap_mode is None
        self._memo = {}
        self._classes = {}
        self._dispatch = {
            list: self._list,
            tuple: self._tuple,
            dict: self._dict,
            Object: self._object,
            ArrayRef: self._array_ref,
            Ref: self._ref,
        }
        k = _kinds
        self._kinds = {
            k.COMPLEX: self._complex, k.SET: self._set, k.FROZENSET: self._frozenset,
            k.SLICE: self._slice, k.RANGE: self._range, k.BYTEARRAY: self._bytearray,
            k.LIST: self._shared_list, k.DICT: self._shared_dict, k.NDARRAY: self._ndarray,
            k.MATRIX: self._matrix, k.MASKED: self._masked, k.DTYPE: self._dtype, k.GENERIC: self._generic,
            k.RANDOM_STATE: self._random_state, k.GENERATOR: self._generator,
            k.PARTIAL: self._partial, k.GLOBAL: self._global,
        }
        for name in k.SCALAR_TYPES:
            self._kinds[name] = self._scalar
        for name in k.BIT_GENERATORS:
            self._kinds[name] = self._bit_generator
        for name in k.SPARSE_NAMES:
            self._kinds[name] = self._sparse

    def build(self, root):
        try:
            return self.value(root)
        except RecursionError:
            raise InvalidObjectError("the object tree is nested too deeply") from None

    def value(self, v):
        rebuild = self._dispatch.get(type(v))
        return v if rebuild is None else rebuild(v)

    # --- plain values ---------------------------------------------------------------

    # The containers inline value()'s dispatch: most items are plain numbers
    # and strings, and a model has tens of thousands of them.

    def _list(self, v):
        get = self._dispatch.get
        return [x if (rebuild := get(type(x))) is None else rebuild(x) for x in v]

    def _tuple(self, v):
        get = self._dispatch.get
        return tuple([x if (rebuild := get(type(x))) is None else rebuild(x) for x in v])

    def _dict(self, v):
        get, value = self._dispatch.get, self.value
        out = {}
        for k, x in v.items():
            rebuild = get(type(x))
            out[k if type(k) is str else value(k)] = x if rebuild is None else rebuild(x)
        return out

    def _array_ref(self, ref):
        array = self._reader.array(ref.index)
        if self._copy_arrays and not array.flags.writeable:
            array = array.copy()
        return array

    def _ref(self, ref):
        obj = self._memo.get(ref.id, _MISSING)
        if obj is _MISSING:
            raise InvalidObjectError(
                f"reference to object {ref.id}, which does not exist or is still being built "
                f"(a cycle through constructor arguments)")
        return obj

    def _register(self, node, obj):
        if node.id is not None:
            if node.id in self._memo:
                raise InvalidObjectError(f"object id {node.id} is defined twice")
            self._memo[node.id] = obj
        return obj

    # --- object nodes ------------------------------------------------------------------

    def _object(self, node):
        name = node.type_name
        try:
            kind = self._kinds.get(name)
            if kind is not None:
                return kind(node)
            return self._instance(node)
        except (ArkError, FormatError):
            raise
        except RecursionError:
            raise
        except Exception as e:
            raise InvalidObjectError(f"cannot rebuild {name}: {type(e).__name__}: {e}") from e

    def _class_info(self, name):
        info = self._classes.get(name)
        if info is None:
            info = self._classes[name] = _ClassInfo(name, self._resolver.resolve_class(name))
        return info

    def _instance(self, node):
        info = self._class_info(node.type_name)
        state = node.state
        list_items = dict_items = None
        if type(state) is dict:
            args = ()
        elif type(state) is tuple and len(state) in (2, 4) and type(state[0]) is tuple:
            args, state = state[0], state[1]
            if len(node.state) == 4:
                list_items, dict_items = node.state[2], node.state[3]
        else:
            raise InvalidObjectError(
                f"{node.type_name}: state must be a dict or (args, state[, items, dict items])")
        value = self.value
        cls = info.cls
        # A class that copies its arrays (Tree) copies its constructor's too.
        new_args = self._state_with_copies(args, False) if info.arrays_copied else self._tuple(args)
        if info.check is None:
            obj = cls.__new__(cls, *new_args)
            self._register(node, obj)
            if state is not None:
                self._set_state(info, obj, value(state))
        else:
            # Validated classes get their state checked before any of their
            # code sees it, so they cannot be part of a cycle.
            state = self._state_with_copies(state, not info.arrays_copied and (
                self._copy_arrays or info.needs_writable))
            if info.decode is not None:
                state = info.decode(new_args, state)
            info.check(new_args, state)
            obj = cls.__new__(cls, *new_args)
            self._register(node, obj)
            if state is not None:
                self._set_state(info, obj, state)
        if type(obj) is not cls and not (isinstance(obj, cls) and issubclass(cls, _enum_type())):
            raise InvalidObjectError(f"{node.type_name}.__new__ returned a {type(obj)}")
        if list_items is not None:
            obj.extend([value(x) for x in list_items])
        if dict_items is not None:
            for k, x in dict_items:
                obj[value(k)] = value(x)
        return obj

    def _state_with_copies(self, state, copy_arrays):
        # A class that copies its arrays into its own memory (Tree.__setstate__)
        # gets the file's read-only views instead of a second copy; one whose
        # compiled code needs writable arrays gets copies even under mmap.
        saved, self._copy_arrays = self._copy_arrays, copy_arrays
        try:
            return self.value(state)
        finally:
            self._copy_arrays = saved

    def _set_state(self, info, obj, state):
        if type(state) is dict:
            _check_attribute_names(info, state)
        if info.setstate is not None:
            info.setstate(obj, state)
        elif info.setstate_cython is not None:
            info.setstate_cython(obj, state)
        else:
            slots = None
            if type(state) is tuple and len(state) == 2:
                state, slots = state
                if state is not None:
                    _check_attribute_names(info, state)
            if state:
                if type(state) is not dict:
                    raise InvalidObjectError(f"state of {type(obj).__qualname__} must be a dict")
                obj.__dict__.update(state)
            if slots:
                if type(slots) is not dict:
                    raise InvalidObjectError(f"slot state of {type(obj).__qualname__} must be a dict")
                _check_attribute_names(info, slots)
                for k, v in slots.items():
                    setattr(obj, k, v)

    # --- kinds -----------------------------------------------------------------------------

    def _sequence_state(self, node, length=None):
        state = node.state
        if type(state) is not list or (length is not None and len(state) != length):
            raise InvalidObjectError(f"{node.type_name}: state must be a list"
                                     + ("" if length is None else f" of {length} values"))
        return self._list(state)

    def _complex(self, node):
        real, imag = self._sequence_state(node, 2)
        return self._register(node, complex(_number(real), _number(imag)))

    def _set(self, node):
        return self._register(node, set(self._sequence_state(node)))

    def _frozenset(self, node):
        return self._register(node, frozenset(self._sequence_state(node)))

    def _slice(self, node):
        return self._register(node, slice(*self._sequence_state(node, 3)))

    def _range(self, node):
        start, stop, step = self._sequence_state(node, 3)
        if not all(type(x) is int for x in (start, stop, step)):
            raise InvalidObjectError("range bounds must be integers")
        return self._register(node, range(start, stop, step))

    def _bytearray(self, node):
        if type(node.state) is not bytes:
            raise InvalidObjectError("bytearray state must be bytes")
        return self._register(node, bytearray(node.state))

    def _shared_list(self, node):
        if type(node.state) is not list:
            raise InvalidObjectError("builtins.list state must be a list")
        out = self._register(node, [])
        value = self.value
        out.extend([value(x) for x in node.state])
        return out

    def _shared_dict(self, node):
        if type(node.state) is not dict:
            raise InvalidObjectError("builtins.dict state must be a dict")
        out = self._register(node, {})
        value = self.value
        for k, x in node.state.items():
            out[k if type(k) is str else value(k)] = value(x)
        return out

    def _ndarray(self, node):
        state = node.state
        if type(state) is ArrayRef:
            return self._register(node, self._array_ref(state))
        if type(state) is dict and state.keys() == {"order", "data"} and state["order"] == "F" \
                and type(state["data"]) is ArrayRef:
            return self._register(node, self._array_ref(state["data"]).T)
        if type(state) is dict and state.keys() == {"dtype", "shape", "items"} and state["dtype"] == "|O":
            shape, items = state["shape"], state["items"]
            if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape) \
                    or len(shape) > 32 or type(items) is not list:
                raise InvalidObjectError("object array: bad shape or items")
            if int(np.prod(shape, dtype=object)) != len(items):
                raise InvalidObjectError(
                    f"object array: shape {shape} does not hold {len(items)} items")
            flat = np.empty(len(items), dtype=object)
            value = self.value
            for i, x in enumerate(items):
                flat[i] = value(x)
            return self._register(node, flat.reshape(shape))
        raise InvalidObjectError("numpy.ndarray: unknown state form")

    def _matrix(self, node):
        if type(node.state) is not ArrayRef:
            raise InvalidObjectError("numpy.matrix state must be an array")
        return self._register(node, np.asmatrix(self._array_ref(node.state)))

    def _masked(self, node):
        state = node.state
        if type(state) is not dict or state.keys() != {"data", "mask", "fill_value", "hard_mask"}:
            raise InvalidObjectError("numpy.ma.MaskedArray state must hold data, mask, fill_value, hard_mask")
        data, mask, fill_value = (self.value(state[k]) for k in ("data", "mask", "fill_value"))
        if type(data) is not np.ndarray or not (
                (type(mask) is np.ndarray and mask.dtype == bool and mask.shape == data.shape)
                or type(mask) in (bool, np.bool_)):
            raise InvalidObjectError("numpy.ma.MaskedArray: data and mask do not match")
        masked = np.ma.MaskedArray(data, mask=mask, fill_value=fill_value,
                                   hard_mask=state["hard_mask"] is True, copy=False)
        return self._register(node, masked)

    def _dtype(self, node):
        return self._register(node, _kinds.descr_to_dtype(node.state))

    def _scalar(self, node):
        scalar_type = _kinds.SCALAR_TYPES[node.type_name]
        state = node.state
        if scalar_type is np.complex64 or scalar_type is np.complex128:
            if type(state) is not list or len(state) != 2:
                raise InvalidObjectError(f"{node.type_name}: state must be [real, imag]")
            out = scalar_type(complex(_number(state[0]), _number(state[1])))
        else:
            expected, bounds = _scalar_rule(scalar_type)
            if type(state) not in expected:
                raise InvalidObjectError(f"{node.type_name}: state of type {type(state).__name__}")
            if bounds is not None and not bounds[0] <= state <= bounds[1]:
                raise InvalidObjectError(f"{state!r} does not fit {node.type_name}")
            out = scalar_type(state)
        return self._register(node, out)

    def _generic(self, node):
        state = node.state
        if type(state) is not dict or state.keys() != {"dtype", "data"} or type(state["data"]) is not bytes:
            raise InvalidObjectError("numpy.generic state must be {dtype, data}")
        dtype = _kinds.descr_to_dtype(state["dtype"])
        if dtype.hasobject or dtype.itemsize != len(state["data"]):
            raise InvalidObjectError("numpy.generic: data does not match its dtype")
        return self._register(node, np.frombuffer(state["data"], dtype=dtype).copy()[0])

    def _bit_generator_for(self, state):
        if type(state) is not dict:
            raise InvalidObjectError("random state must be a dict")
        cls = _kinds.BIT_GENERATORS.get(f"numpy.random.{state.get('bit_generator')}")
        if cls is None:
            raise InvalidObjectError(f"unknown bit generator {state.get('bit_generator')!r}")
        return cls(0)

    def _random_state(self, node):
        state = self._dict(node.state) if type(node.state) is dict else node.state
        random_state = np.random.RandomState(self._bit_generator_for(state))
        random_state.set_state(state)
        return self._register(node, random_state)

    def _generator(self, node):
        state = self._dict(node.state) if type(node.state) is dict else node.state
        bit_generator = self._bit_generator_for(state)
        bit_generator.state = state
        return self._register(node, np.random.Generator(bit_generator))

    def _bit_generator(self, node):
        state = self._dict(node.state) if type(node.state) is dict else node.state
        bit_generator = _kinds.BIT_GENERATORS[node.type_name](0)
        bit_generator.state = state
        return self._register(node, bit_generator)

    def _sparse(self, node):
        import scipy.sparse  # noqa: PLC0415  (only files with sparse matrices need scipy)

        name = node.type_name.rsplit(".", 1)[1]
        fmt = name.split("_")[0]
        state = node.state
        components = _kinds.SPARSE_COMPONENTS[fmt]
        if type(state) is not dict or set(state) != {"shape", *components}:
            raise InvalidObjectError(f"{node.type_name}: state must hold shape, {', '.join(components)}")
        shape = state["shape"]
        if type(shape) is not list or len(shape) != 2 or not all(type(n) is int and n >= 0 for n in shape):
            raise InvalidObjectError(f"{node.type_name}: bad shape")
        parts = {c: self.value(state[c]) for c in components}
        if not all(type(p) is np.ndarray for p in parts.values()):
            raise InvalidObjectError(f"{node.type_name}: components must be arrays")
        return self._register(node, _checks.sparse_matrix(scipy.sparse, name, fmt, tuple(shape), parts))

    def _partial(self, node):
        state = node.state
        if type(state) is not list or len(state) != 4 or type(state[1]) is not tuple \
                or type(state[2]) is not dict or not (state[3] is None or type(state[3]) is dict):
            raise InvalidObjectError("functools.partial state must be [func, (args), {keywords}, dict|None]")
        func, args, keywords, attributes = self._list(state)
        if not callable(func):
            raise InvalidObjectError("functools.partial of something that is not callable")
        partial = functools.partial(func, *args, **keywords)
        if attributes:
            partial.__dict__.update(attributes)
        return self._register(node, partial)

    def _global(self, node):
        return self._register(node, self._resolver.resolve_global(node.state))


# --- helpers ---------------------------------------------------------------------------------

_SCALAR_STATE_TYPES = {
    "b": (bool,), "i": (int,), "u": (int,), "f": (float, int), "U": (str,), "S": (bytes,),
}
_SCALAR_RULES = {}


def _scalar_rule(scalar_type):
    """(state types accepted, (min, max) for integer types or None) of a
    numpy scalar type; computed once per type."""
    rule = _SCALAR_RULES.get(scalar_type)
    if rule is None:
        kind = np.dtype(scalar_type).kind
        bounds = None
        if kind in "iu":
            limits = np.iinfo(scalar_type)
            bounds = (int(limits.min), int(limits.max))
        rule = _SCALAR_RULES[scalar_type] = (_SCALAR_STATE_TYPES[kind], bounds)
    return rule


def _number(x):
    if type(x) not in (int, float):
        raise InvalidObjectError(f"expected a number, got {type(x).__name__}")
    return x


def _enum_type():
    import enum  # noqa: PLC0415

    return enum.Enum


def _check_attribute_names(info, state):
    """Refuses instance attributes that would shadow a method of the class or
    that are special names: a file may set data, not behaviour."""
    if not info.shadowed.isdisjoint(state):
        bad = sorted(info.shadowed.intersection(state))
        raise InvalidObjectError(
            f"state of {info.cls.__qualname__} sets {', '.join(map(repr, bad))}, which would "
            f"replace a method of the class")
    for key in state:
        if type(key) is not str:
            raise InvalidObjectError(f"state of {info.cls.__qualname__} has a non-string key")
        if key.startswith("__") and key.endswith("__"):
            raise InvalidObjectError(
                f"state of {info.cls.__qualname__} sets the special attribute {key!r}")
