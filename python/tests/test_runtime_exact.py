"""The native runtime (`ark predict`) against scikit-learn, on held-out rows.

Labels must be identical; tree, forest and boosting scores bit-identical;
outputs that pass through exp/log or a dot product within ULP_BOUND ulp.
Each case prints the largest difference it saw (run with -s to read them).

Needs the `ark` binary with the `predict` subcommand: $ARK_BIN (set by
ctest) or $ARK_PREDICT_BIN; skipped when neither has it.
"""
import csv
import io
import os
import subprocess

import numpy as np
import pytest

import ark

ULP_BOUND = 4


def _binary():
    for var in ("ARK_PREDICT_BIN", "ARK_BIN"):
        path = os.environ.get(var)
        if path and os.path.exists(path):
            probe = subprocess.run([path, "predict", "--help"], capture_output=True)
            if probe.returncode == 0:
                return path
    return None


ARK = _binary()
pytestmark = pytest.mark.skipif(ARK is None, reason="no ark binary with a predict subcommand")


# --- data ----------------------------------------------------------------------


def _datasets():
    from sklearn.datasets import make_classification, make_regression

    Xb, yb = make_classification(n_samples=1200, n_features=8, n_informative=5, random_state=0)
    Xm, ym = make_classification(n_samples=1200, n_features=8, n_informative=6, n_classes=4,
                                 n_clusters_per_class=1, random_state=1)
    Xr, yr = make_regression(n_samples=1200, n_features=8, noise=5.0, random_state=2)
    ym_str = np.array(["ant", "bee", "cat", "dog"], dtype=object)[ym]
    return {
        "binary": (Xb, yb),
        "multiclass": (Xm, ym),
        "multiclass_str": (Xm, ym_str),
        "regression": (Xr, yr),
        "multi_regression": (Xr, np.c_[yr, yr * 0.5 + 3]),
    }


DATA = _datasets()
TRAIN = slice(0, 900)
TEST = slice(900, None)


def _with_nan(X, rate=0.1, seed=0):
    X = X.copy()
    rng = np.random.default_rng(seed)
    X[rng.random(X.shape) < rate] = np.nan
    return X


# --- running the runtime -------------------------------------------------------------


