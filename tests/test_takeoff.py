"""The takeoff headline (rsilab.simulate.takeoff) against paths whose answer is known in closed form."""
from __future__ import annotations

import numpy as np
import pytest

from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset
from rsilab.simulate.takeoff import compression_label, generation_stretch, interval_stretch

TOL = 0.02


def _power_path(p: float, c: float = 0.5, horizon: float = 1.0, g: int = 41):
    """dI/dt = c I^p from I0 = 1: ln I and g = d ln I / dt = c I^(p-1) at the grid times."""
    t = np.linspace(0.0, horizon, g)
    if p == 1.0:
        ln_i = c * t
    else:
        with np.errstate(divide="ignore"):  # at the blow-up time itself ln I is +inf
            ln_i = np.log1p(-c * (p - 1) * t) / (1 - p)
    rate = c * np.exp((p - 1) * ln_i)
    return t, ln_i[None, :], rate[None, :]


@pytest.mark.parametrize("p, explosive", [(1.5, True), (1.0, False), (0.5, False), (1.01, False), (1.03, True)])
def test_power_law_path_is_explosive_exactly_when_p_exceeds_one_plus_tol(p, explosive):
    t, ln_i, rate = _power_path(p)
    out = interval_stretch(t, ln_i, rate, np.array([t[-1]]), ln_i[:, -1], rate[:, -1], TOL)
    assert out["explosive_any"][0] == explosive
    # explosive everywhere or nowhere: the whole growth and the whole horizon, or nothing
    # (rtol 1e-12: a sum of the same numbers in another order)
    expected_ooms = ln_i[0, -1] / np.log(10) if explosive else 0.0
    assert out["ooms_explosive"][0] == pytest.approx(expected_ooms, rel=1e-12, abs=0)
    assert out["years_explosive"][0] == pytest.approx(t[-1] if explosive else 0.0, rel=1e-12, abs=0)


def test_a_blow_up_counts_its_last_stretch_to_the_stop_time():
    # p = 2: blow-up at T* = 1 / c = 2; the path stops at t = 1.9 between output times 1.8 and 2.0
    t, ln_i, rate = _power_path(2.0, horizon=2.0, g=11)
    stop_t = 1.9
    ln_stop = -np.log1p(-0.5 * stop_t)
    after = t > stop_t
    ln_i[0, after], rate[0, after] = np.inf, np.nan
    out = interval_stretch(t, ln_i, rate, np.array([stop_t]), np.array([ln_stop]), np.array([0.5 * np.exp(ln_stop)]), TOL)
    assert out["explosive_any"][0]
    assert out["ooms_explosive"][0] == pytest.approx(ln_stop / np.log(10), rel=1e-12)
    assert out["years_explosive"][0] == pytest.approx(stop_t, rel=1e-12)


def test_growth_that_speeds_up_then_slows_counts_only_the_explosive_part():
    # ln I = 2 t^2 up to t = 1 (g = 4 t rising with ln I: p_eff = 1 + ln(g_b/g_a)/(dy) > 1),
    # then g falls: every later interval is read as below 1
    t = np.linspace(0.0, 2.0, 21)
    ln_i = np.where(t <= 1, 2 * t**2, 2 + 4 * (t - 1) - 1.5 * (t - 1) ** 2)
    rate = np.where(t <= 1, 4 * t, 4 - 3 * (t - 1))
    out = interval_stretch(t, ln_i[None], rate[None], np.array([2.0]), ln_i[None, -1], rate[None, -1], TOL)
    # the first interval starts at g = 0 and is not read; explosive from t = 0.1 to 1
    assert out["explosive_any"][0]
    assert out["years_explosive"][0] == pytest.approx(0.9, rel=1e-12)
    assert out["ooms_explosive"][0] == pytest.approx((2.0 - 2 * 0.1**2) / np.log(10), rel=1e-12)


