"""Scenario contract: valid files parse; every kind of bad input is one clear message, no traceback."""
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rsilab.errors import ConfigError
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.priors import parse_prior
from rsilab.simulate.scenario import load_preset, load_scenario, parse_scenario, preset_names

GOOD = """
[model]
name = "returns"
shape = "diminishing"
[params]
r = { dist = "loguniform", low = 0.4, high = 3.6 }
c = { dist = "triangular", low = 0.2, mode = 0.5, high = 1.0 }
[simulation]
n_samples = 2000
horizon_years = 10
seed = 3
[thresholds]
capability_multiples = [10, 1000]
"""

BAD = [
    # (toml text, expected field in the message, expected fragment of what is allowed)
    ("[model]\nname = 'nope'", "model.name = 'nope'", "one of"),
    ("[params]\nr = 1", "model.name", "[model] table"),
    ("[model]\nname = 'returns'\nshape = 'wobbly'", "model.shape = 'wobbly'", "one of constant"),
    ("[model]\nname = 'returns'\ncolour = 'red'", "model.colour", "an option of model"),
    ("[model]\nname = 'returns'\n[params]\nzeta = 1", "params.zeta", "a parameter of model 'returns'"),
    ("[model]\nname = 'returns'\n[params]\nr = 99", "params.r = 99.0", "must lie in [0, 20]"),
    ("[model]\nname = 'returns'\n[params]\nr = 'high'", "params.r = 'high'", "a number or a table"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'cauchy' }", "params.r.dist = 'cauchy'", "one of fixed"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'uniform', low = 2 }", "params.r.high", "uniform needs low, high"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'uniform', low = 2, high = 1 }", "params.r.low = 2.0", "at most high"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'loguniform', low = 0, high = 1 }", "params.r.low = 0.0", "positive"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'normal', mean = 1, sd = -1 }", "params.r.sd = -1.0", ">= 0"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'normal', mean = 1, sd = 1 }", "params.r.low", "truncate normal"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'uniform', low = 1, high = 2, mode = 1 }", "params.r.mode", "a field of uniform"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'triangular', low = 1, mode = 3, high = 2 }", "params.r.mode = 3.0", "between low"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'empirical', samples = [1] }", "params.r.samples", "at least 2"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'split_loguniform', low = 1, median = 3, high = 2 }",
     "params.r.median = 3.0", "between low"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'split_loguniform', low = -1, median = 1, high = 2 }",
     "params.r.low = -1.0", "of one sign"),
    ("[model]\nname = 'returns'\n[simulation]\nn_samples = 0", "simulation.n_samples = 0", "[1, 5e+07]"),
    ("[model]\nname = 'returns'\n[simulation]\nn_samples = 1.5", "simulation.n_samples = 1.5", "a whole number"),
    ("[model]\nname = 'returns'\n[simulation]\nhorizon_years = -1", "simulation.horizon_years = -1", "a number in"),
    ("[model]\nname = 'returns'\n[simulation]\nspeed = 3", "simulation.speed", "one of n_samples"),
    ("[model]\nname = 'returns'\n[thresholds]\ncapability_multiples = [0.5]", "capability_multiples[0] = 0.5", "a number > 1"),
    ("[model]\nname = 'returns'\n[thresholds]\nmultiples = [10]", "thresholds.multiples", "only capability_multiples"),
    ("[model]\nname = 'returns'\n[extra]\na = 1", "extra", "a top-level table"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'uniform', low = 1, high = 2 }\n[[correlations]]\nparams = ['r', 'c']\nrho = 0.5",
     "correlations[0].params = 'c'", "non-fixed prior"),
    ("[model]\nname = 'returns'\n[params]\nr = { dist = 'uniform', low = 1, high = 2 }\nc = { dist = 'uniform', low = 0.1, high = 1 }\n"
     "[[correlations]]\nparams = ['r', 'c']\nrho = 1.5", "correlations[0].rho = 1.5", "strictly between -1 and 1"),
    ("[model]\nname = 'returns'\n[meta]\nauthor = 'me'", "meta", "only description"),
]


