"""Solvers vectorised over samples: an adaptive Dormand-Prince 5(4) integrator for ODE models
and an iterator for discrete-step maps; a compiled kernel where one is registered.

The solver reads what a model's kind declares (``OdeModel.rhs``; ``MapModel.step``,
``step_years``, ``alive``, ``gain_state``) and asks ``kernels.kernel_for`` whether a compiled
kernel serves the model; it never probes a model for optional methods.

Each sample carries its own time, step size and ``Status``: a sample that blows up or stalls is
stopped and marked while the rest go on (a Monte Carlo never dies because one sample did).
Samples are compacted out of the working arrays as they finish, so the cost follows the
samples still running. Every sample lands exactly on each output grid time (steps are clamped
to it), and threshold crossings are located inside a step by cubic Hermite interpolation.

Imports numpy, ``rsilab.core``, ``rsilab.dynamics.base``, ``rsilab.simulate.kernels`` and the
tableau (``rsilab.simulate.tableau``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rsilab.core.solution import Solution, Status
from rsilab.dynamics.base import MapModel, Model, OdeModel
from rsilab.simulate import kernels
from rsilab.simulate.tableau import A, B, C, E, P

__all__ = ["Solution", "SolverSettings", "Status", "solve", "solve_prepared"]


@dataclass(frozen=True)
class SolverSettings:
    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 20_000
    cap_multiple: float = 1e15   # capability/I0 beyond which a sample is stopped as a blow-up
    fixed_step: float | None = None  # for convergence-order checks: no adaptivity


def solve(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
          settings: SolverSettings = SolverSettings(), *, fused: bool = True) -> Solution:
    """Integrate ``model`` for every sample in ``p`` over ``t_grid`` (which starts at 0).

    A compiled kernel registered for the model does the same work in one pass; ``fused=False``
    forces the numpy solvers (the tests compare the two).
    """
    return solve_prepared(model, model.prepare(p), t_grid, ln_multiples, settings, fused=fused)


def solve_prepared(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
                   settings: SolverSettings = SolverSettings(), *, fused: bool = True) -> Solution:
    """``solve`` for parameters that already went through ``model.prepare`` (once per chunk)."""
    kernel = kernels.kernel_for(model) if fused else None
    if kernel is not None:
        return kernel(model, p, t_grid, ln_multiples, settings)
    if model.kind == "map":
        assert isinstance(model, MapModel), f"{model!r} declares kind 'map' but is no MapModel"
        return _solve_map(model, p, t_grid, ln_multiples, settings)
    assert isinstance(model, OdeModel), f"{model!r} declares kind {model.kind!r} but is no OdeModel"
    return _solve_ode(model, p, t_grid, ln_multiples, settings)


def _take(p: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in p.items()}


# -- ODE: init, step, accept or reject, record, stop ---------------------------------------------
@dataclass
class _OdeOut:
    """Per-sample results for all n samples, filled as samples pass grid times and stop."""

    y_grid: np.ndarray      # (n_state, n, g)
    rate_grid: np.ndarray   # (n, g)
    status: np.ndarray
    t_stop: np.ndarray
    y_stop: np.ndarray
    rate_stop: np.ndarray
    thr_time: np.ndarray    # (m, n)
    thr_state: np.ndarray   # (m, n_state, n) state at each threshold time
    n_steps: np.ndarray
    ln_cap: np.ndarray      # ln capability at which a sample is stopped as a blow-up
    thr_level: np.ndarray   # (m, n) ln capability of each threshold


@dataclass
class _Working:
    """The samples still in the working arrays and their integrator state. Samples that stop
    stay, frozen (``alive`` False, zero steps), until compacting is worth its cost."""

    idx: np.ndarray         # sample indices into the outputs
    p: dict[str, np.ndarray]
    t: np.ndarray
    y: np.ndarray           # (n_state, w)
    f: np.ndarray           # rhs at (t, y)
    h: np.ndarray           # next step size
    next_g: np.ndarray      # next grid index to record
    steps: np.ndarray       # accepted steps
    alive: np.ndarray
    rejected: np.ndarray    # the last trial step was rejected


@dataclass
class _Trial:
    """One Dormand-Prince step tried from every working sample."""

    h: np.ndarray           # step taken (0 for frozen samples)
    k: list[np.ndarray]     # the 7 stages
    y_new: np.ndarray
    err: np.ndarray | None  # scaled error norm (None with a fixed step)


def _solve_ode(model: OdeModel, p_all: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               st: SolverSettings) -> Solution:
    tg = np.asarray(t_grid, dtype=float)
    horizon = float(tg[-1])
    out, w = _ode_init(model, p_all, tg, ln_multiples, st)
    while w.idx.size:
        trial = _ode_step(model, w, st, horizon)
        accept = _accept_or_reject(w, trial, st)
        blow, t_cross = _record(model, w, trial, accept, out, tg, horizon)
        w = _stop(w, out, p_all, accept, blow, t_cross, horizon, st)
    return _ode_finish(out, tg, ln_multiples)


def _ode_init(model: OdeModel, p: dict[str, np.ndarray], tg: np.ndarray, ln_multiples: np.ndarray,
              st: SolverSettings) -> tuple[_OdeOut, _Working]:
    """Outputs, the first grid point, and the initial step size (Hairer, Norsett & Wanner,
    Solving ODEs I, II.4: the starting step algorithm, as scipy's ``select_initial_step``)."""
    y = np.asarray(model.initial(p), dtype=float)
    n_state, n = y.shape
    g_count, m = len(tg), len(ln_multiples)
    horizon = float(tg[-1])
    out = _OdeOut(
        y_grid=np.full((n_state, n, g_count), np.nan), rate_grid=np.full((n, g_count), np.nan),
        status=np.zeros(n, dtype=np.int8), t_stop=np.full(n, horizon), y_stop=y.copy(),
        rate_stop=np.full(n, np.nan), thr_time=np.full((m, n), np.inf), thr_state=np.full((m, n_state, n), np.nan),
        n_steps=np.zeros(n, dtype=np.int64),
        ln_cap=y[0] + np.log(st.cap_multiple), thr_level=y[0][None, :] + ln_multiples[:, None])
    t = np.zeros(n)
    f = model.rhs(t, y, p)
    out.y_grid[:, :, 0] = y
    out.rate_grid[:, 0] = f[0]
    if st.fixed_step is not None:
        h = np.full(n, st.fixed_step)
    else:
        scale = st.atol + st.rtol * np.abs(y)
        d0 = np.sqrt(np.mean((y / scale) ** 2, axis=0))
        d1 = np.sqrt(np.mean((f / scale) ** 2, axis=0))
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
        h0 = np.minimum(h0, horizon)
        # the second estimate: an Euler step of h0 and how much the slope changed over it (a
        # state starting at 0 has scale atol, which makes h0 tiny: about 3 steps more a sample
        # without it, on every ODE preset)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            f1 = model.rhs(t + h0, y + h0 * f, p)
            d2 = np.sqrt(np.mean(((f1 - f) / scale) ** 2, axis=0)) / h0
            big = np.maximum(d1, d2)
            h1 = np.where(big <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / big) ** 0.2)
        h = np.where(np.isfinite(d2), np.minimum(100 * h0, h1), h0)
        h = np.clip(h, 1e-9 * max(horizon, 1.0), horizon / 10)
    w = _Working(idx=np.arange(n), p=p, t=t, y=y, f=f, h=h, next_g=np.ones(n, dtype=np.int64),
                 steps=np.zeros(n, dtype=np.int64), alive=np.ones(n, dtype=bool), rejected=np.zeros(n, dtype=bool))
    return out, w


