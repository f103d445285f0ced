#!/usr/bin/python3
"""Writes the seed corpus of the reader fuzz target (fuzz/corpus/).

This is a second, independent implementation of the writing side of
docs/FORMAT.md, in plain Python (numpy for array bytes, zlib and lzma from the
standard library, the `zstd` command for zstd). It shares no code with the C++
writer on purpose: when the C++ reader refuses a file written here by the
spec, one of the two is wrong.

File names carry the expectation that fuzz/corpus_main.cc checks:
  ok-*.ark                  the reader must open it, decode every blob,
                            decode the tree and pass VerifyAll;
  bad-<code>[+<code>]-*.ark the reader must throw ark::Error with one of the
                            named codes (ErrorCodeName, or `any`);
  any other name            no expectation beyond "no crash" (fuzzer finds,
                            cases the spec leaves open).

Usage: fuzz/make_corpus.py [out_dir]   (default: fuzz/corpus next to this file)
Rewrites ok-/bad-/any- files and leaves every other file (reproducers) alone.
Output is deterministic.
"""

import base64
import copy
import gzip
import hashlib
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np

HEADER_MAGIC = b"\x89ARK\r\n\x1a\n"
FOOTER_MAGIC = b"ARKEND\r\n"
ALIGN = 64
MIN_CHUNK = 4096


def align_up(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


# ---------------------------------------------------------------- dtypes (§4)

def descr_of(dt):
    """FORMAT.md §4 descriptor of a numpy dtype (string or structured object)."""
    if dt.fields is None:
        s = dt.str
        if s[0] == ">":
            raise ValueError("big-endian dtypes are not storable")
        return s
    names = list(dt.names)
    formats, offsets = [], []
    for n in names:
        sub, off = dt.fields[n][0], dt.fields[n][1]
        if sub.subdtype is not None:
            base, shape = sub.subdtype
            formats.append([descr_of(base), list(shape)])
        else:
            formats.append(descr_of(sub))
        offsets.append(off)
    return {"names": names, "formats": formats, "offsets": offsets, "itemsize": dt.itemsize}


# ---------------------------------------------------------------- JSON (§2, §5)

def check_floats(v):
    # FORMAT.md §5 asks for "the shortest decimal"; it does not say when to use
    # an exponent. Python switches at 1e16, nlohmann::json at 1e15, so the two
    # spell [1e15, 1e16) differently: keep such values out of the seeds.
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("non-finite floats must be $float-tagged")
        if 1e15 <= abs(v) < 1e16:
            raise ValueError("float spelling differs between implementations: %r" % v)
    elif isinstance(v, dict):
        for x in v.values():
            check_floats(x)
    elif isinstance(v, list):
        for x in v:
            check_floats(x)


def dumps(v):
    check_floats(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# ---------------------------------------------------------------- codecs (§3)

def shuffle(chunk, itemsize):
    n = len(chunk) // itemsize
    return np.frombuffer(chunk, np.uint8).reshape(n, itemsize).T.tobytes()


def compress(name, level, data):
    if name == "zlib":
        return zlib.compress(data, level)
    if name == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=level)
    if name == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-%d" % level], input=data,
                              stdout=subprocess.PIPE, check=True).stdout
    raise ValueError(name)


