"""Golden tests: the `sie` preset against Davidson & Houlden 2025, "How quick and big would a
software intelligence explosion be?" (Forethought), and the per-doubling map against its
closed form and the step-by-step iteration.

Published (main results table): P(>= 3 years of progress in <= 1 year) = 57%, P(>= 10 years in
<= 1 year) = 18%, and for <= 4 months 41% and 12%; the appendix repeats the baseline as
56 / 41 / 17 / 12, so the authors' own Monte Carlo error is about 1 percentage point. The
variant tables: retraining 57 / 41 / 19 / 14, gradual boost 59 / 48 / 32 / 24.
Tolerance: 2.5 percentage points = the published rounding (0.5) + the authors' run-to-run
spread (about 1) + 3 standard errors of ours (about 0.6 at 50,000 samples), plus slack 0.4.
"""
import numpy as np
import pytest

from rsilab.dynamics.software_rnd import SoftwareRnd
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset
from rsilab.simulate.solver import SolverSettings, _walk, solve

PUBLISHED = {
    "sie": {"p_compress_3y_in_1y": 0.57, "p_compress_10y_in_1y": 0.18, "p_compress_3y_in_4mo": 0.41, "p_compress_10y_in_4mo": 0.12},
    "sie-retraining": {"p_compress_3y_in_1y": 0.57, "p_compress_10y_in_1y": 0.19, "p_compress_3y_in_4mo": 0.41, "p_compress_10y_in_4mo": 0.14},
    "sie-gradual-boost": {"p_compress_3y_in_1y": 0.59, "p_compress_10y_in_1y": 0.32, "p_compress_3y_in_4mo": 0.48, "p_compress_10y_in_4mo": 0.24},
}
TOLERANCE = 0.025


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_sie_presets_reproduce_the_published_probabilities(preset):
    n = 50_000 if preset != "sie-gradual-boost" else 20_000  # the gradual boost is iterated step by step
    summary = run_scenario(load_preset(preset).with_simulation(n_samples=n, seed=11)).summary()
    rows = [(k, summary[k], v) for k, v in PUBLISHED[preset].items()]
    report = "\n".join(f"  {k:24s} found {f:.3f}  published {v:.2f}" for k, f, v in rows)
    assert all(abs(f - v) <= TOLERANCE for _, f, v in rows), f"{preset}:\n{report}"


def _params(model, cases):
    p = {k: np.full(len(cases), float(v)) for k, v in model.defaults().items()}
    for i, name in enumerate(("r0", "f", "limit_years", "p")):
        p[name] = np.array([c[i] for c in cases], dtype=float)
    return p


def test_single_runs_match_an_independent_reading_of_the_authors_code():
    # (r0, f, limit_years, p) -> doublings made in 48 months and the most years of progress in
    # any 12-month window; computed by a separate reimplementation of multiple_sims.py while
    # researching the model (not published figures, a cross-check of the stepping rules).
    cases = [(1.2, 8, 11, 0.3), (2.4, 8, 11, 0.3), (0.6, 8, 11, 0.3), (1.2, 32, 11, 0.3), (1.2, 2, 11, 0.3), (1.2, 8, 16, 0.3)]
    expected_doublings = [53, 84, 19, 60, 35, 67]
    expected_years = [4.25, 10.125, 1.375, 6.5, 1.25, 5.0]
    model = SoftwareRnd().with_options(form="doublings")
    p = _params(model, cases)
    sol = solve(model, p, np.linspace(0, 4, 49), np.log([10.0]), SolverSettings(cap_multiple=1e300))
    assert list(sol.n_steps) == expected_doublings
    assert list(model.sample_outputs(sol, p)["years_compressed_in_1y"]) == expected_years


@pytest.mark.parametrize("retraining", ["off", "on"])
def test_block_closed_form_path_equals_the_step_by_step_map(retraining):
    sc = load_preset("sie").with_simulation(n_samples=5000, seed=5)
    model = sc.model.with_options(form="doublings", retraining=retraining)
    p = draw_parameters(sc)
    fast, slow = model.path(p, 4.0, 20_000), _walk(model, p, 4.0, 20_000)
    width = max(fast[0].shape[1], slow[0].shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
    np.testing.assert_array_equal(np.isnan(pad(fast[0])), np.isnan(pad(slow[0])))
    np.testing.assert_allclose(pad(fast[0]), pad(slow[0]), rtol=1e-7, equal_nan=True)
    np.testing.assert_allclose(fast[2][[0, 2]], slow[2][[0, 2]], rtol=1e-8)


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
def test_compiled_kernel_equals_the_numpy_path(preset):
    from rsilab.simulate import kernels

    if not kernels.available():
        pytest.skip("numba is not installed")
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


def test_compiled_kernel_applies_the_same_regime_rule():
    from rsilab.simulate import kernels
    from rsilab.simulate.regimes import effective_returns

    if not kernels.available():
        pytest.skip("numba is not installed")
    sc = load_preset("sie").with_simulation(n_samples=3000, seed=4)
    p = draw_parameters(sc)
    t_grid, ln_mult = np.linspace(0, 4, 49), np.log([1e3, 1e6])
    fused = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    plain = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings, fused=False)
    for phase in ("late", "early"):
        np.testing.assert_allclose(effective_returns(fused, phase), effective_returns(plain, phase), rtol=1e-7,
                                   equal_nan=True, err_msg=phase)
