"""ark.load against pickle.load of the same model, in one process.

Run from the repository root, after building the native module:

    PYTHONPATH=python:build/python /usr/bin/python3 bench/load_vs_pickle.py [--runs 9]

Prepares /tmp/rf500_h11.ark (uncompressed) and /tmp/rf500_h11.pkl (protocol 5)
from the cached benchmark fit bench/out/rf500-sklearn1.2.1.pkl when they are
missing (--rebuild to rewrite them), warms the page cache, then times
ark.load and pickle.load alternately and prints each run and the medians of
wall and CPU time. The machine load (os.getloadavg) is printed before and
after: on a shared machine compare the two loaders only within one run (CPU
time suffers less than wall time from other processes).
"""
import argparse
import gc
import os
import pickle
import statistics
import time

import ark

SOURCE = "bench/out/rf500-sklearn1.2.1.pkl"


def _prepare(ark_path, pkl_path, rebuild):
    if rebuild or not (os.path.exists(ark_path) and os.path.exists(pkl_path)):
        with open(SOURCE, "rb") as f:
            model = pickle.load(f)
        ark.dump(model, ark_path)
        with open(pkl_path, "wb") as f:
            pickle.dump(model, f, protocol=5)


def _time(fn):
    """(wall, CPU) seconds of one call."""
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    obj = fn()
    elapsed = time.perf_counter() - start, time.process_time() - start_cpu
    del obj
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--ark", default="/tmp/rf500_h11.ark")
    parser.add_argument("--pkl", default="/tmp/rf500_h11.pkl")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    _prepare(args.ark, args.pkl, args.rebuild)

    def load_pickle():
        with open(args.pkl, "rb") as f:
            return pickle.load(f)

    def load_ark():
        return ark.load(args.ark)

    for path in (args.ark, args.pkl):  # warm the page cache
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
    load_ark(), load_pickle()  # warm imports and allocator
    print(f"load average before: {os.getloadavg()}")
    times = {"ark.load": [], "pickle.load": []}
    for _ in range(args.runs):
        times["ark.load"].append(_time(load_ark))
        times["pickle.load"].append(_time(load_pickle))
    medians = {}
    for name, values in times.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        medians[name] = statistics.median(wall), statistics.median(cpu)
        runs = " ".join(f"{t:.3f}" for t in wall)
        print(f"{name:12s} wall median {medians[name][0]:.3f} s  min {min(wall):.3f} s  "
              f"CPU median {medians[name][1]:.3f} s  wall runs: {runs}")
    print(f"ark/pickle (medians): wall {medians['ark.load'][0] / medians['pickle.load'][0]:.2f}  "
          f"CPU {medians['ark.load'][1] / medians['pickle.load'][1]:.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
