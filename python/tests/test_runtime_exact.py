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
    from sklearn.linear_model import (LogisticRegression, PassiveAggressiveClassifier, Perceptron,
                                      RidgeClassifier, RidgeClassifierCV, SGDClassifier)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
    from sklearn.svm import LinearSVC
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
        ("ridge_clf", lambda: RidgeClassifier(), ["binary", "multiclass_str"],
         {"decision_function": False}),
        ("ridge_clf_cv", lambda: RidgeClassifierCV(), ["multiclass"], {"decision_function": False}),
        ("sgd_hinge", lambda: make_pipeline(StandardScaler(), SGDClassifier(random_state=0)),
         ["binary", "multiclass"], {"decision_function": False}),
        ("sgd_log", lambda: make_pipeline(StandardScaler(),
                                          SGDClassifier(loss="log_loss", random_state=0)),
         ["binary", "multiclass"], {"decision_function": False, "predict_proba": False}),
        ("sgd_modified_huber", lambda: make_pipeline(
            StandardScaler(), SGDClassifier(loss="modified_huber", random_state=0)),
         ["binary", "multiclass"], {"decision_function": False, "predict_proba": False}),
        ("linear_svc", lambda: make_pipeline(StandardScaler(), LinearSVC(random_state=0)),
         ["binary", "multiclass_str"], {"decision_function": False}),
        ("perceptron", lambda: Perceptron(random_state=0), ["multiclass"],
         {"decision_function": False}),
        ("passive_aggressive", lambda: PassiveAggressiveClassifier(random_state=0), ["binary"],
         {"decision_function": False}),
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
    from sklearn.linear_model import (BayesianRidge, ElasticNet, HuberRegressor, Lasso,
                                      LinearRegression, Ridge, RidgeCV, SGDRegressor)
    from sklearn.svm import LinearSVR
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
        ("lasso", lambda: Lasso(alpha=0.1), ["regression", "multi_regression"], False),
        ("ridge_multi", lambda: Ridge(alpha=2.0), ["multi_regression"], False),
        ("ridge_cv", lambda: RidgeCV(), ["regression"], False),
        ("elastic_net", lambda: ElasticNet(alpha=0.1, l1_ratio=0.3),
         ["regression", "multi_regression"], False),
        ("sgd_reg", lambda: make_pipeline(StandardScaler(), SGDRegressor(random_state=0)),
         ["regression"], False),
        ("linear_svr", lambda: make_pipeline(StandardScaler(),
                                             LinearSVR(random_state=0, max_iter=5000)),
         ["regression"], False),
        ("bayesian_ridge", lambda: BayesianRidge(), ["regression"], False),
        ("huber", lambda: make_pipeline(StandardScaler(), HuberRegressor(max_iter=500)),
         ["regression"], False),
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


# --- tables with string columns: ColumnTransformer, encoders, imputers ----------------


def _predict_df(model_path, df, tmp_path, *flags):
    csv_path = tmp_path / "rows.csv"
    df.to_csv(csv_path, index=False)
    out = subprocess.run([ARK, "predict", str(model_path), "--input", str(csv_path), *flags],
                         capture_output=True, text=True)
    return out


