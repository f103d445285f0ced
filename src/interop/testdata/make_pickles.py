#!/usr/bin/python3
"""Writes the pickle / joblib fixtures of src/interop/pickle_reader_test.cc.

    /usr/bin/python3 src/interop/testdata/make_pickles.py [OUT_DIR]

OUT_DIR defaults to this script's folder. Every fixture is small (tiny
models, a few KB) and deterministic for a given scikit-learn / numpy / joblib
(Debian 12: 1.2.1 / 1.24.2 / 1.2.0): fixed random_state, no timestamps
(gzip mtime is 0). The files are checked in; rerun only to add fixtures.

Alongside the fixtures it writes `joblib_arrays.txt`: for each joblib
fixture, the nbytes of every array joblib wrote in stream order ("O" for an
object array, whose data is a nested pickle), recorded by wrapping joblib's
own NumpyArrayWrapper.write_array, so the C++ test checks the reader against
what joblib really wrote. It also copies a seed corpus for the pickle fuzz
target into fuzz/pickle_corpus/ (see fuzz/pickle_fuzz.cc).
"""
import bz2
import gzip
import io
import lzma
import os
import pickle
import shutil
import sys

import joblib
import joblib.numpy_pickle as jnp
import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def models():
    X, y = load_iris(return_X_y=True)
    X, y = X[::5], y[::5]  # 30 rows keep the fixtures small
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    logreg = LogisticRegression(max_iter=200).fit(X, y)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("tree", DecisionTreeClassifier(max_depth=2, random_state=0))]).fit(X, y)
    # classes_ keeps the object dtype of its input: an object array, which
    # joblib writes as a nested pickle.
    labels = LabelEncoder().fit(np.array(["setosa", "versicolor", "virginica"], dtype=object))
    return forest, logreg, pipe, labels


