"""Capability transforms, each on hand-computed cases."""
import math

import numpy as np
import pytest

from rsilab.errors import ConfigError, DataError
from rsilab.estimate.rounds import gain_ratio
from rsilab.estimate.transforms import apply_transform, metric_ceiling


def test_raw_is_the_identity():
    assert apply_transform([50.0, 75.0], "raw").tolist() == [50.0, 75.0]


def test_logit_of_percentages_and_of_0_10_scores():
    # ln(p / (1 - p)): 50% -> 0, 75% -> ln 3, 20% -> ln(1/4); a 0-10 score of 7.5 -> ln 3
    got = apply_transform([50.0, 75.0, 20.0], "logit", 100.0)
    assert np.allclose(got, [0.0, math.log(3.0), math.log(0.25)], rtol=0, atol=1e-15)
    assert np.isclose(apply_transform([7.5], "logit", 10.0)[0], math.log(3.0), rtol=0, atol=1e-15)


def test_neglog_error():
    # -ln(1 - p): 0% -> 0, 50% -> ln 2, 75% -> ln 4
    got = apply_transform([0.0, 50.0, 75.0], "neglog-error", 100.0)
    assert np.allclose(got, [0.0, math.log(2.0), math.log(4.0)], rtol=0, atol=1e-15)


def test_log():
    assert np.allclose(apply_transform([1.0, math.e, 100.0], "log", None), [0.0, 1.0, math.log(100.0)],
                       rtol=0, atol=1e-15)


def test_k_is_taken_on_the_transformed_scale():
    # logits 0, 1, 1.5, 1.75: gains 1, 0.5, 0.25, so k = (0.5 + 0.125) / (1 + 0.25) = 0.5 exactly
    logits = np.array([0.0, 1.0, 1.5, 1.75])
    percent = 100.0 / (1.0 + np.exp(-logits))
    g = np.diff(apply_transform(percent, "logit", 100.0))
    assert np.isclose(gain_ratio(g[:-1], g[1:]), 0.5, rtol=1e-12)
    # on the raw scale the same path shows smaller ratios: the ceiling's compression
    raw = np.diff(percent)
    assert gain_ratio(raw[:-1], raw[1:]) < 0.5


def test_domain_errors_and_unknown_transform():
    with pytest.raises(DataError, match="inside \\(0, 100\\)"):
        apply_transform([100.0], "logit", 100.0)
    with pytest.raises(DataError, match="below 100"):
        apply_transform([100.0], "neglog-error", 100.0)
    with pytest.raises(DataError, match="> 0"):
        apply_transform([0.0], "log", None)
    with pytest.raises(DataError, match="bounded metric"):
        apply_transform([3.0], "logit", None)
    with pytest.raises(ConfigError, match="one of raw, logit, neglog-error, log"):
        apply_transform([3.0], "probit", 100.0)


def test_metric_ceilings():
    assert metric_ceiling("MT-Bench average score") == 10.0
    assert metric_ceiling("judge score (1-10)") == 10.0
    assert metric_ceiling("MATH accuracy (%)") == 100.0
    assert metric_ceiling("win rate vs GPT-4 Turbo (%)") == 100.0
    assert metric_ceiling("average score", "Open LLM Leaderboard average") == 100.0
    assert metric_ceiling("reward per episode") is None


def test_fit_rounds_prints_the_transform_and_k_under_each(tmp_path):
    import json

    from click.testing import CliRunner

    from rsilab.cli import cli

    logits = [0.0, 1.0, 1.5, 1.75, 1.875]  # gains 1, 1/2, 1/4, 1/8 on the logit scale: k = 0.5
    rounds = tmp_path / "r.csv"
    rounds.write_text("round,capability\n" + "".join(f"{i},{100 / (1 + math.exp(-x))!r}\n"
                                                     for i, x in enumerate(logits)))
    res = CliRunner().invoke(cli, ["fit", "rounds", str(rounds), "--transform", "logit", "--all-transforms", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    # exact levels: k within the interval, which is narrow (the noise collapses to its prior's floor)
    lo, hi = out["k_interval"]
    assert out["transform"] == "logit" and lo <= 0.5 <= hi and hi - lo < 0.01
    by = out["k_by_transform"]
    assert by["logit"]["k"] == pytest.approx(out["k"]) and by["raw"]["k"] < 0.5
    res = CliRunner().invoke(cli, ["fit", "rounds", str(rounds), "--transform", "logit"])
    assert res.exit_code == 0 and "transform: logit: ln(p / (1 - p)), p = value / 100" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("round,capability\n1,50\n0,40\n2,120\n3,60\n4,61\n")
    res = CliRunner().invoke(cli, ["fit", "rounds", str(bad), "--transform", "logit"])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0, res.output
    assert "row 3, column 'capability': 120 (round 2) must be inside (0, 100)" in res.output, res.output
    res = CliRunner().invoke(cli, ["fit", "rounds", str(rounds), "--transform", "probit"])
    assert res.exit_code == 2 and "one of raw, logit, neglog-error, log" in res.output