def _frame(n=1200, seed=0):
    """A frame as people have them: numbers with NaN, strings with NaN."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(40, 12, n).round(1),
        "income": rng.lognormal(10, 1, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille", "brest"], n,
                           p=[0.4, 0.3, 0.2, 0.07, 0.03]).astype(object),
        "plan": rng.choice(["free", "pro", "team"], n).astype(object),
        "score": rng.integers(0, 5, n).astype(float),
    })
    df.loc[rng.random(n) < 0.08, "age"] = np.nan
    df.loc[rng.random(n) < 0.08, "city"] = np.nan
    y = ((df["income"] > 25000) ^ (df["plan"] == "pro") | (df["city"] == "nice")).astype(int)
    return df, y.to_numpy()


def _check_frame(model, path, df, tmp_path, method, exact):
    flag = {"predict_proba": ["--proba"], "decision_function": ["--decision"], "predict": [],
            "transform": ["--transform"]}[method]
    out = _predict_df(path, df, tmp_path, *flag)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))[1:]
    theirs = getattr(model, method)(df)
    if hasattr(theirs, "toarray"):
        theirs = theirs.toarray()
    if method == "predict" and hasattr(model, "classes_"):
        assert [r[0] for r in rows] == [str(v) for v in theirs]
        return 0
    ours = _floats(rows)
    ulps = ulp_diff(ours, np.asarray(theirs, dtype=np.float64).reshape(ours.shape))
    print(f"  {method}: max {ulps} ulp")
    bound = 0 if exact is True else ULP_BOUND if exact is False else exact
    assert ulps <= bound
    return ulps


def _frame_cases():
    from sklearn.compose import ColumnTransformer, make_column_selector  # noqa: F401
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    num, cat = ["age", "income", "score"], ["city", "plan"]
    return [
        # The pipeline as people write it.
        ("scale_onehot_forest", lambda: make_pipeline(
            ColumnTransformer([
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
                ("cat", OneHotEncoder(handle_unknown="ignore"), cat)]),
            RandomForestClassifier(n_estimators=20, random_state=0)),
         {"predict": True, "predict_proba": True}),
        ("impute_constant_onehot_logreg", lambda: make_pipeline(
            ColumnTransformer([
                ("num", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), num),
                ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                      OneHotEncoder(handle_unknown="ignore", drop="if_binary")),
                 cat)]),
            LogisticRegression(max_iter=2000)),
         {"predict": True, "predict_proba": False, "decision_function": False}),
        ("ordinal_hgb", lambda: make_pipeline(
            ColumnTransformer([
                ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat)],
                remainder="passthrough"),
            HistGradientBoostingRegressor(max_iter=30, random_state=0)),
         {"predict": True}),
        ("most_frequent_onehot_drop_first", lambda: make_pipeline(
            ColumnTransformer([
                ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(drop="first", handle_unknown="ignore")), [2, 3]),
                ("num", SimpleImputer(strategy="mean"), slice(0, 2))],
                remainder="drop"),
            RandomForestClassifier(n_estimators=10, random_state=0)),
         {"predict": True, "predict_proba": True}),
        ("infrequent", lambda: make_pipeline(
            ColumnTransformer([
                ("cat", OneHotEncoder(min_frequency=100, handle_unknown="infrequent_if_exist"),
                 cat),
                ("num", SimpleImputer(), num)]),
            RandomForestClassifier(n_estimators=10, random_state=0)),
         {"predict_proba": True}),
        ("onehot_numeric_categories", lambda: make_pipeline(
            ColumnTransformer([
                ("score", OneHotEncoder(handle_unknown="ignore"), ["score"]),
                ("city", OneHotEncoder(handle_unknown="ignore", max_categories=3), ["city"])],
                remainder="drop"),
            LogisticRegression(max_iter=1000)),
         {"predict_proba": False}),
    ]


FRAME_CASES = _frame_cases()


@pytest.mark.parametrize("cid,factory,methods", FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_frame_pipeline(cid, factory, methods, tmp_path):
    df, y = _frame()
    if cid == "ordinal_hgb":
        y = df["income"].to_numpy() * (df["plan"] == "pro").to_numpy()
    model = factory().fit(df[:900], y[:900])
    test = df[900:].copy()
    test.iloc[0, test.columns.get_loc("city")] = "tokyo"  # never seen in fit
    test.iloc[1, test.columns.get_loc("score")] = 7.0      # never seen in fit
    path = _dump(model, tmp_path)
    for method, exact in methods.items():
        _check_frame(model, path, test, tmp_path, method, exact)


def test_column_transformer_transform(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    df, _ = _frame()
    model = ColumnTransformer([
        ("num", StandardScaler(), ["age", "income"]),
        ("ord", OrdinalEncoder(), ["plan"]),
        ("cat", OneHotEncoder(sparse_output=False), ["city"]),
        ("imp", SimpleImputer(strategy="constant", fill_value=-1.0, add_indicator=True), ["age"]),
    ], remainder="passthrough", transformer_weights={"num": 2.0}).fit(df[:900])
    path = _dump(model, tmp_path)
    _check_frame(model, path, df[900:], tmp_path, "transform", True)


def test_unknown_category_is_an_error_naming_column_and_row(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    df, y = _frame()
    df = df.dropna()
    model = make_pipeline(ColumnTransformer([("cat", OneHotEncoder(), ["city", "plan"])]),
                          RandomForestClassifier(n_estimators=5, random_state=0)).fit(df, y[df.index])
    path = _dump(model, tmp_path)
    test = df[:5].copy()
    test.iloc[3, test.columns.get_loc("plan")] = "gold"
    with pytest.raises(ValueError):
        model.predict(test)
    out = _predict_df(path, test, tmp_path)
    assert out.returncode != 0
    assert "column 'plan', row 4" in out.stderr and "'gold'" in out.stderr


def test_text_in_a_numeric_column_is_an_error(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = _frame()
    model = make_pipeline(ColumnTransformer([("num", StandardScaler(), ["income"]),
                                             ("cat", OneHotEncoder(handle_unknown="ignore"),
                                              ["plan"])]),
                          RandomForestClassifier(n_estimators=5, random_state=0)).fit(df, y)
    path = _dump(model, tmp_path)
    test = df[:5].copy().astype({"income": object})
    test.iloc[2, test.columns.get_loc("income")] = "lots"
    out = _predict_df(path, test, tmp_path)
    assert out.returncode != 0
    # The CSV reader names the line of the file (the header is line 1).
    assert "column 'income'" in out.stderr and "line 4" in out.stderr


# --- compressed files: trees in their compact form (docs/OBJECTS.md §5.1) ---------------


def _compact_tree_cases():
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    return [
        # Whole class counts: values, weights and impurity are all derived.
        ("forest", lambda: RandomForestClassifier(n_estimators=30, random_state=0), "multiclass",
         {"predict_proba": True}),
        # Fractional class weights: values stored as float64.
        ("forest_class_weight", lambda: RandomForestClassifier(
            n_estimators=10, class_weight={0: 0.3, 1: 1.7}, random_state=0), "binary",
         {"predict_proba": True}),
        # Regression trees: values and impurity stored as float64.
        ("gb", lambda: GradientBoostingClassifier(n_estimators=30, random_state=0), "binary",
         {"decision_function": True, "predict_proba": False}),
    ]


@pytest.mark.parametrize("cid,factory,dataset,methods", _compact_tree_cases(),
                         ids=[c[0] for c in _compact_tree_cases()])
def test_compact_trees_predict_exactly(cid, factory, dataset, methods, tmp_path):
    import _ark

    X, y = DATA[dataset]
    model = factory().fit(X[TRAIN], y[TRAIN])
    path = tmp_path / "model.ark"
    ark.dump(model, str(path), compress="zstd")

    states = []

    def visit(v):
        if isinstance(v, _ark.Object):
            if v.type_name == "sklearn.tree._tree.Tree":
                states.append(v.state[1])
            visit(v.state)
        elif isinstance(v, (list, tuple)):
            for x in v:
                visit(x)
        elif isinstance(v, dict):
            for x in v.values():
                visit(x)

    visit(_ark.Reader(path.read_bytes()).root())
    assert states and all(s.get("encoding") == "ark.tree.v1" for s in states)

    check_labels(model, path, X[TEST], tmp_path)
    for method, exact in methods.items():
        check_scores(model, path, X[TEST], tmp_path, method, exact)


# --- numeric transformers ----------------------------------------------------------------


def _transformer_cases():
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import (Binarizer, FunctionTransformer, KBinsDiscretizer,
                                       MinMaxScaler, Normalizer, PolynomialFeatures,
                                       StandardScaler)

    # (id, factory, {method: exact}); the final step is a transformer unless noted.
    return [
        ("log1p", lambda: make_pipeline(MinMaxScaler(), FunctionTransformer(np.log1p)), False),
        ("sqrt_abs", lambda: make_pipeline(FunctionTransformer(np.abs),
                                           FunctionTransformer(np.sqrt)), True),
        ("exp", lambda: make_pipeline(StandardScaler(), FunctionTransformer(np.exp)), False),
        ("identity", lambda: FunctionTransformer(), True),
        ("binarizer", lambda: Binarizer(threshold=0.1), True),
        ("poly2", lambda: PolynomialFeatures(degree=2), True),
        ("poly3_interaction", lambda: PolynomialFeatures(degree=3, interaction_only=True,
                                                         include_bias=False), True),
        ("kbins_ordinal", lambda: KBinsDiscretizer(n_bins=5, encode="ordinal"), True),
        ("kbins_onehot_uniform", lambda: KBinsDiscretizer(n_bins=4, strategy="uniform"), True),
        ("kbins_kmeans", lambda: KBinsDiscretizer(n_bins=3, encode="onehot-dense",
                                                  strategy="kmeans"), True),
        ("variance_threshold", lambda: make_pipeline(Binarizer(threshold=1.5),
                                                     VarianceThreshold(0.05)), True),
        ("feature_union", lambda: FeatureUnion([("a", StandardScaler()), ("b", "passthrough"),
                                                ("c", "drop"), ("d", Binarizer())],
                                               transformer_weights={"a": 0.5}), True),
    ]


TRANSFORMER_CASES = _transformer_cases()


@pytest.mark.parametrize("cid,factory,exact", TRANSFORMER_CASES,
                         ids=[c[0] for c in TRANSFORMER_CASES])
def test_transformer(cid, factory, exact, tmp_path):
    X, y = DATA["regression"]
    model = factory().fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    _, rows = _predict(path, X[TEST], tmp_path, "--transform")
    ours = _floats(rows)
    theirs = model.transform(X[TEST])
    theirs = np.asarray(theirs.toarray() if hasattr(theirs, "toarray") else theirs, dtype=np.float64)
    ulps = ulp_diff(ours, theirs)
    print(f"  {cid}: max {ulps} ulp")
    assert ulps <= (0 if exact is True else ULP_BOUND)


def test_projections_and_selectors_before_an_estimator(tmp_path):
    """PCA / TruncatedSVD sum in feature order, BLAS may not: the bound is in
    ulps of the largest output of the row (an absolute error of a dot product)."""
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    X, y = DATA["binary"]
    for model, exact_labels in [
        (make_pipeline(PCA(n_components=5), LogisticRegression(max_iter=1000)), False),
        (make_pipeline(PCA(n_components=4, whiten=True), LogisticRegression(max_iter=1000)), False),
        (make_pipeline(TruncatedSVD(n_components=4, random_state=0),
                       LogisticRegression(max_iter=1000)), False),
        (make_pipeline(SelectKBest(f_classif, k=4),
                       RandomForestClassifier(n_estimators=10, random_state=0)), True),
        (make_pipeline(Normalizer(), LogisticRegression(max_iter=1000)), False),
        (make_pipeline(Normalizer("l1"), LogisticRegression(max_iter=1000)), False),
        (make_pipeline(Normalizer("max"), LogisticRegression(max_iter=1000)), False),
    ]:
        model.fit(X[TRAIN], y[TRAIN])
        path = _dump(model, tmp_path)
        head = model[:-1]
        _, rows = _predict(path, X[TEST], tmp_path, "--proba")
        ours = _floats(rows)
        theirs = model.predict_proba(X[TEST])
        if exact_labels:
            assert ulp_diff(ours, theirs) == 0
            check_labels(model, path, X[TEST], tmp_path)
            continue
        # The transform alone, against the row's scale.
        tpath = _dump(head, tmp_path)
        _, trows = _predict(tpath, X[TEST], tmp_path, "--transform")
        t_ours, t_theirs = _floats(trows), head.transform(X[TEST])
        scale = np.spacing(np.max(np.abs(t_theirs), axis=1, keepdims=True))
        worst = int(np.ceil(np.max(np.abs(t_ours - t_theirs) / scale)))
        print(f"  {type(head[-1]).__name__}: max {worst} ulp of the row's largest output")
        assert worst <= ULP_BOUND


@pytest.mark.parametrize("params", [{}, {"max_features": 0.5, "max_samples": 100},
                                    {"contamination": 0.1, "n_estimators": 30}])
def test_isolation_forest(params, tmp_path):
    """Path lengths are exact; the score goes through log and pow (ULP_BOUND)."""
    from sklearn.ensemble import IsolationForest

    X, _ = DATA["regression"]
    model = IsolationForest(random_state=0, **params).fit(X[TRAIN])
    path = _dump(model, tmp_path)
    _, rows = _predict(path, X[TEST], tmp_path)
    assert (_floats(rows).ravel() == model.predict(X[TEST])).all()
    _, rows = _predict(path, X[TEST], tmp_path, "--decision")
    ours = _floats(rows).ravel()
    theirs = model.decision_function(X[TEST])
    # decision = score_samples - offset_ cancels: measure in ulps of |offset_|.
    ulps = scaled_ulp_diff(ours, theirs, abs(model.offset_))
    print(f"  IsolationForest.decision_function: max {ulps} ulp of |offset_|")
    assert ulps <= ULP_BOUND


def test_column_selectors_remainder_estimator_and_json(tmp_path):
    """make_column_selector, boolean masks, a fitted remainder, JSON records."""
    import json

    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = _frame()
    model = make_pipeline(
        ColumnTransformer([
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")),
             make_column_selector(dtype_include=object)),
            ("num", SimpleImputer(strategy="median"),
             np.array([True, False, False, False, False]))],
            remainder=StandardScaler()),
        RandomForestClassifier(n_estimators=10, random_state=0)).fit(df[:900], y[:900])
    path = _dump(model, tmp_path)
    test = df[900:].copy()
    _check_frame(model, path, test, tmp_path, "predict_proba", True)
    # The same rows as JSON records (None for missing values).
    records = json.loads(test.to_json(orient="records"))
    json_path = tmp_path / "rows.json"
    json_path.write_text(json.dumps(records))
    out = subprocess.run([ARK, "predict", str(path), "--input", str(json_path), "--proba"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))[1:]
    assert ulp_diff(_floats(rows), model.predict_proba(test)) == 0


def test_numeric_unknown_category_is_an_error(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    df, y = _frame()
    model = make_pipeline(ColumnTransformer([("s", OneHotEncoder(), ["score"])]),
                          LogisticRegression()).fit(df, y)
    path = _dump(model, tmp_path)
    test = df[:4].copy()
    test.iloc[1, test.columns.get_loc("score")] = 9.0
    out = _predict_df(path, test, tmp_path)
    assert out.returncode != 0
    assert "column 'score', row 2" in out.stderr and "9" in out.stderr


@pytest.mark.parametrize("kind", ["forest", "tree", "extra_trees"])
def test_multi_output_classification(kind, tmp_path):
    """predict gives one label per output; predict_proba the hstack of the
    per-output arrays scikit-learn returns as a list."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = DATA["multiclass"]
    Y = np.c_[y, (X[:, 0] > 0).astype(int) * 10 - 5, y % 3]
    factory = {"forest": lambda: RandomForestClassifier(n_estimators=15, random_state=0),
               "tree": lambda: DecisionTreeClassifier(random_state=0),
               "extra_trees": lambda: ExtraTreesClassifier(n_estimators=15, random_state=0)}[kind]
    model = factory().fit(X[TRAIN], Y[TRAIN])
    path = _dump(model, tmp_path)
    header, rows = _predict(path, X[TEST], tmp_path)
    assert len(header) == 3
    theirs = model.predict(X[TEST])
    assert [r for r in rows] == [[str(v) for v in row] for row in theirs]
    _, rows = _predict(path, X[TEST], tmp_path, "--proba")
    assert ulp_diff(_floats(rows), np.hstack(model.predict_proba(X[TEST]))) == 0


