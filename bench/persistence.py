"""Persistence benchmark: ark against pickle, joblib and cloudpickle on rf500.

Run from the repository root, after building the native module:

    PYTHONPATH=python:build/python /usr/bin/python3 bench/persistence.py

(`build/python` is wherever CMake put `_ark`, e.g. build-h6/python.)
Options: --dump-runs N, --load-runs N (medians of that many runs), --quick
(smaller forest, for a smoke test; writes nothing to docs/), --only
"ark zstd,joblib zlib-3" (only these methods, and those whose files they
share; prints the rows, writes bench/out/persistence-only.json, nothing to docs/).

What it does, in one run so that ratios compare:
- fits rf500 as /work/shared/bench/README.md defines it, or reuses
  bench/out/rf500-sklearn<version>.pkl (gitignored; pickle appears here only
  as the cache of this benchmark and as one of the contestants);
- for each method: file size; dump time and load time (medians, warm page
  cache: every file is loaded once before timing; loads are timed
  round-robin across methods so that the machine's load hits all alike);
  peak memory of load, measured in a fresh subprocess after the libraries
  are imported: the peak resident set is reset (/proc/self/clear_refs) and
  the peak after the load (VmHWM) minus the resident set before it is
  reported; where that is unavailable, the growth of resource.getrusage's
  ru_maxrss. Resident pages count everything (numpy buffers, C++
  allocations, touched pages of a memory-mapped file), which tracemalloc
  would miss;
- times ark.get_untrusted_types on the uncompressed file;
- writes the "## Persistence" section of docs/benchmarks.md (other sections
  are kept), docs/persistence.png, and bench/out/persistence.json.
"""
import argparse
import datetime
import gc
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
DOCS = os.path.join(ROOT, "docs")
MB = 1e6


# ---------------------------------------------------------------- the contestants
# Each method: (name, extension, dump(model, path), load(path)). Loads that
# only differ in how they open a file (mmap) reuse the file of `shares`.

def _pickle_dump(model, path):
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=5)


def _pickle_load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def _cloudpickle_dump(model, path):
    import cloudpickle

    with open(path, "wb") as f:
        cloudpickle.dump(model, f, protocol=5)


def _joblib_dump(compress):
    def dump(model, path):
        import joblib

        joblib.dump(model, path, compress=compress)

    return dump


def _joblib_load(mmap_mode=None):
    def load(path):
        import joblib

        return joblib.load(path, mmap_mode=mmap_mode)

    return load


def _ark_dump(compress):
    def dump(model, path):
        import ark

        ark.dump(model, path, compress=compress)

    return dump


def _ark_load(**options):
    def load(path):
        import ark

        return ark.load(path, **options)

    return load


# ark's zstd without a level uses ark's default level.
ARK_ZSTD_HIGH = ("zstd", 9)
ARK_LZMA = ("lzma", 3)

METHODS = [
    # name, extension, dump, load, shares the file of
    ("ark", "ark", _ark_dump(None), _ark_load(), None),
    ("ark mmap_mode='r'", "ark", None, _ark_load(mmap_mode="r"), "ark"),
    ("ark zstd", "ark", _ark_dump("zstd"), _ark_load(), None),
    (f"ark zstd-{ARK_ZSTD_HIGH[1]}", "ark", _ark_dump(ARK_ZSTD_HIGH), _ark_load(), None),
    (f"ark lzma-{ARK_LZMA[1]}", "ark", _ark_dump(ARK_LZMA), _ark_load(), None),
    ("pickle protocol 5", "pkl", _pickle_dump, _pickle_load, None),
    ("joblib", "joblib", _joblib_dump(0), _joblib_load(), None),
    ("joblib mmap_mode='r'", "joblib", None, _joblib_load("r"), "joblib"),
    ("joblib zlib-3", "joblib", _joblib_dump(("zlib", 3)), _joblib_load(), None),
    ("joblib lzma-3", "joblib", _joblib_dump(("lzma", 3)), _joblib_load(), None),
    ("cloudpickle", "pkl", _cloudpickle_dump, _pickle_load, None),
]
BY_NAME = {m[0]: m for m in METHODS}


