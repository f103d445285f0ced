"""Inference benchmark: ark's native runtime against scikit-learn and ONNX
Runtime, on the three reference models of /work/shared/bench/README.md.

Run from the repository root, after building the native module and the bench
program (Release build, e.g. build-h13):

    cmake --build build-h13 --target _ark inference_bench
    PYTHONPATH=python:build-h13/python /usr/bin/python3 bench/inference.py --build build-h13

Options: --threads N (every engine; default 2), --models rf500,hgb200,...
(a subset writes nothing to docs/), --quick (fewer calls; writes nothing to
docs/). Every run is appended to bench/out/inference.json; the docs show the
last full run. The machine may be shared: compare ratios from one run.

What it does, in one run so that ratios compare:
- fits each model exactly as the README says, or reuses the cache
  bench/out/<name>-sklearn<version>.pkl (gitignored), and ark.dump()s it to
  bench/out/<name>.ark; writes X[:10_000] as float64 rows to bench/out/X10k.f64;
- unpacks rf500.onnx.xz into bench/out/ (xz -dk) and installs
  onnxruntime-node in bench/ort/ (npm install) when missing;
- times predict_proba on each engine with the same thread count:
  scikit-learn (n_jobs=threads where the estimator has it; HistGradient-
  Boosting's OpenMP threads limited with threadpoolctl), ONNX Runtime
  (bench/ort/run.js, intraOpNumThreads=threads, float32 input) and ark
  (<build>/inference_bench, ModelOptions::threads=threads): single-row
  latency on X[:1] (median and p99 over many calls) and throughput on the
  10k rows (best of several calls);
- checks that ark's probabilities are bit-identical to scikit-learn's
  (predicted single-threaded, which sums in tree order);
- writes docs/benchmarks_inference.md (the table, with the ratios against the
  targets of issue 4), the same as a section of docs/benchmarks.md, and
  docs/inference.png; appends the run to bench/out/inference.json.
"""
import argparse
import datetime
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
DOCS = os.path.join(ROOT, "docs")
ORT_DIR = os.path.join(ROOT, "bench", "ort")
SHARED = "/work/shared/bench"
MODELS = ("rf500", "hgb200", "scaler_logreg")

# (throughput: min ark/sklearn, min ark/ORT; latency: max ark/ORT)
TARGETS = {
    "rf500": (4.0, 10.0, 0.3),
    "hgb200": (None, 2.0, 0.5),
    "scaler_logreg": (None, 1.0, 0.5),
}


# ---------------------------------------------------------------- models and data

def data():
    from sklearn.datasets import make_classification
    return make_classification(n_samples=50_000, n_features=20, n_informative=10, random_state=42)


def make_model(name):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if name == "rf500":
        return RandomForestClassifier(n_estimators=500, max_depth=20, random_state=42)
    if name == "hgb200":
        return HistGradientBoostingClassifier(max_iter=200, random_state=0)
    if name == "scaler_logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    raise ValueError(name)


def fitted(name, X, y):
    import sklearn
    cache = os.path.join(OUT, f"{name}-sklearn{sklearn.__version__}.pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            return pickle.load(f)
    print(f"fitting {name}...", flush=True)
    model = make_model(name).fit(X, y)
    with open(cache + ".tmp", "wb") as f:
        pickle.dump(model, f, protocol=5)
    os.replace(cache + ".tmp", cache)
    return model


def ark_file(name, model):
    import ark
    path = os.path.join(OUT, f"{name}.ark")
    if not os.path.exists(path):
        ark.dump(model, path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


def onnx_file(name):
    if name != "rf500":
        return os.path.join(SHARED, f"{name}.onnx")
    path = os.path.join(OUT, "rf500.onnx")
    if not os.path.exists(path):
        shutil.copy(os.path.join(SHARED, "rf500.onnx.xz"), path + ".xz")
        subprocess.run(["xz", "-dkf", path + ".xz"], check=True)
        os.remove(path + ".xz")
    return path


def ensure_ort():
    if os.path.isdir(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node")):
        return
    print("installing onnxruntime-node...", flush=True)
    env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL_CUDA="skip")  # CPU only
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=ORT_DIR, env=env,
                   check=True)


# ---------------------------------------------------------------- engines

def summarize(single_us, batch_s, rows):
    single = sorted(single_us)
    return {
        "median_us": statistics.median(single),
        "p99_us": single[min(len(single) - 1, int(0.99 * len(single)))],
        "rows_per_s": rows / min(batch_s),
        "calls": len(single),
    }


def time_sklearn(name, model, X, threads, single_calls, batch_reps):
    from threadpoolctl import threadpool_limits
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=threads)
    with threadpool_limits(limits=threads):
        model.predict_proba(X[:1])
        model.predict_proba(X)
        single = []
        for _ in range(single_calls):
            t = time.perf_counter()
            model.predict_proba(X[:1])
            single.append((time.perf_counter() - t) * 1e6)
        batch = []
        for _ in range(batch_reps):
            t = time.perf_counter()
            model.predict_proba(X)
            batch.append(time.perf_counter() - t)
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=None)
    return summarize(single, batch, len(X))


