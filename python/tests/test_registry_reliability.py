"""Reliability of the registry under concurrency, crashes and a full disk.

- Concurrency: 8 processes x 50 operations at once on one registry
  (registering, tagging, moving aliases, changing stages). Afterwards every
  operation is visible: each registered version exists with its file's
  digest, each tag is set, final aliases and stages are those of the last
  audited change, and the audit log holds exactly the expected events. No
  worker may see an error ("database is locked" included).
- Crashes: a register is killed at each crash point n = 1, 2, ... of the core
  (ARK_REGISTRY_CRASH_AT=n makes the n-th point _exit(86)) until a run
  completes, plus SIGKILLs at random times during a stream of registers.
  After each: the registry opens, holds no partial version, every live
  version re-assembles byte for byte with its digest before and after gc,
  and the next register works.
- Full disk: a register under RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail
  with EFBIG as on a full disk) raises ark.IoError and changes nothing.

Workers are subprocesses of this file run as a script (`worker`, `crash`,
`stream` and `limited` modes below), so they share no state with pytest.
"""
import collections
import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import _ark
import ark

CRASH_EXIT = 86            # exit status of a crash point (ARK_REGISTRY_CRASH_AT)
MAX_CRASH_POINTS = 200     # a register with more crash points than this is a bug
N_WORKERS = 8
OPS_PER_WORKER = 50
REGISTERS_PER_WORKER = 6
SHARED = "shared"          # the model every worker works on