# --- feature selectors ------------------------------------------------------------------


def _selector_data():
    """Classification data with tied scores: three duplicated columns and a
    constant one (NaN F-score, cleaned to the lowest float by scikit-learn)."""
    X, y = DATA["multiclass"]
    X = np.c_[X, X[:, [0, 3, 5]], np.ones(len(X))]
    return X, y


def _selector_cases():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import (RFE, RFECV, GenericUnivariateSelect, SelectFdr,
                                           SelectFpr, SelectFwe, SelectKBest, SelectPercentile,
                                           chi2, f_classif, mutual_info_classif)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    cases = [("kbest_%d" % k, lambda k=k: SelectKBest(f_classif, k=k)) for k in (1, 4, 9)]
    cases += [("percentile_%s" % p, lambda p=p: SelectPercentile(f_classif, percentile=p))
              for p in (10, 25, 33.3, 50, 60, 99, 100)]
    cases += [
        ("fpr", lambda: SelectFpr(f_classif, alpha=1e-3)),
        ("fdr", lambda: SelectFdr(f_classif, alpha=0.01)),
        ("fwe", lambda: SelectFwe(f_classif, alpha=0.05)),
        ("chi2_percentile", lambda: make_pipeline(MinMaxScaler(),
                                                  SelectPercentile(chi2, percentile=40))),
        ("mutual_info_kbest", lambda: SelectKBest(mutual_info_classif, k=5)),
    ]
    cases += [("generic_%s" % mode, lambda mode=mode, param=param: GenericUnivariateSelect(
        f_classif, mode=mode, param=param))
        for mode, param in [("percentile", 30), ("k_best", 3), ("fpr", 1e-4), ("fdr", 1e-3),
                            ("fwe", 1e-2)]]
    cases += [
        ("rfe", lambda: RFE(LogisticRegression(max_iter=500), n_features_to_select=4)),
        ("rfecv", lambda: RFECV(RandomForestClassifier(n_estimators=5, random_state=0), cv=3)),
    ]
    return cases


