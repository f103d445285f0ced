"""Every estimator of the ark.dump matrix (test_all_estimators: all of
scikit-learn's classifiers, regressors, transformers and clusterers) converts
from a pickle-family file and predicts identically.

Each estimator is fitted once and written in every source format (pickle
protocols 2-5, joblib plain and with every compression, cloudpickle); each
file converts and the result must give bit-identical outputs for every
prediction method. The test prints `convert: N of M estimators × formats`.
"""
import warnings

from convert_helpers import FORMATS
from test_all_estimators import LEFT_OUT, _case, _identical, _outputs, _population

import ark


def _fitted(name, cls):
    estimator, fit_args, rows = _case(name, cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(*fit_args)
    return estimator, rows, _outputs(estimator, rows)


def _convert_one(name, estimator, rows, expected, fmt, tmp_path):
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
    failures = {}
    total = 0
    for name, cls in population:
        estimator, rows, expected = _fitted(name, cls)
        for fmt in FORMATS:
            total += 1
            try:
                problem = _convert_one(name, estimator, rows, expected, fmt, tmp_path)
            except Exception as e:  # report every case, not only the first
                problem = f"{type(e).__name__}: {e}"
            if problem is not None:
                failures[f"{name} ({fmt})"] = problem
    print(f"\nconvert: {total - len(failures)} of {total} estimators × formats "
          f"({len(population)} estimators, {len(FORMATS)} formats)")
    for name, problem in sorted(failures.items()):
        print(f"  FAILED {name}: {problem}")
    assert not failures, failures