def _child_env(**extra):
    """The environment for a worker: this interpreter's ark and _ark first."""
    env = dict(os.environ)
    paths = [os.path.dirname(os.path.dirname(os.path.abspath(ark.__file__))),
             os.path.dirname(os.path.abspath(_ark.__file__))]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("ARK_REGISTRY_CRASH_AT", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _run(mode, *args, env=None, **kwargs):
    return subprocess.run([sys.executable, os.path.abspath(__file__), mode, *map(str, args)],
                          env=env or _child_env(), capture_output=True, text=True, timeout=120,
                          **kwargs)


def _digest(path):
    return "sha256:" + ark.info(path)["file"]["file_digest"]


def _make_artifact(folder, i, size=64):
    """A distinct small .ark file (plain arrays: quick to dump). Every one
    holds the same `common` array, so their pieces are shared in the store
    and gc must tell shared pieces from orphans. Returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"a{i}.ark")
    own = np.random.RandomState(i).standard_normal(size)
    ark.dump({"common": np.arange(size * 16, dtype=np.float64), "own": own, "i": i}, path,
             metrics={"f1": (i % 100) / 100})
    return path


def _make_artifacts(folder, count, size=64):
    """[(path, digest)] of `count` artifacts made by _make_artifact."""
    return [(p, _digest(p)) for p in (_make_artifact(folder, i, size) for i in range(count))]


def _check_live_versions(registry_path, expected, tmp):
    """Every live version of every model re-assembles to the bytes of the file
    it was registered from (`expected`: (name, version) -> path), and there
    is no live version that is not expected."""
    with ark.Registry(registry_path, create=False) as reg:
        live = {(m.name, v.version): v for m in reg.models() for v in reg.versions(m.name)}
        assert set(live) == set(expected), "a partial or lost version"
        for key, path in expected.items():
            v = live[key]
            assert v.digest == _digest(path)
            with open(path, "rb") as f:
                assert v.content_sha256 == "sha256:" + hashlib.sha256(f.read()).hexdigest()
            out = os.path.join(tmp, "check.ark")
            reg.download(key[0], key[1], out)
            with open(out, "rb") as a, open(path, "rb") as b:
                assert a.read() == b.read(), f"{key} does not re-assemble"
            os.unlink(out)


# ---------------------------------------------------------------- workers (subprocesses)

def worker_main(registry_path, worker_id, spec_path, out_path):
    """Runs OPS_PER_WORKER operations on SHARED and writes what it did as JSON.

    The core audits only real changes (setting an alias or a stage to what it
    already is records nothing), so that every operation's event is known in
    advance, each worker moves its own aliases and changes the stages of the
    versions it registered, always to a new value. Contention on one value is
    the shared alias "champion", which every worker moves (its events are
    checked as a chain, not counted)."""
    with open(spec_path) as f:
        spec = json.load(f)
    rng = random.Random(1000 + worker_id)
    artifacts = spec["artifacts"][worker_id]
    me = f"worker-{worker_id}"
    done = []
    with ark.Registry(registry_path, create=False, actor=me) as reg:
        known, mine = [1], {}      # versions that exist; mine: version -> its stage
        aliases = {}               # this worker's aliases -> version
        kinds = ["register"] * REGISTERS_PER_WORKER
        kinds += rng.choices(["tag", "alias", "stage", "champion"],
                             k=OPS_PER_WORKER - len(kinds))
        rng.shuffle(kinds)
        for i, kind in enumerate(kinds):
            alias = f"{me}-a{rng.randrange(2)}"
            if kind == "alias" and not [v for v in known if v != aliases.get(alias)]:
                kind = "champion"
            if kind == "stage" and not mine:
                kind = "tag"
            if kind == "register":
                path, digest = artifacts.pop()
                v = reg.register(SHARED, path, description=f"{me}-{i}")
                known.append(v.version)
                mine[v.version] = "None"
                done.append({"op": "register", "version": v.version, "digest": digest,
                             "returned_digest": v.digest})
            elif kind == "tag":
                version = rng.choice(known)
                key, value = f"{me}-{i}", f"{worker_id}:{i}"
                reg.set_tag(SHARED, version, key, value)
                done.append({"op": "tag", "version": version, "key": key, "value": value})
            elif kind == "alias":
                version = rng.choice([v for v in known if v != aliases.get(alias)])
                reg.set_alias(SHARED, alias, version)
                aliases[alias] = version
                done.append({"op": "alias", "version": version, "alias": alias})
            elif kind == "champion":
                version = rng.choice(known)
                reg.set_alias(SHARED, "champion", version)
                done.append({"op": "champion", "version": version})
            else:
                version = rng.choice(sorted(mine))
                stage = rng.choice([s for s in ("None", "Staging", "Production")
                                    if s != mine[version]])
                reg.transition_stage(SHARED, version, stage)
                mine[version] = stage
                done.append({"op": "stage", "version": version, "stage": stage})
    for op in done:
        op["worker"] = me
    with open(out_path, "w") as f:
        json.dump(done, f)


def crash_main(registry_path, path):
    """One register; ARK_REGISTRY_CRASH_AT in the environment may end it early."""
    with ark.Registry(registry_path, create=False) as reg:
        v = reg.register("m", path, description=os.path.basename(path))
    print(json.dumps({"version": v.version, "digest": v.digest}))


def gc_main(registry_path):
    """One gc; ARK_REGISTRY_CRASH_AT in the environment may end it early."""
    with ark.Registry(registry_path, create=False) as reg:
        print(json.dumps(reg.gc()))


def stream_main(registry_path, *paths):
    """Registers the paths in turn, round and round (each time a new version),
    announcing each start on stdout, until killed (or after 60 s)."""
    deadline = time.monotonic() + 60
    with ark.Registry(registry_path, create=False) as reg:
        while time.monotonic() < deadline:
            for path in paths:
                print("start", path, flush=True)
                reg.register("m", path, description=os.path.basename(path))


def limited_main(registry_path, path, limit):
    """A register with files capped at `limit` bytes; prints the error it meets."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    with ark.Registry(registry_path, create=False) as reg:
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(limit), resource.RLIM_INFINITY))
        try:
            reg.register("m", path)
        except Exception as e:  # noqa: BLE001  (reported to the test)
            print(json.dumps({"type": type(e).__name__, "message": str(e),
                              "code": getattr(e, "code", None)}))
            return
    print(json.dumps({"type": None}))


# ---------------------------------------------------------------- concurrency

