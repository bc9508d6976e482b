"""The compute-centric takeoff model (``ftm``) against its authors' own code and against a brute
force of its allocation.

The reference figures were produced by running github.com/epoch-research/ftm (ftm/core/model.py)
on the takeoffspeeds.com presets (tests/reference/ftm_peer_presets.py; the commit, command and
settings are recorded in tests/reference/ftm_presets.json and tests/reference/README.md).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from reference.ftm_allocation import best_allocation
from rsilab.dynamics.ftm.allocation import BLOCKED_FROM, Allocator, TaskCosts
from rsilab.dynamics.ftm.economy import simulate
from rsilab.dynamics.ftm.metrics import (N_DOUBLINGS, TAKEOFF_METRICS, TIMELINE_METRICS, doubling_times,
                                         first_index, last_rising_index)
from rsilab.dynamics.ftm.model import DOUBLING_NAMES, Ftm
from rsilab.errors import ConfigError
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset, parse_scenario

REFERENCE = json.loads((Path(__file__).parent / "reference" / "ftm_presets.json").read_text())
PRESETS = ["ftm-best-guess", "ftm-aggressive", "ftm-conservative", "ftm-short-timelines", "ftm-long-timelines"]
# One step of the model's 0.1-year grid, for every date and duration: a difference in which step
# an event falls on is the most a faithful reimplementation may show.
GRID_STEP = 0.1
# Series: the same arithmetic in another order (closed forms for the authors' loops over
# tasks, logarithms for some of their products) differs by rounding; 780 steps of compounding
# keep that far below 1e-9 relative, which any difference in the model itself would exceed.
SERIES_RTOL = 1e-9


def reference_params(name: str) -> dict[str, float]:
    return REFERENCE["presets"][name]["params"]


def resolved_params(sc) -> dict[str, float]:
    return {k: float(p.support[0]) for k, p in sc.priors.items()}


def as_number(v) -> float:
    return math.nan if v is None else float(v)


def close(found: float, want: float, tol: float) -> bool:
    return (math.isnan(found) and math.isnan(want)) or abs(found - want) <= tol


def summary_values(summary: dict) -> dict[str, float]:
    """The summary's median of each metric (every sample of a preset is the same run)."""
    out = {}
    for group, quantity in (("timeline_metrics", "year"), ("takeoff_metrics", "years"), ("gwp_doubling_times", "years")):
        for name, entry in summary[group].items():
            out[name] = as_number(entry[quantity]["median"])
    return out


def compare(found: dict[str, float], ref: dict, doublings: int) -> list[str]:
    wrong = []
    for name in TIMELINE_METRICS:
        want = as_number(ref["timeline_metrics"][name])
        if not close(found[name], want, GRID_STEP + 1e-9):
            wrong.append(f"{name}: found {found[name]}, peer {want}")
    for name in TAKEOFF_METRICS:
        want = as_number(ref["takeoff_metrics"][name])
        if not close(found[name], want, GRID_STEP + 1e-9):
            wrong.append(f"{name}: found {found[name]}, peer {want}")
    for i in range(doublings):
        want = as_number(ref["doubling_times"][i]) if i < len(ref["doubling_times"]) else math.nan
        if not close(found[DOUBLING_NAMES[i]], want, GRID_STEP + 1e-9):
            wrong.append(f"GWP doubling {i + 1}: found {found[DOUBLING_NAMES[i]]}, peer {want}")
    return wrong


# -- the reference itself -----------------------------------------------------------------------

def test_the_reference_holds_the_published_best_guess():
    # takeoffspeeds.com's best guess: 100% automation of goods in 2040.0, 20% -> 100% in 3.8 years
    ref = REFERENCE["presets"]["ftm-best-guess"]["to_2100"]
    assert ref["timeline_metrics"]["automation_gns_100%"] == pytest.approx(2040.0, abs=1e-9)
    assert ref["takeoff_metrics"]["full_automation_gns"] == pytest.approx(3.8, abs=1e-9)
    assert REFERENCE["grid"] == {"t_start": 2022, "t_end": 2100, "t_step": 0.1}
    assert len(REFERENCE["commit"]) == 40


@pytest.mark.parametrize("name", PRESETS)
def test_presets_hold_the_parameters_the_peer_ran(name):
    # exact but for the float noise of the peer's own file (0.6699999999999999 for 0.67)
    found = resolved_params(load_preset(name))
    want = reference_params(name)
    assert set(found) == set(want)
    wrong = {k: (found[k], v) for k, v in want.items() if not math.isclose(found[k], v, rel_tol=1e-12)}
    assert not wrong, f"found vs peer: {wrong}"


