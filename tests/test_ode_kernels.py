"""The compiled per-sample ODE integrator (rsilab.simulate.ode_kernels) against the numpy
solver, sample by sample, on every shipped ODE preset's own parameter draws; and its dispatch.

The DOP853 references, closed forms and the convergence-order test run against both paths in
tests/test_dynamics_closed_forms.py and tests/test_control_models.py."""
from __future__ import annotations

import numpy as np
import pytest

from rsilab.dynamics.returns import SHAPES, Returns
from rsilab.simulate.kernels import kernel_for
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset, preset_names
from rsilab.simulate.solver import SolverSettings, solve

ODE_PRESETS = [name for name in preset_names() if load_preset(name).model.kind == "ode"]

# Both paths run the same tableau, error norm and step control, so they take the same steps
# and differ only by rounding (libm's scalar exp against numpy's SIMD exp, the order of a few
# sums): about 1e-12 relative. Where rounding flips one accept/reject decision (an error norm
# within rounding of 1) the step sequences part, and each path is then within its own
# tolerance of the true path: rtol = 1e-6 per step, compounded over the presets' horizons to
# at most ~100 x rtol for these growth laws (ln capability is O(1-100), so relative and
# absolute bounds coincide). Hence 100 x rtol on states, rates and times below.
REL = 100 * SolverSettings().rtol


def _pair(name: str, n: int = 3000):
    sc = load_preset(name).with_simulation(n_samples=n)
    p = draw_parameters(sc)
    t_grid = np.linspace(0.0, sc.horizon_years, int(sc.simulation["n_grid"]))
    ln_mult = np.log(np.asarray(sc.capability_multiples, dtype=float))
    fused = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    plain = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings, fused=False)
    return sc, fused, plain


def test_every_ode_preset_has_a_compiled_kernel():
    assert set(ODE_PRESETS) >= {"default", "criticality-continuous", "boxing", "drift", "controlled", "multipolar"}
    for name in ODE_PRESETS:
        assert kernel_for(load_preset(name).model) is not None, name
    # every shape of the returns model, too
    for shape in SHAPES:
        assert kernel_for(Returns().with_options(shape=shape)) is not None, shape


@pytest.mark.parametrize("name", ODE_PRESETS)
def test_compiled_integrator_matches_the_numpy_solver_per_sample(name):
    sc, fused, plain = _pair(name)
    np.testing.assert_array_equal(fused.status, plain.status, err_msg=f"{name}: statuses")
    assert fused.y_grid.shape == plain.y_grid.shape
    # where each path has a finite value (after a blow-up both hold +inf from the same grid time)
    np.testing.assert_array_equal(np.isfinite(fused.y_grid), np.isfinite(plain.y_grid), err_msg=f"{name}: finite grid")
    ok = np.isfinite(plain.y_grid)
    np.testing.assert_allclose(fused.y_grid[ok], plain.y_grid[ok], rtol=REL, atol=REL, err_msg=f"{name}: grid values")
    np.testing.assert_array_equal(np.isnan(fused.rate_grid), np.isnan(plain.rate_grid), err_msg=f"{name}: rates after a stop")
    ok = ~np.isnan(plain.rate_grid)
    np.testing.assert_allclose(fused.rate_grid[ok], plain.rate_grid[ok], rtol=REL, atol=REL, err_msg=f"{name}: rates")
    np.testing.assert_array_equal(np.isinf(fused.threshold_times), np.isinf(plain.threshold_times))
    ok = np.isfinite(plain.threshold_times)
    np.testing.assert_allclose(fused.threshold_times[ok], plain.threshold_times[ok], rtol=REL, atol=REL * sc.horizon_years,
                               err_msg=f"{name}: threshold times")
    np.testing.assert_array_equal(np.isnan(fused.threshold_states), np.isnan(plain.threshold_states))
    ok = ~np.isnan(plain.threshold_states)
    np.testing.assert_allclose(fused.threshold_states[ok], plain.threshold_states[ok], rtol=REL, atol=REL,
                               err_msg=f"{name}: states at the thresholds")
    np.testing.assert_allclose(fused.t_stop, plain.t_stop, rtol=REL, atol=REL * sc.horizon_years)
    np.testing.assert_allclose(fused.y_stop, plain.y_stop, rtol=REL, atol=REL)
    np.testing.assert_allclose(fused.rate_stop, plain.rate_stop, rtol=REL, atol=REL)
    # the same step control: the accepted steps differ only where a decision sat within
    # rounding of the error bound (a few samples in a thousand at most)
    assert np.mean(fused.n_steps != plain.n_steps) <= 0.005, f"{name}: step counts differ in many samples"