class Blob:
    """One array to store: numpy array (or raw bytes + descriptor + shape)."""

    def __init__(self, arr=None, codec="none", level=0, shuffle=False, chunk_size=MIN_CHUNK,
                 aux=False, raw=None, descr=None, shape=None):
        if arr is not None:
            arr = np.ascontiguousarray(arr)
            self.raw = arr.tobytes()
            self.descr = descr_of(arr.dtype)
            self.shape = list(arr.shape)
            self.itemsize = arr.dtype.itemsize
        else:
            self.raw, self.descr, self.shape = raw, descr, shape
            self.itemsize = None
        self.codec, self.level, self.shuffle = codec, level, shuffle
        self.chunk_size, self.aux = chunk_size, aux

    def encode(self):
        """(stored bytes, blob-table fields other than offset)."""
        entry = {"stored_size": 0, "raw_size": len(self.raw), "dtype": self.descr,
                 "shape": self.shape}
        if self.codec == "none":
            stored = self.raw
            entry["codec"] = {"name": "none"}
            entry["filter"] = "none"
        else:
            cs = self.chunk_size
            if self.shuffle:  # a multiple of the item size, at least the minimum
                cs = -(-cs // self.itemsize) * self.itemsize
            parts = []
            for k in range(0, len(self.raw), cs):
                c = self.raw[k:k + cs]
                if self.shuffle:
                    c = shuffle(c, self.itemsize)
                parts.append(compress(self.codec, self.level, c))
            stored = b"".join(parts)
            entry["codec"] = {"name": self.codec, "level": self.level}
            entry["filter"] = "shuffle" if self.shuffle else "none"
            entry["chunk_size"] = cs
            entry["chunks"] = [len(p) for p in parts]
        entry["stored_size"] = len(stored)
        entry["sha256"] = hashlib.sha256(self.raw).hexdigest()
        if self.aux:
            entry["aux"] = True
        return stored, entry


# ---------------------------------------------------------------- the file (§1, §2, §6)

def model_digest(root, table):
    blobs = [[e["dtype"], e["shape"], e["sha256"]] for e in table if not e.get("aux", False)]
    return "sha256:" + hashlib.sha256(dumps({"root": root, "blobs": blobs}).encode()).hexdigest()


class File:
    """An .ark file in parts, so that bad variants can change one thing."""

    def __init__(self, blobs=(), root=None, sections=None):
        self.body = bytearray()  # bytes from offset 64 to the manifest
        self.table = []
        for b in blobs:
            stored, entry = b.encode()
            off = ALIGN + align_up(len(self.body)) if self.table else ALIGN
            self.body += b"\0" * (off - ALIGN - len(self.body))
            entry = {"offset": off, **entry}
            self.table.append(entry)
            self.body += stored
        self.body += b"\0" * (align_up(len(self.body)) - len(self.body))
        self.root = root
        self.manifest = {"ark": {"version": [1, 0]}, "blobs": self.table, "root": root,
                         "model_digest": model_digest(root, self.table),
                         "sections": {} if sections is None else sections}
        self.version = (1, 0)
        self.footer_version = None
        self.flags = 0
        self.extension = b""

    def manifest_bytes(self):
        return dumps(self.manifest).encode()

    def to_bytes(self, manifest=None):
        m = self.manifest_bytes() if manifest is None else manifest
        header = HEADER_MAGIC + struct.pack("<HH", *self.version) + b"\0" * 52
        moff = ALIGN + len(self.body)
        fv = self.footer_version or self.version
        footer = (struct.pack("<QQ", moff, len(m)) + hashlib.sha256(m).digest() +
                  struct.pack("<HHI", fv[0], fv[1], self.flags) + FOOTER_MAGIC)
        assert len(header) == 64 and len(footer) == 64
        return header + bytes(self.body) + m + self.extension + footer

    def refresh_digest(self):
        try:
            self.manifest["model_digest"] = model_digest(self.manifest["root"], self.table)
        except (KeyError, AttributeError, TypeError):
            pass  # a broken table has no digest; the variant tests something else


def patch_footer(data, **fields):
    """Rewrites footer fields of finished bytes. When the manifest range it
    then names lies inside the file, the file digest is recomputed over that
    range, so that the digest check is not what refuses the file."""
    d = bytearray(data)
    f = len(d) - 64
    layout = {"manifest_offset": (0, "<Q"), "manifest_size": (8, "<Q"),
              "major": (48, "<H"), "minor": (50, "<H"), "flags": (52, "<I")}
    for k, v in fields.items():
        off, fmt = layout[k]
        struct.pack_into(fmt, d, f + off, v)
    moff, msize = struct.unpack_from("<QQ", d, f)
    if moff + msize <= f:
        d[f + 16:f + 48] = hashlib.sha256(d[moff:moff + msize]).digest()
    return bytes(d)


# ---------------------------------------------------------------- test arrays

rng = np.random.default_rng(20240601)

TREE_DTYPE = np.dtype({
    "names": ["left_child", "right_child", "feature", "threshold", "impurity",
              "n_node_samples", "weighted_n_node_samples"],
    "formats": ["<i8", "<i8", "<i8", "<f8", "<f8", "<i8", "<f8"],
    "offsets": [0, 8, 16, 24, 32, 40, 48], "itemsize": 56})


def tree_nodes(n_nodes, n_features=10):
    """Nodes of a random binary tree in depth-first order, like sklearn's."""
    nodes = np.zeros(4 * n_nodes + 64, TREE_DTYPE)  # splitting stops near n_nodes
    counter = [0]

    def grow(samples, depth):
        i = counter[0]
        counter[0] += 1
        nodes[i]["n_node_samples"] = samples
        nodes[i]["weighted_n_node_samples"] = float(samples)
        nodes[i]["impurity"] = round(float(rng.random()) * 0.5, 6)
        if counter[0] >= n_nodes or samples < 4 or depth > 12:
            nodes[i]["left_child"] = nodes[i]["right_child"] = -1  # TREE_LEAF
            nodes[i]["feature"], nodes[i]["threshold"] = -2, -2.0  # TREE_UNDEFINED
            return
        nodes[i]["feature"] = rng.integers(n_features)
        nodes[i]["threshold"] = float(np.float32(rng.normal()))
        left = int(samples * rng.uniform(0.2, 0.8))
        nodes[i]["left_child"] = counter[0]
        grow(left, depth + 1)
        nodes[i]["right_child"] = counter[0]
        grow(samples - left, depth + 1)

    grow(1000, 0)
    return nodes[:counter[0]]


def mixed_arrays():
    return {
        "f8": rng.normal(size=300),
        "f8_few": rng.choice([0.0, 0.5, 1.0, 2.5], size=(20, 15)),
        "f4": rng.normal(size=200).astype("<f4"),
        "i8": rng.integers(0, 10, size=256, dtype="<i8"),
        "i4": rng.integers(-5, 5, size=64, dtype="<i4"),
        "u1": rng.integers(0, 255, size=100, dtype="u1"),
        "b1": rng.random(50) < 0.3,
        "i2": np.arange(-8, 8, dtype="<i2").reshape(2, 2, 4),
    }


# ---------------------------------------------------------------- seeds

def sklearn_like_root(idx):
    """A tree shaped like a fitted estimator's state, arrays by blob index."""
    return {"$object": "sklearn.tree._classes.DecisionTreeClassifier", "id": 1, "state": {
        "criterion": "gini", "max_depth": None, "min_samples_split": 2, "ccp_alpha": 0.0,
        "n_features_in_": 10, "classes_": {"$array": idx["classes"]},
        "tree_": {"$object": "sklearn.tree._tree.Tree", "state": {
            "max_depth": 12, "node_count": 0,
            "nodes": {"$array": idx["nodes"]}, "values": {"$array": idx["values"]}}},
        "_sklearn_version": "1.2.1"}}


def seeds():
    out = {}

    # --- valid files -----------------------------------------------------
    out["ok-empty.ark"] = File(root=None).to_bytes()
    out["ok-empty-dict-root.ark"] = File(root={}).to_bytes()

    arrays = mixed_arrays()
    blobs = [Blob(a) for a in arrays.values()]
    root = {k: {"$array": i} for i, k in enumerate(arrays)}
    out["ok-none-mixed.ark"] = File(blobs, root).to_bytes()

    more = [
        np.array(["alpha", "beta", "γάμμα"], dtype="<U5"),
        np.array([b"ab", b"xyz"], dtype="|S3"),
        np.arange(4, dtype="<i8").view("<M8[ns]"),
        np.arange(3, dtype="<i8").view("<m8[10s]"),
        (np.arange(4) + 1j).astype("<c16"),
        np.arange(6, dtype="<f2"),
        np.array(3.5),                        # scalar: shape []
        np.zeros((3, 0), "<f8"),              # zero-size
        np.arange(8, dtype="u1").view("|V4"),
        np.arange(5, dtype="<u8"), np.arange(5, dtype="<u2"), np.arange(5, dtype="<u4"),
        np.arange(3, dtype="<c8"),
    ]
    out["ok-none-dtypes.ark"] = File([Blob(a) for a in more],
                                     {"$tuple": [{"$array": i} for i in range(len(more))]}).to_bytes()

    nodes = tree_nodes(180)
    values = rng.random((len(nodes), 1, 3))
    classes = np.array([0, 1, 2], "<i8")
    for codec, level, shuf in [("zstd", 1, False), ("zstd", 3, True), ("zlib", 3, False),
                               ("zlib", 6, True), ("lzma", 3, False), ("lzma", 0, True)]:
        name = "ok-%s%d%s-tree.ark" % (codec, level, "-shuffle" if shuf else "")
        bl = [Blob(classes), Blob(nodes, codec, level, shuf), Blob(values, codec, level, shuf)]
        out[name] = File(bl, sklearn_like_root({"classes": 0, "nodes": 1, "values": 2}),
                         {"metadata": {"ark_version": "0.1.0", "created_at": "2024-06-01T00:00:00Z"}}
                         ).to_bytes()

    # Every codec/filter pair on plain numeric arrays, several chunks each
    # with a short last chunk, levels at the edges of each range.
    many = rng.integers(0, 4, size=1100, dtype="<i8")   # 8800 bytes: chunks of 4096, 4096, 608
    flt = rng.choice([0.25, -1.5, 3.0], size=700)
    # Distinct arrays (+k): a writer stores identical arrays once whatever their codec.
    bl = [Blob(many, "zstd", 19), Blob(flt, "zstd", 1, True), Blob(many + 1, "zlib", 1),
          Blob(flt + 1, "zlib", 9, True), Blob(many + 2, "lzma", 9), Blob(flt + 2, "lzma", 3, True),
          Blob(many.astype("<i4"), "zstd", 3, True, chunk_size=5000)]
    out["ok-codecs-chunks.ark"] = File(bl, [{"$array": i} for i in range(len(bl))]).to_bytes()

    # Structured dtypes with a nested record and a sub-array field.
    inner = np.dtype([("a", "<i4"), ("b", "u1")], align=True)
    nested = np.dtype({"names": ["id", "pos", "inner", "tag"],
                       "formats": ["<i8", ("<f4", (3,)), inner, "|S2"],
                       "offsets": [0, 8, 24, 40], "itemsize": 48})
    arr = np.zeros(40, nested)
    arr["id"] = np.arange(40)
    arr["pos"] = rng.random((40, 3))
    arr["inner"]["a"] = np.arange(40) * 3
    arr["tag"] = b"xy"
    out["ok-structured.ark"] = File([Blob(arr), Blob(arr[:20].copy(), "zstd", 3, True),
                                     Blob(tree_nodes(60), "zlib", 3)],
                                    [{"$array": 0}, {"$array": 1}, {"$array": 2}]).to_bytes()

    # Empty arrays in every codec: zero chunks, zero stored bytes.
    z = np.zeros(0, "<f8")
    bl = [Blob(z), Blob(z, "zstd", 3), Blob(z, "zlib", 3, True), Blob(z, "lzma", 3), Blob(np.arange(3.0))]
    out["ok-empty-arrays.ark"] = File(bl, [{"$array": i} for i in range(len(bl))]).to_bytes()

    # Every tag of the object tree (§5).
    tagged = {
        "none": None, "t": True, "f": False, "int": 42, "neg": -7,
        "min64": -9223372036854775808, "max64": 9223372036854775807,
        "big": {"$int": "9223372036854775808"}, "bigneg": {"$int": "-123456789012345678901234567890"},
        "float": 0.1, "one": 1.0, "negzero": -0.0, "huge": 1e300, "tiny": 5e-324, "exp": 1e-07,
        "big_fixed": 123456789012345.6, "e16": 1e16,
        "nan": {"$float": "nan"}, "inf": {"$float": "inf"}, "ninf": {"$float": "-inf"},
        "payload_nan": {"$float": "0x7ff8000000000001"},
        "str": "héllo \"world\"\n\t\u0001 — ✓ 𝄞", "empty": "",
        "bytes": {"$bytes": base64.b64encode(b"\x00\x01binary\xff").decode()},
        "bytes_empty": {"$bytes": ""},
        "list": [1, [2, [3, []]], {}], "tuple": {"$tuple": [1, "a", {"$tuple": []}]},
        "dict": {"$dict": [[1, "one"], [{"$tuple": [1, 2]}, None], ["$dollar", 3], [None, 0.5]]},
        "shared": {"$object": "sklearn.preprocessing._data.StandardScaler", "id": 7,
                   "state": {"with_mean": True, "mean_": {"$array": 0}}},
        "again": {"$ref": 7},
        "cycle": {"$object": "builtins.object", "id": 8, "state": {"self": {"$ref": 8}}},
        "no_id": {"$object": "numpy.dtype", "state": {"$tuple": ["f8", False, True]}},
        "arr": {"$array": 1},
    }
    out["ok-tree-tags.ark"] = File([Blob(np.arange(4.0)), Blob(np.arange(4, dtype="<i8"))],
                                   tagged).to_bytes()

    deep = None
    for _ in range(200):
        deep = [deep]
    out["ok-tree-deep200.ark"] = File(root=deep).to_bytes()

    # aux blobs (validation rows) are left out of the model digest.
    x = rng.normal(size=(10, 4))
    bl = [Blob(np.arange(4.0)), Blob(x, aux=True), Blob(x[:, 0].copy(), "zstd", 3, aux=True)]
    out["ok-aux-validation.ark"] = File(bl, {"coef_": {"$array": 0}}, {
        "metadata": {"tags": ["a", "b"], "metrics": {"accuracy": 0.93}},
        "validation": {"X": {"$array": 1}, "y": {"$array": 2}},
        "future_section": {"anything": [1, 2, 3]}}).to_bytes()

    # Two references to one blob (identical arrays are stored once).
    out["ok-shared-blob.ark"] = File([Blob(np.arange(10.0))],
                                     [{"$array": 0}, {"$array": 0}]).to_bytes()

    # The footer points at a signature record (flag bit 0): 1.0 refuses it (§8).
    f = File([Blob(np.arange(10.0))], {"$array": 0})
    f.flags, f.extension = 1, b"\0" * 64
    out["bad-unsupported_version-flag-extension.ark"] = f.to_bytes()

    # --- header and footer ------------------------------------------------
    good = File([Blob(np.arange(100.0)), Blob(rng.normal(size=300), "zstd", 3, True)],
                [{"$array": 0}, {"$array": 1}])
    g = good.to_bytes()
    out["bad-any-empty-file.ark"] = b""
    out["bad-any-one-byte.ark"] = g[:1]
    out["bad-any-header-only.ark"] = g[:64]
    out["bad-any-127-bytes.ark"] = g[:127]
    out["bad-truncated+bad_magic+out_of_bounds-half.ark"] = g[:len(g) // 2]
    out["bad-truncated+bad_magic+out_of_bounds-minus1.ark"] = g[:-1]
    out["bad-truncated+bad_magic+out_of_bounds+overlap-no-footer.ark"] = g[:-64]
    out["bad-any-trailing-garbage.ark"] = g + b"\0" * 64
    out["bad-bad_magic-header-magic.ark"] = b"\x89ARX" + g[4:]
    out["bad-bad_magic-png.ark"] = b"\x89PNG\r\n\x1a\n" + g[8:]
    out["bad-truncated-footer-magic.ark"] = g[:-8] + b"ARKEND\n\n"
    out["bad-bad_magic-text-mode.ark"] = g.replace(b"\r\n", b"\n", 1)
    v = File(root=None)
    v.version = (2, 0)
    out["bad-unsupported_version-major2.ark"] = v.to_bytes()
    out["bad-unsupported_version-major0.ark"] = patch_footer(
        bytes(b"\x89ARK\r\n\x1a\n\0\0\0\0") + g[12:], major=0)
    v = File(root=None)
    v.footer_version = (1, 1)
    out["bad-any-footer-version-differs.ark"] = v.to_bytes()
    # A future minor version that uses nothing new: a 1.0 reader reads it (§9).
    v = File([Blob(np.arange(3.0))], {"$array": 0})
    v.version = (1, 7)
    v.manifest["ark"]["version"] = [1, 7]
    out["ok-minor-future.ark"] = v.to_bytes()
    h = bytearray(g)
    h[20] = 1
    out["any-header-reserved-nonzero.ark"] = bytes(h)
    out["bad-unsupported_version-flag-bit5.ark"] = patch_footer(g, flags=32)

    moff = ALIGN + len(good.body)
    msize = len(good.manifest_bytes())
    out["bad-out_of_bounds+overlap+truncated-manifest-offset-past-end.ark"] = patch_footer(
        g, manifest_offset=len(g) + 64)
    out["bad-out_of_bounds+overlap+truncated-manifest-size-past-end.ark"] = patch_footer(
        g, manifest_size=msize + 64)
    out["bad-out_of_bounds+size_overflow+limit_exceeded-manifest-offset-wraps.ark"] = patch_footer(
        g, manifest_offset=2**64 - 64)
    out["bad-limit_exceeded+out_of_bounds-manifest-size-huge.ark"] = patch_footer(
        g, manifest_size=2**40)
    out["bad-any-manifest-short.ark"] = patch_footer(g, manifest_size=msize - 1)
    out["bad-any-manifest-empty.ark"] = patch_footer(g, manifest_offset=moff + msize, manifest_size=0)
    out["bad-overlap+out_of_bounds+bad_manifest-manifest-offset-odd.ark"] = patch_footer(
        g, manifest_offset=moff - 1, manifest_size=msize + 1)
    out["bad-overlap+out_of_bounds+bad_manifest-manifest-inside-blob.ark"] = patch_footer(
        g, manifest_offset=moff - 64, manifest_size=msize + 64)
    d = bytearray(g)
    d[-40] ^= 1  # file digest
    out["bad-checksum_mismatch-file-digest.ark"] = bytes(d)

    # Over the manifest size limit: 64 MiB + 1 of spaces would be a 64 MiB
    # seed; say so in the footer only (the reader must check before reading).
    out["bad-limit_exceeded+out_of_bounds-manifest-over-limit.ark"] = patch_footer(
        g, manifest_size=(64 << 20) + 1)

    # --- the manifest ------------------------------------------------------
    def variant(mutate, base=None, digest=True):
        f = copy.deepcopy(base or good)
        mutate(f)
        if digest:
            f.refresh_digest()
        return f.to_bytes()

    def raw_manifest(text, base=None):
        return (base or good).to_bytes(text.encode() if isinstance(text, str) else text)

    mtext = good.manifest_bytes().decode()
    out["bad-bad_manifest-json-syntax.ark"] = raw_manifest(mtext[:-1])
    out["bad-bad_manifest-json-trailing.ark"] = raw_manifest(mtext + "x")
    out["bad-bad_manifest-not-object.ark"] = raw_manifest("[1,2,3]")
    out["bad-bad_manifest-json-nul.ark"] = raw_manifest(mtext[:-1] + "\0}")
    out["bad-bad_manifest-invalid-utf8.ark"] = raw_manifest(
        mtext.encode().replace(b'"sections":{}', b'"sections":{"x":"\xff\xfe"}'))
    out["bad-bad_manifest-lone-surrogate.ark"] = raw_manifest(
        mtext.replace('"sections":{}', '"sections":{"x":"\\ud800"}'))
    out["bad-bad_manifest-nan-literal.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":[NaN,'))
    out["bad-limit_exceeded+bad_manifest-depth300.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":[' + "[" * 300 + "]" * 300 + ","))
    out["bad-limit_exceeded+bad_manifest-depth300-in-sections.ark"] = raw_manifest(
        mtext.replace('"sections":{}', '"sections":{"d":' + '{"a":' * 300 + "1" + "}" * 301))
    # Brackets inside strings are not nesting: a depth scan must skip strings.
    out["ok-brackets-in-strings.ark"] = File(root=["[" * 300 + "\\\"{" * 100], sections={
        "s": "{" * 300, "t": "]" * 300 + "\"[["}).to_bytes()
    out["any-keys-out-of-order.ark"] = variant(
        lambda f: f.manifest.update({"sections": f.manifest.pop("sections")}) or
        f.manifest.update({"root": f.manifest.pop("root")}))
    out["any-duplicate-key.ark"] = raw_manifest(mtext.replace('"sections":{}',
                                                              '"sections":{},"sections":{}'))
    out["any-duplicate-root-key.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":null,"root":['))
    out["bad-bad_manifest-unknown-top-key.ark"] = variant(lambda f: f.manifest.update(extra=1))
    out["bad-bad_manifest-missing-blobs.ark"] = variant(lambda f: f.manifest.pop("blobs"), File())
    out["bad-bad_manifest-missing-root.ark"] = variant(lambda f: f.manifest.pop("root"),
                                                       digest=False)
    out["bad-bad_manifest-missing-model-digest.ark"] = variant(lambda f: f.manifest.pop("model_digest"),
                                                             digest=False)
    out["bad-bad_manifest+unsupported_version-ark-version-major2.ark"] = variant(
        lambda f: f.manifest.update(ark={"version": [2, 0]}))
    out["bad-bad_manifest+unsupported_version-ark-version-mismatch.ark"] = variant(
        lambda f: f.manifest.update(ark={"version": [1, 3]}))
    out["bad-bad_manifest-ark-not-object.ark"] = variant(lambda f: f.manifest.update(ark=1))
    out["bad-bad_manifest-sections-not-object.ark"] = variant(lambda f: f.manifest.update(sections=[]))
    out["bad-bad_manifest+checksum_mismatch-model-digest-malformed.ark"] = variant(
        lambda f: f.manifest.update(model_digest="md5:00"), digest=False)
    out["bad-checksum_mismatch-model-digest-wrong.ark"] = variant(
        lambda f: f.manifest.update(model_digest="sha256:" + "0" * 64), digest=False)

    # --- the blob table -----------------------------------------------------
    def entry(k, **kw):
        def m(f):
            e = f.table[k]
            for key, val in kw.items():
                if val is None:
                    e.pop(key, None)
                else:
                    e[key] = val
        return m

    out["bad-bad_manifest-blobs-not-array.ark"] = variant(lambda f: f.manifest.update(blobs={}))
    out["bad-bad_manifest-blob-not-object.ark"] = variant(lambda f: f.table.__setitem__(0, 3))
    out["bad-bad_manifest-blob-missing-sha.ark"] = variant(entry(0, sha256=None))
    out["bad-bad_manifest-blob-sha-short.ark"] = variant(entry(0, sha256="ab" * 31))
    out["bad-bad_manifest-blob-sha-nonhex.ark"] = variant(entry(0, sha256="zz" * 32))
    out["bad-bad_manifest-blob-unknown-key.ark"] = variant(entry(0, color="red"))
    out["bad-bad_manifest-blob-offset-string.ark"] = variant(entry(0, offset="64"))
    out["bad-bad_manifest-blob-offset-negative.ark"] = variant(entry(0, offset=-64))
    out["bad-bad_manifest-blob-offset-float.ark"] = variant(entry(0, offset=64.0))
    out["bad-bad_manifest+out_of_bounds+size_overflow-blob-offset-2^64.ark"] = raw_manifest(
        mtext.replace('"offset":64', '"offset":18446744073709551616'))
    out["bad-overlap+out_of_bounds-blob-offset-past-end.ark"] = variant(entry(1, offset=1 << 30))
    out["bad-overlap-blob1-overlaps-blob0.ark"] = variant(entry(1, offset=64))
    out["bad-overlap-blob-misaligned.ark"] = variant(entry(0, offset=65))
    out["bad-overlap-blob-hole.ark"] = variant(entry(0, offset=128))
    out["bad-overlap-blobs-swapped.ark"] = variant(
        lambda f: f.table.__setitem__(slice(0, 2), [f.table[1], f.table[0]]) or
        f.manifest.update(root=[{"$array": 1}, {"$array": 0}]))
    out["bad-any-stored-size-past-manifest.ark"] = variant(
        entry(1, stored_size=good.table[1]["stored_size"] + 200))
    out["bad-any-raw-size-wrong.ark"] = variant(entry(0, raw_size=792))
    out["bad-any-none-stored-ne-raw.ark"] = variant(entry(0, stored_size=792))
    out["bad-unknown_dtype-big-endian.ark"] = variant(entry(0, dtype=">f8"))
    out["bad-unknown_dtype-object.ark"] = variant(entry(0, dtype="|O"))
    out["bad-unknown_dtype-garbage.ark"] = variant(entry(0, dtype="<x8"))
    out["bad-unknown_dtype+bad_manifest-number.ark"] = variant(entry(0, dtype=8))
    out["bad-unknown_dtype-empty.ark"] = variant(entry(0, dtype=""))
    out["bad-unknown_dtype+size_overflow+limit_exceeded-U-huge.ark"] = variant(entry(0, dtype="<U99999999999999999999"))
    out["bad-unknown_dtype+size_overflow+limit_exceeded-itemsize-2^31+1.ark"] = File(
        [Blob(raw=b"", descr="|V2147483649", shape=[0])], {"$array": 0}).to_bytes()
    out["bad-unknown_dtype-datetime-bad-unit.ark"] = variant(entry(0, dtype="<M8[fortnight]"))
    out["bad-unknown_dtype-struct-overlap.ark"] = variant(entry(0, dtype={
        "names": ["a", "b"], "formats": ["<f8", "<f8"], "offsets": [0, 4], "itemsize": 16},
        shape=[50]))
    out["bad-unknown_dtype-struct-past-itemsize.ark"] = variant(entry(0, dtype={
        "names": ["a", "b"], "formats": ["<f8", "<f8"], "offsets": [0, 8], "itemsize": 8},
        shape=[100]))
    out["bad-unknown_dtype-struct-name-count.ark"] = variant(entry(0, dtype={
        "names": ["a"], "formats": ["<f8", "<f8"], "offsets": [0, 8], "itemsize": 16},
        shape=[50]))
    out["bad-unknown_dtype+size_overflow-subarray-huge.ark"] = variant(entry(0, dtype={
        "names": ["a"], "formats": [["<f8", [2**40, 2**40]]], "offsets": [0], "itemsize": 8},
        shape=[100]))
    deep_dt = "<f8"
    for _ in range(130):  # 260 JSON levels
        deep_dt = {"names": ["x"], "formats": [deep_dt], "offsets": [0], "itemsize": 8}
    out["bad-limit_exceeded+unknown_dtype+bad_manifest-struct-deep.ark"] = variant(
        entry(0, dtype=deep_dt))
    out["bad-size_overflow-shape-overflow.ark"] = variant(entry(0, shape=[2**32, 2**32, 2**32]))
    out["bad-size_overflow+bad_manifest-shape-2^64.ark"] = raw_manifest(
        mtext.replace('"shape":[100]', '"shape":[18446744073709551615,2]'))
    out["bad-bad_manifest-shape-negative.ark"] = variant(entry(0, shape=[-100]))
    out["bad-limit_exceeded-33-dims.ark"] = variant(
        entry(0, shape=[1] * 32 + [100]))
    out["bad-bad_manifest+unsupported_version-codec-unknown.ark"] = variant(
        entry(1, codec={"name": "brotli", "level": 3}))
    out["bad-bad_manifest+invalid_argument-codec-level-high.ark"] = variant(
        entry(1, codec={"name": "zstd", "level": 25}))
    out["bad-bad_manifest+invalid_argument-codec-level-missing.ark"] = variant(
        entry(1, codec={"name": "zstd"}))
    out["bad-bad_manifest+unsupported_version-filter-unknown.ark"] = variant(entry(1, filter="bitshuffle"))
    out["bad-bad_manifest-shuffle-without-codec.ark"] = variant(entry(0, filter="shuffle"))
    out["bad-any-none-with-chunks.ark"] = variant(
        entry(0, chunk_size=4096, chunks=[800]))
    out["bad-limit_exceeded+bad_manifest-chunk-size-small.ark"] = variant(entry(1, chunk_size=1024))
    out["bad-limit_exceeded+bad_manifest-chunk-size-zero.ark"] = variant(entry(1, chunk_size=0))
    out["bad-limit_exceeded+bad_manifest-chunk-size-huge.ark"] = variant(entry(1, chunk_size=2**40))
    out["bad-bad_manifest-chunks-sum.ark"] = variant(
        entry(1, chunks=[good.table[1]["chunks"][0] - 1]))
    out["bad-bad_manifest-chunks-count.ark"] = variant(
        entry(1, chunks=good.table[1]["chunks"] + [0]))
    out["bad-any-shuffle-chunk-not-multiple.ark"] = variant(
        entry(1, chunk_size=4100))

    # Expansion: a 1 MiB chunk stored in 8 bytes (131072×) is refused from
    # the table, before any decoding.
    exp = File([Blob(raw=b"\0" * 8, descr="|u1", shape=[1 << 20])], {"$array": 0})
    exp.table[0].update(raw_size=1 << 20, stored_size=8, codec={"name": "zstd", "level": 3},
                        filter="none", chunk_size=1 << 20, chunks=[8],
                        sha256=hashlib.sha256(b"\0" * (1 << 20)).hexdigest())
    exp.refresh_digest()
    out["bad-limit_exceeded-expansion.ark"] = exp.to_bytes()

    # Payload problems found only when decoding.
    out["bad-checksum_mismatch-blob-none-flipped.ark"] = bytes(
        g[:100] + bytes([g[100] ^ 0x10]) + g[101:])
    out["bad-checksum_mismatch-blob-sha-wrong.ark"] = variant(entry(0, sha256="ab" * 32))
    out["bad-checksum_mismatch-blob-zstd-sha-wrong.ark"] = variant(entry(1, sha256="ab" * 32))
    z_off = good.table[1]["offset"]
    d = bytearray(g)
    d[z_off + 20] ^= 0xFF
    out["bad-codec_error+checksum_mismatch-zstd-corrupt.ark"] = bytes(d)
    d = bytearray(g)
    d[870] = 1  # padding after blob 0 (800 bytes at 64..864, padded to 896)
    assert z_off == 896
    out["bad-any-padding-nonzero.ark"] = bytes(d)

    # A chunk that decodes to more (or fewer) bytes than the table says.
    for codec in ("zstd", "zlib", "lzma"):
        data = rng.integers(0, 3, size=1024, dtype="<i8").tobytes()  # 8192 bytes
        long_chunk = compress(codec, 3, data[:4096] + b"\1" * 8)
        short_chunk = compress(codec, 3, data[4096:-8])
        f = File([Blob(raw=data, descr="<i8", shape=[1024], codec=codec, level=3)], {"$array": 0})
        body = long_chunk + short_chunk
        f.body = bytearray(body + b"\0" * (align_up(len(body)) - len(body)))
        f.table[0].update(stored_size=len(body), chunks=[len(long_chunk), len(short_chunk)])
        out["bad-codec_error-%s-chunk-too-long.ark" % codec] = f.to_bytes()
        f.body = bytearray(short_chunk + long_chunk)
        f.body += b"\0" * (align_up(len(f.body)) - len(f.body))
        f.table[0].update(chunks=[len(short_chunk), len(long_chunk)])
        out["bad-codec_error-%s-chunk-too-short.ark" % codec] = f.to_bytes()
    # Two zstd frames in one chunk, and a chunk that is not a stream at all.
    data = np.arange(512, dtype="<i8").tobytes()
    two = compress("zstd", 3, data[:2048]) + compress("zstd", 3, data[2048:])
    f = File([Blob(raw=data, descr="<i8", shape=[512], codec="zstd", level=3)], {"$array": 0})
    f.body = bytearray(two + b"\0" * (align_up(len(two)) - len(two)))
    f.table[0].update(stored_size=len(two), chunks=[len(two)])
    out["any-zstd-two-frames-one-chunk.ark"] = f.to_bytes()
    f = File([Blob(raw=data, descr="<i8", shape=[512], codec="lzma", level=3)], {"$array": 0})
    junk = bytes(range(200))
    f.body = bytearray(junk + b"\0" * (align_up(len(junk)) - len(junk)))
    f.table[0].update(stored_size=len(junk), chunks=[len(junk)])
    out["bad-codec_error-lzma-junk.ark"] = f.to_bytes()
    # zlib raw deflate and gzip wrappers are not RFC 1950 streams.
    gz = gzip.compress(data, mtime=0)
    f = File([Blob(raw=data, descr="<i8", shape=[512], codec="zlib", level=3)], {"$array": 0})
    f.body = bytearray(gz + b"\0" * (align_up(len(gz)) - len(gz)))
    f.table[0].update(stored_size=len(gz), chunks=[len(gz)])
    out["bad-codec_error-zlib-gzip-wrapper.ark"] = f.to_bytes()

    # --- the object tree ----------------------------------------------------
    def tree(root, name):
        f = File([Blob(np.arange(4.0))], root)
        out[name] = f.to_bytes()

    tree({"$array": 1}, "bad-bad_manifest-array-index-out-of-range.ark")
    tree({"$array": -1}, "bad-bad_manifest-array-index-negative.ark")
    tree({"$array": "0"}, "bad-bad_manifest-array-index-string.ark")
    tree({"$ref": 3}, "bad-bad_manifest-ref-undefined.ark")
    tree([{"$ref": 5}, {"$object": "a.B", "id": 5, "state": None}], "bad-bad_manifest-ref-forward.ark")
    tree([{"$object": "a.B", "id": 5, "state": None}, {"$object": "a.C", "id": 5, "state": None}],
         "bad-bad_manifest-id-duplicate.ark")
    tree({"$object": "a.B"}, "bad-bad_manifest-object-no-state.ark")
    tree({"$object": "a.B", "state": 1, "extra": 2}, "bad-bad_manifest-object-extra-key.ark")
    tree({"$object": 5, "state": 1}, "bad-bad_manifest-object-name-not-string.ark")
    tree({"$object": "a.B", "state": 1, "id": "x"}, "bad-bad_manifest-object-id-string.ark")
    tree({"$foo": 1}, "bad-bad_manifest-unknown-tag.ark")
    tree({"$tuple": [], "x": 1}, "bad-bad_manifest-tag-extra-key.ark")
    tree({"a": 1, "$tuple": []}, "bad-bad_manifest-dollar-key-not-first.ark")
    tree({"$tuple": {}}, "bad-bad_manifest-tuple-not-array.ark")
    tree({"$dict": [[1]]}, "bad-bad_manifest-dict-pair-short.ark")
    tree({"$dict": [1, 2]}, "bad-bad_manifest-dict-not-pairs.ark")
    tree({"$int": "5"}, "bad-bad_manifest-int-inside-int64.ark")
    tree({"$int": "007"}, "bad-bad_manifest-int-leading-zeros.ark")
    tree({"$int": "-0"}, "bad-bad_manifest-int-minus-zero.ark")
    tree({"$int": "12a"}, "bad-bad_manifest-int-not-digits.ark")
    tree({"$int": ""}, "bad-bad_manifest-int-empty.ark")
    tree({"$int": 5}, "bad-bad_manifest-int-not-string.ark")
    tree({"$float": "banana"}, "bad-bad_manifest-float-banana.ark")
    tree({"$float": "0x7ff8"}, "bad-bad_manifest-float-hex-short.ark")
    tree({"$float": "0x3ff0000000000000"}, "bad-bad_manifest-float-hex-not-nan.ark")
    tree({"$float": "NaN"}, "bad-bad_manifest-float-nan-case.ark")
    tree({"$float": "0x7ff8000000000000"}, "bad-bad_manifest-float-hex-canonical-nan.ark")
    tree({"$float": "0xfff8000000000000"}, "ok-float-negative-nan.ark")
    tree({"$bytes": "abc"}, "bad-bad_manifest-bytes-unpadded.ark")
    tree({"$bytes": "a!=="}, "bad-bad_manifest-bytes-bad-char.ark")
    tree({"$bytes": "YQ=x"}, "bad-bad_manifest-bytes-pad-middle.ark")
    tree({"$bytes": "YR=="}, "any-bytes-nonzero-trailing-bits.ark")
    tree({"$bytes": 3}, "bad-bad_manifest-bytes-not-string.ark")
    out["bad-bad_manifest-plain-int-above-int64.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":[9223372036854775808,'))
    # An integer literal beyond 64 bits is refused when the manifest is parsed
    # (a reader that read it as a double would leave it to the model digest).
    out["bad-bad_manifest+checksum_mismatch-plain-int-huge.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":[123456789012345678901234567890,'))
    out["any-float-without-dot.ark"] = raw_manifest(mtext.replace('"root":[', '"root":[1E5,'))
    out["any-float-overflow-literal.ark"] = raw_manifest(mtext.replace('"root":[', '"root":[1e400,'))
    deep = None
    for _ in range(300):
        deep = {"$tuple": [deep]}
    out["bad-limit_exceeded+bad_manifest-tree-deep-tuples.ark"] = raw_manifest(
        mtext.replace('"root":[', '"root":[' + dumps(deep) + ","))

    # Large-looking numbers in the table where the file is small.
    out["bad-limit_exceeded+bad_manifest+size_overflow-shape-many-zeros.ark"] = File(
        [Blob(raw=b"", descr="<f8", shape=[0] * 40)], {"$array": 0}).to_bytes()
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    if shutil.which("zstd") is None:
        sys.exit("make_corpus.py: the zstd command is needed (apt-get install zstd)")
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.split("-")[0] in ("ok", "bad", "any"):
            os.remove(os.path.join(out_dir, name))
    total = 0
    files = seeds()
    for name, data in sorted(files.items()):
        assert len(data) <= 20000, (name, len(data))
        with open(os.path.join(out_dir, name), "wb") as fh:
            fh.write(data)
        total += len(data)
    print("make_corpus.py: wrote %d files, %d bytes, to %s" % (len(files), total, out_dir))


if __name__ == "__main__":
    main()
