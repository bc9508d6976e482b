"""The control models (boxing, drift, controlled, multipolar): closed forms, scipy references,
property tests, N = 1 reduction, bad parameters and the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from rsilab.dynamics import MODELS
from rsilab.dynamics.boxing import Boxing, constant_iteration_rate, escape_probability, expected_shots
from rsilab.dynamics.control_common import free_time
from rsilab.dynamics.controlled import Controlled, crossing_time_exponential
from rsilab.dynamics.drift import Drift, p_beyond
from rsilab.dynamics.multipolar import Multipolar
from rsilab.errors import ConfigError
from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset, parse_scenario
from rsilab.simulate.solver import SolverSettings, Status, solve

CONTROL = ("boxing", "drift", "controlled", "multipolar")
TIGHT = SolverSettings(rtol=1e-10, atol=1e-12)


def params(model, n=1, **values):
    p = {k: np.full(n, float(v)) for k, v in model.defaults().items()}
    p.update({k: np.asarray(v, dtype=float) * np.ones(n) for k, v in values.items()})
    return p


def scenario(model: str, params_table: dict, *, n=200, horizon=10.0, n_grid=101, multiples=(10, 1000), options=None):
    return parse_scenario({
        "model": {"name": model, **(options or {})},
        "params": params_table,
        "simulation": {"n_samples": n, "horizon_years": horizon, "seed": 7, "n_grid": n_grid, "rtol": 1e-9, "atol": 1e-12},
        "thresholds": {"capability_multiples": list(multiples)},
    }, name=f"test-{model}")


# -- boxing --------------------------------------------------------------------------------------
BOX_CONSTANT = dict(c=0.6, p=1.0, step_efolds=0.05, review_rate=20.0, review_speedup=0.0,
                    p_escape=0.004, gap_sensitivity=0.0, rush_exponent=0.0)


def test_boxing_constant_escape_matches_one_minus_p_to_the_n_through_the_engine():
    ens = run_scenario(scenario("boxing", BOX_CONSTANT, n=50, horizon=12.0))
    nu = constant_iteration_rate(0.6, 20.0, 0.05)
    n_iter = nu * 12.0
    found_n = ens.outputs["reviewed_iterations"]
    np.testing.assert_allclose(found_n, n_iter, rtol=1e-8, err_msg=f"iterations: found {found_n[0]} vs nu T = {n_iter}")
    found = ens.outputs["escape_probability"]
    exact = escape_probability(n_iter, 0.004)
    np.testing.assert_allclose(found, exact, rtol=1e-8, err_msg=f"P(escape): found {found[0]} vs 1 - (1 - p)^n = {exact}")
    np.testing.assert_allclose(ens.outputs["expected_shots"], expected_shots(n_iter, 0.004), rtol=1e-8)
    # the charted series: P(escape by t) = 1 - (1 - p)^(nu t) at every grid time
    np.testing.assert_allclose(ens.grid_means["P(escape by t)"], escape_probability(nu * ens.t_grid, 0.004), rtol=1e-7, atol=1e-12)
    # capability grows nu step per year in the box, c unboxed: the box slows by c / (nu step)
    np.testing.assert_allclose(ens.outputs["box_slowdown"], 0.6 / (nu * 0.05), rtol=1e-8)
    np.testing.assert_allclose(ens.outputs["box_slowdown_at_multiple_1"], 0.6 / (nu * 0.05), rtol=1e-6)


def test_boxing_shots_are_within_half_an_iteration_of_the_discrete_sum():
    n_iter, p = 300.0, 0.01
    discrete = sum((1 - p) ** k for k in range(1, int(n_iter) + 1))
    assert abs(expected_shots(n_iter, p) - discrete) < 0.5


def test_boxing_realised_escape_is_unbiased_for_the_exact_probability():
    table = dict(BOX_CONSTANT, p_escape={"dist": "loguniform", "low": 1e-4, "high": 2e-2},
                 u_escape={"dist": "uniform", "low": 0.0, "high": 1.0})
    ens = run_scenario(scenario("boxing", table, n=20_000, horizon=5.0, n_grid=11))
    realised = ens.outputs["p_escape"].mean()
    exact = ens.outputs["escape_probability"].mean()
    se = math.sqrt(exact * (1 - exact) / ens.n)
    assert abs(realised - exact) < 4 * se, f"realised {realised} vs mean exact probability {exact} (se {se:.4f})"
    assert ens.summary()["p_escape"] == pytest.approx(realised)


def test_boxing_without_review_limit_approaches_the_free_law():
    model = Boxing()
    p = params(model, review_rate=1e7, c=0.5, p=1.2)
    sol = solve(model, p, np.linspace(0, 3, 31), np.log([10.0]), TIGHT)
    slow = model.sample_outputs(sol, p)["box_slowdown"][0]
    assert 1.0 < slow < 1.0 + 1e-4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=st.floats(0.2, 2.0), p_exp=st.floats(0.7, 1.3), step=st.floats(0.01, 0.3), review_efolds=st.floats(0.1, 10.0),
       factor=st.floats(1.0, 20.0), speedup=st.floats(0.0, 0.5), p_esc=st.floats(1e-4, 0.05), s=st.floats(0.0, 3.0),
       q=st.floats(0.0, 3.0))
def test_more_review_throughput_never_raises_escape_along_the_same_capability_path(c, p_exp, step, review_efolds, factor,
                                                                                   speedup, p_esc, s, q):
    # Risk compared at the same capability (the first multiple), with overseers that do not
    # improve with time: see docs/control_models.md for the case where they do.
    model = Boxing()
    r_low = review_efolds / step      # review alone could carry 0.1 to 10 e-folds a year
    p = params(model, n=2, c=c, p=p_exp, step_efolds=step, review_rate=[r_low, r_low * factor], review_speedup=speedup,
               p_escape=p_esc, gap_sensitivity=s, rush_exponent=q, overseer_growth=0.0)
    sol = solve(model, p, np.linspace(0, 60, 121), np.log([5.0]), SolverSettings(rtol=1e-9, atol=1e-12, cap_multiple=1e30))
    assert np.isfinite(sol.threshold_times).all()
    esc = model.sample_outputs(sol, p)["escape_probability_before_multiple_1"]
    assert esc[1] <= esc[0] + 1e-7, f"throughput x{factor:.3g}: P(escape by 5x) {esc[1]} > {esc[0]}"


# -- drift ---------------------------------------------------------------------------------------
def test_drift_racing_with_nothing_verified_is_a_plain_random_walk():
    model = Drift().with_options(policy="race")
    p = params(model, c=0.4, p=1.0, step_efolds=0.1, drift_sigma=0.8, residual_drift=1.0, tolerance=0.3)
    tg = np.linspace(0, 10, 21)
    sol = solve(model, p, tg, np.log([10.0]), TIGHT)
    variance = 0.8**2 * 0.1 * 0.4 * tg          # sigma^2 step per e-fold, c t e-folds
    np.testing.assert_allclose(sol.y_grid[2, 0], variance, rtol=1e-8, atol=1e-14)
    out = model.sample_outputs(sol, p)
    assert out["drift_beyond_tolerance_probability"][0] == pytest.approx(math.erfc(0.3 / math.sqrt(2 * variance[-1])), rel=1e-8)
    assert out["throttle_delay_years"][0] == pytest.approx(0.0, abs=1e-8)
    assert sol.threshold_times[0, 0] == pytest.approx(math.log(10) / 0.4, rel=1e-8)
    assert out["drift_sd_at_multiple_1"][0] == pytest.approx(math.sqrt(0.8**2 * 0.1 * math.log(10)), rel=1e-6)


def test_drift_throttle_delays_and_reduces_drift_against_racing():
    tg = np.linspace(0, 10, 101)
    base = dict(c=0.8, p=1.0, align_rate=0.2, verify_ratio=1.0, residual_drift=0.1)
    results = {}
    for policy in ("throttle", "race"):
        model = Drift().with_options(policy=policy)
        p = params(model, **base)
        sol = solve(model, p, tg, np.log([10.0]), TIGHT)
        results[policy] = (sol, model.sample_outputs(sol, p))
    thr, race = results["throttle"], results["race"]
    assert thr[1]["throttle_delay_years_at_multiple_1"][0] > 0.1
    assert race[1]["throttle_delay_years_at_multiple_1"][0] == pytest.approx(0.0, abs=1e-6)
    # at the same capability (10x), the throttled system has drifted less
    assert thr[1]["drift_sd_at_multiple_1"][0] < race[1]["drift_sd_at_multiple_1"][0]


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.1, 1.5), p_exp=st.floats(0.7, 1.3), step=st.floats(0.005, 0.5), step_factor=st.floats(1.0, 10.0),
       sigma=st.floats(0.05, 3.0), sigma_factor=st.floats(1.0, 10.0), align=st.floats(0.01, 2.0),
       residual=st.floats(0.0, 1.0), policy=st.sampled_from(["throttle", "race"]))
def test_larger_drift_step_never_lowers_drift(c, p_exp, step, step_factor, sigma, sigma_factor, align, residual, policy):
    model = Drift().with_options(policy=policy)
    p = params(model, n=3, c=c, p=p_exp, align_rate=align, residual_drift=residual,
               step_efolds=[step, step * step_factor, step], drift_sigma=[sigma, sigma, sigma * sigma_factor])
    sol = solve(model, p, np.linspace(0, 8, 17), np.log([10.0]), SolverSettings(rtol=1e-9, atol=1e-13))
    var = sol.y_grid[2]
    ok = np.isfinite(var).all(axis=0)
    assert (var[1, ok] >= var[0, ok] * (1 - 1e-7) - 1e-15).all()
    assert (var[2, ok] >= var[0, ok] * (1 - 1e-7) - 1e-15).all()


def test_p_beyond_is_the_gaussian_tail():
    assert p_beyond(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(math.erfc(1 / math.sqrt(2)))
    assert p_beyond(np.array([1.0]), np.array([0.0]))[0] == 0.0
    assert np.isnan(p_beyond(np.array([1.0]), np.array([np.nan]))[0])


# -- controlled ----------------------------------------------------------------------------------
@pytest.mark.parametrize("align_rate,gamma", [(0.3, 1.0), (0.5, 1.2), (0.1, 0.8)])
def test_controlled_crossing_time_matches_closed_form(align_rate, gamma):
    model = Controlled()
    c, a0, r0 = 0.5, 3.0, 1.0
    p = params(model, c=c, p=1.0, alignment_ratio=a0, align_rate=align_rate, align_exponent=gamma,
               requirement_ratio=r0, requirement_exponent=gamma)
    expected = crossing_time_exponential(c, a0, align_rate, gamma, r0)
    assert math.isfinite(expected)
    sol = solve(model, p, np.linspace(0, 2 * expected, 101), np.log([10.0]), TIGHT)
    out = model.sample_outputs(sol, p)
    assert out["p_margin_crossed"][0]
    assert out["t_margin_crossed"][0] == pytest.approx(expected, rel=1e-6), f"found {out['t_margin_crossed'][0]} vs {expected}"
    assert out["capability_multiple_at_crossing"][0] == pytest.approx(math.exp(c * expected), rel=1e-6)


def test_controlled_stays_safe_when_alignment_outpaces_the_requirement():
    model = Controlled()
    # k = align_rate / (gamma c) = 1.2 >= r0 = 1: the margin never closes
    p = params(model, c=0.5, p=1.0, alignment_ratio=2.0, align_rate=0.6, align_exponent=1.0, requirement_exponent=1.0)
    assert crossing_time_exponential(0.5, 2.0, 0.6, 1.0, 1.0) == math.inf
    sol = solve(model, p, np.linspace(0, 30, 61), np.log([10.0]), TIGHT)
    out = model.sample_outputs(sol, p)
    assert out["p_safe_throughout"][0] and not out["p_margin_crossed"][0]
    assert math.isinf(out["t_margin_crossed"][0])
    assert out["final_margin_efolds"][0] > 0


# -- multipolar ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [True, False], ids=["compiled", "numpy"])
def test_multipolar_with_one_system_reduces_to_the_single_system_models(fused):
    v, c, step, sigma = 1.7, 0.4, 0.05, 0.9
    tg = np.linspace(0, 8, 41)
    mp = Multipolar()
    pm = params(mp, n_systems=1, c=c, p=1.1, speed_min=v, speed_max=3.0, step_efolds=step, drift_sigma=sigma, head_start=1.0)
    sm = solve(mp, pm, tg, np.log([10.0, 100.0]), TIGHT, fused=fused)
    dr = Drift().with_options(policy="race")
    pd = params(dr, c=c * v, p=1.1, step_efolds=step * v, drift_sigma=sigma, residual_drift=1.0)
    sd = solve(dr, pd, tg, np.log([10.0, 100.0]), TIGHT, fused=fused)
    np.testing.assert_allclose(sm.y_grid[0, 0], sd.y_grid[0, 0], rtol=1e-9, err_msg="ln total vs single system")
    np.testing.assert_allclose(sm.y_grid[1, 0], sd.y_grid[0, 0], rtol=1e-9, err_msg="ln I_1 vs single system")
    # the drift variance, exact from ln I_1, against the drift model's integrated state
    d_grid = mp.drift_variance(pm, 1, np.zeros((1, tg.size), dtype=np.intp), sm.y_grid[1])
    np.testing.assert_allclose(d_grid[0], sd.y_grid[2, 0], rtol=1e-8, atol=1e-14, err_msg="drift variance")
    np.testing.assert_allclose(sm.threshold_times[:, 0], free_time(np.log([10.0, 100.0]), c * v, 1.1), rtol=1e-8)
    # the controlled model's capability law is the same law
    ct = Controlled()
    sc = solve(ct, params(ct, c=c * v, p=1.1), tg, np.log([10.0]), TIGHT, fused=fused)
    np.testing.assert_allclose(sm.y_grid[0, 0], sc.y_grid[0, 0], rtol=1e-9)
    out = mp.sample_outputs(sm, pm)
    assert out["p_dominance"][0] and out["time_to_dominance"][0] == 0.0
    assert out["p_leader_is_careful_incumbent"][0] and out["leader_share"][0] == pytest.approx(1.0)
    assert out["leader_drift_sd"][0] == pytest.approx(Drift().with_options(policy="race").sample_outputs(sd, pd)["drift_sd"][0], rel=1e-8)


def test_multipolar_faster_rival_overtakes_an_equal_start():
    mp = Multipolar()
    p = params(mp, n_systems=2, c=0.5, p=1.0, speed_min=1.0, speed_max=2.0, head_start=0.0, compute_attraction=1.0,
               compute_elasticity=0.5, dominance_share=0.9)
    sol = solve(mp, p, np.linspace(0, 20, 81), np.log([10.0]), TIGHT)
    out = mp.sample_outputs(sol, p)
    assert out["p_dominance"][0] and 0 < out["time_to_dominance"][0] < 20
    assert not out["p_leader_is_careful_incumbent"][0]
    assert out["leader_speed"][0] == pytest.approx(2.0)


def test_multipolar_samples_with_different_n_share_a_chunk():
    mp = Multipolar()
    p = params(mp, n=3, n_systems=[1, 2, 4])
    sol = solve(mp, p, np.linspace(0, 5, 11), np.log([10.0]))
    assert sol.y_grid.shape[0] == 1 + 4
    single = solve(mp, params(mp, n_systems=1), np.linspace(0, 5, 11), np.log([10.0]))
    np.testing.assert_allclose(sol.y_grid[0, 0], single.y_grid[0, 0], rtol=1e-6)
    out = mp.sample_outputs(sol, p)
    assert out["leader_share"][0] == pytest.approx(1.0) and out["leader_share"][2] < 1.0


# -- every model against scipy's DOP853 ----------------------------------------------------------
REFERENCE_CASES = {
    "boxing": dict(c=0.8, p=1.2, review_rate=30.0, review_speedup=0.3, p_escape=0.003, overseer_growth=0.2),
    "drift": dict(c=0.9, p=1.1, align_rate=0.25, residual_drift=0.05),
    "controlled": dict(c=0.6, p=1.15, align_rate=0.4, align_exponent=0.9, requirement_exponent=1.3),
    "multipolar": dict(n_systems=4, c=0.6, p=1.05, speed_min=0.8, speed_max=2.5, head_start=0.5,
                       compute_attraction=1.5, compute_elasticity=0.7),
}


@pytest.mark.parametrize("fused", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("name", CONTROL)
def test_control_models_agree_with_solve_ivp(name, fused):
    model = MODELS[name]()
    p = params(model, **REFERENCE_CASES[name])
    tg = np.linspace(0, 4, 9)
    sol = solve(model, p, tg, np.log([10.0]), TIGHT, fused=fused)

    def f(t, y):
        return model.rhs(np.array([t]), y[:, None], p)[:, 0]

    ref = solve_ivp(f, (0, tg[-1]), model.initial(p)[:, 0], method="DOP853", rtol=1e-12, atol=1e-12, t_eval=tg).y
    np.testing.assert_allclose(sol.y_grid[:, 0, :], ref, rtol=1e-7, atol=1e-9,
                               err_msg=f"{name}: found {sol.y_grid[:, 0, -1]} vs DOP853 {ref[:, -1]}")


# -- zero-width priors give the deterministic run ------------------------------------------------
@pytest.mark.parametrize("name", CONTROL)
def test_zero_width_priors_give_the_deterministic_run(name):
    preset = load_preset(name)
    # every prior collapsed to a point (uniform with low = high = the model's default)
    table = {k: {"dist": "uniform", "low": v, "high": v} for k, v in preset.model.defaults().items()}
    sc = parse_scenario({"model": {"name": name, **preset.model.choice}, "params": table,
                         "simulation": {"n_samples": 64, "horizon_years": 6.0, "seed": 11, "n_grid": 31}}, name="zero-width")
    ens = run_scenario(sc)
    model = preset.model
    p = params(model)
    sol = solve(model, p, ens.t_grid, np.log(np.asarray(sc.capability_multiples)), sc.solver_settings)
    single = model.sample_outputs(sol, p)
    for key, values in ens.outputs.items():
        np.testing.assert_array_equal(values, np.repeat(single[key], ens.n), err_msg=f"{name}: {key}")
    np.testing.assert_array_equal(ens.threshold_times, np.repeat(sol.threshold_times, ens.n, axis=1))


# -- presets, CLI, bad parameters ----------------------------------------------------------------
@pytest.mark.parametrize("name", CONTROL)
def test_forecast_runs_each_preset_and_charts_the_control_outputs(name, tmp_path):
    from rsilab.cli import cli

    result = CliRunner().invoke(cli, ["forecast", "--scenario", name, "--samples", "3000", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == name
    expected_key = {"boxing": "p_escape", "drift": "p_drift_beyond_tolerance", "controlled": "p_safe_throughout",
                    "multipolar": "p_dominance"}[name]
    assert 0.0 <= summary[expected_key] <= 1.0
    assert any(str(c).endswith(f"{name}-control.png") for c in summary["charts"])
    assert (tmp_path / f"{name}-control.png").stat().st_size > 1000


@pytest.mark.parametrize("name,param,value,field", [
    ("boxing", "p_escape", 1.0, "params.p_escape"),
    ("boxing", "review_rate", -1.0, "params.review_rate"),
    ("drift", "residual_drift", 1.5, "params.residual_drift"),
    ("controlled", "align_exponent", 9.0, "params.align_exponent"),
    ("multipolar", "n_systems", 9.0, "params.n_systems"),
    ("multipolar", "n_systems", 2.5, "params.n_systems"),
])
def test_bad_parameters_are_config_errors_naming_the_field(name, param, value, field):
    with pytest.raises(ConfigError) as err:
        run_scenario(scenario(name, {param: value}, n=4))
    assert err.value.field == field
    assert "is not allowed" in str(err.value)


def test_multipolar_speed_order_is_checked():
    with pytest.raises(ConfigError, match="speed_max"):
        run_scenario(scenario("multipolar", {"speed_min": 2.0, "speed_max": 1.0}, n=4))


def test_unknown_policy_is_a_config_error():
    with pytest.raises(ConfigError, match="throttle, race"):
        scenario("drift", {}, options={"policy": "dither"})


def test_cli_reports_a_bad_control_parameter_in_one_line(tmp_path):
    from rsilab.cli import cli

    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "boxing"\n[params]\np_escape = 1.5\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["simulate", str(bad), "--json"])
    assert result.exit_code == 2
    assert "params.p_escape" in result.output and "Traceback" not in result.output


def test_blown_up_samples_keep_their_control_state():
    # p = 2 blows up in finite time unboxed; the drift state is held at its value at the stop
    model = Drift().with_options(policy="race")
    p = params(model, c=1.0, p=2.0)
    sol = solve(model, p, np.linspace(0, 5, 11), np.log([10.0]))
    assert sol.status[0] == Status.BLOWUP
    grid = model.grid_outputs(sol, p)["P(drift > tolerance)"]
    assert np.isfinite(grid).all()
    assert grid[0, -1] == pytest.approx(model.sample_outputs(sol, p)["drift_beyond_tolerance_probability"][0])