def _ode_step(model: OdeModel, w: _Working, st: SolverSettings, horizon: float) -> _Trial:
    """The stages, the fifth-order solution and its error estimate. Steps are sized by the
    error control alone (clamped only at the horizon); the grid is filled from the method's
    continuous extension, so a smooth path needs few steps however fine the output grid."""
    h = np.where(w.alive, np.minimum(w.h, horizon - w.t), 0.0)
    k = [w.f]
    err = None
    # overflow or NaN in a trial step shows up as a non-finite error: the step is rejected
    with np.errstate(invalid="ignore", over="ignore"):
        for s in range(1, 7):
            ys = w.y + h * sum(a * k[j] for j, a in enumerate(A[s]) if a != 0.0)
            k.append(model.rhs(w.t + C[s] * h, ys, w.p))
        y_new = w.y + h * sum(b * k[j] for j, b in enumerate(B) if b != 0.0)
        if st.fixed_step is None:
            err_vec = h * sum(e * k[j] for j, e in enumerate(E) if e != 0.0)
            scale = st.atol + st.rtol * np.maximum(np.abs(w.y), np.abs(y_new))
            err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
    return _Trial(h=h, k=k, y_new=y_new, err=err)


def _accept_or_reject(w: _Working, trial: _Trial, st: SolverSettings) -> np.ndarray:
    """Which samples accept their step; sets each sample's next step size (``w.h``)."""
    if trial.err is None:
        return np.isfinite(trial.y_new).all(axis=0) & w.alive
    finite = np.isfinite(trial.err) & np.isfinite(trial.y_new).all(axis=0)
    err = np.where(finite, trial.err, np.inf)
    accept = (err <= 1.0) & w.alive
    # accepted or not, the next trial is the size the error asks for (a rejected one is retried
    # at 0.9 err^(-1/5) of its size, as in DOPRI5 and scipy)
    with np.errstate(divide="ignore"):
        factor = np.where(err == 0, 5.0, np.clip(0.9 * err ** -0.2, 0.2, 5.0))
    h_next = np.where(np.isfinite(err), trial.h * factor, trial.h * 0.2)
    # the step after a rejection may not grow (as in Hairer's DOPRI5): growing straight back to
    # the rejected size is what makes a step approaching a blow-up fail again and again
    h_next = np.where(accept & w.rejected, np.minimum(h_next, trial.h), h_next)
    w.rejected = ~accept
    # a last step shortened to end on the horizon says nothing against the longer one
    w.h = np.where(accept & (trial.h < w.h), np.maximum(w.h, h_next), h_next)
    return accept


