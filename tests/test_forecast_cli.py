"""The forecast commands as a user meets them: every recording command says its run id, `rsilab
runs` fits the terminal, and the store is checked before anything runs."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from rsilab.cli import cli

PRESET = "criticality-continuous"


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, prog_name="rsilab")


@pytest.mark.parametrize("command", [
    ["simulate", "--preset", PRESET, "--samples", "300"],
    ["forecast", "--preset", PRESET, "--samples", "300"],
    ["sensitivity", "--preset", PRESET, "--base-samples", "16"],
])
def test_every_recording_command_says_its_run_id(command, tmp_path):
    store = str(tmp_path / "s.sqlite")
    first = invoke(*command, "--store", store)
    second = invoke(*command, "--store", store)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "recorded as run 1 " in first.stdout and "recorded as run 2 " in second.stdout
    as_json = json.loads(invoke(*command, "--json", "--store", store).stdout)
    assert as_json["run_id"] == 3   # --json says it as run_id (the JSON stays one object)


def _runs(tmp_path, *extra, columns=80):
    res = invoke("runs", "--store", str(tmp_path / "s.sqlite"), *extra, env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture
def three_runs(tmp_path):
    store = str(tmp_path / "s.sqlite")
    for args in (["simulate", "--preset", PRESET, "--samples", "300"],
                 ["sensitivity", "--preset", PRESET, "--base-samples", "16"],
                 ["forecast", "--preset", "sie", "--samples", "300"]):
        assert invoke(*args, "--json", "--store", store).exit_code == 0
    return tmp_path


def test_runs_fits_80_columns_without_cutting_the_headline(three_runs):
    out = _runs(three_runs)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    rows = [line for line in lines if re.match(r"│ \d", line)]
    assert len(rows) == 3, out     # one line per run: nothing wraps
    by_id = {int(r.split("│")[1]): r for r in rows}
    assert re.search(r"P\(explosive\) \d\.\d\d, ends \w+ \d\.\d\d", by_id[3])    # the headline, whole
    # a sensitivity run has a headline too: its output and the largest total-order indices
    assert re.search(r"p_explosion: total order p \d\.\d\d, c \d\.\d\d", by_id[2]), by_id[2]
    assert "not shown at this width:" in out and "--wide" in out


def _header(text: str) -> list[str]:
    return [c.strip() for c in next(line for line in text.splitlines() if "┃ id" in line).split("┃")[1:-1]]


def test_runs_chooses_columns_for_the_width(three_runs):
    header = {w: _header(_runs(three_runs, columns=w)) for w in (60, 100, 200)}
    assert header[200] == ["id", "kind", "name", "when", "headline", "seed", "status"]
    assert header[100] == ["id", "kind", "name", "headline"]
    assert header[60] == ["id", "name", "headline"]
    assert "not shown" not in _runs(three_runs, columns=200)
    wide = _runs(three_runs, "--wide", columns=60)
    assert _header(wide) == header[200] and "not shown" not in wide
    records = json.loads(_runs(three_runs, "--json"))
    assert {"id", "kind", "name", "created_at", "seed", "version", "config", "summary", "timings", "status"} <= set(records[0])


def test_a_store_path_in_a_missing_directory_is_one_line_and_creates_nothing(tmp_path):
    target = tmp_path / "typo" / "s.sqlite"
    for args in (["simulate", "--preset", PRESET, "--samples", "100"], ["runs"], ["report", "1", "--out", "x.html"]):
        res = invoke(*args, "--store", str(target))
        assert res.exit_code == 2, res.output
        # (a value over 80 characters is shown cut; the missing directory is named in full)
        line = res.stderr
        assert line.count("\n") == 1 and line.startswith("error: --store = '"), line
        assert line.endswith(f" is not allowed: a file in an existing directory ({target.parent} does not exist; "
                             "rsilab creates a missing store file, never its directory)\n"), line
        assert not target.parent.exists()
    res = invoke("runs", env={"RSILAB_STORE": str(target)})
    assert res.exit_code == 2 and res.stderr.startswith("error: $RSILAB_STORE = ") and not target.parent.exists()


def test_a_corrupt_store_is_reported_before_anything_runs(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    out = tmp_path / "charts"
    res = invoke("forecast", "--preset", PRESET, "--samples", "2000", "--out", str(out), "--store", str(bad))
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1
    assert f"{bad} is not an rsilab store" in res.stderr
    # the charts are written after the simulation: none means it never ran
    assert not out.exists()
    res = invoke("sensitivity", "--preset", PRESET, "--base-samples", "16", "--store", str(bad))
    assert res.exit_code == 2 and "is not an rsilab store" in res.stderr


def test_the_default_store_location_is_made_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv("RSILAB_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from rsilab.store import Store, default_store_path

    path = default_store_path()
    assert tmp_path in path.parents and not path.parent.exists()
    with Store() as st:
        assert st.path == path
    assert path.is_file()
