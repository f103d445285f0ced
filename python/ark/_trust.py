"""The trust list: which names a file may make ark import and build. One place, reviewed.

Contract
--------
A file names Python objects in two ways (docs/OBJECTS.md): an object node's
type name (a class ark instantiates with ``cls.__new__`` and fills with
state) and a global reference (``ark.global``: a function, class or ufunc
by ``module:qualname``). Both are checked here, in two steps:

1. By name alone, before anything is imported (``untrusted_names``,
   ``forbidden_names``). This is what ``ark.get_untrusted_types`` reports and
   what ``ark.load`` checks before rebuilding anything.
2. When a trusted name is resolved (``resolve_class``, ``resolve_global``):
   only then is its module imported, and the object found must really be what
   the name says - defined under exactly that name (no re-exports, so
   ``sklearn.foo.os.system`` cannot pass as scikit-learn), a class where a
   class is needed, and for default-trusted names defined inside the trusted
   library.

Trusted by default
------------------
- the node kinds of ``_kinds`` (ark's own fixed constructors);
- scikit-learn's classes and functions (``sklearn.*``), except modules that
  touch the file system, the network or run code (``SKLEARN_UNTRUSTED_MODULES``);
- numpy scalar types, numpy and scipy.special ufuncs, a vetted list of pure
  numpy functions;
- a fixed list of builtins (plain data classes and a few pure functions).

Everything else loads only when the caller names it in ``trusted=``.

Never trusted, even when named in ``trusted=``: names that can run code or
reach the system (``FORBIDDEN_MODULES``, ``FORBIDDEN_NAMES``), e.g.
``os.system``, ``builtins.eval``, ``subprocess.Popen``. A user who pastes the
output of ``get_untrusted_types`` into ``trusted=`` without reading it must
still not get a shell; no legitimate model needs these.
"""
import enum
import importlib
import json
import os
import sys

import numpy as np

from . import _kinds
from .errors import ForbiddenTypeError, InvalidObjectError, UntrustedTypeError  # noqa: F401

# --- the lists ---------------------------------------------------------------
#
# The names live in trust_lists.json beside this file: one reviewed list, also
# embedded in the C++ scanner (`ark scan`, `ark convert`) at build time. Its
# "_comment" states the review rule; docs/SCAN.md says what each list means.

def _load_lists():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust_lists.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


_LISTS = _load_lists()

# Top-level modules (and everything below them) that are never loaded.
FORBIDDEN_MODULES = frozenset(_LISTS["FORBIDDEN_MODULES"])
# Fully qualified names never loaded (builtins that run code or reach the
# interpreter; numpy functions that read or write files or unpickle).
FORBIDDEN_NAMES = frozenset(_LISTS["FORBIDDEN_NAMES"])
# numpy / scipy sub-packages whose members are never loaded.
FORBIDDEN_PREFIXES = tuple(_LISTS["FORBIDDEN_PREFIXES"])
# scikit-learn modules whose contents are not trusted by default: they touch
# files or the network (datasets, tree export), run code (testing helpers,
# build utilities), change global configuration, or merely re-export other
# libraries. A user may still trust a named member explicitly.
SKLEARN_UNTRUSTED_MODULES = tuple(_LISTS["SKLEARN_UNTRUSTED_MODULES"])
# Pure numpy functions (no I/O, no callbacks) people pass to FunctionTransformer,
# aggregation parameters and the like, by their short name: a name is trusted
# when it lies under numpy and resolves to numpy.<short name> itself. ufuncs
# are trusted without listing.
NUMPY_FUNCTIONS = frozenset(_LISTS["NUMPY_FUNCTIONS"])
# scipy.special functions commonly used in transformers, by short name (ufuncs
# and pure functions); a name is trusted when it lies under scipy.special and
# resolves to scipy.special.<short name> itself.
SCIPY_SPECIAL_FUNCTIONS = frozenset(_LISTS["SCIPY_SPECIAL_FUNCTIONS"])
# Builtins that may appear as class references (e.g. dtype=float) or pure functions.
BUILTIN_GLOBALS = frozenset(_LISTS["BUILTIN_GLOBALS"])
# Standard-library classes whose instances are plain data (rebuilt from state).
STDLIB_CLASSES = frozenset(_LISTS["STDLIB_CLASSES"])
# scipy classes that scikit-learn keeps in fitted estimators (SplineTransformer's
# splines); plain data rebuilt from their instance dict, validated by _checks.
SCIPY_CLASSES = frozenset(_LISTS["SCIPY_CLASSES"])