# Hand-written bad inputs for the fuzz corpus, named by the expected error
# (fuzz/pickle_fuzz.cc: bad-CODE-description).
BAD_SEEDS = {
    "bad-truncated-no-stop.pkl": b"\x80\x04N",
    "bad-truncated-binbytes8-huge.pkl": b"\x80\x04\x8e" + (1 << 60).to_bytes(8, "little") + b".",
    "bad-truncated-frame-huge.pkl": b"\x80\x04\x95" + (1 << 62).to_bytes(8, "little") + b"N.",
    "bad-bad_manifest-memo-get-undefined.pkl": b"\x80\x02h\x07.",
    "bad-bad_manifest-unknown-opcode.pkl": b"\x80\x02\xff.",
    "bad-bad_manifest-trailing-bytes.pkl": b"\x80\x02N.junk",
    "bad-bad_manifest-pop-empty.pkl": b"0.",
    "bad-bad_manifest-stop-below-mark.pkl": b"N(.",
    "bad-bad_manifest-frame-straddle.pkl": b"\x80\x04\x95\x03" + bytes(7) + b"\x8c\x02xy.",
    "bad-unsupported-protocol-6.pkl": b"\x80\x06N.",
    "bad-limit_exceeded-long4-huge.pkl": b"\x8b\x00\x00\x00\x40.",
    "bad-codec_error-gzip-garbage.pkl": b"\x1f\x8b\x08\x00garbage-garbage-garbage",
    "ok-stack-global-computed.pkl": b"\x80\x04cbuiltins\nstr\n\x8c\x02os\x85R\x8c\x06system\x93.",
    "ok-cycle.pkl": b"\x80\x02]q\x00h\x00a.",
    "ok-protocol0-text.pkl": b"(I1\nL5L\nF1.5\nS'a\\x41'\nVcaf\\u00e9\nI00\nt.",
    "ok-ext-persid.pkl": b"\x80\x02(\x82\x07Pabc\nt.",
}


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def joblib_bytes(obj, **kwargs):
    """joblib.dump to memory, recording the nbytes of each array written."""
    sizes = []
    original = jnp.NumpyArrayWrapper.write_array

    def recording(self, array, pickler):
        sizes.append("O" if array.dtype.hasobject else str(array.nbytes))
        return original(self, array, pickler)

    jnp.NumpyArrayWrapper.write_array = recording
    try:
        buf = io.BytesIO()
        compress = kwargs.pop("compress", 0)
        if compress:
            # joblib compresses a file object only when told the method.
            joblib.dump(obj, buf, compress=compress, **kwargs)
        else:
            joblib.dump(obj, buf, **kwargs)
        return buf.getvalue(), sizes
    finally:
        jnp.NumpyArrayWrapper.write_array = original


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    forest, logreg, pipe, labels = models()

    for proto in range(6):
        write(out, f"logreg_p{proto}.pkl", pickle.dumps(logreg, protocol=proto))
    for proto in (0, 2, 4, 5):
        write(out, f"forest_p{proto}.pkl", pickle.dumps(forest, protocol=proto))
    write(out, "pipeline_p4.pkl", pickle.dumps(pipe, protocol=4))

    # A numpy array with protocol-5 out-of-band buffers (one writable, one
    # read-only), and the same array in-band.
    arr = np.arange(12, dtype="<f8").reshape(3, 4)
    ro = np.arange(5, dtype="<i4")
    ro.setflags(write=False)
    buffers = []
    write(out, "numpy_oob_p5.pkl",
          pickle.dumps([arr, ro], protocol=5, buffer_callback=buffers.append))
    write(out, "numpy_inband_p5.pkl", pickle.dumps(arr, protocol=5))

    # Several compressed streams back to back, as gzip, bz2 and xz allow:
    # each holds half of logreg_p4.pkl (the xz ones with stream padding).
    plain = pickle.dumps(logreg, protocol=4)
    half = len(plain) // 2
    first, second = plain[:half], plain[half:]
    write(out, "logreg_p4_concat.gz",
          gzip.compress(first, mtime=0) + gzip.compress(second, mtime=0))
    write(out, "logreg_p4_concat.bz2", bz2.compress(first) + bz2.compress(second))
    write(out, "logreg_p4_concat.xz",
          lzma.compress(first) + b"\0" * 4 + lzma.compress(second) + b"\0" * 8)

    listing = []
    joblib_fixtures = [
        ("forest.joblib", forest, {}),
        ("forest_p2.joblib", forest, {"protocol": 2}),
        ("forest_p0.joblib", forest, {"protocol": 0}),
        ("labels.joblib", labels, {}),
        ("forest.joblib.z", forest, {"compress": ("zlib", 3)}),
        ("forest.joblib.gz", forest, {"compress": ("gzip", 3)}),
        ("forest.joblib.bz2", forest, {"compress": ("bz2", 3)}),
        ("forest.joblib.xz", forest, {"compress": ("xz", 3)}),
        ("forest.joblib.lzma", forest, {"compress": ("lzma", 3)}),
    ]
    for name, obj, kwargs in joblib_fixtures:
        data, sizes = joblib_bytes(obj, **kwargs)
        if name.endswith(".gz"):
            # joblib's gzip header carries the time: rewrite it as 0 (RFC 1952
            # MTIME at bytes 4..7) so that reruns give the same bytes.
            data = data[:4] + b"\0\0\0\0" + data[8:]
            gzip.decompress(data)  # still valid (the CRC covers the payload only)
        write(out, name, data)
        listing.append(f"{name} {','.join(sizes)}")
    write(out, "joblib_arrays.txt", ("\n".join(listing) + "\n").encode())

    corpus = os.path.join(ROOT, "fuzz", "pickle_corpus")
    if os.path.isdir(corpus):
        for name, data in BAD_SEEDS.items():
            write(corpus, name, data)
        for name in ("logreg_p0.pkl", "logreg_p2.pkl", "logreg_p5.pkl", "forest_p4.pkl",
                     "numpy_oob_p5.pkl", "forest.joblib", "labels.joblib", "forest_p0.joblib",
                     "forest.joblib.z", "forest.joblib.gz", "forest.joblib.bz2",
                     "forest.joblib.xz", "forest.joblib.lzma"):
            shutil.copyfile(os.path.join(out, name), os.path.join(corpus, "ok-" + name))


if __name__ == "__main__":
    main()