def time_ort(onnx, rows_path, n_features, threads, single_calls, batch_reps):
    cmd = ["node", os.path.join(ORT_DIR, "run.js"), onnx, rows_path, str(n_features),
           str(threads), str(single_calls), str(batch_reps)]
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return summarize(r["single_us"], r["batch_s"], r["rows"])


def time_ark(build, path, rows_path, threads, single_calls, batch_reps, proba_out):
    cmd = [os.path.join(build, "inference_bench"), path, rows_path, "--threads", str(threads),
           "--single-calls", str(single_calls), "--batch-reps", str(batch_reps),
           "--proba-out", proba_out]
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    s = summarize(r["single_us"], r["batch_s"], r["rows"])
    s["open_s"] = r["open_s"]
    return s


# ---------------------------------------------------------------- report

def fmt_rate(v):
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.1f}k"


def fmt_us(v):
    return f"{v / 1e3:.2f} ms" if v >= 1000 else f"{v:.1f} µs" if v >= 10 else f"{v:.2f} µs"


def ratio_cell(value, target, at_least):
    if target is None:
        return "—"
    ok = value >= target if at_least else value <= target
    sign = "≥" if at_least else "≤"
    return f"{value:.2f}× ({sign} {target:g}×: {'met' if ok else 'not met'})"