SELECTOR_CASES = _selector_cases()


@pytest.mark.parametrize("cid,factory", SELECTOR_CASES, ids=[c[0] for c in SELECTOR_CASES])
def test_selector_transform(cid, factory, tmp_path):
    """The selected columns are exactly scikit-learn's get_support()."""
    X, y = _selector_data()
    model = factory().fit(X[TRAIN], y[TRAIN])
    path = _dump(model, tmp_path)
    _, rows = _predict(path, X[TEST], tmp_path, "--transform")
    ours = _floats(rows)
    theirs = np.asarray(model.transform(X[TEST]), dtype=np.float64)
    assert ours.shape == theirs.shape, f"{ours.shape[1]} columns selected, sklearn {theirs.shape[1]}"
    assert ulp_diff(ours, theirs) == 0


def test_rfe_predicts_with_its_estimator(tmp_path):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import RFE, RFECV
    from sklearn.linear_model import LogisticRegression

    X, y = _selector_data()
    for model, exact in [(RFE(RandomForestClassifier(n_estimators=10, random_state=0),
                              n_features_to_select=5), True),
                         (RFECV(LogisticRegression(max_iter=500), cv=3), False)]:
        model.fit(X[TRAIN], y[TRAIN])
        path = _dump(model, tmp_path)
        check_labels(model, path, X[TEST], tmp_path)
        check_scores(model, path, X[TEST], tmp_path, "predict_proba", exact)


