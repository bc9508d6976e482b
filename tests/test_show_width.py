"""``experiment show`` and ``sweep show`` fit the terminal: the leading columns whole, the rest
named in one line and shown by ``--wide`` or ``--json``; nothing is cut with an ellipsis."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.cli.common import columns_that_fit
from rsilab.store import Store
from rsilab.store import sweeps as records

FIELDS = {f"measure_{i:02d}": 1000.0 + i / 7 for i in range(15)}


def _show(*args: str, columns: int = 80):
    res = CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        run = st.add_run("experiment:self-training", "self-training", config={}, seed=0)
        for i in range(3):
            st.add_round(run, i, {"capability": 5.0 + i, "horizon_lo": 4.5 + i, "horizon_hi": 5.5 + i,
                                  "compute_flop": 1e12, "seconds": 3.25, "accuracy": [1.0, 0.5], **FIELDS})
        sweep = records.add_sweep(st, "learned-optimizer", "mini", {"fixed": {}},
                                  [{"size": {"hidden": h, "note": "a long value " * 3}, "seed": s}
                                   for h in (4, 8) for s in (0, 1)])
        for cell in range(4):
            records.record_cell(st, sweep, cell, experiment="learned-optimizer", ok=cell != 3, config={},
                                rounds=[{"round": r, "capability": 1.0 + r * (cell + 1)} for r in range(6)],
                                summary={}, seconds=12.5, parameters=30.0,
                                error=None if cell != 3 else "MemoryError: " + "x" * 150)
    return str(path)


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_experiment_show_fits_the_terminal(store_path, columns):
    out = _show("experiment", "show", "1", "--store", store_path, columns=columns)
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert "…" not in out
    header = next(line for line in lines if "round" in line and "capability" in line)
    # the declared leading columns come first; the rest are named in one line
    assert header.index("round") < header.index("capability")
    rest = out[out.index("not shown at this width"):]  # one note, wrapped to the terminal
    assert "--wide" in rest and "measure_14" in rest and "accuracy" not in rest  # lists go to --json only


def test_experiment_show_wide_and_json_show_everything(store_path):
    wide = _show("experiment", "show", "1", "--wide", "--store", store_path)
    assert "not shown" not in wide and "…" not in wide
    for name in ["horizon_hi", "seconds", *FIELDS]:
        assert name in wide
    data = json.loads(_show("experiment", "show", "1", "--json", "--store", store_path))
    assert data["rounds"][0]["accuracy"] == [1.0, 0.5] and data["run"]["kind"] == "experiment:self-training"


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_sweep_show_fits_the_terminal(store_path, columns):
    out = _show("sweep", "show", "1", "--store", store_path, columns=columns)
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert "…" not in out and "k [90% interval]" in out
    wide = _show("sweep", "show", "1", "--wide", "--store", store_path, columns=columns)
    assert "MemoryError: " + "x" * 150 in wide  # whole


def test_columns_that_fit_counts_borders_and_padding():
    rows = [["a" * 7, "b" * 7, "c" * 7]]
    # each column takes its text plus 3 (padding and a border), plus one border at the left
    assert columns_that_fit(["x", "y", "z"], rows, width=1 + 10 + 10) == 2
    assert columns_that_fit(["x", "y", "z"], rows, width=1 + 30) == 3
    assert columns_that_fit(["x", "y", "z"], rows, width=5) == 1  # at least one, however narrow


def test_control_characters_in_a_tracked_run_are_escaped_and_measured_escaped(tmp_path):
    path = tmp_path / "t.sqlite"
    with Store(path) as st:
        run = st.add_run("experiment:track", "evil\x1b[2Jname", config={}, seed=None)
        st.add_round(run, 0, {"capability": 1.0, "note\x1b]0;title\x07": "x\r" * 10})
    out = _show("experiment", "show", str(run), "--wide", "--store", str(path), columns=80)
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "\\x1b" in out and "\\r" in out
    lines = _show("experiment", "show", str(run), "--store", str(path), columns=60).splitlines()
    assert all(len(line) <= 60 for line in lines), max(lines, key=len)