def _file_name(name):
    return "bench-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


# ---------------------------------------------------------------- workload

def workload(quick):
    import sklearn
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=50_000, n_features=20, n_informative=10, random_state=42)
    if quick:
        model = RandomForestClassifier(n_estimators=20, max_depth=12, random_state=42, n_jobs=-1)
        # Predict single-threaded: threads add the trees' outputs in a varying
        # order, which changes the last bits and would fail the identity check.
        return model.fit(X, y).set_params(n_jobs=None), X, "rf20 (quick smoke test)"
    cache = os.path.join(OUT, f"rf500-sklearn{sklearn.__version__}.pkl")
    if os.path.exists(cache):
        return _pickle_load(cache), X, "rf500"
    print("fitting rf500 (a minute or two)...", flush=True)
    model = RandomForestClassifier(n_estimators=500, max_depth=20, random_state=42).fit(X, y)
    _pickle_dump(model, cache + ".tmp")
    os.replace(cache + ".tmp", cache)
    return model, X, "rf500"


# ---------------------------------------------------------------- measurements

def _timed(function, *args):
    gc.collect()
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def measure_dump(model, method, path, runs):
    times = []
    for _ in range(runs):
        if os.path.exists(path):
            os.remove(path)
        elapsed, _ = _timed(method[2], model, path)
        times.append(elapsed)
        # A very slow codec: one run says enough, and keeps the benchmark short.
        if elapsed > 20:
            break
    return statistics.median(times), len(times)


def measure_loads(methods, paths, runs):
    """Median load time of each method. Round-robin: every round loads each
    file once, so that a burst of load on a shared machine hits all methods
    alike instead of whichever happened to be measured then."""
    times = {method[0]: [] for method in methods}
    for method in methods:
        method[3](paths[method[0]])  # warm: the page cache holds the file, imports are done
    for _ in range(runs):
        for method in methods:
            elapsed, loaded = _timed(method[3], paths[method[0]])
            del loaded
            times[method[0]].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def _child_load(name, path):
    """In a fresh process: ru_maxrss growth across one load, in bytes."""
    import ark  # noqa: F401  (imports are part of the baseline, not of the load)
    import cloudpickle  # noqa: F401
    import joblib  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    gc.collect()
    if _reset_peak_rss():
        before = _status_kib("VmRSS")
        model = BY_NAME[name][3](path)
        after = _status_kib("VmHWM")
    else:  # no resettable peak: growth of the lifetime peak (an underestimate)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        model = BY_NAME[name][3](path)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert model is not None
    print(json.dumps({"peak_bytes": max(0, after - before) * 1024}))  # both in KiB


