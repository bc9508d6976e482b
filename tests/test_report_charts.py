"""The charts moved into report/ still draw (that only report/ imports matplotlib is a rule of
tests/test_import_layers.py)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.report.charts import story_line
from rsilab.experiments.registry import EXPERIMENTS


ROUNDS = {
    "learned-optimizer": [{"round": i, "capability": 2.0 + i, "capability_adam_meta": 3.0, "capability_adam_inner": 1.5,
                           "adam_inner_lr": 0.01} for i in range(4)],
    "self-improver": [{"round": i, "capability": 0.6 + 0.05 * i, "capability_control": 0.6, "held_out": 0.2 + 0.1 * i,
                       "held_out_control": 0.2} for i in range(4)],
    "self-training": [{"round": i, "capability": 9.0 + i, "horizon": 9.0 + i, "horizon_lo": 8.6 + i,
                       "horizon_hi": 9.4 + i, "horizon_80": 8.0 + i, "horizon_accuracy": 0.5, "frontier": 8,
                       "labelled_max": 8 + i, "label_precision": None if i == 0 else 0.95, "schedule": "one-up",
                       "accuracy": [1.0] * (8 + i) + [0.6, 0.3, 0.0]} for i in range(4)],
    # a run logged with rsilab.track has no chart of its own: capability per round
    "track": [{"round": i, "capability": 20.0 + i} for i in range(4)],
}


def test_every_declared_experiment_has_rounds_to_draw_here():
    assert set(EXPERIMENTS) | {"track"} == set(ROUNDS)


@pytest.mark.parametrize("name", sorted(ROUNDS))
def test_experiment_show_draws_the_run_with_the_report_chart(name, tmp_path, store):
    run_id = store.add_run(f"experiment:{name}", name, config={}, summary={}, seed=0)
    for r in ROUNDS[name]:
        store.add_round(run_id, r["round"], r)
    png = tmp_path / "run.png"
    result = CliRunner().invoke(cli, ["experiment", "show", str(run_id), "--plot", str(png),
                                      "--store", str(tmp_path / "test-store.sqlite")])
    assert result.exit_code == 0, result.output
    assert f"wrote {png}" in result.output and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_experiment_show_writes_no_file_unless_asked(tmp_path, store, monkeypatch):
    run_id = store.add_run("experiment:track", "mine", config={}, summary={}, seed=0)
    for r in ROUNDS["track"]:
        store.add_round(run_id, r["round"], r)
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    result = CliRunner().invoke(cli, ["experiment", "show", str(run_id), "--store", str(tmp_path / "test-store.sqlite")])
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.output and set(tmp_path.iterdir()) == before


def test_chart_titles_lead_with_the_story():
    takeoff = {"p_explosive": 0.4883, "ends": {"most_likely": "fizzle",
                                               "late_regime_probabilities": {"fizzle": 1.0},
                                               "means": {"fizzle": "returns below 1 at the end: growth slowing"}}}
    assert story_line(takeoff) == "P(explosive at some point) 0.49; ends fizzle 1.00: growth slowing"
    assert story_line(None) == ""