def test_concurrent_processes_lose_nothing(tmp_path):
    registry_path = str(tmp_path / "reg")
    artifacts = _make_artifacts(str(tmp_path / "files"), N_WORKERS * REGISTERS_PER_WORKER + 1)
    with ark.Registry(registry_path) as reg:
        first = reg.register(SHARED, artifacts[-1][0])
        assert first.version == 1
    spec = {"artifacts": [artifacts[w * REGISTERS_PER_WORKER:(w + 1) * REGISTERS_PER_WORKER]
                          for w in range(N_WORKERS)]}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    outs = [tmp_path / f"out{w}.json" for w in range(N_WORKERS)]
    procs = [subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "worker", registry_path, str(w),
         str(spec_path), str(outs[w])], env=_child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for w in range(N_WORKERS)]
    for w, p in enumerate(procs):
        out, err = p.communicate(timeout=150)
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
        assert p.returncode == 0, f"worker {w} failed:\n{err}"
    done = [op for path in outs for op in json.loads(path.read_text())]
    assert len(done) == N_WORKERS * OPS_PER_WORKER

    with ark.Registry(registry_path, create=False) as reg:
        versions = {v.version: v for v in reg.versions(SHARED)}
        model = reg.get_model(SHARED)
        events = reg.history(SHARED)
    registers = [op for op in done if op["op"] == "register"]
    # Version numbers are unique and contiguous; each has its file's digest.
    assert sorted(versions) == list(range(1, len(registers) + 2))
    for op in registers:
        assert op["returned_digest"] == op["digest"]
        assert versions[op["version"]].digest == op["digest"]
    for op in done:
        if op["op"] == "tag":
            assert versions[op["version"]].tags[op["key"]] == op["value"]

    # Exactly one event per operation (but the champion moves, checked below),
    # by the right actor, about the right version.
    def key(actor, action, version):
        return actor, action, version

    audited = collections.Counter(key(e.actor, e.action, e.version) for e in events
                                  if not (e.action == "alias" and e.after["alias"] == "champion"))
    expected = collections.Counter(key(op["worker"], op["op"], op["version"]) for op in done
                                   if op["op"] != "champion")
    expected[key(events[0].actor, "create", None)] += 1    # the model, by the first register
    expected[key(events[0].actor, "register", 1)] += 1
    assert audited == expected, "the audit log must hold exactly one event per operation"
    assert [e.id for e in events] == sorted({e.id for e in events})

    # Last writer wins, and the log says who: each worker's aliases and stages
    # are its last settings; the champion's moves form an unbroken chain.
    final_aliases = {}
    for op in done:
        if op["op"] == "alias":
            final_aliases[op["alias"]] = op["version"]
        elif op["op"] == "stage":
            assert versions[op["version"]].stage in ("None", "Staging", "Production")
    last_stage = {op["version"]: op["stage"] for op in done if op["op"] == "stage"}
    for version, stage in last_stage.items():
        assert versions[version].stage == stage
    moves = [e for e in events if e.action == "alias" and e.after["alias"] == "champion"]
    champion_ops = [op for op in done if op["op"] == "champion"]
    assert 1 <= len(moves) <= len(champion_ops)
    assert moves[0].before is None
    for previous, move in zip(moves, moves[1:]):
        assert move.before == {"alias": "champion", "version": previous.after["version"]}
        assert move.before["version"] != move.after["version"]
    final_aliases["champion"] = moves[-1].after["version"]
    assert model.aliases == final_aliases
    for v in versions.values():
        assert set(v.aliases) == {a for a, n in final_aliases.items() if n == v.version}


# ---------------------------------------------------------------- crashes

def _registered(registry_path, by_name):
    """{(name, version): source path} of the live versions, from their
    descriptions (each registered with its file's name as description)."""
    with ark.Registry(registry_path, create=False) as reg:
        return {(m.name, v.version): by_name[v.description]
                for m in reg.models() for v in reg.versions(m.name)}


def test_register_killed_at_every_crash_point(tmp_path):
    registry_path = str(tmp_path / "reg")
    folder = str(tmp_path / "files")
    first = _make_artifact(folder, 0, 256)
    by_name = {os.path.basename(first): first}
    with ark.Registry(registry_path) as reg:
        reg.register("m", first, description=os.path.basename(first))
    expected = {("m", 1): first}
    completed_at = None
    for n in range(1, MAX_CRASH_POINTS + 1):
        path = _make_artifact(folder, n, 256)
        by_name[os.path.basename(path)] = path
        result = _run("crash", registry_path, path, env=_child_env(ARK_REGISTRY_CRASH_AT=n))
        if result.returncode == 0:
            completed_at = n
            expected[("m", json.loads(result.stdout)["version"])] = path
            break
        assert result.returncode == CRASH_EXIT, result.stderr
        # Either the whole version (a crash after the commit) or nothing.
        now = _registered(registry_path, by_name)
        new = {k: p for k, p in now.items() if k not in expected}
        assert set(expected) <= set(now), "a registered version was lost"
        assert not new or new == {("m", max(v for _, v in expected) + 1): path}, new
        expected = now
        _check_live_versions(registry_path, expected, str(tmp_path))
    assert completed_at is not None and completed_at > 1, "the register has no crash points"
    with ark.Registry(registry_path, create=False) as reg:
        assert [v.version for v in reg.versions("m")] == sorted(v for _, v in expected)
        # Registers killed after writing pieces left orphans: gc reclaims them.
        assert reg.gc()["pieces_removed"] > 0
        assert reg.gc()["pieces_removed"] == 0
    _check_live_versions(registry_path, expected, str(tmp_path))
    live_bytes = sum(os.path.getsize(p) for p in expected.values())
    assert _tree_bytes(os.path.join(registry_path, "packs")) <= live_bytes
    # The registry works after all this: a clean register, then gc keeps it.
    last = _make_artifact(folder, MAX_CRASH_POINTS + 1, 256)
    result = _run("crash", registry_path, last)
    assert result.returncode == 0, result.stderr
    expected[("m", json.loads(result.stdout)["version"])] = last
    with ark.Registry(registry_path, create=False) as reg:
        reg.gc()
    _check_live_versions(registry_path, expected, str(tmp_path))


