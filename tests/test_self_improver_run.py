"""The self-improver end to end inside the box: miniature runs, resume, tampering rejected."""
from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from rsilab.experiments.self_improver import boxed, loop
from rsilab.experiments.self_improver.config import load_config
from rsilab.errors import ConfigError

pytestmark = pytest.mark.bwrap

TAMPER = '''\
try:
    with open("/box/control/disable_sandbox", "w") as _fh:
        _fh.write("1\\n")
except OSError:
    pass
'''


def _summary(store, run_id):
    return [(r["round"], r["capability"], r["adopted"], r["capability_control"], r["held_out"])
            for r in store.rounds(run_id)]


def test_mini_run_through_the_cli_show_export_and_audit(tmp_path):
    from rsilab.box import AuditLog
    from rsilab.cli import cli
    from rsilab.store import Store

    db = str(tmp_path / "cli.sqlite")
    runner = CliRunner()
    res = runner.invoke(cli, ["experiment", "run", "self-improver", "--profile", "mini", "--store", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["experiment", "show", "1", "--store", db, "--plot", str(tmp_path / "si.png")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "rounds.csv"
    res = runner.invoke(cli, ["experiment", "export", "1", "--rounds", str(out), "--store", db])
    assert res.exit_code == 0, res.output
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["round", "capability", "compute_flop", "seconds"]
    assert len(rows) == 2 + load_config(None, "mini").rounds
    with Store(db) as store:
        run = store.get_run(1)
        assert run.status == "finished"
        assert run.summary["sandbox_disable_attempts"] == 0
        rounds = store.rounds(1)
        log = AuditLog(store)
        assert log.verify().ok
        runs = list(log.records("self-improver:run1", "run"))
        # every job that executed an improver is a boxed run on record: 1 at round 0, then at
        # least a proposing job per arm per round
        assert len(runs) >= 1 + 2 * (len(rounds) - 1)
        assert all(r.body["status"] == "ok" and r.body["details"]["mode"] == "bwrap" for r in runs)
    for r in rounds:
        assert 0 <= r["capability"] <= 1 and r["compute_flop"] > 0 and r["seconds"] > 0
    for r in rounds[1:]:
        # the control arm's spend is recorded too: the comparison is at equal budget per round
        assert r["compute_flop_control"] > 0 and r["downstream_calls_control"] > 0


def test_resume_after_a_crash_repeats_the_uninterrupted_run(store, monkeypatch):
    reference = loop.run_experiment(load_config(None, "mini"), store)
    real = loop.round_record

    def crash(cfg, state, r, *args):
        if r == 2:
            raise KeyboardInterrupt("simulated crash")
        return real(cfg, state, r, *args)

    monkeypatch.setattr(loop, "round_record", crash)
    with pytest.raises(KeyboardInterrupt):
        loop.run_experiment(load_config(None, "mini"), store)
    crashed = max(r.id for r in store.list_runs())
    assert [r["round"] for r in store.rounds(crashed)] == [0, 1]
    monkeypatch.setattr(loop, "round_record", real)
    assert loop.run_experiment(load_config(None, "mini"), store, resume_run=crashed) == crashed
    assert _summary(store, crashed) == _summary(store, reference)


def test_a_candidate_that_touches_a_canary_is_rejected_and_recorded(store, monkeypatch):
    from rsilab.box import AuditLog

    real = boxed.run_job

    def tampering(job, **kwargs):
        # the self arm's proposing job: a candidate that escaped the screen writes the
        # sandbox flag before doing its honest work
        if job["mode"] == "self_improve" and job["target"] == job["improver"]:
            kwargs["program"] = TAMPER + boxed.bundle_source()
        return real(job, **kwargs)

    monkeypatch.setattr(boxed, "run_job", tampering)
    run_id = loop.run_experiment(load_config(None, "mini"), store)
    rounds = store.rounds(run_id)
    for r in rounds[1:]:
        assert r["adopted"] is False
        assert "canaries" in r["reason"] and r["tamper_events"] >= 1
        assert r["capability"] == rounds[0]["capability"]
    log = AuditLog(store)
    experiment = f"self-improver:run{run_id}"
    assert log.canary_touches(experiment) >= len(rounds) - 1
    proposals = list(log.records(experiment, "proposal"))
    assert proposals and all(p.body["status"] == "rejected" for p in proposals
                             if p.body["extra"].get("arm") == "self")
    assert any(not p.body["checks"]["canaries"]["passed"] for p in proposals)
    assert log.verify().ok


def test_bad_config_is_a_clear_error(tmp_path, store):
    bad = tmp_path / "bad.toml"
    bad.write_text('training_tasks = ["chess"]\n')
    with pytest.raises(ConfigError, match="training_tasks"):
        load_config(bad, "mini")
    bad.write_text("meta_budget = 1\n")
    with pytest.raises(ConfigError, match="meta_budget"):
        load_config(bad, "mini")