def test_the_defaults_are_the_websites_best_guess():
    want = reference_params("ftm-best-guess")
    found = Ftm().defaults()
    assert {k: v for k, v in want.items() if not math.isclose(found[k], v, rel_tol=1e-12)} == {}


# -- golden: the model's own metrics ------------------------------------------------------------

@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_gives_the_peers_metrics_to_2100(name):
    summary = run_scenario(load_preset(name)).summary()
    wrong = compare(summary_values(summary), REFERENCE["presets"][name]["to_2100"], N_DOUBLINGS)
    assert not wrong, f"{name} (found vs peer): " + "; ".join(wrong)


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_run_on_gives_the_peers_figures_where_it_runs_until_they_are_known(name):
    # the peer's dynamic end runs until every metric is computable (the conservative preset to
    # 2198.6); 178 years covers every preset's. Its doubling times stop with its run: compare
    # those it has.
    ref = REFERENCE["presets"][name]["dynamic_t_end"]
    assert ref["t_end"] <= 2022 + 178
    summary = run_scenario(load_preset(name).with_simulation(horizon_years=178.0, n_grid=179)).summary()
    wrong = compare(summary_values(summary), ref, len(ref["doubling_times"]))
    assert not wrong, f"{name} (found vs peer): " + "; ".join(wrong)


@pytest.mark.parametrize("name", [*PRESETS, "ftm-medium-timelines"])
def test_yearly_series_follow_the_peers(name):
    ref = REFERENCE["presets"][name]["to_2100"]["series_every_year"]
    p = {k: np.array([v]) for k, v in reference_params(name).items()}
    run = simulate(p, t_end=2100.0, series=("compute", "biggest_training_run", "hardware_performance", "software",
                                              "frac_compute_training"))
    assert run.years.size == REFERENCE["presets"][name]["to_2100"]["n_steps"]
    np.testing.assert_allclose(run.years[::10], ref["year"], atol=1e-9)
    for key, want in ref.items():
        if key == "year":
            continue
        found = run.series[key][::10, 0]
        want = np.array([as_number(v) for v in want])
        np.testing.assert_allclose(found, want, rtol=SERIES_RTOL, atol=0, err_msg=f"{name}: {key}, found vs peer")


def test_the_peers_python_default_is_the_best_guess_with_the_tradeoff_off():
    # the website turns the runtime/training tradeoff on in its best guess; the peer's Python
    # (and the medium-timelines preset) has it off: two different runs, both reproduced
    on = REFERENCE["presets"]["ftm-best-guess"]["to_2100"]["timeline_metrics"]["automation_gns_100%"]
    off = REFERENCE["presets"]["ftm-medium-timelines"]["to_2100"]["timeline_metrics"]["automation_gns_100%"]
    p = {k: np.array([v]) for k, v in reference_params("ftm-medium-timelines").items()}
    assert p["runtime_training_tradeoff"][0] == 0.0
    from rsilab.dynamics.ftm.metrics import all_metrics

    run = simulate(p, t_end=2100.0)
    found = all_metrics(run.series, run.years, run.t_step, p["rampup_trigger"])
    assert abs(found["automation_gns_100%"][0] - off) <= GRID_STEP and abs(off - on) > 1.0


# -- the allocation against a brute force -------------------------------------------------------

def random_problems(rng, count):
    rho = -(10 ** rng.uniform(-2, 0.5, count))
    w1, w0 = rng.uniform(0.1, 1, count), rng.uniform(1e-4, 1, count)
    ln_a = np.concatenate([np.zeros((count, 1)), -np.sort(rng.uniform(0, 40, (count, 100)), axis=1)], axis=1)
    return (rho, w0, w1, ln_a, rng.uniform(0, 30, count), 10 ** rng.uniform(5, 10, count),
            10 ** rng.uniform(0, 40, count), rng.integers(1, 102, count))


