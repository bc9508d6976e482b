"""The store under concurrent writers and killed writers: no run lost, no corruption.

Real processes on a real SQLite file: 32 processes open a fresh store at the same instant and
each adds a run; a writer is SIGKILLed at random moments inside ``add_run`` and audit appends,
again and again, and the store must still open, pass ``PRAGMA integrity_check``, hold every run
whose ``add_run`` returned, and keep a verifiable audit chain.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rsilab.box.audit import AuditLog
from rsilab.store import Store
from rsilab.store.db import _migrations

SRC = str(Path(__file__).resolve().parents[1] / "src")

_OPENER = """
import sys, time
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
from rsilab.store import Store
with Store(sys.argv[1]) as s:
    rid = s.add_run("test:concurrent", sys.argv[3], config={"who": sys.argv[3]})
print(rid, flush=True)
"""

# Writes runs and audit records without pause and prints each run id once add_run has
# returned: a printed id is a promise the store must keep after any SIGKILL.
_WRITER = """
import sys
from rsilab.store import Store
from rsilab.box.audit import AuditLog
with Store(sys.argv[1]) as s:
    log = AuditLog(s)
    i = 0
    while True:
        rid = s.add_run("test:killed", f"w{i}", config={"i": i, "pad": "x" * 2000})
        print(rid, flush=True)
        log.append("kill-test", "run", {"run": rid})
        i += 1
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.mark.slow
def test_32_processes_opening_a_fresh_store_at_once_lose_no_run(tmp_path):
    path = tmp_path / "fresh.sqlite"
    # All processes sleep until the same instant so that they really race on the migrations;
    # 4 s leaves time to start 32 interpreters on 2 busy cores.
    start = time.time() + 4.0
    procs = [subprocess.Popen([sys.executable, "-c", _OPENER, str(path), repr(start), f"p{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for i in range(32)]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [(p.returncode, err.strip()[-300:]) for p, (_, err) in zip(procs, results) if p.returncode]
    assert not failures, failures
    ids = sorted(int(out.split()[0]) for out, _ in results)
    with Store(path) as s:
        names = sorted(r.name for r in s.list_runs("test:concurrent", limit=100))
        assert names == sorted(f"p{i}" for i in range(32))
        assert sorted(r.id for r in s.list_runs("test:concurrent", limit=100)) == ids
        assert sorted(r[0] for r in s.conn.execute("SELECT version FROM schema_migrations")) == [v for v, _, _ in _migrations()]
        (count,) = s.conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        assert count == len(_migrations())  # each applied once


@pytest.mark.slow
def test_a_writer_killed_mid_write_loses_nothing_it_promised(tmp_path):
    path = tmp_path / "killed.sqlite"
    Store(path).close()
    rng = random.Random(14)
    promised: set[int] = set()
    # 25 kills at random moments between 20 and 120 ms after the writer starts writing: the
    # writer completes tens of runs per kill, so kills land inside add_run, inside the audit
    # append and between them. 25 bounds the test to a few seconds.
    kills = 25
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())
        first = proc.stdout.readline()  # the writer is writing now
        assert first.strip(), proc.stderr.read()
        promised.add(int(first))
        time.sleep(rng.uniform(0.02, 0.12))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        # a line cut short by the kill was never a complete promise
        promised |= {int(line) for line in out.splitlines()[:-1] if line.strip()}
        if out.endswith("\n") and out.strip():
            promised.add(int(out.splitlines()[-1]))
        assert proc.returncode == -signal.SIGKILL
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    with Store(path) as s:
        present = {r.id for r in s.list_runs("test:killed", limit=10**6)}
        missing = promised - present
        assert not missing, f"{len(missing)} runs whose add_run returned are gone: {sorted(missing)[:10]}"
        report = AuditLog(s).verify()
        assert report.ok, report.line()
        # every promised run but the last of each writer was followed by a finished audit append
        assert report.records >= len(promised) - kills
    print(f"{kills} kills; {len(promised)} promised runs, {len(present)} present; audit {report.line()}")