@pytest.mark.parametrize("k, explosive", [(1.15, True), (1.0, False), (0.9, False)])
def test_generation_maps_read_the_ratio_of_successive_gains(k, explosive):
    gains = 0.1 * k ** np.arange(12)
    cap = np.concatenate([[1.0], 1.0 + np.cumsum(gains)])
    ln_path, times = np.log(cap)[None], np.arange(13, dtype=float)[None] * 0.5
    out = generation_stretch(ln_path, times, TOL)
    assert out["explosive_any"][0] == explosive
    # every generation after the first compares with a previous one
    assert out["ooms_explosive"][0] == pytest.approx((ln_path[0, -1] - ln_path[0, 1]) / np.log(10) if explosive else 0.0,
                                                     rel=1e-12, abs=0)
    assert out["years_explosive"][0] == pytest.approx(5.5 if explosive else 0.0, rel=1e-12, abs=0)


def test_ensemble_headline_matches_the_parameters_of_the_continuous_criticality_model():
    # dI/dt = c I^p has p_eff = p on every interval, so P(explosive) is the share of draws with
    # p > 1 + tol; a draw within 1e-6 of the boundary may go either way by interpolation error
    sc = load_preset("criticality-continuous").with_simulation(n_samples=4000)
    ens = run_scenario(sc)
    p = ens.params["p"]
    hot = ens.stretch["explosive_any"]
    disagree = hot != (p > 1 + sc.simulation["regime_tolerance"])
    assert not disagree[np.abs(p - 1 - sc.simulation["regime_tolerance"]) > 1e-6].any()
    head = ens.summary()["takeoff"]
    assert head["p_explosive"] == pytest.approx(hot.mean(), abs=0)
    assert head["compression"] == {}   # the model has no compression outputs
    assert set(head["ends"]["late_regime_probabilities"]) == {"explosion", "combustion", "fizzle", "ceiling"}


def test_compression_figures_come_from_the_model_that_has_them():
    head = run_scenario(load_preset("sie").with_simulation(n_samples=2000)).summary()
    comp = head["takeoff"]["compression"]
    assert set(comp) == {"p_compress_3y_in_1y", "p_compress_10y_in_1y", "p_compress_3y_in_4mo", "p_compress_10y_in_4mo"}
    assert all(comp[k]["p"] == head[k] for k in comp)
    assert compression_label("p_compress_3y_in_4mo") == ">= 3 years of progress in <= 4 months"
    assert compression_label("p_compress_10y_in_1y") == ">= 10 years of progress in <= 1 year"


def test_compiled_loop_equals_the_plain_python_loop():
    from rsilab.simulate import takeoff

    rng = np.random.default_rng(0)
    n, g = 300, 30
    t = np.linspace(0.0, 3.0, g)
    ln_cap = np.cumsum(rng.exponential(0.3, (n, g)), axis=1)
    rate = rng.exponential(1.0, (n, g))
    rate[: n // 2] = np.exp(-ln_cap[: n // 2])        # half the rows only slow down: never explosive
    rate[rng.random((n, g)) < 0.05] = np.nan      # gaps the loop must skip
    t_stop = rng.uniform(1.0, 3.0, n)
    ln_stop, rate_stop = ln_cap[:, -1] + 1.0, rng.exponential(1.0, n)
    compiled = takeoff.interval_stretch(t, ln_cap, rate, t_stop, ln_stop, rate_stop, TOL)
    plain = {k: np.zeros(n, dtype=v.dtype) for k, v in compiled.items()}
    takeoff._stretch_rows(0, n, t, ln_cap, rate, t_stop, ln_stop, rate_stop, TOL, takeoff.MIN_LN_GROWTH,
                          plain["explosive_any"], plain["ooms_explosive"], plain["years_explosive"])
    plain["ooms_explosive"] /= np.log(10.0)
    assert compiled["explosive_any"].any() and not compiled["explosive_any"].all()   # both kinds present
    for k in compiled:   # same operations in the same order: equal to the last bit
        np.testing.assert_array_equal(compiled[k], plain[k])
