"""Sweeps on a real local Ray: a mini grid, kill and resume, failing cells, and bad sweep files.

Each Ray test runs the real ``rsilab sweep`` command in a subprocess (as a user would), with its
own store file, and reads the store afterwards with the store's own code.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.store import Store
from rsilab.store import sweeps as records

SRC = str(Path(__file__).resolve().parents[1] / "src")
ray = pytest.importorskip("ray", reason="sweeps need the sweep extra (pip install 'rsilab[sweep]')")

# Small, quick cells: the mini profile, cut further so that one cell is a few seconds.
ST_FAST = """
[fixed]
rounds = 1
steps_round0 = 20
steps_per_round = 5
labelled_per_difficulty = 20
unlabelled_per_round = 10
eval_per_difficulty = 5
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               RSILAB_STORE=str(tmp_path / "store.sqlite"))
    env.pop("RAY_ADDRESS", None)
    return env


def _sweep(tmp_path: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rsilab.cli", "sweep", *args], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=timeout)


def _write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.slow
def test_mini_self_training_sweep_records_one_run_per_cell(tmp_path):
    path = _write(tmp_path, 'experiment = "self-training"\nprofile = "mini"\n[grid]\n'
                            'size = [{d_model = 16, d_ff = 32}, {d_model = 32, d_ff = 64}]\nseed = [0, 1]\n' + ST_FAST)
    out = _sweep(tmp_path, str(path), "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert (result["finished"], result["failed"], result["status"]) == (4, 0, "finished")
    with Store(tmp_path / "store.sqlite") as store:
        cells = records.list_cells(store, result["sweep_id"])
        assert [c.status for c in cells] == ["finished"] * 4
        assert len({c.run_id for c in cells}) == 4
        for c in cells:
            run = store.get_run(c.run_id)
            assert run.kind == "experiment:self-training" and run.status == "finished"
            assert run.config["config"]["d_model"] == c.values["d_model"]
            assert run.config["config"]["seed"] == c.values["seed"] == run.seed
            assert run.config["sweep"] == {"id": result["sweep_id"], "cell": c.cell}
            assert [r["round"] for r in store.rounds(c.run_id)] == [0, 1]
        # the wider model has more parameters; both seeds of a size have the same count
        params = {c.values["d_model"]: c.parameters for c in cells}
        assert params[32] > params[16] > 0
    shown = CliRunner().invoke(cli, ["sweep", "show", str(result["sweep_id"]), "--json",
                                     "--store", str(tmp_path / "store.sqlite")])
    assert shown.exit_code == 0, shown.output
    assert [c["status"] for c in json.loads(shown.output)["cells"]] == ["finished"] * 4


def _lo_sweep(tmp_path: Path, cells: int, extra: str = "") -> Path:
    seeds = ", ".join(str(i) for i in range(cells))
    return _write(tmp_path, f'experiment = "learned-optimizer"\nprofile = "mini"\n{extra}\n'
                            f'[grid]\nseed = [{seeds}]\n[fixed]\nrounds = 6\n')


@pytest.mark.slow
def test_killed_sweep_resumes_without_losing_or_repeating_a_cell(tmp_path):
    path = _lo_sweep(tmp_path, 10)
    log = tmp_path / "driver.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rsilab.cli", "sweep", str(path)], env=_env(tmp_path),
                                stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True)
    store_path = tmp_path / "store.sqlite"
    before: dict[int, int] = {}
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if store_path.exists():
                with Store(store_path) as store:
                    done = [c for c in (records.list_cells(store, 1) if _has_sweep(store) else [])
                            if c.status == "finished"]
                if len(done) >= 2:
                    break
        assert proc.poll() is None, "the sweep ended before it could be killed: " + log.read_text()[-2000:]
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything it started, with no chance to clean up
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    with Store(store_path) as store:
        cells = records.list_cells(store, 1)
        before = {c.cell: c.run_id for c in cells if c.status == "finished"}
    assert 2 <= len(before) < 10, before
    out = _sweep(tmp_path, "--resume", "1", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["skipped"] == len(before) and result["finished"] == 10 - len(before)
    assert sorted(int(c) for c in result["cells"]) == sorted(set(range(10)) - set(before))   # only the unfinished cells ran
    with Store(store_path) as store:
        cells = records.list_cells(store, 1)
        assert [c.status for c in cells] == ["finished"] * 10
        assert {c.cell: c.run_id for c in cells if c.cell in before} == before  # finished cells untouched
        finished_runs = [r for r in store.list_runs("experiment:learned-optimizer", limit=100) if r.status == "finished"]
        # one finished run per cell, no more: no cell was recorded twice
        assert sorted(r.config["sweep"]["cell"] for r in finished_runs) == list(range(10))
        assert all(len(store.rounds(c.run_id)) == 7 for c in cells)


def _has_sweep(store: Store) -> bool:
    return store.conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0] > 0