def _reset_peak_rss():
    """Resets the process's peak RSS (Linux >= 4.0), so that the peak read
    after the load is the load's, not that of the imports before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def measure_load_memory(name, path):
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child-load", name, path],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])["peak_bytes"]


def measure_untrusted_types(path, runs=20):
    import ark

    ark.get_untrusted_types(path)
    times = []
    for _ in range(runs):
        elapsed, types = _timed(ark.get_untrusted_types, path)
        times.append(elapsed)
    return statistics.median(times), types


def check_identical(model, method, path, X):
    import numpy as np

    loaded = method[3](path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X), err_msg=method[0])


# ---------------------------------------------------------------- report

def machine_info():
    import cloudpickle
    import joblib
    import numpy
    import sklearn

    import ark
    from ark._version import __version__ as ark_version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "ark": getattr(ark, "__version__", None) or ark_version,
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
            "joblib": joblib.__version__,
            "cloudpickle": cloudpickle.__version__,
        },
    }


def _ratio(value, reference):
    return f"{value / reference:.2f}×" if reference else "—"


def _seconds(value):
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def render_section(results, untrusted, machine, workload_name, args):
    rows = {r["name"]: r for r in results}
    pickle_row, joblib_zlib, joblib_lzma = rows["pickle protocol 5"], rows["joblib zlib-3"], rows["joblib lzma-3"]
    lines = [
        "## Persistence",
        "",
        f"Workload: {workload_name} of `../shared/bench/README.md` (RandomForestClassifier"
        + (", 500 trees, max_depth 20" if workload_name == "rf500" else ", 20 trees, max_depth 12")
        + ", fitted on 50,000 × 20). Produced by `bench/persistence.py` in one run; "
        f"median of {args.dump_runs} dumps (1 when a dump takes over 20 s) and {args.load_runs} loads "
        "(taken round-robin across the methods), warm page cache. Peak load memory: peak resident set during one load in a fresh process, "
        "minus the resident set before it (peak reset through /proc/self/clear_refs; it counts the "
        "touched pages of a memory-mapped file too). Sizes in MB (10^6 bytes).",
        "",
        "| method | size | vs pickle | dump | vs pickle | load | vs pickle | peak load memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['size'] / MB:.1f} MB | {_ratio(r['size'], pickle_row['size'])} "
            f"| {_seconds(r['dump'])} | {_ratio(r['dump'], pickle_row['dump']) if r['dump'] else '—'} "
            f"| {_seconds(r['load'])} | {_ratio(r['load'], pickle_row['load'])} "
            f"| {r['peak_load_bytes'] / MB:.0f} MB |"
        )
    ark_plain, ark_zstd = rows["ark"], rows["ark zstd"]
    best_small = min((r for r in results if r["name"].startswith("ark") and r["dump"]), key=lambda r: r["size"])
    targets = [
        ("uncompressed `ark.load` no slower than `pickle.load`",
         f"{_seconds(ark_plain['load'])} vs {_seconds(pickle_row['load'])} "
         f"({_ratio(ark_plain['load'], pickle_row['load'])})",
         ark_plain["load"] <= pickle_row["load"]),
        ("compressed ark smaller than joblib lzma-3",
         f"{best_small['name']}: {best_small['size'] / MB:.1f} MB vs {joblib_lzma['size'] / MB:.1f} MB; "
         f"ark zstd: {ark_zstd['size'] / MB:.1f} MB",
         best_small["size"] < joblib_lzma["size"]),
        ("compressed dump ≥ 4× faster than joblib zlib-3 (ark zstd)",
         f"{_seconds(ark_zstd['dump'])} vs {_seconds(joblib_zlib['dump'])} "
         f"({joblib_zlib['dump'] / ark_zstd['dump']:.1f}× faster)",
         joblib_zlib["dump"] >= 4 * ark_zstd["dump"]),
        ("compressed load faster than joblib zlib-3 (ark zstd)",
         f"{_seconds(ark_zstd['load'])} vs {_seconds(joblib_zlib['load'])}",
         ark_zstd["load"] < joblib_zlib["load"]),
        ("`ark.get_untrusted_types` under 10 ms on the uncompressed file",
         f"{untrusted['seconds'] * 1000:.2f} ms (file of {ark_plain['size'] / MB:.0f} MB; "
         f"untrusted types: {untrusted['types'] or 'none'})",
         untrusted["seconds"] < 0.010),
    ]
    lines += ["", "Targets of issue 3:", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets]
    lines += [
        "",
        "![persistence of rf500](persistence.png)",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB; "
        f"{machine['os']}; Python {machine['python']}; "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f". Run on {machine['date']}; load average at the end of the run "
        f"{' / '.join(map(str, machine['load_average']))} (1/5/15 min). The machine is shared: "
        "absolute times vary with its load, compare ratios within one run.",
        "",
        "`ark` dumps are atomic (temporary file, fsync, rename); pickle, joblib and cloudpickle "
        "write in place without fsync. ark.load checks the manifest digest and validates "
        "every tree's node arrays; blob SHA-256s are checked with "
        "ark.load(..., verify=True) or `ark verify`.",
        "",
    ]
    return "\n".join(lines)


def write_section(section):
    """Replaces the "## Persistence" section of docs/benchmarks.md, keeping the others."""
    path = os.path.join(DOCS, "benchmarks.md")
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    else:
        text = "# Benchmarks\n\n"
    start = text.find("## Persistence")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n")
    return path


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in results]
    colors = ["#1f77b4" if n.startswith("ark") else "#999999" for n in names]
    figure, axes = plt.subplots(1, 4, figsize=(17, 5.2), sharey=True)
    panels = [
        ("file size (MB)", [r["size"] / MB for r in results], False),
        ("dump time (s, log)", [r["dump"] or 0 for r in results], True),
        ("load time (s, log)", [r["load"] for r in results], True),
        ("peak load memory (MB)", [r["peak_load_bytes"] / MB for r in results], False),
    ]
    positions = range(len(names))
    for axis, (title, values, log) in zip(axes, panels):
        axis.barh(positions, values, color=colors)
        axis.set_title(title)
        if log:
            axis.set_xscale("log")
        for y, value in zip(positions, values):
            if value:
                axis.text(value, y, f" {value:.3g}", va="center", fontsize=8)
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(list(positions))
    axes[0].set_yticklabels(names)
    axes[0].invert_yaxis()
    figure.suptitle("Persistence of rf500 (ark in blue; lower is better)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump-runs", type=int, default=3)
    parser.add_argument("--load-runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated method names (see METHODS)")
    parser.add_argument("--child-load", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        _child_load(*args.child_load)
        return

    methods = METHODS
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        unknown = wanted - BY_NAME.keys()
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; known: {list(BY_NAME)}")
        wanted |= {BY_NAME[name][4] for name in wanted if BY_NAME[name][4]}
        methods = [m for m in METHODS if m[0] in wanted]

    os.makedirs(OUT, exist_ok=True)
    model, X, workload_name = workload(args.quick)
    paths, dumps = {}, {}
    for method in methods:
        name, extension, _, _, shares = method
        paths[name] = paths[shares] if shares else os.path.join(OUT, f"{_file_name(name)}.{extension}")
        dumps[name] = (None, 0) if shares else measure_dump(model, method, paths[name], args.dump_runs)
        print(f"{name:24s} dump {_seconds(dumps[name][0]):>9s}", flush=True)
    loads = measure_loads(methods, paths, args.load_runs)
    results = []
    for method in methods:
        name = method[0]
        check_identical(model, method, paths[name], X[:2000])
        peak = measure_load_memory(name, paths[name])
        row = {
            "name": name,
            "size": os.path.getsize(paths[name]),
            "dump": dumps[name][0],
            "dump_runs": dumps[name][1],
            "load": loads[name],
            "peak_load_bytes": peak,
        }
        results.append(row)
        print(
            f"{name:24s} {row['size'] / MB:8.1f} MB  dump {_seconds(row['dump']):>9s}  "
            f"load {_seconds(row['load']):>9s}  peak {peak / MB:6.0f} MB",
            flush=True,
        )

    if args.only:
        with open(os.path.join(OUT, "persistence-only.json"), "w") as f:
            json.dump({"workload": workload_name, "machine": machine_info(), "results": results}, f,
                      indent=2)
        for path in set(paths.values()):
            os.remove(path)
        return

    seconds, types = measure_untrusted_types(paths["ark"])
    untrusted = {"seconds": seconds, "types": list(types)}
    print(f"ark.get_untrusted_types: {seconds * 1000:.2f} ms -> {types}")

    machine = machine_info()
    section = render_section(results, untrusted, machine, workload_name, args)
    print()
    print(section)
    record = {"workload": workload_name, "machine": machine, "results": results, "untrusted_types": untrusted}
    suffix = "-quick" if args.quick else ""
    with open(os.path.join(OUT, f"persistence{suffix}.json"), "w") as f:
        json.dump(record, f, indent=2)
    if args.quick:
        plot(results, os.path.join(OUT, "persistence-quick.png"))
        return
    plot(results, os.path.join(DOCS, "persistence.png"))
    print("wrote", write_section(section), "and docs/persistence.png")
    for path in set(paths.values()):
        os.remove(path)  # ~1 GB of files otherwise


if __name__ == "__main__":
    main()
