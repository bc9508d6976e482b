"""Golden tests: the `sie` preset against Davidson & Houlden 2025, "How quick and big would a
software intelligence explosion be?" (Forethought); the per-doubling map against a plain-Python
reference (tests/reference/sie_doublings.py) and its geometric closed form; the compiled kernel
against the step-by-step numpy map, sample by sample.

Published (main results table): P(>= 3 years of progress in <= 1 year) = 57%, P(>= 10 years in
<= 1 year) = 18%, and for <= 4 months 41% and 12%; the appendix repeats the baseline as
56 / 41 / 17 / 12. The variant tables: retraining 57 / 41 / 19 / 14, gradual boost
59 / 48 / 32 / 24.

Tolerance, from what separates our estimate from a published figure:
- rounding: the tables print whole percentages, so the authors' own estimate lies within
  0.5 percentage points of the printed value (a bound, added in full);
- the authors' Monte Carlo error: the baseline was published from two runs, whose four
  figures differ by 1, 0, 1 and 0 points; for two independent runs the squared difference
  has expectation 2 sigma^2, so sigma_authors = sqrt(0.5 / 2) = 0.5 points (also the binomial
  standard error of 10,000 runs at p = 0.5, the most the authors' app runs);
- ours: the binomial standard error sqrt(p (1 - p) / n) at our n.
The two Monte Carlo errors are independent, so |found - published| <= 0.005 + 3 sqrt(
sigma_authors^2 + p (1 - p) / n): about 2.1 points at n = 50,000 and 2.3 at 20,000.
"""
import math

import numpy as np
import pytest
from reference.sie_doublings import doubling_months, most_years_in_window

from rsilab.dynamics.software_rnd import SoftwareRnd
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset
from rsilab.simulate.solver import SolverSettings, solve

PUBLISHED = {
    "sie": {"p_compress_3y_in_1y": 0.57, "p_compress_10y_in_1y": 0.18, "p_compress_3y_in_4mo": 0.41, "p_compress_10y_in_4mo": 0.12},
    "sie-retraining": {"p_compress_3y_in_1y": 0.57, "p_compress_10y_in_1y": 0.19, "p_compress_3y_in_4mo": 0.41, "p_compress_10y_in_4mo": 0.14},
    "sie-gradual-boost": {"p_compress_3y_in_1y": 0.59, "p_compress_10y_in_1y": 0.32, "p_compress_3y_in_4mo": 0.48, "p_compress_10y_in_4mo": 0.24},
}
ROUNDING = 0.005          # half a printed percentage point
SIGMA_AUTHORS = 0.005     # the authors' Monte Carlo standard error (see the module docstring)


def tolerance(published: float, n: int) -> float:
    return ROUNDING + 3.0 * math.sqrt(SIGMA_AUTHORS**2 + published * (1.0 - published) / n)


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_sie_presets_reproduce_the_published_probabilities(preset):
    n = 50_000 if preset != "sie-gradual-boost" else 20_000  # the gradual boost is iterated step by step
    summary = run_scenario(load_preset(preset).with_simulation(n_samples=n, seed=11)).summary()
    rows = [(k, summary[k], v, tolerance(v, n)) for k, v in PUBLISHED[preset].items()]
    report = "\n".join(f"  {k:24s} found {f:.3f}  published {v:.2f}  tolerance {t:.4f}" for k, f, v, t in rows)
    assert all(abs(f - v) <= t for _, f, v, t in rows), f"{preset}:\n{report}"


def _params(model, cases):
    p = {k: np.full(len(cases), float(v)) for k, v in model.defaults().items()}
    for i, name in enumerate(("r0", "f", "limit_years", "p")):
        p[name] = np.array([c[i] for c in cases], dtype=float)
    return p


CASES = [(1.2, 8, 11, 0.3), (2.4, 8, 11, 0.3), (0.6, 8, 11, 0.3), (1.2, 32, 11, 0.3), (1.2, 2, 11, 0.3), (1.2, 8, 16, 0.3)]


def test_reference_implementation_gives_its_recorded_results():
    # (r0, f, limit_years, p) -> doublings made in 48 months and the most years of progress in
    # any 12-month window, as the reference computes them; recorded so that a change to the
    # reference itself is seen, not only a disagreement with the engine.
    runs = [doubling_months(*case, horizon_months=48.0) for case in CASES]
    assert [len(m) - 1 for m in runs] == [53, 84, 19, 60, 35, 67]
    assert [most_years_in_window(m, 12.0) for m in runs] == [4.25, 10.125, 1.375, 6.5, 1.25, 5.0]