@pytest.mark.parametrize("text,field,allowed", BAD, ids=[b[1] for b in BAD])
def test_bad_scenarios_name_field_value_and_what_is_allowed(tmp_path, text, field, allowed):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert field in message and allowed in message, message
    assert str(path) in message  # which file


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="an existing TOML file"):
        load_scenario(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nname = ")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_scenario(broken)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="readable UTF-8"):
        load_scenario(binary)


def test_cli_reports_bad_input_in_one_line_without_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model]\nname = 'returns'\n[params]\nr = 99")
    proc = subprocess.run([sys.executable, "-m", "rsilab.cli.__main__", "simulate", str(path), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "params.r = 99.0" in proc.stderr


def test_good_scenario_parses_and_seed_gives_identical_summary(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    a = run_scenario(sc).summary()
    b = run_scenario(sc).summary()
    for s in (a, b):
        s.pop("timings_seconds")
    assert a == b
    c = run_scenario(sc.with_simulation(seed=4)).summary()
    assert c["regime_probabilities"] != a["regime_probabilities"]


def test_every_preset_loads_and_runs_small():
    for name in preset_names():
        sc = load_preset(name).with_simulation(n_samples=200)
        summary = run_scenario(sc).summary()
        if sc.model.kind == "outcome":
            # no paths and no regimes: every declared metric is summarised, for every sample
            groups = {g["group"]: [m["name"] for m in g["metrics"]] for g in summary["outcome_groups"]}
            assert sum(len(v) for v in groups.values()) == len(sc.model.metrics), name
            assert all(set(summary[g]) == set(ms) for g, ms in groups.items()), name
            assert summary["n_samples"] == 200 and "regime_probabilities" not in summary
            continue
        assert set(summary["regime_probabilities"]) == {"explosion", "combustion", "fizzle", "ceiling"}
        # every sample is accounted for, and none failed: a shipped preset whose priors reach
        # parameters the solver cannot integrate (step limit, invalid state) is a broken preset
        counts = summary["status_counts"]
        assert sum(counts.values()) == 200, (name, counts)
        assert counts["invalid"] == 0 and counts["step_limit"] == 0, (name, counts)


def test_gaussian_copula_gives_the_requested_rank_correlation():
    text = GOOD + "\n[[correlations]]\nparams = ['r', 'c']\nrho = 0.7\n"
    sc = parse_scenario(__import__("tomllib").loads(text)).with_simulation(n_samples=40_000)
    p = draw_parameters(sc)
    from scipy.stats import spearmanr

    # Spearman's rho of a Gaussian copula with correlation 0.7 is (6/pi) asin(0.35) = 0.6829
    assert spearmanr(p["r"], p["c"]).statistic == pytest.approx(6 / np.pi * np.arcsin(0.35), abs=0.01)
    assert p["r"].min() >= 0.4 and p["r"].max() <= 3.6


@pytest.mark.parametrize("spec,mean", [
    ({"dist": "uniform", "low": 1, "high": 3}, 2.0),
    ({"dist": "loguniform", "low": 1, "high": np.e}, np.e - 1),
    ({"dist": "normal", "mean": 2, "sd": 0.5}, 2.0),
    ({"dist": "lognormal", "mu": 0.0, "sigma": 0.5}, np.exp(0.125)),
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 5}, 2.0),
    # half log-uniform on [1, e] (mean e - 1), half on [e, e^2] (mean e^2 - e); mirrored when negative
    ({"dist": "split_loguniform", "low": 1, "median": np.e, "high": np.e ** 2}, (np.e ** 2 - 1) / 2),
    ({"dist": "split_loguniform", "low": -np.e ** 2, "median": -np.e, "high": -1}, -(np.e ** 2 - 1) / 2),
    ({"dist": "empirical", "samples": [1, 2, 3, 10]}, 4.0),
])
def test_prior_inverse_cdfs_have_the_right_means(spec, mean):
    u = (np.arange(200_000) + 0.5) / 200_000
    assert parse_prior("x", spec).ppf(u).mean() == pytest.approx(mean, rel=2e-3)


def test_split_loguniform_puts_half_the_mass_below_the_median_and_stays_in_its_support():
    prior = parse_prior("x", {"dist": "split_loguniform", "low": 10.0, "median": 1e4, "high": 1e8})
    assert prior.ppf(np.array([0.5]))[0] == pytest.approx(1e4, rel=1e-12)
    # a quarter of the mass on each side lies beyond the geometric midpoint of its half
    assert prior.ppf(np.array([0.25, 0.75])) == pytest.approx([10 ** 2.5, 1e6], rel=1e-12)
    assert prior.support == (10.0, 1e8) and not prior.is_fixed


@settings(max_examples=25, deadline=None)
@given(r=st.floats(0.3, 2.5), c=st.floats(0.05, 1.0))
def test_zero_width_priors_give_the_deterministic_run(r, c):
    base = {"model": {"name": "returns"}, "simulation": {"n_samples": 3, "horizon_years": 5.0}}
    fixed = parse_scenario({**base, "params": {"r": r, "c": c}})
    narrow = parse_scenario({**base, "params": {"r": {"dist": "uniform", "low": r, "high": r},
                                                  "c": {"dist": "triangular", "low": c, "mode": c, "high": c}}})
    a, b = run_scenario(fixed), run_scenario(narrow)
    assert np.array_equal(a.ln_growth, b.ln_growth)
    assert np.all(a.ln_growth == a.ln_growth[0])


def test_json_contract_of_simulate(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    proc = subprocess.run([sys.executable, "-m", "rsilab.cli.__main__", "simulate", str(path), "--json",
                           "--store", str(tmp_path / "s.sqlite")], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    for key in ("model", "n_samples", "seed", "regime_probabilities", "threshold_times", "status_counts"):
        assert key in out
    assert set(out["regime_probabilities"]) == {"explosion", "combustion", "fizzle", "ceiling"}
    for m in ("10x", "1000x"):
        assert set(out["threshold_times"][m]) >= {"median", "p10", "p90", "fraction_reached"}
    assert sum(out["status_counts"].values()) == 2000
    runs = subprocess.run([sys.executable, "-m", "rsilab.cli.__main__", "runs", "--json", "--store",
                           str(tmp_path / "s.sqlite")], capture_output=True, text=True, check=True)
    assert json.loads(runs.stdout)[0]["summary"]["regime_probabilities"] == out["regime_probabilities"]