_NUMPY_SCALAR_CLASSES = frozenset(
    "numpy." + t.__name__ for t in set(np.sctypeDict.values())
    if getattr(np, t.__name__, None) is t
) | {"numpy.generic", "numpy.number", "numpy.integer", "numpy.floating",
     "numpy.signedinteger", "numpy.unsignedinteger", "numpy.inexact", "numpy.complexfloating"}


# --- step 1: by name ------------------------------------------------------------

def is_forbidden(name):
    """True for names that load never accepts, trusted= or not."""
    top = name.split(".", 1)[0]
    return (top in FORBIDDEN_MODULES or name in FORBIDDEN_NAMES
            or name.startswith(FORBIDDEN_PREFIXES) or "__" in name.replace("__init__", "")
            or not _is_dotted_identifier(name))


def _is_dotted_identifier(name):
    parts = name.split(".")
    return len(parts) >= 2 and all(p.isidentifier() for p in parts)


def _in_sklearn(name):
    if not name.startswith("sklearn."):
        return False
    for module in SKLEARN_UNTRUSTED_MODULES:
        if name == module or name.startswith(module + "."):
            return False
    # Test packages anywhere under sklearn (sklearn.linear_model.tests...).
    return ".tests." not in name and "._testing" not in name


def trusted_by_default(name, is_global):
    """Whether `name` is trusted without the caller naming it. `is_global`:
    the name comes from a global reference (functions allowed), not from an
    object node (which instantiates a class)."""
    if name in _kinds.KINDS and not is_global:
        return True
    if is_forbidden(name):
        return False
    if _in_sklearn(name) or name in STDLIB_CLASSES or name in SCIPY_CLASSES:
        return True
    if not is_global:
        return False
    if name in BUILTIN_GLOBALS or name in _NUMPY_SCALAR_CLASSES:
        return True
    short = name.rsplit(".", 1)[1]
    if name.startswith("numpy."):
        return short in NUMPY_FUNCTIONS or (
            name.count(".") == 1 and isinstance(getattr(np, short, None), np.ufunc))
    if name.startswith("scipy.special."):
        return short in SCIPY_SPECIAL_FUNCTIONS
    return False


def collect_names(root):
    """Returns ({object type names}, {global reference names}) used in a tree
    of _ark values. The walk is native (_ark.collect_names: exact lists,
    tuples, dicts and Object states, with its own stack, so a hostile tree's
    depth costs no C stack); every ark.global state goes through global_name."""
    from _ark import collect_names as native_collect  # noqa: PLC0415  (imported lazily by ark)

    classes, states = native_collect(root)
    return classes, {global_name(state) for state in states}


def collect_reader_names(reader):
    """collect_names(reader.root()) for an _ark.Reader, without building the
    tree in Python: the native reader validates the tree as root() does and
    returns the names. Raises what collect_names raises."""
    classes, states = reader.type_names()
    if states is None:  # a global reference whose state is not a string
        return collect_names(reader.root())
    return set(classes), {global_name(state) for state in states}


def global_name(state):
    """'module:qualname' -> 'module.qualname'. Raises for anything else."""
    if type(state) is not str or state.count(":") != 1:
        raise InvalidObjectError(f"malformed global reference {state!r}: expected 'module:qualname'")
    module, qualname = state.split(":")
    name = f"{module}.{qualname}"
    if not _is_dotted_identifier(name):
        raise InvalidObjectError(f"malformed global reference {state!r}")
    return name


def _user_trusts(name, trusted, is_global):
    """Whether the caller's `trusted` covers `name`. A global reference is
    also covered by the class or module that encloses it (trusting
    mypkg.Color covers the member mypkg.Color.RED)."""
    if name in trusted:
        return True
    if is_global:
        parts = name.split(".")
        return any(".".join(parts[:i]) in trusted for i in range(2, len(parts)))
    return False


def untrusted_names(classes, globals_, trusted=()):
    """Sorted names that need the caller's trust: neither trusted by default
    nor named in `trusted` (forbidden names are always included)."""
    trusted = set(trusted or ())
    out = set()
    for names, is_global in ((classes, False), (globals_, True)):
        for name in names:
            if not is_global and name in _kinds.KINDS:
                continue
            if is_forbidden(name) or not (trusted_by_default(name, is_global)
                                          or _user_trusts(name, trusted, is_global)):
                out.add(name)
    return sorted(out)


