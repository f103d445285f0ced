"""Writes .skops files for tests, following skops' documented layout
(skops.io protocol 2: a zip with schema.json and one .npy member per array),
since skops itself is not installed here.

write_skops(obj, path) handles what fitted scikit-learn estimators hold:
estimators and other plain objects (ObjectNode with their __getstate__),
JSON primitives (JsonNode), dicts (DictNode with key_types), lists, tuples,
sets, numpy arrays and scalars (NdArrayNode), dtypes (DTypeNode), functions,
ufuncs and classes (FunctionNode / TypeNode), RandomState, sklearn's Tree
(TreeNode) and Cython losses (LossNode). Repeated objects are written again
in full under the same __id__, as skops does.
`hostile_schema(...)` builds files whose nodes name dangerous functions.
"""
import io
import json
import types
import zipfile

import numpy as np

PROTOCOL = 2


class _Writer:
    def __init__(self, archive):
        self.archive = archive
        self.keep = []

    def node(self, obj):
        # Like skops: a repeated object is written in full again under the
        # same __id__ (its loader shares them by id); objects are kept alive
        # so that ids are not reused.
        self.keep.append(obj)
        out = self._node(obj)
        out["__id__"] = id(obj)
        return out

    @staticmethod
    def _head(cls, loader, module=None):
        return {"__class__": cls.__name__, "__module__": module or cls.__module__,
                "__loader__": loader}

    def _array_file(self, array):
        name = f"{id(array)}_{len(self.archive.namelist())}.npy"
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self.archive.writestr(name, buffer.getvalue())
        return name

    def _node(self, obj):
        from sklearn.tree._tree import Tree

        t = type(obj)
        if obj is None or t in (bool, int, float, str):
            return {**self._head(str, "JsonNode", "builtins"), "content": json.dumps(obj),
                    "is_json": True}
        if t is dict:
            # skops records the key types before the values (its loader reads them first).
            key_types = self.node([type(k) for k in obj])
            return {**self._head(dict, "DictNode"),
                    "content": {str(k): self.node(v) for k, v in obj.items()},
                    "key_types": key_types}
        if t is list:
            return {**self._head(list, "ListNode"), "content": [self.node(v) for v in obj]}
        if t is tuple:
            return {**self._head(tuple, "TupleNode"), "content": [self.node(v) for v in obj]}
        if t is slice:
            return {**self._head(slice, "SliceNode"),
                    "content": {"start": obj.start, "stop": obj.stop, "step": obj.step}}
        if t is set:
            return {**self._head(set, "SetNode"), "content": [self.node(v) for v in obj]}
        if isinstance(obj, (np.ndarray, np.generic)):
            if obj.dtype.hasobject:
                return {**self._head(t, "NdArrayNode"), "type": "json",
                        "content": [self.node(v) for v in obj.tolist()],
                        "shape": self.node(obj.shape)}
            return {**self._head(t, "NdArrayNode"), "type": "numpy",
                    "file": self._array_file(np.asarray(obj))}
        if t is np.dtype or isinstance(obj, np.dtype):
            return {"__class__": "dtype", "__module__": "numpy", "__loader__": "DTypeNode",
                    "content": self.node(np.ndarray(0, dtype=obj))}
        if isinstance(obj, np.ufunc):
            return {"__class__": obj.__name__, "__module__": "numpy", "__loader__": "FunctionNode"}
        if isinstance(obj, types.FunctionType):
            return {"__class__": obj.__name__, "__module__": obj.__module__,
                    "__loader__": "FunctionNode"}
        if isinstance(obj, type):
            return {"__class__": obj.__name__, "__module__": obj.__module__,
                    "__loader__": "TypeNode"}
        if t is np.random.RandomState:
            return {**self._head(t, "RandomStateNode"),
                    "content": self.node(obj.get_state(legacy=False))}
        if t is Tree:
            reduced = obj.__reduce__()
            return {**self._head(t, "TreeNode"), "__reduce__": {"args": self.node(reduced[1])},
                    "content": self.node(reduced[2])}
        if t.__module__.startswith("sklearn._loss._loss"):
            reduced = obj.__reduce__()
            head = self._head(t, "LossNode")
            if len(reduced) == 3:
                return {**head, "__reduce__": {"args": self.node(())}, "content": self.node(reduced[2])}
            return {**head, "__reduce__": {"args": self.node(reduced[1][2])}, "content": self.node({})}
        state = obj.__getstate__() if hasattr(obj, "__getstate__") else obj.__dict__
        return {**self._head(t, "ObjectNode"), "content": self.node(state)}


def write_skops(obj, path):
    with zipfile.ZipFile(path, "w") as archive:
        writer = _Writer(archive)
        schema = writer.node(obj)
        schema["protocol"] = PROTOCOL
        archive.writestr("schema.json", json.dumps(schema, indent=1))


def write_schema(schema, path, members=()):
    """A .skops file with a hand-written schema (hostile tests)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
        archive.writestr("schema.json", json.dumps({**schema, "protocol": PROTOCOL}))


def hostile_schemas():
    """name -> schema of skops files that would run code if trusted blindly."""
    system = {"__class__": "system", "__module__": "os", "__loader__": "FunctionNode", "__id__": 1}
    return {
        "function-os.system": {**system},
        "object-subprocess": {"__class__": "Popen", "__module__": "subprocess",
                              "__loader__": "ObjectNode", "__id__": 2,
                              "content": {"__class__": "dict", "__module__": "builtins",
                                          "__loader__": "DictNode", "__id__": 3, "content": {},
                                          "key_types": {"__class__": "list", "__module__": "builtins",
                                                        "__loader__": "ListNode", "__id__": 4,
                                                        "content": []}}},
        "reduce-eval": {"__class__": "eval", "__module__": "builtins",
                        "__loader__": "ConstructorFromReduceNode", "__id__": 5,
                        "content": {"__class__": "tuple", "__module__": "builtins",
                                    "__loader__": "TupleNode", "__id__": 6,
                                    "content": [{"__class__": "str", "__module__": "builtins",
                                                 "__loader__": "JsonNode", "__id__": 7,
                                                 "content": "\"open('CANARY','w')\""}]}},
        "method-node": {"__class__": "LogisticRegression",
                        "__module__": "sklearn.linear_model._logistic",
                        "__loader__": "MethodNode", "__id__": 8,
                        "content": {"func": "fit", "obj": {
                            "__class__": "LogisticRegression",
                            "__module__": "sklearn.linear_model._logistic",
                            "__loader__": "ObjectNode", "__id__": 9}}},
    }