def _record(model: OdeModel, w: _Working, trial: _Trial, accept: np.ndarray, out: _OdeOut,
            tg: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds crossed, the capability cap, and grid times passed by the accepted steps;
    then advances the accepted samples. Returns (blew up, time each step ended or crossed the cap)."""
    h, k, idx = trial.h, trial.k, w.idx
    t_new = np.where(accept, w.t + h, w.t)
    y_acc = np.where(accept, trial.y_new, w.y)
    f_acc = np.where(accept, k[6], w.f)
    y0_old, y0_new = w.y[0], y_acc[0]
    lvl = out.thr_level[:, idx]
    crossed = accept & (y0_new >= lvl) & (y0_old < lvl) & ~np.isfinite(out.thr_time[:, idx])
    if crossed.any():
        qi, si = np.nonzero(crossed)
        q = _dense_q(k, si)
        frac = _dense_root(y0_old[si], q[:, 0], h[si], lvl[qi, si])
        out.thr_time[qi, idx[si]] = w.t[si] + frac * h[si]
        # every state at the crossing, from the same continuous extension
        out.thr_state[qi, :, idx[si]] = (w.y[:, si] + h[si] * frac * (q[0] + frac * (q[1] + frac * (q[2] + frac * q[3])))).T
    w.steps += accept
    blow = accept & (y0_new >= out.ln_cap[idx])
    t_cross = t_new.copy()
    if blow.any():
        # locate the cap crossing inside the last step, as for thresholds, and stop there
        b = np.nonzero(blow)[0]
        q = _dense_q(k, b)
        frac = _dense_root(y0_old[b], q[:, 0], h[b], out.ln_cap[idx[b]])
        t_cross[b] = w.t[b] + frac * h[b]
        y_acc[:, b] = w.y[:, b] + h[b] * frac * (q[0] + frac * (q[1] + frac * (q[2] + frac * q[3])))
    _fill_grid(out.y_grid, out.rate_grid, idx, w.next_g, tg, accept, w.t, h, w.y, k, t_cross, horizon)
    if blow.any():
        f_acc[:, blow] = model.rhs(t_cross[blow], y_acc[:, blow], _take(w.p, np.nonzero(blow)[0]))
    w.y, w.f, w.t = y_acc, f_acc, t_new
    return blow, t_cross


def _stop(w: _Working, out: _OdeOut, p_all: dict[str, np.ndarray], accept: np.ndarray, blow: np.ndarray,
          t_cross: np.ndarray, horizon: float, st: SolverSettings) -> _Working:
    """Marks the samples that stop now with their status and final values; compacts the
    working arrays once enough have stopped."""
    done = accept & (w.t >= horizon * (1 - 1e-15))
    # a fixed step cannot shrink: a rejected one (non-finite) ends the sample as a collapsed step would
    collapsed = (~accept) & ((w.h < 1e-12 * max(horizon, 1.0)) | (st.fixed_step is not None))
    stalled = w.steps >= st.max_steps
    invalid = (~accept) & ~np.isfinite(w.f).all(axis=0)
    stop = (done | blow | collapsed | stalled | invalid) & w.alive
    if not stop.any():
        return w
    ids = w.idx[stop]
    code = np.full(stop.sum(), Status.FINISHED, dtype=np.int8)
    code[stalled[stop]] = Status.STEP_LIMIT
    code[(collapsed & ~invalid)[stop]] = Status.BLOWUP
    code[invalid[stop]] = Status.INVALID
    code[blow[stop]] = Status.BLOWUP
    out.t_stop[ids] = np.where(blow[stop], t_cross[stop], w.t[stop])
    out.status[ids] = code
    out.y_stop[:, ids] = w.y[:, stop]
    out.rate_stop[ids] = w.f[0][stop]
    out.n_steps[ids] = w.steps[stop]
    w.alive &= ~stop
    dead = w.alive.size - np.count_nonzero(w.alive)
    if dead == w.alive.size or dead >= max(256, w.alive.size // 8):
        keep = w.alive
        idx = w.idx[keep]
        w = _Working(idx=idx, p=_take(p_all, idx), t=w.t[keep], y=w.y[:, keep], f=w.f[:, keep], h=w.h[keep],
                     next_g=w.next_g[keep], steps=w.steps[keep], alive=w.alive[keep], rejected=w.rejected[keep])
    return w


def _ode_finish(out: _OdeOut, tg: np.ndarray, ln_multiples: np.ndarray) -> Solution:
    """After a stop every state holds its value at the stop; beyond a blow-up the capability
    is unbounded, and +inf on the grid keeps quantiles honest."""
    y_grid = out.y_grid
    missing = np.isnan(y_grid[0])   # grid times after a sample stopped
    if missing.any():
        y_grid[:, missing] = np.broadcast_to(out.y_stop[:, :, None], y_grid.shape)[:, missing]
    blown = out.status == Status.BLOWUP
    if blown.any():
        after = tg[None, :] > out.t_stop[blown][:, None]
        yg0 = y_grid[0, blown]
        yg0[after] = np.inf
        y_grid[0, blown] = yg0
    out.thr_time[ln_multiples <= 0, :] = 0.0
    out.thr_state[ln_multiples <= 0] = y_grid[:, :, 0]
    return Solution(tg, y_grid, out.rate_grid, out.status, out.t_stop, out.y_stop, out.rate_stop, out.thr_time,
                    out.n_steps, threshold_states=out.thr_state)


def _fill_grid(y_grid, rate_grid, idx, next_g, tg, accept, t, h, y, k, t_until, horizon) -> None:
    """Record every grid time the accepted step passed (up to ``t_until``: the step's end, or
    the cap crossing of a blow-up) from the step's continuous extension; the growth rate there
    is that extension's derivative. All (sample, grid time) pairs of the step are evaluated
    in one pass. Updates ``next_g``."""
    g_count = len(tg)
    need = accept & (next_g < g_count)
    need[need] = tg[next_g[need]] <= t_until[need] + 1e-12 * max(horizon, 1.0)
    if not need.any():
        return
    sel = np.nonzero(need)[0]
    stop_at = np.searchsorted(tg, t_until[sel] + 1e-12 * max(horizon, 1.0), side="right")
    count = stop_at - next_g[sel]                                  # grid times passed, >= 1
    rows = np.repeat(np.arange(sel.size), count)                   # one row per (sample, time)
    gi = np.repeat(next_g[sel], count) + (np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count))
    q = _dense_q(k, sel)[:, :, rows]                               # (4, n_state, pairs)
    hs = h[sel][rows]
    x = np.clip((tg[gi] - t[sel][rows]) / hs, 0.0, 1.0)
    y_at = y[:, sel][:, rows] + hs * x * (q[0] + x * (q[1] + x * (q[2] + x * q[3])))
    where = idx[sel][rows]
    y_grid[:, where, gi] = y_at
    # d ln I / dt from the extension's derivative (third-order accurate: enough for the regime
    # rule, whose tolerance is RETURNS_TOLERANCE (0.02), and far cheaper than calling the model again)
    rate_grid[where, gi] = q[0][0] + x * (2 * q[1][0] + x * (3 * q[2][0] + x * 4 * q[3][0]))
    next_g[sel] = stop_at


def _dense_q(k: list[np.ndarray], sel: np.ndarray) -> np.ndarray:
    """Coefficients (4, n_state, m) of the step's continuous extension for samples ``sel``."""
    stages = np.stack([kj[:, sel] for kj in k])             # (7, n_state, m)
    return np.einsum("jsm,jc->csm", stages, P)


def _dense_root(y0: np.ndarray, q0: np.ndarray, h: np.ndarray, level: np.ndarray, iters: int = 8) -> np.ndarray:
    """Fraction x in [0, 1] of the step where ln capability's continuous extension
    y(x) = y0 + h (q1 x + q2 x^2 + q3 x^3 + q4 x^4) reaches ``level``: Newton's method from
    the linear guess, kept inside [0, 1] (y rises through the level within the step)."""
    q1, q2, q3, q4 = q0[0], q0[1], q0[2], q0[3]
    y1 = y0 + h * (q1 + q2 + q3 + q4)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.clip(np.nan_to_num((level - y0) / (y1 - y0), nan=0.5), 0.0, 1.0)
        for _ in range(iters):
            value = y0 + h * x * (q1 + x * (q2 + x * (q3 + x * q4))) - level
            slope = h * (q1 + x * (2 * q2 + x * (3 * q3 + x * 4 * q4)))
            x = np.clip(np.where(slope > 0, x - value / slope, x), 0.0, 1.0)
    return x


def _solve_map(model: MapModel, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               st: SolverSettings) -> Solution:
    """Iterate a discrete-step map (generations, or one software doubling per step).

    Each step lasts ``model.step_years(y, p)`` (per sample, may depend on the state) and the
    map runs while the time is below the horizon and ``model.alive(y, p)`` holds, as the
    published per-doubling models do: the step that crosses the horizon is completed. The
    state at a grid time is the state after the last step completed by then.
    """
    tg = np.asarray(t_grid, dtype=float)
    horizon = float(tg[-1])
    step_times, ln_path, y_end, stopped_early, gains = _walk(model, p, horizon, st.max_steps)
    n, m1 = step_times.shape
    status = np.zeros(n, dtype=np.int8)
    status[stopped_early] = Status.STEP_LIMIT

    # blow-up: cut each path at its first step past the cap
    ln_cap = ln_path[:, :1] + np.log(st.cap_multiple)
    over = np.nan_to_num(ln_path, nan=-np.inf) >= ln_cap
    blown = over.any(axis=1)
    if blown.any():
        first = np.argmax(over, axis=1)
        after = np.arange(m1)[None, :] > first[:, None]
        cut = blown[:, None] & after
        step_times = np.where(cut, np.nan, step_times)
        ln_path = np.where(cut, np.nan, ln_path)
        status[blown] = Status.BLOWUP
    n_done = np.sum(np.isfinite(step_times[:, 1:]), axis=1)
    rows = np.arange(n)
    t_last = step_times[rows, n_done]
    ln_last = ln_path[rows, n_done]
    y_stop = y_end.copy()
    y_stop[0] = ln_last

    # state at each grid time: after the steps completed by then
    completed = _count_at_or_before(step_times, tg)                # (n, g)
    y_grid = np.full((y_end.shape[0], n, len(tg)), np.nan)
    y_grid[0] = ln_path[rows[:, None], completed]
    if blown.any():
        y_grid[0][blown] = np.where(tg[None, :] >= t_last[blown][:, None], np.inf, y_grid[0][blown])

    # thresholds: the time of the first step at or past each level
    thr_time = np.full((len(ln_multiples), n), np.inf)
    for q, lm in enumerate(ln_multiples):
        hit = np.nan_to_num(ln_path, nan=-np.inf) >= ln_path[:, :1] + lm
        any_hit = hit.any(axis=1)
        thr_time[q, any_hit] = step_times[rows[any_hit], np.argmax(hit[any_hit], axis=1)]

    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.diff(ln_path, axis=1) / np.diff(step_times, axis=1)   # (n, steps)
    rates = np.where(np.isfinite(rates), rates, np.nan)
    last_step = np.maximum(n_done - 1, 0)
    if rates.shape[1]:
        rate_grid = rates[rows[:, None], np.minimum(completed, last_step[:, None])]
        rate_stop = rates[rows, last_step]
    else:
        rate_grid, rate_stop = np.full((n, len(tg)), np.nan), np.full(n, np.nan)
    ratio = early = None
    if gains is not None:
        # A map that carries its gain as a state reports the ratio of its last two gains
        # directly: capability differences lose all precision once a converging series settles.
        g_last, g_prev = gains[rows, np.maximum(n_done - 1, 0)], gains[rows, np.maximum(n_done - 2, 0)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where((n_done >= 2) & (g_prev > 0), g_last / g_prev, np.nan)
            early = np.where((n_done >= 2) & (gains[:, 0] > 0), gains[:, min(1, gains.shape[1] - 1)] / gains[:, 0], np.nan)
    # the regime reads the path up to the horizon: a last step that overshoots it is in
    # progress at the horizon, not a later stop
    t_stop = np.where(status == Status.BLOWUP, t_last, np.minimum(t_last, horizon))
    return Solution(tg, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_done, ratio,
                    step_times=step_times, ln_path=ln_path, early_gain_ratio=early)


def _walk(model: MapModel, p: dict[str, np.ndarray], horizon: float, max_steps: int):
    """The step-by-step iteration: (step_times, ln_path, final state, hit max_steps, gains)."""
    y = np.asarray(model.initial(p), dtype=float)
    n = y.shape[1]
    t = np.zeros(n)
    gain_state = model.gain_state
    t_hist, ln_hist = [t.copy()], [y[0].copy()]
    gains = [y[gain_state].copy()] if gain_state is not None else None
    stopped_early = np.zeros(n, dtype=bool)
    for step in range(max_steps + 1):
        live = (t < horizon * (1 - 1e-12)) & model.alive(y, p)
        if not live.any():
            break
        if step == max_steps:
            stopped_early = live
            break
        dt = np.broadcast_to(np.asarray(model.step_years(y, p), dtype=float), (n,))
        y = np.where(live, model.step(y, p, t), y)
        t = np.where(live, t + dt, t)
        t_hist.append(np.where(live, t, np.nan))
        ln_hist.append(np.where(live, y[0], np.nan))
        if gains is not None:
            gains.append(y[gain_state].copy())
    return (np.stack(t_hist, axis=1), np.stack(ln_hist, axis=1), y, stopped_early,
            np.stack(gains, axis=1) if gains is not None else None)


def _count_at_or_before(step_times: np.ndarray, tg: np.ndarray) -> np.ndarray:
    """For each sample and grid time, how many steps (after step 0) completed by then.

    One searchsorted over the rows laid end to end, each in its own band of the number line
    (rows' times are increasing; nan, a step never taken, sorts to the end of its band).
    """
    n, m1 = step_times.shape
    top = float(tg[-1]) + 1.0
    band = 4.0 * top
    clipped = np.where(np.isfinite(step_times), np.minimum(step_times, top), band / 2)
    offsets = (np.arange(n) * band)[:, None]
    flat = (clipped + offsets).ravel()
    pos = np.searchsorted(flat, (tg[None, :] + offsets).ravel(), side="right").reshape(n, len(tg))
    return pos - (np.arange(n) * m1)[:, None] - 1