def check(classes, globals_, trusted=(), path=None):
    """Raises UntrustedTypeError (ForbiddenTypeError when any is forbidden)
    listing every untrusted name at once."""
    bad = untrusted_names(classes, globals_, trusted)
    if bad:
        forbidden = [n for n in bad if is_forbidden(n)]
        if forbidden:
            raise ForbiddenTypeError(bad, forbidden, path)
        raise UntrustedTypeError(bad, path)


# --- step 2: resolving a name that passed step 1 ----------------------------------

def _import_owner(name):
    """Finds the module that `name` lives in and the attribute path below it.
    Tries the longest dotted prefix first, preferring modules already loaded."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
        return module, parts[cut:]
    raise InvalidObjectError(f"cannot import any module of {name!r}")


def _lookup(name, module_name=None, qualname=None):
    if module_name is None:
        module, path = _import_owner(name)
    else:
        try:
            module = sys.modules.get(module_name) or importlib.import_module(module_name)
        except ImportError as e:
            raise InvalidObjectError(f"cannot import module {module_name!r} for {name!r}: {e}") from e
        path = qualname.split(".")
    obj = module
    for i, attr in enumerate(path):
        if i and not isinstance(obj, type):
            # Only classes may be walked through (nested classes, methods);
            # never other modules or instances.
            raise InvalidObjectError(f"{name!r} does not name an object defined in a module")
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise InvalidObjectError(f"{name!r} does not exist in the installed packages") from None
    return module, obj


def _canonical(obj):
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', None)}"


def _defined_in_trusted_library(name, obj):
    """For default-trusted names: the object must belong to the library the
    name claims, not be a foreign object re-exported there."""
    if _in_sklearn(name):
        return str(getattr(obj, "__module__", "")).startswith("sklearn.")
    if name in STDLIB_CLASSES or name in BUILTIN_GLOBALS:
        return True
    if name in SCIPY_CLASSES:
        return str(getattr(obj, "__module__", "")).startswith("scipy.")
    if name in _NUMPY_SCALAR_CLASSES:
        return isinstance(obj, type) and issubclass(obj, np.generic)
    short = name.rsplit(".", 1)[1]
    if name.startswith("numpy."):
        return getattr(np, short, None) is obj
    if name.startswith("scipy.special."):
        import scipy.special  # noqa: PLC0415  (trusted library; imported on demand)

        return getattr(scipy.special, short, None) is obj
    return False


def _verify(name, obj, user_trusted, is_global):
    """Step 2 for a resolved object; raises unless it is what its name claims."""
    if not _user_trusts(name, user_trusted, is_global) and not _defined_in_trusted_library(name, obj):
        raise UntrustedTypeError([name])
    if isinstance(obj, np.ufunc):
        return  # ufuncs carry no __module__; the lookup found this very object at `name`
    if isinstance(obj, enum.Enum):
        canonical = f"{_canonical(type(obj))}.{obj.name}"
        if canonical != name:
            raise InvalidObjectError(f"{name!r} resolves to the enum member {canonical!r}")
        return
    if _canonical(obj) != name:
        raise InvalidObjectError(
            f"{name!r} resolves to {_canonical(obj)!r}: ark loads objects only by the name "
            f"they are defined under")


class Resolver:
    """Resolves names to classes and globals, with the trust check; caches per name."""

    def __init__(self, trusted=()):
        self.trusted = frozenset(trusted or ())
        self._classes = {}
        self._globals = {}

    def resolve_class(self, name):
        cls = self._classes.get(name)
        if cls is None:
            if is_forbidden(name) or not (trusted_by_default(name, False) or name in self.trusted):
                raise UntrustedTypeError([name])
            _, cls = _lookup(name)
            if not isinstance(cls, type):
                raise InvalidObjectError(f"{name!r} is an object node's type but not a class")
            _verify(name, cls, self.trusted, False)
            self._classes[name] = cls
        return cls

    def resolve_global(self, state):
        obj = self._globals.get(state)
        if obj is None:
            name = global_name(state)
            if is_forbidden(name) or not (trusted_by_default(name, True)
                                          or _user_trusts(name, self.trusted, True)):
                raise UntrustedTypeError([name])
            module_name, qualname = state.split(":")
            _, obj = _lookup(name, module_name, qualname)
            _verify(name, obj, self.trusted, True)
            self._globals[state] = obj
        return obj