def test_percentile_ties(tmp_path):
    """SelectPercentile's mask at ties with the percentile (numpy's linear
    interpolation, then ties kept in index order): scores_ set to small
    integers so that many tie."""
    from sklearn.feature_selection import SelectPercentile, f_classif

    rng = np.random.default_rng(3)
    checked = 0
    for n in (2, 3, 7, 10, 11):
        for percentile in (1, 20, 33, 50, 67, 90):
            X = rng.normal(size=(30, n))
            selector = SelectPercentile(f_classif, percentile=percentile).fit(X, np.arange(30) % 2)
            selector.scores_ = rng.integers(0, 3, size=n).astype(float)
            if not selector.get_support().any():
                continue  # "no feature selected" is refused natively
            path = _dump(selector, tmp_path)
            _, rows = _predict(path, X, tmp_path, "--transform")
            assert ulp_diff(_floats(rows), selector.transform(X)) == 0, (n, percentile)
            checked += 1
    assert checked > 15


def _select_from_model_cases():
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression,
                                      Ridge)
    from sklearn.svm import LinearSVC

    multi = lambda: LogisticRegression(max_iter=1000)  # noqa: E731 (coef_ of 4 rows)
    return [
        ("mean_multiclass", lambda: SelectFromModel(multi())),
        ("median_multiclass", lambda: SelectFromModel(multi(), threshold="median")),
        ("scaled_mean_l2", lambda: SelectFromModel(multi(), threshold="0.8*mean", norm_order=2)),
        ("scaled_median", lambda: SelectFromModel(multi(), threshold=" 1.1 * median")),
        ("number", lambda: SelectFromModel(multi(), threshold=0.8)),
        ("max_features", lambda: SelectFromModel(multi(), threshold=-np.inf, max_features=5)),
        ("max_features_mean", lambda: SelectFromModel(multi(), max_features=3)),
        ("l1_default", lambda: SelectFromModel(LogisticRegression(penalty="l1", C=0.05,
                                                                  solver="liblinear"))),
        ("linear_svc", lambda: SelectFromModel(LinearSVC(C=0.01, dual=False, penalty="l1"))),
        ("regression_1d", lambda: SelectFromModel(LinearRegression(), threshold="median")),
        ("lasso", lambda: SelectFromModel(Lasso(alpha=0.05))),
        ("elasticnet_l1", lambda: SelectFromModel(ElasticNet(alpha=0.05, l1_ratio=1.0))),
        ("ridge_mean", lambda: SelectFromModel(Ridge())),
    ]