@pytest.mark.parametrize("count", [1, BLOCKED_FROM + 2])
def test_allocation_is_the_best_of_every_allocation_the_first_order_conditions_allow(count):
    rng = np.random.default_rng(11 + count)
    for _ in range(60 if count == 1 else 1):
        rho, w0, w1, ln_a, ln_s, labour, compute, n_auto = random_problems(rng, count)
        sigma = 1 / (1 - rho)
        alloc = Allocator(TaskCosts(ln_a[None], sigma[None]), np.array([0]), rho[None], w0[None], w1[None])
        assert alloc.blocked == (count >= BLOCKED_FROM)
        y, n_automated = alloc.solve(ln_s, labour[None], compute[None], n_auto[None])
        for i in range(count):
            beta = np.array([w0[i]] + [w1[i]] * 100)
            eta = np.exp(np.minimum(ln_a[i] + ln_s[i], 0.0))
            want_y, _, _, want_n = best_allocation(labour[i], compute[i], beta, rho[i], eta, int(n_auto[i]))
            # closed forms against sums task by task: equal to rounding
            assert y[0, i] == pytest.approx(want_y, rel=1e-9), f"problem {i}: output found vs brute force"
            assert n_automated[0, i] == want_n, f"problem {i}: tasks automated found vs brute force"


def test_a_batch_gives_each_sample_what_it_gives_alone():
    names = [*PRESETS, "ftm-medium-timelines"]
    p = {k: np.array([reference_params(nm)[k] for nm in names] * 9) for k in reference_params(names[0])}
    together = simulate(p, t_end=2060.0)                       # 54 samples: the blocked search
    assert together.series["gwp"].shape[1] >= BLOCKED_FROM
    for i, nm in enumerate(names):
        alone = simulate({k: v[i:i + 1] for k, v in p.items()}, t_end=2060.0)
        for key in ("gwp", "frac_tasks_automated_goods", "frac_tasks_automated_rnd"):
            np.testing.assert_array_equal(together.series[key][:, i], alone.series[key][:, 0], err_msg=f"{nm} {key}")


# -- the metrics' definitions ---------------------------------------------------------------------

def test_first_and_last_rising_index():
    c = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [1, 1]], dtype=bool)
    np.testing.assert_array_equal(first_index(c), [1, 2])
    # the final step's value is never read as a rising edge (the authors check each step's
    # predecessor as their run goes); sample 0 rises at 1 and again at 3
    np.testing.assert_array_equal(last_rising_index(c), [3, 2])
    np.testing.assert_array_equal(last_rising_index(np.array([[0], [0], [1]], dtype=bool)), [-1])
    np.testing.assert_array_equal(last_rising_index(np.array([[1], [1], [1]], dtype=bool)), [0])


def test_doubling_times_count_from_the_wake_up():
    years = 2022 + 0.1 * np.arange(400)
    # doubling every 9.95 years: each doubling completes at the 100th step after it starts
    gwp = np.exp(np.log(2) / 9.95 * (years - 2022))[:, None] * np.ones((1, 2))
    got = doubling_times(gwp, years, np.array([2030.0, np.nan]), 0.1)
    np.testing.assert_allclose(got[:, 0], [9.95, 9.95], atol=0.005)     # rounded to 0.01 year
    np.testing.assert_allclose(got[0, 1:], [10.0, 10.0, 10.0, np.nan], atol=1e-9)
    assert np.isnan(got[1, 1:]).all()                                    # no wake-up, no more


# -- the model as a scenario ------------------------------------------------------------------

def test_a_sample_whose_arithmetic_fails_stops_alone():
    p = {k: np.array([v, v]) for k, v in reference_params("ftm-best-guess").items()}
    p["initial_gwp"] = np.array([8.5e13, np.nan])
    run = simulate(p, t_end=2030.0)
    assert run.stop_index.tolist() == [run.years.size, 0]
    assert np.isfinite(run.series["gwp"][:, 0]).all() and np.isnan(run.series["gwp"][:, 1]).all()


def test_cross_parameter_constraints_name_the_fields():
    model = Ftm()
    p = {k: np.array([v]) for k, v in model.defaults().items()}
    p["frac_compute_training_ceiling"] = np.array([0.7])
    with pytest.raises(ConfigError, match="frac_compute_training_ceiling.*a sum below 1"):
        model.check_params(p)
    p = {k: np.array([v]) for k, v in model.defaults().items()}
    p["initial_biggest_training_run"] = np.array([1e30])
    with pytest.raises(ConfigError, match="initial_biggest_training_run"):
        model.check_params(p)