@pytest.mark.slow
def test_failing_and_overlong_cells_are_recorded_failed_and_the_others_finish(tmp_path):
    # cell 0 is fine, cell 1 raises inside the experiment (a valid config this machine cannot run:
    # a learned optimizer of 10^12 hidden units, whose 8 TB of meta-parameters numpy cannot
    # allocate), cell 2 would run for hours and passes the 20 s limit (generous: a healthy cell
    # needs ~5 s)
    path = _write(tmp_path, 'experiment = "learned-optimizer"\nprofile = "mini"\ntimeout_s = 20\n[grid]\n'
                            'variant = [{rounds = 3}, {rounds = 3, hidden = 1000000000000}, {rounds = 100000}]\n')
    out = _sweep(tmp_path, str(path), "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert (result["finished"], result["failed"], result["status"]) == (1, 2, "incomplete")
    with Store(tmp_path / "store.sqlite") as store:
        cells = records.list_cells(store, 1)
        assert [c.status for c in cells] == ["finished", "failed", "failed"]
        assert "MemoryError" in cells[1].error, cells[1].error
        assert "time limit of 20 s" in cells[2].error, cells[2].error
        assert store.get_run(cells[1].run_id).status == "failed"
        assert "\n" not in cells[1].error


def test_without_ray_one_line_names_the_extra(tmp_path):
    path = _lo_sweep(tmp_path, 2)
    code = ("import sys; sys.modules['ray'] = None; from rsilab.cli import main; "
            f"sys.argv = ['rsilab', 'sweep', {str(path)!r}]; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "pip install 'rsilab[sweep]'" in out.stderr, out.stderr
    assert not (tmp_path / "store.sqlite").exists() or not _sweep_rows(tmp_path / "store.sqlite")


def _sweep_rows(path: Path) -> int:
    with Store(path) as store:
        return store.conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0]


BIG_GRID = "seed = [" + ", ".join(str(i) for i in range(101)) + "]\nrounds = [" + ", ".join(
    str(i) for i in range(2, 102)) + "]\n"


@pytest.mark.parametrize("text, names", [
    ('experiment = "no-such"\n[grid]\nseed = [0]\n', ["experiment", "no-such", "learned-optimizer"]),
    ('experiment = "learned-optimizer"\n[grid]\nwidth = [4, 8]\n', ["grid.width", "width", "hidden"]),
    ('experiment = "learned-optimizer"\n[grid]\n', ["grid", "at least one field"]),
    ('experiment = "learned-optimizer"\n[grid]\nhidden = []\n', ["grid.hidden", "non-empty list"]),
    ('experiment = "learned-optimizer"\n[grid]\nhidden = [4, "big"]\n', ["grid.hidden[1]", "'big'", "int"]),
    ('experiment = "self-training"\n[grid]\nseed = [0]\n[fixed]\nmode = 3\n', ["fixed.mode", "3", "str"]),
    ('experiment = "learned-optimizer"\n[grid]\n' + BIG_GRID, ["grid", "10,100 cells", "--yes"]),
    ('experiment = "learned-optimizer"\n[grid]\nhidden = [0]\n', ["grid.hidden", "0"]),
])
def test_bad_sweep_files_get_one_line_and_exit_2(tmp_path, text, names):
    path = _write(tmp_path, text)
    out = CliRunner().invoke(cli, ["sweep", str(path)])
    assert out.exit_code == 2, out.output
    line = out.output.strip()
    assert line.startswith("error: ") and "\n" not in line, line
    for name in names:
        assert name in line, f"{name!r} not in: {line}"
    assert "Traceback" not in out.output
    assert not Path(os.environ["RSILAB_STORE"]).exists() or _sweep_rows(Path(os.environ["RSILAB_STORE"])) == 0


def test_a_second_driver_is_refused_and_runs_nothing(tmp_path):
    from rsilab.sweep.engine import create_sweep
    from rsilab.sweep.spec import load_spec

    store_path = tmp_path / "store.sqlite"
    with Store(store_path) as store:
        sweep_id = create_sweep(store, load_spec(_lo_sweep(tmp_path, 2)))
        # a driver on another machine holds the sweep and refreshed its claim just now
        assert records.claim_driver(store, sweep_id, "elsewhere:4242", stale_after=150.0) is None
    out = CliRunner().invoke(cli, ["sweep", "--resume", str(sweep_id), "--store", str(store_path)])
    assert out.exit_code == 2, out.output
    line = out.output.strip().splitlines()[-1]   # after the "resuming" notice, one error line
    assert line.startswith("error: ") and "elsewhere:4242" in line and "Traceback" not in out.output, out.output
    with Store(store_path) as store:
        assert [(c.status, c.attempts) for c in records.list_cells(store, sweep_id)] == [("pending", 0)] * 2


def test_dead_or_stale_driver_claims_are_taken_over(tmp_path):
    import socket

    from rsilab.sweep.engine import claim, create_sweep
    from rsilab.sweep.spec import load_spec

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Store(tmp_path / "store.sqlite") as store:
        sweep_id = create_sweep(store, load_spec(_lo_sweep(tmp_path, 1)))
        # a driver of this host that was killed: its process is gone, so its claim is taken at once
        assert records.claim_driver(store, sweep_id, f"{socket.gethostname()}:{gone.pid}", stale_after=150.0) is None
        me = claim(store, sweep_id)
        assert me == f"{socket.gethostname()}:{os.getpid()}"
        # held by this (live) process: another driver is refused while the claim is fresh ...
        assert records.claim_driver(store, sweep_id, "elsewhere:1", stale_after=3600.0) == me
        # ... and takes it once the heartbeat is older than its staleness limit
        time.sleep(0.01)
        assert records.claim_driver(store, sweep_id, "elsewhere:1", stale_after=0.001) is None
        records.release_driver(store, sweep_id, "elsewhere:1")
        assert records.claim_driver(store, sweep_id, "third:7", stale_after=3600.0) is None
