"""Validation samples: rows stored with a model, and the outputs it gave on them.

`capture(estimator, data)` runs the estimator's prediction methods on `data`
and returns `(spec, arrays)`: `spec` is plain JSON describing the input and
each output, referring to entries of `arrays` (numpy arrays of non-object
dtypes, suitable as aux blobs) by position. `check(estimator, spec, arrays)`
rebuilds the input, recomputes every stored method on the loaded estimator and
raises `ValidationError` at the first one that does not reproduce.

Inputs: numpy arrays (any dtype; object arrays of str/int/float/bool/None),
lists (rebuilt as lists), pandas DataFrames and Series (column by column, with
names and dtypes: numeric, object, category, and pandas' string/nullable
dtypes), scipy.sparse matrices. The index of a DataFrame is not stored: it is
rebuilt as a RangeIndex (scikit-learn ignores it).

Methods: predict, predict_proba, decision_function, transform, score_samples:
those the estimator has and that succeed on the data twice with the same
result. A method that fails, or returns different results on two calls (it
draws random numbers), is left out and named under spec["skipped"].

The spec comes from the file, so check() treats it as hostile: only the five
methods above are ever called, every array position is range-checked, sizes
are bounded, and a malformed spec raises InvalidObjectError instead of
allocating or calling anything.

Comparison policy (docs/METADATA.md, "Validation"):
- labels, integers, booleans, strings: exactly equal;
- floats: NaN and infinities at the same places, and finite values within
  `rtol * scale`, where scale is the largest |expected| value of the column.
  rtol is 1e-12 when the recorded environment (scikit-learn, numpy, scipy,
  Python versions, machine) equals the current one, else 1e-7 (at least 4
  ulp of the output's dtype). The tight tolerance accepts only summation-order
  noise (threaded forests, another BLAS kernel); a wrongly rebuilt model moves
  outputs by far more.
"""
import math
import platform
import warnings

import numpy as np

from .errors import InvalidObjectError
from .errors import ValidationError

SPEC_VERSION = 1
METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")
RTOL_SAME_ENVIRONMENT = 1e-12
RTOL_OTHER_ENVIRONMENT = 1e-7
# Bound on elements that a spec alone (without an array of that size in the
# file) can make check() allocate: a hostile shape must not exhaust memory.
MAX_ELEMENTS = 10_000_000

# Per-element type codes of object vectors (see _encode_objects).
_STR, _INT, _FLOAT, _BOOL, _NONE, _NAN, _NA = range(7)
_PART_DTYPES = {_STR: None, _INT: np.int64, _FLOAT: np.float64, _BOOL: np.bool_}
_PART_NAMES = {_STR: "str", _INT: "int", _FLOAT: "float", _BOOL: "bool"}


