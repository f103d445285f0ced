"""Every estimator of the ark.dump matrix (test_all_estimators: all of
scikit-learn's classifiers, regressors, transformers and clusterers) converts
from a pickle-family file and predicts identically.

Each estimator is written in one source format, the formats taken in turn
(pickle protocols 2-5, joblib plain and with every compression, cloudpickle),
so that every format meets every kind of estimator without running 174 × 11
conversions; test_convert.py crosses a smaller set with every format. The test
prints `convert: N of M estimators`.
"""
import warnings

from convert_helpers import FORMATS
from test_all_estimators import LEFT_OUT, _case, _identical, _outputs, _population

import ark


def _convert_one(name, cls, fmt, tmp_path):
    estimator, fit_args, rows = _case(name, cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(*fit_args)
    expected = _outputs(estimator, rows)
    src, dst = tmp_path / f"{name}.{fmt}", tmp_path / f"{name}.ark"
    FORMATS[fmt](estimator, src)
    result = ark.convert(src, dst)
    if result.untrusted:
        return f"untrusted names {result.untrusted}"
    loaded = ark.load(dst)
    if type(loaded) is not type(estimator):
        return f"converted to a {type(loaded)}"
    actual = _outputs(loaded, rows)
    for method, value in expected.items():
        if method not in actual or not _identical(value, actual[method]):
            return f"{method} differs"
    return None


def test_every_estimator_converts(tmp_path):
    population = [(n, c) for n, c in _population() if n not in LEFT_OUT]
    formats = list(FORMATS)
    failures = {}
    for i, (name, cls) in enumerate(population):
        fmt = formats[i % len(formats)]
        try:
            problem = _convert_one(name, cls, fmt, tmp_path)
        except Exception as e:  # report every estimator, not only the first
            problem = f"{type(e).__name__}: {e}"
        if problem is not None:
            failures[f"{name} ({fmt})"] = problem
    print(f"\nconvert: {len(population) - len(failures)} of {len(population)} estimators")
    for name, problem in sorted(failures.items()):
        print(f"  FAILED {name}: {problem}")
    assert not failures, failures