def test_monte_carlo_draws_only_what_the_peers_monte_carlo_admits():
    sc = load_preset("ftm-monte-carlo").with_simulation(n_samples=400)
    p = draw_parameters(sc)
    assert Ftm().admissible(p).all()
    # the condition rejects draws that the priors alone give: the ranges' low training
    # requirements with wide FLOP gaps, whose easiest goods tasks a 2022 run already automates
    raw = parse_scenario({**sc.to_dict(), "model": {"name": "returns"}, "params": {}, "correlations": []})
    assert raw.model.admissible({"r": np.ones(3)}).all()      # the default admits every draw
    free = [k for k, pr in sc.priors.items() if not pr.is_fixed]
    from rsilab.simulate.priors import correlated_uniforms

    u = correlated_uniforms(4000, free, sc.correlations, np.random.default_rng(1))
    unconditioned = {k: (sc.priors[k].ppf(u[k]) if k in u else np.full(4000, sc.priors[k].support[0]))
                     for k in sc.priors}
    share = 1 - Ftm().admissible(unconditioned).mean()
    assert 0.05 < share < 0.4, share


def test_monte_carlo_summary_carries_the_models_metrics_by_name():
    summary = run_scenario(load_preset("ftm-monte-carlo").with_simulation(n_samples=60)).summary()
    assert set(summary["timeline_metrics"]) == set(TIMELINE_METRICS)
    assert set(summary["takeoff_metrics"]) == set(TAKEOFF_METRICS)
    assert set(summary["gwp_doubling_times"]) == set(DOUBLING_NAMES)
    full = summary["timeline_metrics"]["automation_gns_100%"]
    assert 0 < full["fraction_reached"] <= 1 and 2022 < full["year"]["median"] < 2100
    assert summary["n_samples"] == 60


# -- the compiled loop ----------------------------------------------------------------------------

def test_the_compiled_loop_takes_the_numpy_steps():
    # every preset and 300 draws of the Monte Carlo preset, from the same Setup. Tolerance:
    # the same operations in the same order, where numpy's vectorised exp, log and pow and the
    # compiled scalar ones may differ in the last bit, compounding over 781 steps: far below
    # 1e-10 relative; the task counts (comparisons well away from their thresholds) equal.
    from rsilab.dynamics.ftm.economy import STEP_SERIES, prepare, step
    from rsilab.simulate.ftm_kernel import step_compiled

    names = [*PRESETS, "ftm-medium-timelines"]
    fixed = {k: np.array([reference_params(nm)[k] for nm in names]) for k in reference_params(names[0])}
    drawn = draw_parameters(load_preset("ftm-monte-carlo").with_simulation(n_samples=300, seed=9))
    for p in (fixed, {k: np.ascontiguousarray(v) for k, v in drawn.items()}):
        setup = prepare(p, t_end=2100.05, series=STEP_SERIES)
        a, b = step_compiled(setup), step(setup)
        for field in ("outputs", "hw_perf"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10, atol=0, err_msg=field)
        for field in ("automated", "automatable"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        for name in STEP_SERIES:
            np.testing.assert_allclose(a.extras[name], b.extras[name], rtol=1e-10, atol=0, err_msg=name)


def test_a_run_gives_the_same_summary_with_and_without_the_compiled_loop():
    sc = load_preset("ftm-monte-carlo").with_simulation(n_samples=200)
    a, b = run_scenario(sc, compiled=True), run_scenario(sc, compiled=False)
    for name in a.metrics:
        np.testing.assert_allclose(a.metrics[name], b.metrics[name], rtol=1e-10, atol=1e-9, err_msg=name)


def test_the_last_allowed_redraw_may_complete_the_sample(monkeypatch):
    """The conditioned draw refuses only when every allowed redraw leaves it short: a model that
    admits nothing in the first draw and everything after it needs exactly one redraw."""
    import rsilab.simulate.montecarlo as mc

    sc = load_preset("ftm-monte-carlo").with_simulation(n_samples=50)
    calls = []

    def admissible(p):
        calls.append(1)
        n = len(next(iter(p.values())))
        return np.full(n, len(calls) > 1)

    monkeypatch.setattr(mc, "MAX_REDRAWS", 1)
    monkeypatch.setattr(sc.model, "admissible", admissible)
    p = draw_parameters(sc)
    assert len(calls) == 2 and all(len(v) == 50 for v in p.values())
    calls.clear()
    monkeypatch.setattr(mc, "MAX_REDRAWS", 0)
    with pytest.raises(ConfigError, match="admits at least 1 draw"):
        draw_parameters(sc)
