"""The ark demo: save a real pipeline, look inside it, verify it, load it back.

Run through scripts/demo.sh, which builds everything first.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import ark

ARK_BIN = os.environ.get("ARK_BIN", "ark")


def step(title):
    print(f"\n=== {title}")


def main():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({
        "amount": rng.lognormal(3, 1, n),
        "age_days": rng.integers(1, 3000, n).astype(float),
        "country": rng.choice(["FR", "DE", "US", "JP"], n),
        "channel": rng.choice(["web", "app", "pos"], n),
    })
    y = ((X["amount"] > 40) & (X["channel"] != "pos")).astype(int).to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    model = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), ["amount", "age_days"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["country", "channel"]),
        ])),
        ("clf", RandomForestClassifier(n_estimators=50, random_state=0)),
    ]).fit(X_train, y_train)

    out = tempfile.mkdtemp(prefix="ark-demo-")
    path = os.path.join(out, "fraud.ark")
    step(f"ark.dump(model, {path!r}, compress='zstd', ...)")
    ark.dump(model, path, compress="zstd",
             metrics={"accuracy": float(model.score(X_test, y_test))},
             validation_data=X_test[:20], training_data=(X_train, y_train),
             description="demo fraud detector", tags={"team": "risk"})
    print(f"wrote {os.path.getsize(path) / 1e6:.2f} MB")

    step(f"{ARK_BIN} inspect fraud.ark")
    subprocess.run([ARK_BIN, "inspect", path], check=True)
    step(f"{ARK_BIN} verify fraud.ark")
    subprocess.run([ARK_BIN, "verify", path], check=True)

    step("ark.get_untrusted_types / ark.load (no code from the file runs)")
    print("untrusted types:", ark.get_untrusted_types(path))
    loaded = ark.load(path)
    same = np.array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    print("predict_proba identical to the original:", same)

    step("a joblib file someone left behind: ark scan, then ark convert (never executed)")
    import joblib  # noqa: PLC0415

    legacy = os.path.join(out, "legacy.joblib")
    joblib.dump(model, legacy, compress=3)
    subprocess.run([ARK_BIN, "scan", legacy], check=True)
    converted = os.path.join(out, "legacy.ark")
    subprocess.run([ARK_BIN, "convert", legacy, converted, "--compress", "zstd"], check=True)
    same_converted = np.array_equal(ark.load(converted).predict_proba(X_test),
                                    model.predict_proba(X_test))
    print("converted predict_proba identical to the original:", same_converted)

    step("a registry in one folder: register, alias, load by models:/ URI")
    registry = ark.Registry(os.path.join(out, "models"))
    version = registry.register("fraud-detector", path)
    registry.set_alias("fraud-detector", "production", version.version, reason="demo")
    served = ark.load("models:/fraud-detector@production", registry=registry.path)
    same_served = np.array_equal(served.predict_proba(X_test), model.predict_proba(X_test))
    subprocess.run([ARK_BIN, "registry", "--registry", registry.path, "history", "fraud-detector"],
                   check=True)
    print("models:/fraud-detector@production predicts identically:", same_served)
    return 0 if same and same_converted and same_served else 1


if __name__ == "__main__":
    sys.exit(main())