@pytest.mark.parametrize("name", ["multipolar", "default"])
def test_preset_summaries_agree_between_the_paths(name):
    # the forecast's numbers through the whole pipeline (regimes, model outputs), both paths
    sc = load_preset(name).with_simulation(n_samples=2000)
    a, b = run_scenario(sc), run_scenario(sc, compiled=False)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.regime, b.regime)
    for key, values in a.outputs.items():
        if values.dtype == bool:
            np.testing.assert_array_equal(values, b.outputs[key], err_msg=key)
        else:
            np.testing.assert_allclose(values, b.outputs[key], rtol=REL, atol=REL, err_msg=key)


@pytest.mark.parametrize("name", ["multipolar", "boxing"])
def test_after_a_stop_every_state_holds_its_stop_value_on_both_paths(name):
    # the Solution's contract, which multipolar's outputs read without re-holding
    sc, fused, plain = _pair(name, n=1500)
    for sol in (fused, plain):
        early = np.nonzero(sol.t_stop < sol.t_grid[-1])[0]
        assert early.size > 50, f"{name}: too few early stops to check"
        after = sol.t_grid[None, :] > sol.t_stop[early][:, None]
        for s in range(1, sol.y_grid.shape[0]):
            held = np.broadcast_to(sol.y_stop[s, early][:, None], after.shape)
            np.testing.assert_array_equal(sol.y_grid[s, early][after], held[after], err_msg=f"{name}: state {s}")
        blown = sol.status[early] == 1
        assert blown.any()
        assert np.all(np.isposinf(sol.y_grid[0, early][after & blown[:, None]]))


def test_skipping_held_states_gives_the_same_numbers_to_the_bit(monkeypatch):
    # multipolar's samples with fewer systems than their chunk's largest carry padding slots
    # with derivative 0: the compiled integrator skips them (``live_states``), which must give
    # exactly what integrating them gives (each adds exactly 0 to every sum and the error norm)
    from rsilab.dynamics.multipolar import Multipolar

    sc = load_preset("multipolar").with_simulation(n_samples=1500)
    p = draw_parameters(sc)
    assert len(set(np.round(p["n_systems"]))) > 1
    t_grid = np.linspace(0.0, sc.horizon_years, 51)
    ln_mult = np.log([10.0, 1000.0])
    skipping = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    monkeypatch.setattr(Multipolar, "live_states", lambda self, p: None)
    every = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    for field in ("y_grid", "rate_grid", "status", "t_stop", "y_stop", "threshold_times", "threshold_states", "n_steps"):
        np.testing.assert_array_equal(getattr(skipping, field), getattr(every, field), err_msg=field)


def test_compiled_results_do_not_depend_on_the_chunk_or_threads():
    # each sample's result depends on that sample alone: a sample solved alone equals itself in a batch
    sc = load_preset("boxing").with_simulation(n_samples=1500)
    p = draw_parameters(sc)
    t_grid = np.linspace(0.0, sc.horizon_years, 51)
    ln_mult = np.log([10.0, 1000.0])
    whole = solve(sc.model, p, t_grid, ln_mult, sc.solver_settings)
    for i in (0, 777, 1499):
        one = solve(sc.model, {k: v[i:i + 1] for k, v in p.items()}, t_grid, ln_mult, sc.solver_settings)
        np.testing.assert_array_equal(one.y_grid[:, 0], whole.y_grid[:, i])
        np.testing.assert_array_equal(one.threshold_times[:, 0], whole.threshold_times[:, i])


