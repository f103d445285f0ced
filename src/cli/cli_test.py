"""End-to-end tests of the `ark` command (src/cli/).

Usage: cli_test.py PATH_TO_ARK_BINARY

The .ark files are written here in plain Python, straight from
docs/FORMAT.md (header, 64-aligned raw blobs, compact JSON manifest, footer),
so these tests also check that the C++ reader agrees with the spec rather
than only with the C++ writer. Each bad file is a good file with real bytes
changed, as a damaged download or disk would leave it.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

ARK = None  # set from argv in main

HEADER_MAGIC = b"\x89ARK\r\n\x1a\n"
FOOTER_MAGIC = b"ARKEND\r\n"
EXIT_ERROR, EXIT_FORMAT, EXIT_CORRUPT, EXIT_USAGE = 1, 2, 3, 64


def compact(value):
    # nlohmann's compact dump: no spaces, UTF-8 kept. Trees here hold no
    # floats, where the two serialisers could print digits differently.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pad64(n):
    return (n + 63) // 64 * 64


def build_ark(blobs, root, sections=None):
    """Returns the bytes of an .ark file.

    blobs: list of (dtype, shape, raw bytes[, aux[, zlib_chunk_size]]);
    stored uncompressed unless a zlib chunk size is given.
    """
    out = bytearray(HEADER_MAGIC + struct.pack("<HH", 1, 0) + bytes(52))
    table = []
    for blob in blobs:
        dtype, shape, data = blob[:3]
        aux = blob[3] if len(blob) > 3 else False
        chunk_size = blob[4] if len(blob) > 4 else 0
        stored = data
        if chunk_size:
            chunks = [zlib.compress(data[k:k + chunk_size], 6)
                      for k in range(0, len(data), chunk_size)]
            stored = b"".join(chunks)
        offset = len(out)
        out += stored
        out += bytes(pad64(len(out)) - len(out))
        entry = {
            "offset": offset,
            "stored_size": len(stored),
            "raw_size": len(data),
            "dtype": dtype,
            "shape": list(shape),
            "codec": {"name": "zlib", "level": 6} if chunk_size else {"name": "none"},
            "filter": "none",
        }
        if chunk_size:
            entry["chunk_size"] = chunk_size
            entry["chunks"] = [len(c) for c in chunks]
        entry["sha256"] = hashlib.sha256(data).hexdigest()
        if aux:
            entry["aux"] = True
        table.append(entry)
    model = {"root": root,
             "blobs": [[e["dtype"], e["shape"], e["sha256"]] for e in table if not e.get("aux")]}
    model_digest = "sha256:" + hashlib.sha256(compact(model).encode()).hexdigest()
    manifest = {
        "ark": {"version": [1, 0]},
        "blobs": table,
        "root": root,
        "model_digest": model_digest,
        "sections": sections or {},
    }
    text = compact(manifest).encode()
    manifest_offset = len(out)
    out += text
    out += struct.pack("<QQ", manifest_offset, len(text))
    out += hashlib.sha256(text).digest()
    out += struct.pack("<HHI", 1, 0, 0) + FOOTER_MAGIC
    return bytes(out)


def f64(*values):
    return struct.pack("<%dd" % len(values), *values)


def obj(type_name, state, id=None):
    node = {"$object": type_name, "state": state}
    if id is not None:
        node["id"] = id
    return node


def pipeline_file():
    """A Pipeline(StandardScaler, RandomForest of 5 trees) with metadata."""
    blobs = [("<f8", [3], f64(1.0, 2.0, 3.0)),          # 0 mean_
             ("<f8", [3], f64(0.5, 0.25, 0.125))]       # 1 scale_
    trees = []
    for i in range(5):
        blobs.append(("<i8", [64], struct.pack("<64q", *range(i, i + 64))))  # 2..6
        trees.append(obj("sklearn.tree._classes.DecisionTreeClassifier",
                         {"max_depth": 3, "tree_": {"$array": 2 + i}}, id=10 + i))
    blobs.append(("<f8", [2, 2], f64(0, 1, 2, 3), True))  # 7: validation rows (aux)
    forest = obj("sklearn.ensemble._forest.RandomForestClassifier",
                 {"n_estimators": 5, "criterion": "gini", "estimators_": trees,
                  "base": {"$ref": 10}, "classes_": list(range(500)),
                  "label": "modèle é", "flags": {"$tuple": [True, None]},
                  "weights": {"$dict": [[0, 1], [1, 2]]}})
    scaler = obj("sklearn.preprocessing._data.StandardScaler",
                 {"with_mean": True, "mean_": {"$array": 0}, "scale_": {"$array": 1}})
    root = obj("sklearn.pipeline.Pipeline",
               {"steps": [{"$tuple": ["scaler", scaler]}, {"$tuple": ["forest", forest]}],
                "memory": None})
    sections = {"metadata": {"sklearn_version": "1.2.1", "created_at": "2024-06-07T10:00:00Z",
                             "metrics": {"accuracy": 0.93}, "tags": ["prod", "v2"],
                             "note": "red \x1b[31malert\x1b[0m",
                             "environment": ["numpy==1.24.2", "scikit-learn==1.2.1",
                                             "evil\x1b[31m==1", "x; rm -rf /"]},
                "validation": {"X": {"$array": 7}}}
    return build_ark(blobs, root, sections)


def blob_offset(data, index):
    manifest_offset, manifest_size = struct.unpack_from("<QQ", data, len(data) - 64)
    manifest = json.loads(data[manifest_offset:manifest_offset + manifest_size])
    return manifest["blobs"][index]["offset"]


class ArkCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ark_cli_test_")
        cls.good_bytes = pipeline_file()
        cls.good = cls.write("good.ark", cls.good_bytes)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    @classmethod
    def write(cls, name, data):
        path = os.path.join(cls.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def run_ark(self, *args):
        return subprocess.run([ARK, *args], capture_output=True, text=True, timeout=120)

    def assertOneLineError(self, result, path, status):
        self.assertEqual(result.returncode, status, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(path, lines[0])
        self.assertNotIn("terminate", result.stderr)
        return lines[0]

    # --- general -----------------------------------------------------------

    def test_version(self):
        r = self.run_ark("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^ark \d+\.\d+\.\d+ \(file format 1\.0\)")

    def test_inspect_requirements(self):
        r = self.run_ark("inspect", self.good, "--requirements")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("# environment that saved"))
        # Only plain requirement lines pass; escapes and shell text are dropped.
        self.assertEqual(lines[1:], ["numpy==1.24.2", "scikit-learn==1.2.1"])

    def test_inspect_requirements_without_environment(self):
        path = self.write("noenv.ark", build_ark([], None, {}))
        r = self.run_ark("inspect", path, "--requirements")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no environment was recorded", r.stderr)

    def test_help_teaches(self):
        r = self.run_ark("--help")
        self.assertEqual(r.returncode, 0)
        for text in ("inspect", "verify", "Examples", "Exit status", "checksum"):
            self.assertIn(text, r.stdout)
        for command in ("inspect", "verify"):
            r = self.run_ark(command, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("Examples", r.stdout)
            self.assertIn("--json", r.stdout)

    def test_usage_errors(self):
        self.assertEqual(self.run_ark().returncode, EXIT_USAGE)
        self.assertEqual(self.run_ark("frobnicate").returncode, EXIT_USAGE)
        self.assertEqual(self.run_ark("inspect").returncode, EXIT_USAGE)
        self.assertEqual(self.run_ark("verify", self.good, "--bogus").returncode, EXIT_USAGE)
        self.assertEqual(self.run_ark("inspect", self.good, "--items", "-1").returncode, EXIT_USAGE)
        self.assertEqual(self.run_ark("inspect", self.good, "--depth", "x").returncode, EXIT_USAGE)

    # --- inspect -----------------------------------------------------------

    def test_inspect_human(self):
        r = self.run_ark("inspect", self.good)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        for text in ("format        1.0", "model digest  sha256:", "file digest   sha256:",
                     "8 (1 aux)", "none (8 blobs)",
                     "Metadata", "sklearn_version: 1.2.1", "accuracy: 0.93",
                     "Sections", "validation: object with 1 key", 'tags: ["prod", "v2"]',
                     "Tree", "sklearn.pipeline.Pipeline",
                     "sklearn.preprocessing._data.StandardScaler",
                     "mean_: float64[3], none, 24 B, blob 0",
                     "estimators_: list of 5 items", "… 2 more",
                     "sklearn.tree._classes.DecisionTreeClassifier #10",
                     "tree_: int64[64], none, 512 B, blob 2",
                     "base: same object as #10 (sklearn.tree._classes.DecisionTreeClassifier)",
                     "classes_: list of 500 items: [0, 1, 2, …]",
                     'label: "modèle é"', "flags: (True, None)", "weights: {0: 1, 1: 2}",
                     "memory: None",
                     "Largest components", "root  sklearn.pipeline.Pipeline",
                     "root.steps[1][1]  sklearn.ensemble._forest.RandomForestClassifier",
                     "(manifest)", "(aux blobs: validation data)"):
            self.assertIn(text, out)
        # The forest holds 5 × 512 bytes, the scaler 48: the forest comes first.
        self.assertLess(out.index("RandomForestClassifier\n", out.index("Largest")),
                        out.index("StandardScaler\n", out.index("Largest")))
        # Escape sequences from the file never reach the terminal.
        self.assertNotIn("\x1b", out)
        self.assertNotIn("hint:", out)  # small file

    def test_inspect_depth_and_items(self):
        r = self.run_ark("inspect", self.good, "--depth", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("steps: list of 2 items", r.stdout)
        tree = r.stdout.split("\nTree\n")[1].split("Largest")[0]
        self.assertNotIn("StandardScaler", tree)
        r = self.run_ark("inspect", self.good, "--items", "10")
        self.assertNotIn("… 2 more", r.stdout)
        self.assertIn("#14", r.stdout)

    def test_inspect_json(self):
        r = self.run_ark("inspect", "--json", self.good)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format_version"], [1, 0])
        self.assertEqual(doc["file_size"], len(self.good_bytes))
        self.assertTrue(doc["model_digest"].startswith("sha256:"))
        manifest_offset, manifest_size = struct.unpack_from("<QQ", self.good_bytes,
                                                            len(self.good_bytes) - 64)
        self.assertEqual(doc["manifest_size"], manifest_size)
        self.assertEqual(doc["file_digest"], "sha256:" + hashlib.sha256(
            self.good_bytes[manifest_offset:manifest_offset + manifest_size]).hexdigest())
        summary = doc["summary"]
        self.assertEqual(summary["blob_count"], 8)
        self.assertEqual(summary["aux_blob_count"], 1)
        self.assertEqual(summary["codecs"], {"none": 8})
        self.assertFalse(summary["compressed"])
        self.assertEqual(summary["stored_bytes"], 24 + 24 + 5 * 512 + 32)
        blob = doc["blobs"][2]
        self.assertEqual(blob["dtype"], "<i8")
        self.assertEqual(blob["dtype_name"], "int64")
        self.assertEqual(blob["shape"], [64])
        self.assertEqual(blob["codec"], "none")
        self.assertEqual(blob["path"], "root.steps[1][1].estimators_[0].tree_")
        self.assertIsNone(doc["blobs"][7]["path"])
        self.assertTrue(doc["blobs"][7]["aux"])
        self.assertEqual(doc["sections"]["metadata"]["sklearn_version"], "1.2.1")
        components = doc["components"]
        self.assertEqual(components[0]["path"], "root")
        self.assertEqual(components[0]["stored_bytes"], 24 + 24 + 5 * 512)
        self.assertEqual(components[1]["type"], "sklearn.ensemble._forest.RandomForestClassifier")
        self.assertEqual(components[1]["stored_bytes"], 5 * 512)
        self.assertEqual(components[1]["blob_count"], 5)
        self.assertEqual(components[2]["path"], "root.steps[0][1]")
        sizes = [c["stored_bytes"] for c in components]
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        self.assertEqual(doc["root"]["$object"], "sklearn.pipeline.Pipeline")
        self.assertEqual(doc["root"]["state"]["steps"][1]["$tuple"][1]["state"]["label"],
                         "modèle é")

    def test_inspect_hints_compression_for_large_raw_files(self):
        zeros = bytes(11_000_000)
        path = self.write("big.ark", build_ark(
            [("|u1", [len(zeros)], zeros)],
            obj("sklearn.linear_model._base.LinearRegression", {"coef_": {"$array": 0}})))
        r = self.run_ark("inspect", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hint: no blob is compressed", r.stdout)
        self.assertIn("11.0 MB", r.stdout)
        self.assertIn("coef_: uint8[11000000], none, 11.0 MB, blob 0", r.stdout)

    def test_compressed_blobs(self):
        raw = struct.pack("<5000d", *[float(i % 7) for i in range(5000)])
        data = build_ark([("<f8", [5000], raw, False, 4096), ("<f8", [1], f64(2.0))],
                         obj("sklearn.linear_model._base.LinearRegression",
                             {"coef_": {"$array": 0}, "intercept_": {"$array": 1}}))
        path = self.write("zlib.ark", data)
        r = self.run_ark("inspect", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("zlib-6 (1 blob), none (1 blob)", r.stdout)
        self.assertRegex(r.stdout, r"coef_: float64\[5000\], zlib-6, \d+ B \(40\.0 KB raw\), blob 0")
        self.assertRegex(r.stdout, r"raw 40\.0 KB \(\d+\.\dx smaller\)")
        r = self.run_ark("inspect", "--json", path)
        blob = json.loads(r.stdout)["blobs"][0]
        self.assertEqual((blob["codec"], blob["level"], blob["raw_size"]), ("zlib", 6, 40000))
        self.assertEqual(self.run_ark("verify", path).returncode, 0)
        # Damage inside the compressed stream: the blob no longer decodes or
        # no longer matches its digest; either way the content is corrupt.
        damaged = bytearray(data)
        damaged[blob_offset(data, 0) + 20] ^= 0xff
        path = self.write("zlib_damaged.ark", bytes(damaged))
        line = self.assertOneLineError(self.run_ark("verify", path), path, EXIT_CORRUPT)
        self.assertIn("blob 0", line)

    def test_inspect_does_not_read_blobs(self):
        path = self.write("flipped_for_inspect.ark", self.flip_blob_byte(2))
        self.assertEqual(self.run_ark("inspect", path).returncode, 0)

    # --- verify ------------------------------------------------------------

    def test_verify_ok(self):
        r = self.run_ark("verify", self.good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout,
                         r"^OK: .*good\.ark — 8 blobs, \d+(\.\d)? [KM]?B, model sha256:[0-9a-f]{64}\n"
                         # The made-up trees are no model the runtime can compile:
                         # the samples are left to Python, and that is no failure.
                         r"validation samples: not checked natively \(runtime [^\n]*\); "
                         r"run ark\.load in Python\n$")
        self.assertEqual(r.stderr, "")

    def test_inspect_native_runtime_verdict(self):
        r = self.run_ark("inspect", self.good)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\n  native        not supported: [^\n]*\n")
        self.assertNotIn("[native ✓]", r.stdout)
        r = self.run_ark("inspect", self.good, "--no-native")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("native ", r.stdout.split("\nTree\n")[0])
        r = self.run_ark("inspect", self.good, "--json")
        native = json.loads(r.stdout)["native_runtime"]
        self.assertFalse(native["supported"])
        self.assertIn("message", native)
        r = self.run_ark("inspect", self.good, "--json", "--no-native")
        self.assertIsNone(json.loads(r.stdout)["native_runtime"])

    def test_verify_quiet_and_json(self):
        r = self.run_ark("verify", "-q", self.good)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        r = self.run_ark("verify", "--json", self.good)
        self.assertEqual(r.returncode, 0)
        doc = json.loads(r.stdout)
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["blob_count"], 8)
        self.assertEqual(doc["file_size"], len(self.good_bytes))

    def flip_blob_byte(self, index):
        data = bytearray(self.good_bytes)
        data[blob_offset(self.good_bytes, index) + 5] ^= 0x01
        return bytes(data)

    def test_verify_flipped_blob_byte(self):
        path = self.write("flipped.ark", self.flip_blob_byte(3))
        r = self.run_ark("verify", path)
        line = self.assertOneLineError(r, path, EXIT_CORRUPT)
        self.assertTrue(line.startswith("FAILED: " + path), line)
        self.assertIn("blob 3", line)
        self.assertEqual(r.stdout, "")
        r = self.run_ark("verify", "--json", path)
        self.assertEqual(r.returncode, EXIT_CORRUPT)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["error"]["code"], "checksum_mismatch")
        self.assertIn("blob 3", doc["error"]["message"])

    def test_verify_flipped_aux_blob_byte(self):
        path = self.write("flipped_aux.ark", self.flip_blob_byte(7))
        line = self.assertOneLineError(self.run_ark("verify", path), path, EXIT_CORRUPT)
        self.assertIn("blob 7", line)

    def test_verify_flipped_manifest_byte(self):
        data = bytearray(self.good_bytes)
        data[len(data) - 64 - 10] ^= 0x01
        path = self.write("manifest_flipped.ark", bytes(data))
        for command in ("verify", "inspect"):
            self.assertOneLineError(self.run_ark(command, path), path, EXIT_CORRUPT)

    def test_verify_nonzero_padding(self):
        data = bytearray(self.good_bytes)
        data[blob_offset(self.good_bytes, 0) + 30] = 0xff  # blob 0 is 24 bytes long
        path = self.write("padding.ark", bytes(data))
        line = self.assertOneLineError(self.run_ark("verify", path), path, EXIT_FORMAT)
        self.assertIn("padding", line)

    def test_truncated(self):
        for cut in (len(self.good_bytes) // 2, 100, 10, 0):
            path = self.write("truncated_%d.ark" % cut, self.good_bytes[:cut])
            for command in ("verify", "inspect"):
                self.assertOneLineError(self.run_ark(command, path), path, EXIT_FORMAT)

    def test_wrong_magic(self):
        path = self.write("magic.ark", b"PK\x03\x04" + self.good_bytes[4:])
        for command in ("verify", "inspect"):
            self.assertOneLineError(self.run_ark(command, path), path, EXIT_FORMAT)
        text = self.write("notes.txt", b"just some text, not a model\n" * 10)
        self.assertOneLineError(self.run_ark("verify", text), text, EXIT_FORMAT)

    def test_missing_file_and_directory(self):
        missing = os.path.join(self.dir, "nope.ark")
        for command in ("verify", "inspect"):
            line = self.assertOneLineError(self.run_ark(command, missing), missing, EXIT_ERROR)
            self.assertIn("no such file", line)
            line = self.assertOneLineError(self.run_ark(command, self.dir), self.dir, EXIT_ERROR)
            self.assertIn("directory", line)

    def test_bad_tree_is_a_format_error(self):
        root = obj("sklearn.pipeline.Pipeline", {"steps": [1, 2, {"$foo": 1}]})
        path = self.write("badtag.ark", build_ark([], root))
        for command in ("verify", "inspect"):
            line = self.assertOneLineError(self.run_ark(command, path), path, EXIT_FORMAT)
            self.assertIn("root.state.steps[2]: unknown tag $foo", line)
        hostile = obj("a.B", {"x": {"$\x1b]0;pwned\x07": 1}})
        path = self.write("hostile.ark", build_ark([], hostile))
        line = self.assertOneLineError(self.run_ark("verify", path), path, EXIT_FORMAT)
        self.assertIn("unknown tag $\\x1b]0;pwned\\x07", line)
        dangling = obj("a.B", {"x": {"$array": 3}})
        path = self.write("dangling.ark", build_ark([("<f8", [1], f64(1.0))], dangling))
        line = self.assertOneLineError(self.run_ark("verify", path), path, EXIT_FORMAT)
        self.assertIn("blob index 3 out of range", line)

    def test_empty_model(self):
        path = self.write("empty.ark", build_ark([], None))
        r = self.run_ark("verify", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 blobs", r.stdout)
        r = self.run_ark("inspect", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("None", r.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: cli_test.py PATH_TO_ARK")
    ARK = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
