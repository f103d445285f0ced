"""End-to-end tests of `ark registry` and of models:/ URIs in predict / verify.

Usage: registry_cli_test.py PATH_TO_ARK_BINARY

The .ark files are written with the Python front (`ark.dump`), so PYTHONPATH
must reach the `ark` package and the `_ark` module (ctest sets it).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ARK = None  # set from argv in main
EXIT_ERROR, EXIT_CORRUPT, EXIT_USAGE = 1, 3, 64


def make_models(folder):
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    import ark

    rng = np.random.RandomState(0)
    X = rng.rand(80, 3)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    paths = []
    for depth, f1 in ((2, 0.80), (3, 0.86), (4, 0.91)):
        model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
        path = os.path.join(folder, f"tree{depth}.ark")
        ark.dump(model, path, metrics={"f1": f1}, tags={"team": "risk"})
        paths.append(path)
    with open(os.path.join(folder, "rows.csv"), "w") as f:
        f.write("x0,x1,x2\n0.9,0.9,0.1\n0.1,0.1,0.5\n")
    return paths


class RegistryCli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ark-registry-cli-")
        self.reg = os.path.join(self.dir, "reg")
        self.env = dict(os.environ, ARK_REGISTRY=self.reg, ARK_ACTOR="ci-bot")
        self.env.pop("ARK_REGISTRY_CRASH_AT", None)
        self.models = make_models(self.dir)
        self.ok("registry", "init")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_ark(self, *args, env=None):
        return subprocess.run([ARK, *args], capture_output=True, text=True, cwd=self.dir,
                              env=env or self.env, timeout=120)

    def ok(self, *args, env=None):
        r = self.run_ark(*args, env=env)
        self.assertEqual(r.returncode, 0, f"ark {' '.join(args)}: {r.stderr}")
        return r.stdout

    def fails(self, status, *args):
        r = self.run_ark(*args)
        self.assertEqual(r.returncode, status, f"ark {' '.join(args)}: {r.stdout} {r.stderr}")
        if status != EXIT_USAGE:  # one line: "ark ...: why" (verify: "FAILED: ...")
            self.assertTrue(r.stderr.startswith(("ark", "FAILED:")), r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        return r.stderr

    def register_all(self):
        for i, path in enumerate(self.models):
            out = self.ok("registry", "register", "fraud", path, "--tag", f"run={i}")
            self.assertIn(f"fraud version {i + 1} (sha256:", out)
            self.assertIn("new)", out)

    def test_register_alias_stage_history(self):
        self.register_all()
        self.ok("registry", "alias", "fraud", "production", "2", "--reason", "beats v1")
        out = self.ok("registry", "alias", "fraud", "production", "3", "--reason", "beats v2")
        self.assertIn("(was 2)", out)
        self.ok("registry", "alias", "fraud", "production", "2", "--reason", "rollback")
        self.ok("registry", "stage", "fraud", "2", "Production")
        self.ok("registry", "stage", "fraud", "3", "production", "--archive-existing")
        versions = json.loads(self.ok("registry", "versions", "fraud", "--json"))
        self.assertEqual([v["stage"] for v in versions], ["None", "Archived", "Production"])
        self.assertEqual(versions[1]["aliases"], ["production"])
        self.assertEqual(versions[2]["metrics"], {"f1": 0.91})
        history = json.loads(self.ok("registry", "history", "fraud", "--json"))
        moves = [e for e in history if e["action"] == "alias"]
        self.assertEqual([(m["before"] or {}).get("version") for m in moves], [None, 2, 3])
        self.assertEqual(moves[2]["reason"], "rollback")
        self.assertTrue(all(e["actor"] == "ci-bot" for e in history))
        text = self.ok("registry", "history", "fraud")
        self.assertIn("@production: 3 -> 2", text)
        self.assertIn("None -> Production", text)
        # --actor beats the environment.
        self.ok("registry", "--actor", "alice", "tag", "fraud", "owner=risk")
        self.assertEqual(json.loads(self.ok("registry", "history", "fraud", "-n", "1", "--json"))[0]["actor"],
                         "alice")

    def test_get_predict_verify_by_uri(self):
        self.register_all()
        self.ok("registry", "alias", "fraud", "champion", "2")
        out = os.path.join(self.dir, "out.ark")
        self.ok("registry", "get", "models:/fraud@champion", "-o", out)
        with open(out, "rb") as a, open(self.models[1], "rb") as b:
            self.assertEqual(a.read(), b.read())
        for uri in ("models:/fraud/1", "models:/fraud@champion", "models:/fraud/latest"):
            self.assertIn("OK:", self.ok("verify", uri))
        pred = self.ok("predict", "models:/fraud/3", "-i", "rows.csv")
        self.assertEqual(pred.split(), ["label", "1", "0"])
        # --registry after the URI, with no environment variable.
        env = dict(self.env)
        env.pop("ARK_REGISTRY")
        self.ok("verify", "models:/fraud/2", "--registry", self.reg, env=env)
        self.fails(EXIT_ERROR, "verify", "models:/fraud@nosuch")
        self.fails(EXIT_ERROR, "predict", "models:/fraud/Staging", "-i", "rows.csv")

    def test_search_and_diff(self):
        self.register_all()
        found = json.loads(self.ok("registry", "search", "metrics.f1 > 0.85 and tags.team = 'risk'",
                                   "--order-by", "metrics.f1 DESC", "--json"))
        self.assertEqual([v["version"] for v in found], [3, 2])
        page = json.loads(self.ok("registry", "search", "", "--order-by", "version",
                                  "--max-results", "1", "--offset", "1", "--json"))
        self.assertEqual([v["version"] for v in page], [2])
        self.assertIn("bad filter", self.fails(EXIT_ERROR, "registry", "search", "metrics.f1 >> 1"))
        self.fails(EXIT_ERROR, "registry", "search", "name = 'x'; DROP TABLE versions")
        self.assertEqual(len(json.loads(self.ok("registry", "search", "--json"))), 3)
        diff = self.ok("registry", "diff", "fraud", "1", "3")
        self.assertIn("max_depth", diff)
        self.assertIn("0.8", diff)
        rows = json.loads(self.ok("registry", "diff", "fraud", "1", "3", "--json"))["rows"]
        self.assertIn({"section": "params", "key": "max_depth", "a": "2", "b": "4"}, rows)

    def test_delete_gc_export_import(self):
        self.register_all()
        self.ok("registry", "alias", "fraud", "production", "3")
        bundle = os.path.join(self.dir, "bundle.tar")
        self.ok("registry", "export", "fraud", bundle)
        self.ok("registry", "delete", "fraud", "1", "--reason", "obsolete")
        self.fails(EXIT_ERROR, "registry", "get", "fraud", "1")
        self.assertIn("gc: removed", self.ok("registry", "gc"))
        self.ok("registry", "get", "fraud", "2", "-o", "two.ark")
        # Import into the same registry: the names clash, new numbers follow.
        out = self.ok("registry", "import", bundle)
        self.assertIn("imported fraud version 4 (version 1 in the bundle", out)
        other = os.path.join(self.dir, "other")
        self.ok("--registry", other, "registry", "init")
        self.ok("registry", "--registry", other, "import", bundle)
        versions = json.loads(self.ok("registry", "--registry", other, "versions", "fraud", "--json"))
        self.assertEqual([v["version"] for v in versions], [1, 2, 3])
        model = json.loads(self.ok("registry", "--registry", other, "show", "fraud", "--json"))
        self.assertEqual(model["aliases"], {"production": 3})

    def test_clear_errors(self):
        self.assertIn("ark registry init", self.fails(EXIT_ERROR, "registry", "--registry",
                                                      os.path.join(self.dir, "none"), "list"))
        self.fails(EXIT_ERROR, "registry", "register", "bad name", self.models[0])
        self.fails(EXIT_ERROR, "registry", "register", "m", os.path.join(self.dir, "missing.ark"))
        with open(self.models[0], "rb") as f:
            data = bytearray(f.read())
        data[70] ^= 0xFF
        broken = os.path.join(self.dir, "broken.ark")
        with open(broken, "wb") as f:
            f.write(data)
        self.fails(EXIT_CORRUPT, "registry", "register", "m", broken)
        self.assertEqual(json.loads(self.ok("registry", "list", "--json")), [])
        self.ok("registry", "register", "m", self.models[0])
        self.fails(EXIT_ERROR, "registry", "alias", "m", "123", "1")
        self.fails(EXIT_ERROR, "registry", "alias", "m", "latest", "1")
        self.fails(EXIT_ERROR, "registry", "alias", "m", "prod", "9")
        self.fails(EXIT_ERROR, "registry", "stage", "m", "1", "Shipping")
        self.fails(EXIT_ERROR, "registry", "show", "nosuch")
        self.fails(EXIT_USAGE, "registry")
        err = json.loads(self.run_ark("registry", "show", "nosuch", "--json").stdout)
        self.assertFalse(err["ok"])
        help_text = self.ok("registry", "--help")
        self.assertIn("Examples:", help_text)
        self.assertIn("models:/NAME@ALIAS", help_text)


def main():
    global ARK
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ARK = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    sys.exit(main())