SFM_CASES = _select_from_model_cases()


@pytest.mark.parametrize("cid,factory", SFM_CASES, ids=[c[0] for c in SFM_CASES])
def test_select_from_model(cid, factory, tmp_path):
    """get_support() is recomputed from coef_: the columns kept must be
    exactly scikit-learn's, on 40 features (numpy's pairwise mean)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=400, n_features=40, n_informative=8, n_classes=4,
                               n_clusters_per_class=1, random_state=5)
    model = factory().fit(X, y.astype(float) if "regression" in cid or cid in (
        "lasso", "elasticnet_l1", "ridge_mean") else y)
    assert 0 < model.get_support().sum() < X.shape[1], "a case that selects something"
    path = _dump(model, tmp_path)
    _, rows = _predict(path, X[:50], tmp_path, "--transform")
    ours = _floats(rows)
    theirs = model.transform(X[:50])
    assert ours.shape == theirs.shape, f"{ours.shape[1]} columns kept, sklearn {theirs.shape[1]}"
    assert ulp_diff(ours, theirs) == 0


def test_select_from_model_at_the_threshold(tmp_path):
    """Scores equal to the threshold are kept (scores < threshold drop):
    coef_ set so that several scores equal their mean and their median."""
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 9))
    for threshold, coef in [("mean", [1.0, -2.0, 3.0, 2.0, -2.0, 1.0, 3.0, 2.0, 2.0]),  # mean 2
                            ("median", [0.1, 0.2, -0.3, 0.3, 0.3, 7.0, -0.3, 0.0, 0.4]),
                            ("1.2*mean", [0.1] * 4 + [0.2] * 5)]:
        model = SelectFromModel(LinearRegression(), threshold=threshold).fit(X, X[:, 0])
        model.estimator_.coef_ = np.array(coef)
        path = _dump(model, tmp_path)
        _, rows = _predict(path, X, tmp_path, "--transform")
        assert _floats(rows).shape == model.transform(X).shape, threshold
        assert ulp_diff(_floats(rows), model.transform(X)) == 0


# --- SelectFromModel over tree models: feature_importances_ from the trees ------------


def _tree_importance_data():
    from sklearn.datasets import make_classification, make_regression

    # 9 features: "median" is one of the importances, a tie at the threshold.
    X9, y9 = make_classification(n_samples=1200, n_features=9, n_informative=4, n_classes=3,
                                 n_clusters_per_class=1, random_state=7)
    # 30 features: numpy's pairwise sums past their 8-way unrolled block.
    X30, y30 = make_classification(n_samples=1200, n_features=30, n_informative=6,
                                   random_state=8)
    Xr30, yr30 = make_regression(n_samples=1200, n_features=30, n_informative=8, noise=2.0,
                                 random_state=9)
    return {
        "binary": DATA["binary"],
        "multiclass": DATA["multiclass"],
        "regression": DATA["regression"],
        "multiclass9": (X9, y9),
        "binary30": (X30, y30),
        "regression30": (Xr30, yr30),
    }


TREE_IMPORTANCE_DATA = _tree_importance_data()


def _tree_importance_cases():
    from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                                  GradientBoostingRegressor, RandomForestClassifier,
                                  RandomForestRegressor, RandomTreesEmbedding)
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier

    return [
        ("tree", lambda: DecisionTreeClassifier(random_state=0), ["binary", "multiclass9"]),
        ("tree_depth3", lambda: DecisionTreeClassifier(max_depth=3, random_state=0),
         ["binary30"]),
        ("tree_regressor", lambda: DecisionTreeRegressor(max_depth=8, random_state=0),
         ["regression", "regression30"]),
        ("extra_tree", lambda: ExtraTreeClassifier(random_state=0), ["multiclass"]),
        ("forest", lambda: RandomForestClassifier(n_estimators=20, random_state=0),
         ["binary", "multiclass9", "binary30"]),
        ("forest_regressor", lambda: RandomForestRegressor(n_estimators=15, max_depth=6,
                                                           random_state=0),
         ["regression", "regression30"]),
        ("extra_trees", lambda: ExtraTreesClassifier(n_estimators=20, random_state=0),
         ["multiclass", "binary30"]),
        ("gb", lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
         ["binary", "binary30"]),
        ("gb_multiclass", lambda: GradientBoostingClassifier(n_estimators=15, random_state=0),
         ["multiclass", "multiclass9"]),
        ("gb_regressor", lambda: GradientBoostingRegressor(n_estimators=20, subsample=0.8,
                                                           random_state=0),
         ["regression", "regression30"]),
        ("random_trees_embedding", lambda: RandomTreesEmbedding(n_estimators=5, random_state=0),
         ["regression"]),
    ]


TREE_IMPORTANCE_CASES = [(cid, factory, dataset) for cid, factory, datasets in
                         _tree_importance_cases() for dataset in datasets]


def _native_support(selector, X, tmp_path, compress=None):
    """The columns `ark predict --transform` keeps, read off a probe row
    holding each column's index, and the transform of X beside it."""
    path = tmp_path / "model.ark"
    ark.dump(selector, str(path), compress=compress)
    probe = np.vstack([np.arange(X.shape[1], dtype=np.float64), X])
    _, rows = _predict(path, probe, tmp_path, "--transform")
    out = _floats(rows)
    return out[0].astype(int), out[1:]


