"""One format for every user error, click's usage errors included; flags name what was typed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rsilab.cli import cli

# (arguments, what the one line must name)
BAD = [
    (["simulate"], "nothing to simulate: give a scenario TOML file"),
    (["simulate", "--preset", "default", "--samples", "-5"], "--samples = -5 is not allowed"),
    (["simulate", "--preset", "default", "--horizon", "0"], "--horizon = 0"),
    (["simulate", "--preset", "default", "--samples", "x"], "--samples = 'x' is not allowed: an integer"),
    (["simulate", "--preset", "nope"], "--preset = 'nope' is not allowed: one of"),
    (["simulate", "no-such-file.toml"], "SCENARIO_FILE = 'no-such-file.toml' is not allowed: an existing TOML file"),
    (["simulate", "--foo"], "no such option '--foo'"),
    (["simulate", "--preset", "default", "--samples"], "option '--samples' requires an argument (see 'rsilab simulate --help')"),
    (["fit", "rounds", "r.csv", "--seed"], "(see 'rsilab fit rounds --help')"),
    (["bogus"], "no such command 'bogus'"),
    (["forecast", "--preset", "sie", "--scenario", "boxing"], "--scenario = 'boxing'"),
    (["sensitivity", "--preset", "default", "--phase", "middle"], "--phase = 'middle' is not allowed"),
    (["sensitivity", "--preset", "default", "--base-samples", "10"], "--base-samples = 10"),
    (["sensitivity", "--preset", "default", "--method", "shapley", "--base-samples", "10"], "--base-samples = 10"),
    (["sensitivity", "--preset", "default", "--method", "kucherenko"], "--method = 'kucherenko' is not allowed"),
    (["fit", "rounds"], "missing argument 'ROUNDS.csv'"),
    (["fit", "scaling", "a.csv", "--form", "cubic"], "--form = 'cubic' is not allowed: one of"),
    (["experiment", "run", "nope"], "NAME = 'nope' is not allowed"),
    (["experiment", "export", "1"], "missing option '--rounds'"),
    (["box", "run", "no-such-candidate.py"], "CANDIDATE = 'no-such-candidate.py' is not allowed: an existing file"),
    (["runs", "--limit", "many"], "--limit = 'many'"),
]


@pytest.mark.parametrize("args, names", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_user_error_is_one_line_naming_what_was_typed(args, names, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if args[0] in ("simulate", "forecast"):
        args = args[:1] + ["--store", str(tmp_path / "s.sqlite")] + args[1:]
    result = CliRunner().invoke(cli, args, prog_name="rsilab")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert names in lines[0], lines[0]
    assert "Usage:" not in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "s.sqlite"])   # nothing half-written


def test_the_real_entry_point_prints_the_same_line():
    # CliRunner calls cli.main; the installed script goes through rsilab.cli.main
    proc = subprocess.run([sys.executable, "-c", "from rsilab.cli import main; main()", "simulate", "--samples", "x"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: --samples = 'x' is not allowed: an integer\n"


def test_forecast_writes_no_file_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "s.sqlite"
    result = CliRunner().invoke(cli, ["forecast", "--samples", "200", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    assert "charts: none written (--out DIR writes them)" in result.output
    result = CliRunner().invoke(cli, ["forecast", "--samples", "200", "--store", str(store), "--out", "charts", "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)["charts"]
    assert written and all((tmp_path / p).stat().st_size > 1000 for p in written)


def test_scenario_is_a_hidden_alias_of_preset(tmp_path):
    store = str(tmp_path / "s.sqlite")
    runs = [CliRunner().invoke(cli, ["simulate", flag, "criticality-continuous", "--samples", "100", "--json",
                                     "--store", store]) for flag in ("--preset", "--scenario")]
    a, b = (json.loads(r.stdout) for r in runs)
    for s in (a, b):
        s.pop("timings_seconds"), s.pop("run_id")
    assert a == b and a["scenario"] == "criticality-continuous"
    assert "--scenario" not in CliRunner().invoke(cli, ["forecast", "--help"]).output


def test_documented_shell_completion_completes_commands():
    env = {**os.environ, "_RSILAB_COMPLETE": "bash_complete", "COMP_WORDS": "rsilab fit ro", "COMP_CWORD": "2"}
    proc = subprocess.run([sys.executable, "-c", "from rsilab.cli import main; main()"], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.split() == ["plain,rounds"], proc.stdout + proc.stderr