def _environment():
    import scipy
    import sklearn

    return {
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


class _Arrays:
    """Collects the arrays of a spec; entries are referred to by position."""

    def __init__(self):
        self.items = []

    def add(self, array):
        array = np.ascontiguousarray(array)
        if array.dtype.kind == "O":
            raise AssertionError("object arrays go through _encode_objects")
        self.items.append(array)
        return len(self.items) - 1


# ---------------------------------------------------------------- object vectors

def _is_pd_na(value):
    return type(value).__name__ == "NAType"


def _type_code(value):
    if value is None:
        return _NONE
    if isinstance(value, str):
        return _STR
    if isinstance(value, (bool, np.bool_)):
        return _BOOL
    if isinstance(value, (int, np.integer)):
        return _INT
    if isinstance(value, (float, np.floating)):
        return _NAN if math.isnan(value) else _FLOAT
    if _is_pd_na(value):
        return _NA
    raise TypeError(
        f"validation data holds a value of type {type(value).__module__}.{type(value).__qualname__} "
        f"({value!r:.60}); ark stores str, int, float, bool and missing values (None, NaN, pd.NA). "
        f"Convert the column, or pass validation data without it."
    )


def _encode_objects(values, arrays):
    """Object array (any shape) -> spec. Each element keeps its Python type:
    a vector of type codes plus one compact array per type present."""
    flat = values.ravel(order="C")
    codes = np.fromiter((_type_code(v) for v in flat), dtype=np.int8, count=flat.size)
    spec = {"encoding": "objects", "shape": list(values.shape), "parts": {}}
    present = np.unique(codes).tolist()
    if len(present) == 1:
        spec["all"] = int(present[0])  # a single type: no code vector needed
    else:
        spec["codes"] = arrays.add(codes)
    for code, dtype in _PART_DTYPES.items():
        selected = [flat[i] for i in np.flatnonzero(codes == code)]
        if not selected:
            continue
        if code == _STR:
            part = np.array([str(v) for v in selected], dtype=str)
        elif code == _INT:
            try:
                part = np.array([int(v) for v in selected], dtype=np.int64)
            except OverflowError:
                raise TypeError("validation data holds an integer outside int64") from None
        else:
            part = np.array(selected, dtype=dtype)
        spec["parts"][_PART_NAMES[code]] = arrays.add(part)
    return spec


def _decode_objects(spec, arrays):
    shape = _shape(spec["shape"])
    size = int(np.prod(shape, dtype=np.int64))
    if "codes" in spec:
        codes = _array(arrays, spec["codes"]).reshape(-1)
        if codes.size != size or codes.dtype != np.int8:
            raise InvalidObjectError("validation: type codes do not match the shape")
    else:
        if spec["all"] not in range(7):
            raise InvalidObjectError("validation: unknown type code")
        codes = np.full(size, spec["all"], dtype=np.int8)
    out = np.empty(size, dtype=object)
    for code, name in _PART_NAMES.items():
        selected = codes == code
        part = _array(arrays, spec["parts"][name]).reshape(-1) if name in spec["parts"] else np.empty(0)
        if part.size != np.count_nonzero(selected):
            raise InvalidObjectError(f"validation: {name} values do not match the type codes")
        if part.size:
            # tolist() turns numpy scalars into the Python str/int/float/bool stored.
            out[selected] = _object_vector(part.tolist())
    out[codes == _NONE] = None
    out[codes == _NAN] = float("nan")
    if np.any(codes == _NA):
        import pandas as pd

        out[codes == _NA] = pd.NA
    return out.reshape(shape)


def _array(arrays, index):
    if type(index) is not int or not 0 <= index < len(arrays):
        raise InvalidObjectError(f"validation: array position {index!r} out of range")
    return arrays[index]


def _shape(shape):
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise InvalidObjectError(f"validation: bad shape {shape!r}")
    if int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
        raise InvalidObjectError(f"validation: shape {shape} exceeds {MAX_ELEMENTS} elements")
    return tuple(shape)


def _object_vector(items):
    vector = np.empty(len(items), dtype=object)
    vector[:] = items
    return vector


# ---------------------------------------------------------------- values (inputs and outputs)

def _is_pandas(value, name):
    return type(value).__module__.startswith("pandas") and type(value).__name__ == name


def _column_name(name):
    if isinstance(name, (str, int, float, bool)) or name is None:
        return name.item() if hasattr(name, "item") else name
    if isinstance(name, np.integer):
        return int(name)
    raise TypeError(f"validation data: column name {name!r} is not a str or int")


def _encode_column(series, arrays):
    import pandas as pd

    dtype = series.dtype
    spec = {"dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        spec["categories"] = _encode_value(categories.to_numpy(), arrays)
        spec["categories_dtype"] = str(categories.dtype)
        spec["codes"] = arrays.add(series.cat.codes.to_numpy())
        spec["ordered"] = bool(dtype.ordered)
    elif isinstance(dtype, np.dtype) and dtype.kind != "O":
        spec["values"] = arrays.add(series.to_numpy())
    else:  # object, string, nullable Int64/boolean/Float64...
        spec["values"] = _encode_objects(series.to_numpy(dtype=object), arrays)
    return spec


def _decode_column(spec, arrays, name):
    import pandas as pd

    if "categories" in spec:
        categories = pd.Index(_decode_value(spec["categories"], arrays), dtype=spec["categories_dtype"])
        values = pd.Categorical.from_codes(
            np.array(_array(arrays, spec["codes"])), categories=categories, ordered=bool(spec["ordered"])
        )
        return pd.Series(values, name=name)
    values = spec["values"]
    if isinstance(values, int):
        return pd.Series(np.array(_array(arrays, values)), name=name)  # a writable copy
    objects = _decode_objects(values, arrays)
    if spec["dtype"] == "object":
        return pd.Series(objects, name=name, dtype=object)
    return pd.Series(pd.array(objects, dtype=spec["dtype"]), name=name)


def _encode_value(value, arrays):
    """Any supported input or output -> JSON spec (arrays appended to `arrays`)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return {"kind": "ndarray", "objects": _encode_objects(value, arrays)}
        return {"kind": "ndarray", "array": arrays.add(value)}
    if isinstance(value, list):
        if value and all(isinstance(item, np.ndarray) for item in value):
            # multi-output predict_proba: a list of per-output arrays
            return {"kind": "list_of", "items": [_encode_value(item, arrays) for item in value]}
        objects = np.empty(0, dtype=object) if not value else np.array(value, dtype=object)
        return {"kind": "list", "objects": _encode_objects(objects, arrays)}
    if _is_pandas(value, "DataFrame"):
        columns = []
        for position, name in enumerate(value.columns):
            column = _encode_column(value.iloc[:, position], arrays)
            column["name"] = _column_name(name)
            columns.append(column)
        return {"kind": "DataFrame", "n_rows": int(value.shape[0]), "columns": columns}
    if _is_pandas(value, "Series"):
        column = _encode_column(value, arrays)
        column["name"] = _column_name(value.name)
        return {"kind": "Series", "column": column}
    if type(value).__module__.startswith("scipy.sparse"):
        matrix = value.tocsr()
        return {
            "kind": "sparse",
            "format": "csr",
            "class": type(value).__name__,
            "shape": list(matrix.shape),
            "data": arrays.add(matrix.data),
            "indices": arrays.add(matrix.indices),
            "indptr": arrays.add(matrix.indptr),
        }
    if isinstance(value, (np.generic, int, float, bool)):
        return {"kind": "ndarray", "array": arrays.add(np.asarray(value))}
    raise TypeError(f"cannot store a value of type {type(value).__module__}.{type(value).__qualname__}")


def _decode_value(spec, arrays):
    kind = spec["kind"]
    if kind == "ndarray":
        if "objects" in spec:
            return _decode_objects(spec["objects"], arrays)
        return np.array(_array(arrays, spec["array"]))  # a writable copy; the file's view is read-only
    if kind == "list":
        return _decode_objects(spec["objects"], arrays).tolist()
    if kind == "list_of":
        return [_decode_value(item, arrays) for item in spec["items"]]
    if kind == "DataFrame":
        import pandas as pd

        columns = {}
        names = [column["name"] for column in spec["columns"]]
        series = [_decode_column(column, arrays, column["name"]) for column in spec["columns"]]
        if len(set(map(repr, names))) == len(names):
            columns = dict(zip(names, series))
            return pd.DataFrame(columns, index=pd.RangeIndex(_shape([spec["n_rows"]])[0]))
        frame = pd.concat(series, axis=1)  # duplicate column names
        frame.columns = names
        return frame
    if kind == "Series":
        return _decode_column(spec["column"], arrays, spec["column"]["name"])
    if kind == "sparse":
        import scipy.sparse as sp

        parts = [np.array(_array(arrays, spec[key])) for key in ("data", "indices", "indptr")]
        matrix = sp.csr_matrix(tuple(parts), shape=_shape(spec["shape"]))
        matrix.check_format(full_check=True)  # indices in range before anything reads them
        if spec.get("class", "").endswith("_array") and hasattr(sp, "csr_array"):
            return sp.csr_array(matrix)
        return matrix
    raise ValueError(f"unknown validation value kind {kind!r}")


# ---------------------------------------------------------------- comparison

def _dense(value):
    """An output as something np.asarray understands, for comparison."""
    if type(value).__module__.startswith("scipy.sparse"):
        return value.toarray()
    if _is_pandas(value, "DataFrame") or _is_pandas(value, "Series"):
        return value.to_numpy()
    return value


def _differing_rows(mask):
    if mask.ndim == 0:
        return int(mask)
    return int(np.count_nonzero(mask.reshape(mask.shape[0], -1).any(axis=1))) if mask.size else 0


def _first_index(mask):
    index = np.argwhere(mask)[0]
    return tuple(int(i) for i in index)


def _objects_equal(expected, actual):
    """Elementwise equality of object arrays; NaN equals NaN, None equals None."""
    flat_e, flat_a = expected.ravel(), actual.ravel()
    same = np.empty(flat_e.size, dtype=bool)
    for i, (e, a) in enumerate(zip(flat_e, flat_a)):
        if isinstance(e, float) and isinstance(a, float) and math.isnan(e) and math.isnan(a):
            same[i] = True
        else:
            try:
                same[i] = bool(e == a)
            except Exception:
                same[i] = False
    return same.reshape(expected.shape)


def _compare(method, expected, actual, rtol):
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            raise ValidationError(method, None, f"expected a list of {len(expected)} outputs, got {type(actual).__name__}.")
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(f"{method}[{i}]", e, a, rtol)
        return
    if _is_pandas(expected, "DataFrame"):
        if not _is_pandas(actual, "DataFrame"):
            raise ValidationError(method, None, f"expected a DataFrame, got {type(actual).__name__}.")
        if list(expected.columns) != list(actual.columns):
            raise ValidationError(method, None, f"columns {list(actual.columns)} instead of {list(expected.columns)}.")
    expected = np.asarray(_dense(expected))
    try:
        actual = np.asarray(_dense(actual))
    except Exception as error:
        raise ValidationError(method, None, f"the output cannot be read as an array ({error}).") from None
    if expected.shape != actual.shape:
        raise ValidationError(method, None, f"output shape {actual.shape} instead of {expected.shape}.")
    floats = "fc"
    if expected.dtype.kind in floats and actual.dtype.kind in floats:
        _compare_floats(method, expected, actual, rtol)
        return
    if expected.dtype.kind in "biu" and actual.dtype.kind in "biu":
        same = expected == actual
    else:
        same = _objects_equal(expected.astype(object), actual.astype(object))
    if not same.all():
        where = _first_index(~same)
        raise ValidationError(
            method,
            None,
            f"{_differing_rows(~same)} of {len(expected)} rows differ "
            f"(first at {where}: expected {expected[where]!r}, got {actual[where]!r}).",
        )


def _compare_floats(method, expected, actual, rtol):
    rtol = max(rtol, 4 * float(np.finfo(actual.dtype).eps), 4 * float(np.finfo(expected.dtype).eps))
    e_nan, a_nan = np.isnan(expected), np.isnan(actual)
    e_fin, a_fin = np.isfinite(expected), np.isfinite(actual)
    # NaN where NaN was, and the same infinities where they were.
    special = (e_nan != a_nan) | (e_fin != a_fin) | (~e_fin & ~e_nan & (expected != actual))
    if special.any():
        where = _first_index(special)
        raise ValidationError(
            method,
            math.inf,
            f"{_differing_rows(special)} of {len(expected)} rows differ in NaN or infinite values "
            f"(first at {where}: expected {expected[where]!r}, got {actual[where]!r}).",
        )
    both = e_fin & a_fin
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.where(both, np.abs(expected - actual), 0.0)
        magnitude = np.where(e_fin, np.abs(expected), 0.0)
    if not difference.any():
        return
    # Scale: the largest |expected| of each column (of the whole output for 1-d).
    scale = magnitude.max(axis=0, keepdims=True) if magnitude.ndim else magnitude
    bad = difference > rtol * scale
    if bad.any():
        largest = float(difference.max())
        where = _first_index(difference == largest)
        raise ValidationError(
            method,
            largest,
            f"{_differing_rows(bad)} of {len(expected)} rows differ beyond the tolerance "
            f"(rtol {rtol:g} of each column's largest value; largest difference at {where}: "
            f"expected {expected[where]!r}, got {actual[where]!r}).",
        )


def _same_result(first, second):
    try:
        _compare("", first, second, RTOL_SAME_ENVIRONMENT)
        return True
    except ValidationError:
        return False


# ---------------------------------------------------------------- public API

def capture(estimator, data):
    """(spec, arrays) for `data` and the outputs `estimator` gives on it.

    Raises TypeError when `data` holds values ark cannot store.
    """
    arrays = _Arrays()
    spec = {
        "version": SPEC_VERSION,
        "environment": _environment(),
        "input": _encode_value(data, arrays),
        "outputs": {},
        "skipped": {},
    }
    for method in METHODS:
        if not hasattr(estimator, method):
            continue
        function = getattr(estimator, method)
        try:
            first = function(data)
            second = function(data)
        except Exception as error:  # the method does not apply to this model or data
            spec["skipped"][method] = f"{type(error).__name__}: {error}"[:300]
            continue
        if not _same_result(first, second):
            spec["skipped"][method] = "not deterministic: two calls gave different outputs"
            continue
        try:
            spec["outputs"][method] = _encode_value(first, arrays)
        except TypeError as error:
            spec["skipped"][method] = f"output not storable: {error}"[:300]
    return spec, arrays.items


def _decode(spec, arrays):
    """_decode_value for a spec read from a file: any malformation -> InvalidObjectError."""
    try:
        return _decode_value(spec, arrays)
    except InvalidObjectError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise InvalidObjectError(f"validation: malformed section ({type(error).__name__}: {error})") from None


def rebuild_input(spec, arrays):
    """The stored validation rows, rebuilt with their original types."""
    if not isinstance(spec, dict):
        raise InvalidObjectError("validation: the spec is not an object")
    return _decode(spec.get("input"), arrays)


def tolerance(spec):
    """The rtol that check() applies to float outputs of this spec."""
    return RTOL_SAME_ENVIRONMENT if spec.get("environment") == _environment() else RTOL_OTHER_ENVIRONMENT


def check(estimator, spec, arrays):
    """Recomputes every stored output on `estimator`; raises ValidationError
    for the first method whose outputs differ (see the module docstring)."""
    data = rebuild_input(spec, arrays)
    rtol = tolerance(spec)
    outputs = spec.get("outputs", {})
    if not isinstance(outputs, dict):
        raise InvalidObjectError("validation: outputs is not an object")
    for method, output_spec in outputs.items():
        if method not in METHODS:  # a name from the file: never call anything else
            raise InvalidObjectError(f"validation: {method!r} is not a prediction method")
        function = getattr(estimator, method, None)
        if function is None:
            raise ValidationError(method, None, f"the loaded model has no method {method}.")
        expected = _decode(output_spec, arrays)
        try:
            with warnings.catch_warnings():
                # Whatever the estimator warned about was shown at dump time.
                warnings.simplefilter("ignore")
                actual = function(data)
        except Exception as error:
            raise ValidationError(method, None, f"it raised {type(error).__name__}: {error}.") from error
        _compare(method, expected, actual, rtol)
