"""skops files -> ark object tree (docs/OBJECTS.md), read as data only.

A .skops file is a zip archive holding `schema.json` (a tree of nodes, each a
dict with "__class__", "__module__", "__loader__", "__id__" and per-loader
fields) and one `.npy` member per numeric array (plus `.bin` members for
bytes). This module reads skops' protocol-1/2 node kinds and emits the same
tree ark.load rebuilds, so the caller checks every class and function name
against ark's trust list and rebuilds through _rebuild.Rebuilder.

Contract: ``read_skops(path)`` returns ``(root, arrays, class_names)`` like
``_convert.translate``. Nothing named in the file is imported here; `.npy`
members are parsed by numpy's format reader with allow_pickle=False.
Loaders that cannot be expressed as data (MethodNode: a bound method of an
object; OperatorFuncNode: operator.attrgetter & co.; namedtuples) and unknown
loaders raise ConversionError naming the loader. Member sizes are checked
before anything is decompressed.
"""
import json
import zipfile

import numpy as np

from _ark import ArrayRef, Object, Ref

from . import _kinds
from ._convert_graph import ConversionError
from ._walk import _emit_dtype, _emit_scalar

# Refuse archives whose declared sizes are beyond these before reading them.
MAX_SCHEMA_BYTES = 256 << 20
MAX_TOTAL_BYTES = 64 << 30
SUPPORTED_PROTOCOLS = (1, 2)
_KEY_TYPES = {"builtins.str": str, "builtins.int": int, "builtins.float": float,
              "builtins.bool": bool}


def read_skops(path):
    with zipfile.ZipFile(path) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        if "schema.json" not in infos:
            raise ConversionError(f"{path}: a zip file without schema.json is not a skops file")
        if infos["schema.json"].file_size > MAX_SCHEMA_BYTES or \
                sum(i.file_size for i in infos.values()) > MAX_TOTAL_BYTES:
            raise ConversionError(f"{path}: members larger than ark reads")
        try:
            schema = json.loads(archive.read("schema.json"))
        except ValueError as e:
            raise ConversionError(f"{path}: schema.json is not JSON: {e}") from None
        if type(schema) is not dict:
            raise ConversionError(f"{path}: schema.json is not a node")
        protocol = schema.get("protocol")
        if protocol not in SUPPORTED_PROTOCOLS:
            raise ConversionError(f"{path}: skops protocol {protocol!r} (ark reads "
                                  f"{', '.join(map(str, SUPPORTED_PROTOCOLS))})")
        translator = _SkopsTranslator(archive, infos)
        try:
            root = translator.tree(schema)
        except RecursionError:
            raise ConversionError(f"{path}: schema.json is nested too deeply") from None
        return root, translator.arrays, translator.class_names


def _name(node):
    module, cls = node.get("__module__"), node.get("__class__")
    if type(module) is not str or type(cls) is not str:
        raise ConversionError("a skops node without __module__ / __class__")
    return f"{module}.{cls}"