@pytest.mark.parametrize("cid,factory,dataset", TREE_IMPORTANCE_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in TREE_IMPORTANCE_CASES])
def test_select_from_model_over_trees(cid, factory, dataset, tmp_path):
    """feature_importances_ is a property of the tree models, recomputed
    natively from the stored trees: the support must be get_support() exactly,
    for every threshold form, and with the threshold set to an importance
    itself (kept: scores < threshold drop), which a 1-ulp error would flip."""
    from sklearn.feature_selection import SelectFromModel

    X, y = TREE_IMPORTANCE_DATA[dataset]
    estimator = factory().fit(X[TRAIN], y[TRAIN])
    importances = estimator.feature_importances_
    n = X.shape[1]
    nonzero = np.sort(importances[importances > 0])
    at_importances = [float(nonzero[i]) for i in {0, len(nonzero) // 2, len(nonzero) - 1}]
    settings = [("mean", None), ("median", None), ("1.25*mean", None), (0.05, None),
                (None, None), (-np.inf, 3), ("mean", 4), (-np.inf, n // 2)]
    settings += [(t, None) for t in at_importances]
    ties = 0
    for threshold, max_features in settings:
        selector = SelectFromModel(estimator, prefit=True, threshold=threshold,
                                   max_features=max_features).fit(X[TRAIN], y[TRAIN])
        expected = selector.get_support()
        if not expected.any():
            continue  # "no feature selected" is refused natively
        kept, out = _native_support(selector, X[TEST][:40], tmp_path)
        setting = f"threshold={threshold!r}, max_features={max_features}"
        assert kept.tolist() == np.flatnonzero(expected).tolist(), setting
        assert ulp_diff(out, selector.transform(X[TEST][:40])) == 0, setting
        ties += (importances == selector.threshold_).any()
    assert ties >= len(at_importances)


@pytest.mark.parametrize("cid,factory,dataset", [
    c for c in TREE_IMPORTANCE_CASES if c[2] in ("multiclass9", "regression30")],
    ids=lambda v: v if isinstance(v, str) else "")
def test_select_from_model_over_compact_trees(cid, factory, dataset, tmp_path):
    """The same importances from trees stored in their compact form
    (compressed files, docs/OBJECTS.md §5.1): impurity and weights decoded."""
    from sklearn.feature_selection import SelectFromModel

    X, y = TREE_IMPORTANCE_DATA[dataset]
    selector = SelectFromModel(factory(), threshold="median").fit(X[TRAIN], y[TRAIN])
    kept, out = _native_support(selector, X[TEST][:40], tmp_path, compress="zstd")
    assert kept.tolist() == np.flatnonzero(selector.get_support()).tolist()
    assert ulp_diff(out, selector.transform(X[TEST][:40])) == 0


def _tree_selector_pipelines():
    from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,
                                  GradientBoostingRegressor, RandomForestClassifier,
                                  RandomForestRegressor)
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    # (id, factory, dataset, {method: exact?})
    return [
        ("forest_then_logreg", lambda: make_pipeline(
            StandardScaler(), SelectFromModel(RandomForestClassifier(n_estimators=20,
                                                                     random_state=0)),
            LogisticRegression(max_iter=1000)), "binary30", {"predict_proba": False}),
        ("gb_then_forest", lambda: make_pipeline(
            SelectFromModel(GradientBoostingClassifier(n_estimators=15, random_state=0),
                            threshold="median"),
            RandomForestClassifier(n_estimators=20, random_state=0)), "multiclass9",
         {"predict_proba": True}),
        ("tree_then_gb", lambda: make_pipeline(
            SelectFromModel(DecisionTreeClassifier(random_state=0), max_features=4),
            GradientBoostingClassifier(n_estimators=20, random_state=0)), "binary",
         {"decision_function": True}),
        ("extra_trees_then_tree", lambda: make_pipeline(
            SelectFromModel(ExtraTreesClassifier(n_estimators=20, random_state=0),
                            threshold="1.25*mean"),
            DecisionTreeClassifier(random_state=0)), "multiclass", {"predict_proba": True}),
        ("gb_regressor_then_forest", lambda: make_pipeline(
            SelectFromModel(GradientBoostingRegressor(n_estimators=20, random_state=0),
                            threshold=0.02),
            RandomForestRegressor(n_estimators=15, random_state=0)), "regression30",
         {"predict": True}),
        ("forest_regressor_then_ridge", lambda: make_pipeline(
            SelectFromModel(RandomForestRegressor(n_estimators=15, random_state=0)),
            Ridge()), "regression", {"predict": False}),
    ]


@pytest.mark.parametrize("cid,factory,dataset,methods", _tree_selector_pipelines(),
                         ids=[c[0] for c in _tree_selector_pipelines()])
def test_select_from_model_over_trees_in_a_pipeline(cid, factory, dataset, methods, tmp_path):
    X, y = TREE_IMPORTANCE_DATA[dataset]
    model = factory().fit(X[TRAIN], y[TRAIN])
    selector = model.steps[-2][1]
    assert 0 < selector.get_support().sum() < X.shape[1], "a case that selects something"
    path = _dump(model, tmp_path)
    if hasattr(model, "classes_"):
        check_labels(model, path, X[TEST], tmp_path)
    for method, exact in methods.items():
        check_scores(model, path, X[TEST], tmp_path, method, exact)


def test_select_from_model_over_degenerate_trees(tmp_path):
    """Edge cases of the importances: trees that never split (all zero, so
    every feature is at the "mean" threshold and kept), a single feature (a
    column numpy sums pairwise), and GradientBoosting trees whose splits gain
    nothing (0 / 0: NaN scores, NaN threshold, nothing dropped; NaN sorts
    last for max_features)."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.feature_selection import SelectFromModel
    from sklearn.tree import DecisionTreeRegressor

    X, y = DATA["regression"]
    X, y = X[:300], y[:300]
    flat = np.full(300, 2.5)
    cases = [
        (RandomForestRegressor(n_estimators=5, random_state=0).fit(X, flat), X),
        (GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, flat), X),
        (DecisionTreeRegressor(random_state=0).fit(X, flat), X),
        (RandomForestRegressor(n_estimators=12, random_state=0).fit(X[:, :1], y), X[:, :1]),
        (GradientBoostingRegressor(n_estimators=12, random_state=0).fit(X[:, :1], y), X[:, :1]),
    ]
    no_gain = GradientBoostingRegressor(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    for stage in no_gain.estimators_:
        state = stage[0].tree_.__getstate__()
        state["nodes"]["impurity"] = 0.0
        stage[0].tree_.__setstate__(state)
    with np.errstate(invalid="ignore"):
        assert np.isnan(no_gain.feature_importances_).all()
    cases.append((no_gain, X))
    for estimator, data in cases:
        for threshold, max_features in [("mean", None), ("median", None),
                                        (-np.inf, min(3, data.shape[1]))]:
            selector = SelectFromModel(estimator, prefit=True, threshold=threshold,
                                       max_features=max_features).fit(data)
            with np.errstate(invalid="ignore"):
                expected = selector.get_support()
                theirs = selector.transform(data[:20])
            kept, out = _native_support(selector, data[:20], tmp_path)
            assert kept.tolist() == np.flatnonzero(expected).tolist(), (estimator, threshold)
            assert ulp_diff(out, theirs) == 0


def _edit_tree_nodes(source, tmp_path, edit):
    from edit_ark import rewrite

    def edit_arrays(sections, arrays):
        nodes = [a for a in arrays if a.dtype.names and "impurity" in a.dtype.names]
        assert nodes
        edit(nodes[0])

    return rewrite(str(source), str(tmp_path / "hostile.ark"), edit_arrays=edit_arrays)


@pytest.mark.parametrize("field,value,message", [
    ("feature", 99, "splits on feature 99, outside [0, 8)"),
    ("left_child", 10**6, "has a child outside the tree"),
    ("right_child", -5, "has a child outside the tree"),
])
def test_select_from_model_over_a_hostile_tree(field, value, message, tmp_path):
    """Tree nodes are untrusted: a split on a feature the input lacks or a
    child outside the tree is a clear error, never a read out of bounds."""
    from sklearn.feature_selection import SelectFromModel
    from sklearn.tree import DecisionTreeClassifier

    X, y = DATA["binary"]
    selector = SelectFromModel(DecisionTreeClassifier(max_depth=4, random_state=0)).fit(X, y)
    path = _edit_tree_nodes(_dump(selector, tmp_path), tmp_path,
                            lambda nodes: nodes[field].__setitem__(0, value))
    _write_csv(X[:3], tmp_path / "rows.csv")
    out = subprocess.run([ARK, "predict", str(path), "-i", str(tmp_path / "rows.csv"),
                          "--transform"], capture_output=True, text=True)
    assert out.returncode != 0
    assert "tree_" in out.stderr and message in out.stderr, out.stderr


def test_select_from_model_of_hist_gradient_boosting_is_refused(tmp_path):
    """HistGradientBoosting has no feature_importances_: scikit-learn's
    transform fails, and the runtime refuses the model."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_selection import SelectFromModel

    X, y = DATA["binary"]
    model = SelectFromModel(HistGradientBoostingClassifier(max_iter=5)).fit(X, y)
    with pytest.raises(ValueError):
        model.transform(X[:3])
    path = _dump(model, tmp_path)
    _write_csv(X[:3], tmp_path / "rows.csv")
    out = subprocess.run([ARK, "predict", str(path), "-i", str(tmp_path / "rows.csv"),
                          "--transform"], capture_output=True, text=True)
    assert out.returncode != 0
    assert "SelectFromModel" in out.stderr and "feature_importances_" in out.stderr