@pytest.mark.parametrize("name", ["boxing", "drift"])
def test_states_at_the_thresholds_agree_with_integrating_from_the_grid(name):
    # the solver's state at each crossing (its continuous extension, error ~ rtol per step)
    # against 16 RK4 steps of the model from the grid point before (error ~ (0.2 y / 16)^4 on
    # these smooth paths): both within REL of the true state
    from rsilab.dynamics.control_common import state_at

    sc, fused, plain = _pair(name, n=500)
    p = sc.model.prepare(draw_parameters(sc))
    for sol in (fused, plain):
        for k in range(sol.threshold_times.shape[0]):
            ref = state_at(sc.model, sol, p, sol.threshold_times[k])
            np.testing.assert_array_equal(np.isnan(ref), np.isnan(sol.threshold_states[k]))
            ok = ~np.isnan(ref)
            assert ok.any()
            np.testing.assert_allclose(sol.threshold_states[k][ok], ref[ok], rtol=REL, atol=REL, err_msg=f"{name}, threshold {k}")


def test_a_fresh_process_compiles_each_kernel_once_while_chunks_run_in_threads():
    """The first run of a process with several chunks: the chunk threads ask for the compiled
    kernels at once, and each must be compiled once (jitting a function twice is an error). The
    kernels run in rsilab's own threads, never as numba parallel kernels, so none of numba's
    threading layers starts (its fallback layer, workqueue, aborts the process when two threads
    launch parallel kernels at once). A fresh interpreter, so nothing is compiled yet."""
    import subprocess
    import sys

    code = ("from rsilab.simulate.montecarlo import run_scenario, chunk_size\n"
            "from rsilab.simulate.scenario import load_preset\n"
            "for name in ('controlled', 'multipolar', 'sie'):\n"
            "    sc = load_preset(name)\n"
            "    n = 4 * chunk_size(sc.model, sc.simulation['n_grid'])\n"
            "    e = run_scenario(sc.with_simulation(n_samples=n))\n"
            "    assert e.n == n\n"
            "import numba\n"
            "try:\n"
            "    print(numba.threading_layer())\n"
            "except ValueError:\n"
            "    print('no threading layer')\n")
    env = {**__import__("os").environ, "NUMBA_THREADING_LAYER": "workqueue"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "no threading layer"


def _state_and_params(model, n: int = 64):
    """A preset's own prepared draws and states along its path (the grid of a short solve)."""
    sc = next(load_preset(name) for name in preset_names() if type(load_preset(name).model) is type(model))
    p = model.prepare(draw_parameters(sc.with_simulation(n_samples=n)))
    sol = solve(model, p, np.linspace(0.0, sc.horizon_years, 5), np.log([10.0]), sc.solver_settings, fused=False)
    return p, sol


@pytest.mark.parametrize("model", [load_preset(name).model for name in ODE_PRESETS]
                         + [Returns().with_options(shape=shape) for shape in SHAPES], ids=lambda m: repr(m))
def test_each_models_rhs_one_computes_what_its_rhs_computes(model):
    # the scalar form, run as plain Python (no compiler), against the numpy rhs on the same
    # states: equal up to the last bits of an exponential (numpy's SIMD exp and libm's differ by
    # at most a few units in the last place, which a few operations may grow to ~1e-14 relative)
    p, sol = _state_and_params(model)
    par = model.kernel_params(p)
    assert par.shape[0] == len(p["I0"]) and par.flags.c_contiguous
    for j in range(sol.t_grid.size):
        y = sol.y_grid[:, :, j]
        ok = np.isfinite(y).all(axis=0)
        with np.errstate(all="ignore"):
            want = model.rhs(sol.t_grid[j], y, p)
        got = np.empty_like(y)
        for i in range(y.shape[1]):
            got[:, i] = np.nan
            if ok[i]:
                model.rhs_one(float(sol.t_grid[j]), y[:, i].copy(), par[i], got[:, i])
        np.testing.assert_allclose(got[:, ok], want[:, ok], rtol=1e-13, atol=1e-300, err_msg=f"{model!r} at t[{j}]")