class _SkopsTranslator:
    def __init__(self, archive, infos):
        self._archive = archive
        self._infos = infos
        self.arrays = []
        self.class_names = []
        self._seen = {}      # __id__ -> (tree node or value, has identity)
        self._next_id = 0

    # --- members --------------------------------------------------------------------

    def _member(self, name):
        if type(name) is not str or name not in self._infos:
            raise ConversionError(f"schema.json names a member {name!r} that is not in the file")
        return self._archive.read(name)

    def _npy(self, name):
        import io

        data = self._member(name)
        try:
            return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except ValueError as e:
            raise ConversionError(f"{name}: not a numpy array file: {e}") from None

    # --- nodes ----------------------------------------------------------------------

    def tree(self, node):
        if type(node) is not dict:
            raise ConversionError(f"a skops node must be a dict, not {type(node).__name__}")
        loader = node.get("__loader__")
        node_id = node.get("__id__")
        # skops writes a repeated object in full under the same __id__ (or, in
        # some versions, as a CachedNode); either way its loader shares it.
        if loader == "CachedNode" or (type(node_id) is int and node_id in self._seen):
            seen = self._seen.get(node_id)
            if seen is None:
                raise ConversionError(f"a cached node refers to object {node_id!r}, not seen before")
            value, identity = seen
            if identity:
                if value.id is None:
                    value.id = self._next_id
                    self._next_id += 1
                return Ref(value.id)
            return value
        method = getattr(self, f"_{loader}", None) if type(loader) is str else None
        if method is None or not loader.endswith("Node"):
            raise ConversionError(f"skops loader {loader!r} is not convertible")
        value = method(node)
        if node_id is not None and type(node_id) is int:
            self._seen[node_id] = (value, type(value) is Object and value.type_name not in (
                _kinds.DTYPE, _kinds.GLOBAL) and value.type_name not in _kinds.SCALAR_TYPES
                and value.type_name != _kinds.GENERIC)
        return value

    def _content(self, node, kind=None):
        content = node.get("content")
        if kind is not None and type(content) is not kind:
            raise ConversionError(f"{node.get('__loader__')}: content must be a {kind.__name__}")
        return content

    # Values that need identity (lists, dicts) are wrapped in nodes that can
    # carry an id, so a later CachedNode can refer to them.

    def _JsonNode(self, node):
        content = self._content(node, str)
        try:
            return json.loads(content)
        except ValueError as e:
            raise ConversionError(f"JsonNode content is not JSON: {e}") from None

    def _ListNode(self, node):
        if _name(node) != "builtins.list":
            raise ConversionError(f"a list of type {_name(node)}")
        return Object(_kinds.LIST, [self.tree(x) for x in self._content(node, list)])

    def _TupleNode(self, node):
        if _name(node) != "builtins.tuple":
            raise ConversionError(f"a tuple of type {_name(node)} (named tuples are not converted)")
        return tuple(self.tree(x) for x in self._content(node, list))

    def _SetNode(self, node):
        kind = {"builtins.set": _kinds.SET, "builtins.frozenset": _kinds.FROZENSET}.get(_name(node))
        if kind is None:
            raise ConversionError(f"a set of type {_name(node)}")
        return Object(kind, [self.tree(x) for x in self._content(node, list)])

    def _dict_items(self, node):
        content = self._content(node, dict)
        key_types = self.tree(node.get("key_types")) if "key_types" in node else None
        if type(key_types) is Object and key_types.type_name == _kinds.LIST:
            key_types = key_types.state
        if key_types is None:
            key_types = [Object(_kinds.GLOBAL, "builtins:str")] * len(content)
        if type(key_types) is not list or len(key_types) != len(content):
            raise ConversionError("DictNode key_types do not match its content")
        out = {}
        for key_type, (key, value) in zip(key_types, content.items()):
            if type(key_type) is not Object or key_type.type_name != _kinds.GLOBAL:
                raise ConversionError("DictNode key type is not a type")
            convert = _KEY_TYPES.get(key_type.state.replace(":", "."))
            if convert is None:
                raise ConversionError(f"dict keys of type {key_type.state}")
            try:
                key = convert(key) if convert is not bool else key in ("True", "true")
            except ValueError:
                raise ConversionError(f"dict key {key!r} is not a {key_type.state}") from None
            out[key] = self.tree(value)
        return out

    def _DictNode(self, node):
        name = _name(node)
        items = self._dict_items(node)
        if name == "builtins.dict":
            return Object(_kinds.DICT, items)
        if name == "collections.OrderedDict":
            self.class_names.append(name)
            return Object(name, ((), None, None, list(items.items())))
        raise ConversionError(f"a dict of type {name}")

    def _DefaultDictNode(self, node):
        content = self._content(node, dict)
        main = self.tree(content.get("main"))
        factory = self.tree(content.get("default_factory"))
        items = main.state if type(main) is Object and main.type_name == _kinds.DICT else main
        if type(items) is not dict:
            raise ConversionError("DefaultDictNode without its items")
        self.class_names.append("collections.defaultdict")
        return Object("collections.defaultdict",
                      ((), (None, {"default_factory": factory}), None, list(items.items())))

    def _BytesNode(self, node):
        return self._member(node.get("file"))

    def _BytearrayNode(self, node):
        return Object(_kinds.BYTEARRAY, self._member(node.get("file")))

    def _SliceNode(self, node):
        content = self._content(node, dict)
        return Object(_kinds.SLICE, [content.get("start"), content.get("stop"), content.get("step")])

    def _FunctionNode(self, node):
        module, cls = node.get("__module__"), node.get("__class__")
        if type(module) is not str or type(cls) is not str:
            raise ConversionError("FunctionNode without a name")
        # skops names ufuncs by the module numpy reports (numpy.core._multiarray_umath...).
        if module.startswith("numpy") and isinstance(getattr(np, cls, None), np.ufunc):
            module = "numpy"
        return Object(_kinds.GLOBAL, f"{module}:{cls}")

    _TypeNode = _FunctionNode

    def _PartialNode(self, node):
        content = self._content(node, dict)
        func = self.tree(content.get("func"))
        args = self.tree(content.get("args"))
        kwds = self.tree(content.get("kwds"))
        namespace = self.tree(content.get("namespace"))
        kwds = kwds.state if type(kwds) is Object and kwds.type_name == _kinds.DICT else kwds
        if type(namespace) is Object and namespace.type_name == _kinds.DICT:
            namespace = namespace.state
        return Object(_kinds.PARTIAL, [func, args, kwds or {}, namespace or None])

    def _ObjectNode(self, node):
        name = _name(node)
        self.class_names.append(name)
        attrs = self.tree(node["content"]) if node.get("content") is not None else None
        if type(attrs) is Object and attrs.type_name == _kinds.DICT:
            attrs = attrs.state
        if type(attrs) is dict:
            return Object(name, attrs)
        return Object(name, ((), attrs))

    def _ConstructorFromReduceNode(self, node):
        name = _name(node)
        self.class_names.append(name)
        args = self.tree(node.get("content"))
        if type(args) is not tuple:
            raise ConversionError(f"{name}: constructor arguments must be a tuple")
        return Object(name, (args, None))

    def _ReduceNode(self, node):
        name = _name(node)
        self.class_names.append(name)
        reduce = node.get("__reduce__")
        if type(reduce) is not dict:
            raise ConversionError(f"{name}: no __reduce__ arguments")
        args = self.tree(reduce.get("args"))
        attrs = self.tree(node.get("content"))
        if type(attrs) is Object and attrs.type_name == _kinds.DICT:
            attrs = attrs.state
        if type(args) is not tuple:
            raise ConversionError(f"{name}: __reduce__ arguments must be a tuple")
        return Object(name, (args, attrs if attrs not in ({}, ()) else None))

    def _TreeNode(self, node):
        if _name(node) != "sklearn.tree._tree.Tree":
            raise ConversionError(f"TreeNode of type {_name(node)}")
        return self._ReduceNode(node)

    def _LossNode(self, node):
        out = self._ReduceNode(node)
        args, state = out.state
        if state is None and args and type(args[0]) is not int and len(args) >= 1:
            # Cython's own pickling: skops keeps the state tuple as the arguments.
            return Object(out.type_name, ((), args))
        return out

    def _NdArrayNode(self, node):
        name = _name(node)
        kind = node.get("type")
        if kind == "json":
            shape = self.tree(node.get("shape"))
            items = [self.tree(x) for x in self._content(node, list)]
            if type(shape) is not tuple or not all(type(n) is int and n >= 0 for n in shape):
                raise ConversionError("object array: bad shape")
            items = _flatten(items, len(shape))
            return Object(_kinds.NDARRAY, {"dtype": "|O", "shape": list(shape), "items": items})
        if kind != "numpy":
            raise ConversionError(f"NdArrayNode of type {kind!r}")
        array = self._npy(node.get("file"))
        if name == "numpy.ndarray":
            return self._array_node(array)
        scalar_type = _kinds.SCALAR_TYPES.get(name)
        if array.ndim == 0 and (scalar_type is None or array.dtype.type is scalar_type
                                or name.startswith("numpy.")):
            scalar = array[()]
            if f"numpy.{type(scalar).__name__}" != name:
                raise ConversionError(f"a numpy scalar of type {name} holding {array.dtype}")
            return _emit_scalar(scalar)
        raise ConversionError(f"an array of type {name}")

    def _array_node(self, array):
        if array.dtype.hasobject:
            raise ConversionError("an object array stored as .npy")
        if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
            self.arrays.append(array.T)
            return Object(_kinds.NDARRAY, {"order": "F", "data": ArrayRef(len(self.arrays) - 1)})
        self.arrays.append(np.ascontiguousarray(array))
        return Object(_kinds.NDARRAY, ArrayRef(len(self.arrays) - 1))

    def _DTypeNode(self, node):
        content = node.get("content")
        if type(content) is not dict or content.get("__loader__") != "NdArrayNode":
            raise ConversionError("DTypeNode without its array")
        return _emit_dtype(self._npy(content.get("file")).dtype)

    def _RandomStateNode(self, node):
        state = self.tree(node.get("content"))
        if type(state) is Object and state.type_name == _kinds.DICT:
            state = state.state
        return Object(_kinds.RANDOM_STATE, _unwrap(state))

    def _RandomGeneratorNode(self, node):
        content = self._content(node, dict)
        state = _unwrap(self.tree(content.get("bit_generator")))
        return Object(_kinds.GENERATOR, state)


def _flatten(items, ndim):
    """C-order items of an object array stored as nested lists (tolist())."""
    for _ in range(ndim - 1):
        flat = []
        for row in items:
            if type(row) is Object and row.type_name == _kinds.LIST:
                row = row.state
            if type(row) is not list:
                raise ConversionError("object array: rows are not lists")
            flat.extend(row)
        items = flat
    return items


def _unwrap(value):
    """Plain dicts and lists inside random states (which hold no shared objects)."""
    if type(value) is Object and value.type_name in (_kinds.DICT, _kinds.LIST):
        value = value.state
    if type(value) is dict:
        return {k: _unwrap(v) for k, v in value.items()}
    if type(value) is list:
        return [_unwrap(v) for v in value]
    return value