def write_report(results, meta):
    lines = [
        "# Inference benchmarks",
        "",
        "predict_proba of the three reference models of `/work/shared/bench/README.md`,",
        f"{meta['threads']} threads for every engine, measured in one run of",
        "",
        f"    {meta['command']}",
        "",
        f"on {meta['machine']} ({meta['date']}; load average before the run "
        f"{meta['load']}). Single row: `X[:1]` scored by one call, repeated; median and p99",
        "of the calls. Throughput: `X[:10_000]` in one call, best of several calls.",
        "ONNX Runtime is `onnxruntime-node` " + meta["ort_version"] + " (float32 input, "
        "`intraOpNumThreads`), scikit-learn " + meta["sklearn"] + " (`n_jobs`, OpenMP "
        "threads limited by threadpoolctl), ark its native runtime (`bench/inference_bench`).",
        "ark's probabilities are bit-identical to scikit-learn's on all 10k rows"
        + (" (checked in this run)." if meta["exact"] else " — NOT in this run: see exact below."),
        "",
        "| model | engine | 10k rows (rows/s) | 1 row, median | 1 row, p99 |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        for engine in ("scikit-learn", "ONNX Runtime", "ark"):
            e = r[engine]
            lines.append(f"| {name} | {engine} | {fmt_rate(e['rows_per_s'])} | "
                         f"{fmt_us(e['median_us'])} | {fmt_us(e['p99_us'])} |")
    lines += [
        "",
        "Ratios against the targets of issue 4 (throughput: ark ÷ other, higher is better;",
        "latency: ark's median ÷ ONNX Runtime's median, lower is better):",
        "",
        "| model | throughput vs scikit-learn | throughput vs ONNX Runtime | "
        "latency vs ONNX Runtime | p99 vs ONNX Runtime p99 | exact |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        t_sk, t_ort, t_lat = TARGETS[name]
        a, s, o = r["ark"], r["scikit-learn"], r["ONNX Runtime"]
        vs_sk = a["rows_per_s"] / s["rows_per_s"]
        sk_cell = ratio_cell(vs_sk, t_sk, True) if t_sk else f"{vs_sk:.1f}×"
        lines.append(
            f"| {name} | {sk_cell} | "
            f"{ratio_cell(a['rows_per_s'] / o['rows_per_s'], t_ort, True)} | "
            f"{ratio_cell(a['median_us'] / o['median_us'], t_lat, False)} | "
            f"{a['p99_us'] / o['p99_us']:.2f}× | {'bit-identical' if r['exact'] else 'DIFFERS'} |")
    lines += [
        "",
        "How the native runtime gets there (`src/runtime/`):",
        "",
        "- Trees (`tree_ensemble.h`, `tree_walk_avx512.h`): 8-byte nodes in pre-order with the",
        "  more-visited child next; on AVX-512 CPUs sixteen walks share a vector (nodes gathered,",
        "  the next node chosen by mask arithmetic), a lane that reaches its leaf takes the next",
        "  row (batch) or the next tree (one row), and the top three levels of every tree are",
        "  decided before the walk without gathers. Leaves with equal vectors share one copy.",
        "  A batch walks tree by tree over blocks of up to 8192 rows, one block per thread. One",
        "  row through many trees shares the walks with a pool worker that is awake (workers",
        "  poll for 100 µs after their last task); a call that finds every worker asleep runs",
        "  alone and nudges one awake for the calls that follow. The leaf vectors are added",
        "  tree by tree in scikit-learn's order, so scores are bit-identical.",
        "- HistGradientBoosting (`hist_bitvector.h`): QuickScorer leaf bitvectors, eight rows",
        "  per AVX-512 step.",
        "- Pipelines run step by step over per-thread buffers that are reused, so a warm call",
        "  allocates nothing for its intermediate rows.",
    ]
    lines += ["", "![inference](inference.png)", "",
              "Raw figures of every run: `bench/out/inference.json`.", ""]
    with open(os.path.join(DOCS, "benchmarks_inference.md"), "w") as f:
        f.write("\n".join(lines))
    write_summary(lines[1:])


SUMMARY_BEGIN = "<!-- inference: written by bench/inference.py -->"
SUMMARY_END = "<!-- end of inference -->"


def write_summary(body):
    """The same tables and chart as a section of docs/benchmarks.md, between
    its markers (added after the first paragraph of links when missing)."""
    path = os.path.join(DOCS, "benchmarks.md")
    with open(path) as f:
        text = f.read()
    section = "\n".join([SUMMARY_BEGIN, "## Native inference"] + body + [SUMMARY_END])
    if SUMMARY_BEGIN in text and SUMMARY_END in text:
        head, rest = text.split(SUMMARY_BEGIN, 1)
        text = head + section + rest.split(SUMMARY_END, 1)[1]
    else:
        at = text.index("## ")
        text = text[:at] + section + "\n\n" + text[at:]
    with open(path, "w") as f:
        f.write(text)


def write_chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(results)
    engines = ("scikit-learn", "ONNX Runtime", "ark")
    colors = ("#8c8c8c", "#4c72b0", "#dd8452")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.26
    for k, (key, title, label) in enumerate((
            ("rows_per_s", "Throughput, 10k rows (higher is better)", "rows/s"),
            ("median_us", "Single-row latency, median (lower is better)", "µs"))):
        ax = axes[k]
        for i, engine in enumerate(engines):
            vals = [results[n][engine][key] for n in names]
            xs = [j + (i - 1) * width for j in range(len(names))]
            bars = ax.bar(xs, vals, width, label=engine, color=colors[i])
            for b, v in zip(bars, vals):
                ax.annotate(fmt_rate(v) if key == "rows_per_s" else f"{v:.3g}",
                            (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom",
                            fontsize=7)
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names)
        ax.set_ylabel(label + " (log scale)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build-h13")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    build = os.path.join(ROOT, args.build) if not os.path.isabs(args.build) else args.build
    os.makedirs(OUT, exist_ok=True)
    ensure_ort()
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    X_all, y = data()
    X = X_all[:10_000]
    rows_path = os.path.join(OUT, "X10k.f64")
    np.ascontiguousarray(X, dtype=np.float64).tofile(rows_path)
    import sklearn
    results = {}
    for name in args.models.split(","):
        model = fitted(name, X_all, y)
        path = ark_file(name, model)
        onnx = onnx_file(name)
        slow = name == "rf500"  # scikit-learn takes tens of ms a call
        calls = 20 if args.quick else 3000
        print(f"{name}: timing...", flush=True)
        r = {}
        r["scikit-learn"] = time_sklearn(name, model, X, args.threads,
                                         (10 if args.quick else 60) if slow else
                                         (50 if args.quick else 400), 2 if args.quick else 5)
        r["ONNX Runtime"] = time_ort(onnx, rows_path, X.shape[1], args.threads, calls,
                                     3 if args.quick else 7)
        proba_path = os.path.join(OUT, f"{name}.proba.f64")
        r["ark"] = time_ark(build, path, rows_path, args.threads, calls,
                            3 if args.quick else 7, proba_path)
        expected = model.predict_proba(X)  # single-threaded: sums in tree order
        got = np.fromfile(proba_path, dtype=np.float64).reshape(expected.shape)
        r["exact"] = bool(np.array_equal(got.view(np.uint64), expected.view(np.uint64)))
        results[name] = r
        print(f"  {json.dumps(r)}", flush=True)
    with open(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node", "package.json")) as f:
        ort_version = json.load(f)["version"]
    meta = {
        "threads": args.threads,
        "command": "PYTHONPATH=python:" + os.path.relpath(build, ROOT) + "/python "
                   "/usr/bin/python3 bench/inference.py --build " + os.path.relpath(build, ROOT),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "load": " ".join(load),
        "sklearn": sklearn.__version__,
        "ort_version": ort_version,
        "exact": all(r["exact"] for r in results.values()),
    }
    log = os.path.join(OUT, "inference.json")
    runs = []
    if os.path.exists(log):
        with open(log) as f:
            runs = json.load(f)
    runs.append({"meta": meta, "results": results})
    with open(log, "w") as f:
        json.dump(runs, f, indent=1)
    if not args.quick and set(results) == set(MODELS):
        write_report(results, meta)
        write_chart(results, os.path.join(DOCS, "inference.png"))
        print("wrote docs/benchmarks_inference.md, its section of docs/benchmarks.md and "
              "docs/inference.png")
    if not meta["exact"]:
        sys.exit("ark's probabilities differ from scikit-learn's")


if __name__ == "__main__":
    main()