def _write_csv(X, path, names=None):
    names = names or [f"x{i}" for i in range(X.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in X:
            f.write(",".join("nan" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def _predict(model_path, X, tmp_path, *flags, names=None):
    csv_path = tmp_path / "rows.csv"
    _write_csv(X, csv_path, names)
    out = subprocess.run([ARK, "predict", str(model_path), "--input", str(csv_path), *flags],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    return rows[0], rows[1:]


def _floats(rows):
    return np.array([[float(v) for v in r] for r in rows], dtype=np.float64)


def ulp_diff(a, b):
    """Largest distance in units in the last place between two float64 arrays."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    assert a.shape == b.shape
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return 0
    ia = a.view(np.int64).astype(object)
    ib = b.view(np.int64).astype(object)
    worst = 0
    for x, y, s in zip(ia, ib, same):
        if s:
            continue
        # map the sign-magnitude bits to a monotonic integer line
        x = x if x >= 0 else -(x & 0x7FFFFFFFFFFFFFFF)
        y = y if y >= 0 else -(y & 0x7FFFFFFFFFFFFFFF)
        worst = max(worst, abs(x - y))
    return worst


def _dump(model, tmp_path):
    path = tmp_path / "model.ark"
    ark.dump(model, str(path))
    return path


def check_labels(model, path, X, tmp_path, names=None):
    _, rows = _predict(path, X, tmp_path, names=names)
    ours = [r[0] for r in rows]
    theirs = [str(v) for v in model.predict(X)]
    assert ours == theirs


def scaled_ulp_diff(a, b, floor):
    """Largest |a - b| in ulps of max(|b|, floor): for sums that start from a
    constant computed through numpy's log (GradientBoosting's init), whose
    last-bit error is absolute, not relative to a small final value."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    scale = np.spacing(np.maximum(np.abs(b), floor))
    return int(np.ceil(np.max(np.abs(a - b) / scale)))


def _init_scale(model):
    """|init raw prediction| of a GradientBoosting classifier (None otherwise)."""
    est = model.steps[-1][1] if hasattr(model, "steps") else model
    if type(est).__name__ != "GradientBoostingClassifier":
        return None
    return float(np.max(np.abs(est._raw_predict_init(np.zeros((1, est.n_features_in_))))))


def check_scores(model, path, X, tmp_path, method, exact, names=None):
    """exact: True (bit-identical), False (within ULP_BOUND ulp), or an int
    (within that many ulp)."""
    flag = {"predict_proba": "--proba", "decision_function": "--decision", "predict": None,
            "transform": "--transform"}[method]
    _, rows = _predict(path, X, tmp_path, *([flag] if flag else []), names=names)
    ours = _floats(rows)
    theirs = np.asarray(getattr(model, method)(X), dtype=np.float64).reshape(ours.shape)
    ulps = ulp_diff(ours, theirs)
    floor = _init_scale(model)
    if floor is not None and method != "predict_proba" and ulps:
        # GradientBoosting's raw scores start from np.log of the class priors;
        # numpy's SIMD log is not glibc's, so the start may differ in its last
        # bit. Everything after it is exact: measure against that scale.
        ulps = scaled_ulp_diff(ours, theirs, floor)
        print(f"  {type(model).__name__}.{method}: max {ulps} ulp of the init scale {floor:.3g}")
        assert ulps <= ULP_BOUND
        return ulps
    print(f"  {type(model).__name__}.{method}: max {ulps} ulp")
    bound = 0 if exact is True else ULP_BOUND if exact is False else exact
    assert ulps <= bound, f"{method} differs by {ulps} ulp (bound {bound})"
    return ulps


# --- cases ----------------------------------------------------------------------------


def _classifiers():
    from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                                  HistGradientBoostingClassifier, RandomForestClassifier)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    # (id, estimator factory, datasets, {method: exact?})
    trees = {"predict_proba": True}
    return [
        ("tree", lambda: DecisionTreeClassifier(random_state=0), ["binary", "multiclass_str"], trees),
        ("tree_depth3", lambda: DecisionTreeClassifier(max_depth=3, random_state=0), ["multiclass"], trees),
        ("extra_tree", lambda: ExtraTreeClassifier(random_state=0), ["binary"], trees),
        ("forest", lambda: RandomForestClassifier(n_estimators=30, random_state=0),
         ["binary", "multiclass", "multiclass_str"], trees),
        ("extra_trees", lambda: ExtraTreesClassifier(n_estimators=30, random_state=0),
         ["binary", "multiclass"], trees),
        ("gb", lambda: GradientBoostingClassifier(n_estimators=30, random_state=0),
         ["binary"], {"decision_function": True, "predict_proba": False}),
        # Multinomial: init = np.log(priors), proba = exp(raw - logsumexp(raw)),
        # all through numpy's SIMD exp/log, which differ from glibc's in the last
        # bit; a small probability magnifies that (relative error of exp(x) is
        # the absolute error of x).
        ("gb", lambda: GradientBoostingClassifier(n_estimators=30, random_state=0),
         ["multiclass"], {"decision_function": True, "predict_proba": 32}),
        ("gb_exponential", lambda: GradientBoostingClassifier(loss="exponential", n_estimators=30,
                                                              random_state=0),
         ["binary"], {"decision_function": True, "predict_proba": False}),
        ("hgb", lambda: HistGradientBoostingClassifier(max_iter=40, random_state=0),
         ["binary", "multiclass", "multiclass_str"], {"decision_function": True, "predict_proba": False}),
        ("logreg", lambda: LogisticRegression(max_iter=1000), ["binary", "multiclass"],
         {"decision_function": False, "predict_proba": False}),
        ("logreg_ovr", lambda: LogisticRegression(multi_class="ovr", max_iter=1000), ["multiclass"],
         {"decision_function": False, "predict_proba": False}),
        ("scaler_logreg", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
         ["binary", "multiclass_str"], {"decision_function": False, "predict_proba": False}),
        ("minmax_forest", lambda: make_pipeline(MinMaxScaler(clip=True),
                                                RandomForestClassifier(n_estimators=10, random_state=0)),
         ["binary"], trees),
        ("robust_maxabs_gb", lambda: make_pipeline(RobustScaler(), MaxAbsScaler(),
                                                   GradientBoostingClassifier(n_estimators=10,
                                                                              random_state=0)),
         ["multiclass"], {"decision_function": True}),
    ]


def _regressors():
    from sklearn.ensemble import (ExtraTreesRegressor, GradientBoostingRegressor,
                                  HistGradientBoostingRegressor, RandomForestRegressor)
    from sklearn.linear_model import Lasso, LinearRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    return [
        ("tree_reg", lambda: DecisionTreeRegressor(random_state=0), ["regression", "multi_regression"], True),
        ("forest_reg", lambda: RandomForestRegressor(n_estimators=20, random_state=0),
         ["regression", "multi_regression"], True),
        ("extra_reg", lambda: ExtraTreesRegressor(n_estimators=20, random_state=0), ["regression"], True),
        ("gb_reg", lambda: GradientBoostingRegressor(n_estimators=30, random_state=0), ["regression"], True),
        ("gb_huber", lambda: GradientBoostingRegressor(loss="huber", n_estimators=30, random_state=0),
         ["regression"], True),
        ("hgb_reg", lambda: HistGradientBoostingRegressor(max_iter=40, random_state=0), ["regression"], True),
        ("linreg", lambda: LinearRegression(), ["regression", "multi_regression"], False),
        ("ridge", lambda: make_pipeline(StandardScaler(), Ridge()), ["regression"], False),
        ("lasso", lambda: Lasso(alpha=0.1), ["regression"], False),
    ]


CLASSIFIER_CASES = [(cid, factory, ds, methods)
                    for cid, factory, datasets, methods in _classifiers() for ds in datasets]
REGRESSOR_CASES = [(cid, factory, ds, exact)
                   for cid, factory, datasets, exact in _regressors() for ds in datasets]


@pytest.mark.parametrize("cid,factory,dataset,methods", CLASSIFIER_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CLASSIFIER_CASES])
def test_classifier(cid, factory, dataset, methods, tmp_path):
    X, y = DATA[dataset]
    model = factory().fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    check_labels(model, path, X[TEST], tmp_path)
    for method, exact in methods.items():
        check_scores(model, path, X[TEST], tmp_path, method, exact)


@pytest.mark.parametrize("cid,factory,dataset,exact", REGRESSOR_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in REGRESSOR_CASES])
def test_regressor(cid, factory, dataset, exact, tmp_path):
    X, y = DATA[dataset]
    model = factory().fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    check_scores(model, path, X[TEST], tmp_path, "predict", exact)


def test_transformer_pipeline(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    X, _ = DATA["regression"]
    model = make_pipeline(StandardScaler(), MinMaxScaler()).fit(X[TRAIN])
    path = _dump(model, tmp_path)
    check_scores(model, path, _with_nan(X[TEST]), tmp_path, "transform", True)


def test_hgb_missing_values(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = DATA["binary"]
    Xn = _with_nan(X)
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(Xn[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    check_labels(model, path, Xn[TEST], tmp_path)
    check_scores(model, path, Xn[TEST], tmp_path, "decision_function", True)


def test_hgb_categorical(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = DATA["multiclass"]
    X = X.copy()
    rng = np.random.default_rng(3)
    X[:, 0] = rng.integers(0, 12, len(X))
    X[:, 1] = (y * 3 + rng.integers(0, 3, len(X))) % 10
    X[900:950, 1] = 37        # categories never seen in fit
    X[950:960, 0] = np.nan    # missing
    X[960:970, 0] = -1        # negative: treated as missing
    model = HistGradientBoostingClassifier(max_iter=30, categorical_features=[0, 1],
                                           random_state=0).fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    check_labels(model, path, X[TEST], tmp_path)
    check_scores(model, path, X[TEST], tmp_path, "decision_function", True)


def test_thresholds_at_float32_boundaries(tmp_path):
    """Rows exactly at, and one float32/float64 step around, every threshold."""
    from sklearn.ensemble import RandomForestClassifier

    X, y = DATA["binary"]
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X[TRAIN], y[TRAIN])
    rows = []
    for est in model.estimators_:
        t = est.tree_
        for node in np.flatnonzero(t.children_left >= 0)[:20]:
            thr = t.threshold[node]
            for v in (thr, np.nextafter(thr, np.inf), np.nextafter(thr, -np.inf),
                      float(np.nextafter(np.float32(thr), np.float32(np.inf))),
                      float(np.nextafter(np.float32(thr), np.float32(-np.inf)))):
                row = X[TEST][len(rows) % 300].copy()
                row[t.feature[node]] = v
                rows.append(row)
    Xb = np.array(rows)
    path = _dump(model, tmp_path)
    check_labels(model, path, Xb, tmp_path)
    check_scores(model, path, Xb, tmp_path, "predict_proba", True)


def test_columns_matched_by_name(tmp_path):
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    X, y = DATA["binary"]
    names = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=names)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(df[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    # Columns shuffled in the file: matched by name, not position.
    order = list(reversed(range(X.shape[1])))
    _, rows = _predict(path, X[TEST][:, order], tmp_path, "--proba",
                       names=[names[i] for i in order])
    assert ulp_diff(_floats(rows), model.predict_proba(df[TEST])) == 0


def test_errors_name_column_and_row(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    X, y = DATA["binary"]
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    Xn = X[TEST][:5].copy()
    Xn[3, 2] = np.nan
    csv_path = tmp_path / "bad.csv"
    _write_csv(Xn, csv_path)
    out = subprocess.run([ARK, "predict", str(path), "--input", str(csv_path)],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "column 'x2', row 4" in out.stderr
    _write_csv(X[TEST][:5, :7], csv_path)
    out = subprocess.run([ARK, "predict", str(path), "--input", str(csv_path)],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "columns" in out.stderr


def test_unsupported_estimator_is_a_clear_error(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = DATA["binary"]
    path = _dump(KNeighborsClassifier().fit(X[TRAIN], y[TRAIN]), tmp_path)
    csv_path = tmp_path / "rows.csv"
    _write_csv(X[TEST][:3], csv_path)
    out = subprocess.run([ARK, "predict", str(path), "--input", str(csv_path)],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "KNeighborsClassifier" in out.stderr and "ark.load" in out.stderr