@pytest.mark.parametrize("fused", [True, False], ids=["compiled", "numpy"])
def test_single_runs_match_the_reference_implementation(fused):
    model = SoftwareRnd().with_options(form="doublings")
    p = _params(model, CASES)
    sol = solve(model, p, np.linspace(0, 4, 49), np.log([10.0]), SolverSettings(cap_multiple=1e300), fused=fused)
    runs = [doubling_months(*case, horizon_months=48.0) for case in CASES]
    assert list(sol.n_steps) == [len(m) - 1 for m in runs]
    assert list(model.sample_outputs(sol, p)["years_compressed_in_1y"]) == [most_years_in_window(m, 12.0) for m in runs]
    if not fused:
        # doubling times in years against the reference's months: the same terms summed in
        # another unit, so equal to rounding (1e-12 relative)
        for times, months in zip(sol.step_times, runs):
            np.testing.assert_allclose(times[np.isfinite(times)] * 12.0, months, rtol=1e-12)


def test_constant_returns_doubling_times_are_geometric():
    # With the ceiling far away r stays ~r0: doubling i takes DT0 2^(i e), e = p (1/r0 - 1).
    model = SoftwareRnd().with_options(form="doublings")
    p = _params(model, [(2.0, 4.0, 200.0, 0.4)])
    sol = solve(model, p, np.linspace(0, 0.2, 5), np.log([10.0]), SolverSettings(cap_multiple=1e300), fused=False)
    times = sol.step_times[0][np.isfinite(sol.step_times[0])]
    dt0, k = 0.25 / 4.0, 2.0 / (200.0 * 8)
    r = 2.0 - k * np.arange(1, len(times))
    e = 0.4 * (1 / r - 1)
    expected = np.concatenate([[0.0], np.cumsum(dt0 * np.exp2(np.concatenate([[0.0], np.cumsum(e)[:-1]])))])
    np.testing.assert_allclose(times, expected, rtol=1e-12)


def test_continuous_form_agrees_with_the_doubling_map_in_the_limit():
    # The ODE is the continuum limit of the per-doubling map: the time to reach 2^20 agrees to
    # within the discretisation of one doubling (a few per cent), for accelerating returns.
    cases = [(2.0, 8.0, 30.0, 0.3), (0.8, 8.0, 30.0, 0.3)]
    disc = SoftwareRnd().with_options(form="doublings")
    cont = SoftwareRnd().with_options(form="continuous")
    times = []
    for model in (disc, cont):
        p = _params(model, cases)
        sol = solve(model, p, np.linspace(0, 6, 601), np.log([2.0**20]), SolverSettings(cap_multiple=1e300, rtol=1e-9))
        times.append(sol.threshold_times[0])
    np.testing.assert_allclose(times[1], times[0], rtol=0.06)


@pytest.mark.parametrize("preset", ["sie", "sie-retraining", "sie-gradual-boost"])
def test_compiled_kernel_equals_the_step_by_step_map(preset):
    # the kernel repeats SoftwareRnd.step and the map solver's bookkeeping in scalar form: held
    # equal to the numpy step-by-step map, sample by sample
    sc = load_preset(preset).with_simulation(n_samples=4000, seed=9)
    p = draw_parameters(sc)
    t_grid, ln_mult = np.linspace(0, 4, 49), np.log([1e3, 1e6])
    fused = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    plain = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings, fused=False)
    assert fused.extras is not None and plain.extras is None
    np.testing.assert_array_equal(fused.n_steps, plain.n_steps)
    np.testing.assert_array_equal(fused.status, plain.status)
    np.testing.assert_allclose(fused.y_grid[0], plain.y_grid[0], rtol=1e-12)  # n ln2 vs a sum of ln2s
    np.testing.assert_allclose(fused.t_stop, plain.t_stop, rtol=1e-9)
    np.testing.assert_allclose(fused.rate_grid, plain.rate_grid, rtol=1e-7)
    np.testing.assert_allclose(fused.threshold_times, plain.threshold_times, rtol=1e-9)
    out_f, out_p = sc.model.sample_outputs(fused, p), sc.model.sample_outputs(plain, p)
    for key, value in out_p.items():
        if value.dtype == bool:
            np.testing.assert_array_equal(out_f[key], value, err_msg=key)
        else:  # the numpy path reads this one off a subsample
            k = np.isfinite(value)
            np.testing.assert_array_equal(out_f[key][k], value[k], err_msg=key)


def test_compiled_kernel_feeds_the_regime_rule_the_same_values():
    from rsilab.simulate.regimes import effective_returns

    sc = load_preset("sie").with_simulation(n_samples=3000, seed=4)
    p = draw_parameters(sc)
    t_grid, ln_mult = np.linspace(0, 4, 49), np.log([1e3, 1e6])
    fused = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    plain = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings, fused=False)
    for phase in ("late", "early"):
        np.testing.assert_allclose(effective_returns(fused, phase), effective_returns(plain, phase), rtol=1e-7,
                                   equal_nan=True, err_msg=phase)