def test_gc_killed_at_every_crash_point(tmp_path):
    """A gc that dies between piece removals leaves every live version whole."""
    registry_path = str(tmp_path / "reg")
    files = _make_artifacts(str(tmp_path / "files"), 6, size=512)
    with ark.Registry(registry_path) as reg:
        for path, _ in files:
            reg.register("m", path)
        for version in (2, 3, 5):
            reg.delete("m", version)
    expected = {("m", v): files[v - 1][0] for v in (1, 4, 6)}
    for n in range(1, MAX_CRASH_POINTS + 1):
        result = _run("gc", registry_path, env=_child_env(ARK_REGISTRY_CRASH_AT=n))
        _check_live_versions(registry_path, expected, str(tmp_path))
        if result.returncode == 0:
            break
        assert result.returncode == CRASH_EXIT, result.stderr
    else:
        pytest.fail("gc never completed")
    assert n > 1, "gc removed nothing or has no crash points"
    with ark.Registry(registry_path, create=False) as reg:
        assert reg.gc()["pieces_removed"] == 0
        assert reg.register("m", files[1][0]).version == 7


def test_register_survives_sigkill_at_random_times(tmp_path):
    registry_path = str(tmp_path / "reg")
    files = _make_artifacts(str(tmp_path / "files"), 41, size=4096)
    by_name = {os.path.basename(p): p for p, _ in files}
    with ark.Registry(registry_path):
        pass
    rng = random.Random(7)
    todo = [p for p, _ in files]
    killed = 0
    for attempt in range(4):
        batch, todo = todo[:10], todo[10:]
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "stream",
                              registry_path, *batch], env=_child_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdout.readline()  # the first register has started
        time.sleep(rng.uniform(0.0, 0.3))
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        killed += p.returncode == -signal.SIGKILL
        expected = _registered(registry_path, by_name)
        with ark.Registry(registry_path, create=False) as reg:
            reg.gc()
        _check_live_versions(registry_path, expected, str(tmp_path))
    assert killed == 4, "a stream ended before its kill: nothing was tested"
    result = _run("crash", registry_path, todo[0])
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- full disk

def test_full_disk_is_a_clear_error_and_changes_nothing(tmp_path):
    registry_path = str(tmp_path / "reg")
    small = _make_artifacts(str(tmp_path / "files"), 1)[0][0]
    big = str(tmp_path / "big.ark")
    ark.dump({"big": np.random.RandomState(0).standard_normal(500_000)}, big)  # 4 MB
    with ark.Registry(registry_path) as reg:
        reg.register("m", small)
    with ark.Registry(registry_path, create=False) as reg:
        before = [(v.version, v.digest) for v in reg.versions("m")], len(reg.history())
    packs_before = _tree(os.path.join(registry_path, "packs"))
    result = _run("limited", registry_path, big, 1_000_000)
    assert result.returncode == 0, result.stderr
    error = json.loads(result.stdout)
    assert error["type"] == "IoError", error
    assert "too large" in error["message"].lower() or "space" in error["message"].lower(), error
    with ark.Registry(registry_path, create=False) as reg:
        assert ([(v.version, v.digest) for v in reg.versions("m")], len(reg.history())) == before
    assert _tree(os.path.join(registry_path, "packs")) == packs_before
    # With room again, the same register works.
    with ark.Registry(registry_path, create=False) as reg:
        assert reg.register("m", big).digest == _digest(big)


def _tree_bytes(folder):
    return sum(os.path.getsize(os.path.join(folder, name)) for name in _tree(folder))


def _tree(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, files in os.walk(folder) for f in files)


if __name__ == "__main__":
    MODES = {"worker": lambda a: worker_main(a[0], int(a[1]), a[2], a[3]),
             "crash": lambda a: crash_main(*a), "stream": lambda a: stream_main(*a),
             "gc": lambda a: gc_main(*a),
             "limited": lambda a: limited_main(*a)}
    MODES[sys.argv[1]](sys.argv[2:])
