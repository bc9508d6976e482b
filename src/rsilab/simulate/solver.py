"""Solvers vectorised over samples: an adaptive Dormand-Prince 5(4) integrator for ODE models
and an iterator for discrete-generation maps.

Each sample carries its own time, step size and ``Status``: a sample that blows up or stalls is
stopped and marked while the rest go on (a Monte Carlo never dies because one sample did).
Samples are compacted out of the working arrays as they finish, so the cost follows the
samples still running. Every sample lands exactly on each output grid time (steps are clamped
to it), and threshold crossings are located inside a step by cubic Hermite interpolation.

Imports numpy and ``rsilab.dynamics.base`` only.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from rsilab.dynamics.base import Model


class Status(IntEnum):
    FINISHED = 0
    BLOWUP = 1
    CEILING = 2
    STEP_LIMIT = 3
    INVALID = 4

    @property
    def message(self) -> str:
        return _STATUS_MESSAGES[self]


_STATUS_MESSAGES = {
    Status.FINISHED: "finished: reached the horizon",
    Status.BLOWUP: "blow-up detected: capability passed the cap (or the step size collapsed) before the horizon",
    Status.CEILING: "ceiling reached: capability ended within the ceiling factor of the model's ceiling",
    Status.STEP_LIMIT: "step limit: the solver used its maximum number of steps before the horizon",
    Status.INVALID: "invalid: the model produced NaN for this sample's parameters",
}

# Dormand-Prince 5(4) tableau (the coefficients of scipy's RK45 and of DOP5 generally).
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
# Continuous extension of DP5 (Shampine 1986; also scipy's RK45.P): with Q = K^T P,
# y(t + x h) = y + h (Q1 x + Q2 x^2 + Q3 x^3 + Q4 x^4), fourth-order accurate within a step.
_P = np.array([
    [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])
_E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])


@dataclass
class Solution:
    """What the solver returns for a batch of samples (n samples, g grid times, m thresholds)."""

    t_grid: np.ndarray          # (g,)
    y_grid: np.ndarray          # (n_state, n, g); after a blow-up ln capability is +inf
    rate_grid: np.ndarray       # (n, g): d ln I / dt at the grid times (nan after a stop)
    status: np.ndarray          # (n,) Status values
    t_stop: np.ndarray          # (n,) time the sample stopped (horizon when finished)
    y_stop: np.ndarray          # (n_state, n)
    rate_stop: np.ndarray       # (n,)
    threshold_times: np.ndarray  # (m, n): first time ln I >= ln I(0) + ln multiple; inf if never
    n_steps: np.ndarray         # (n,) accepted steps (generations for maps)
    gain_ratio: np.ndarray | None = None  # maps only: ratio of the last two generations' gains
    step_times: np.ndarray | None = None  # maps only: (n, steps + 1) time each step completed (nan after stop)
    ln_path: np.ndarray | None = None     # maps only: (n, steps + 1) ln capability after each step
    early_gain_ratio: np.ndarray | None = None  # gain maps: ratio of the first two generations' gains
    extras: dict | None = None            # per-sample model outputs a fused kernel computed on the way
    returns_late: np.ndarray | None = None   # effective returns a fused kernel computed on the way
    returns_early: np.ndarray | None = None


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

    A model may offer ``fused_solve``: a compiled kernel doing the same work in one pass.
    ``fused=False`` forces the numpy path (the tests compare the two).
    """
    p = model.prepare(p)
    fused_solve = getattr(model, "fused_solve", None)
    if fused and fused_solve is not None:
        sol = fused_solve(p, t_grid, ln_multiples, settings)
        if sol is not None:
            return sol
    if getattr(model, "is_map", False):
        return _solve_map(model, p, t_grid, ln_multiples, settings)
    return _solve_ode(model, p, t_grid, ln_multiples, settings)


def _take(p: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in p.items()}


def _solve_ode(model: Model, p_all: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               st: SolverSettings) -> Solution:
    y = np.asarray(model.initial(p_all), dtype=float)
    n_state, n = y.shape
    g_count, m = len(t_grid), len(ln_multiples)
    horizon = float(t_grid[-1])

    y_grid = np.full((n_state, n, g_count), np.nan)
    rate_grid = np.full((n, g_count), np.nan)
    status = np.zeros(n, dtype=np.int8)
    t_stop = np.full(n, horizon)
    y_stop = y.copy()
    rate_stop = np.full(n, np.nan)
    thr_time = np.full((m, n), np.inf)
    n_steps = np.zeros(n, dtype=np.int64)
    ln_start = y[0].copy()
    ln_cap_all = ln_start + np.log(st.cap_multiple)
    thr_level_all = ln_start[None, :] + ln_multiples[:, None]

    # Working set (compacted as samples stop).
    idx = np.arange(n)
    p = p_all
    t = np.zeros(n)
    f = model.rhs(t, y, p)
    y_grid[:, :, 0] = y
    rate_grid[:, 0] = f[0]
    next_g = np.ones(n, dtype=np.int64)
    if st.fixed_step is not None:
        h = np.full(n, st.fixed_step)
    else:
        scale = st.atol + st.rtol * np.abs(y)
        d0 = np.sqrt(np.mean((y / scale) ** 2, axis=0))
        d1 = np.sqrt(np.mean((f / scale) ** 2, axis=0))
        h = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
        h = np.clip(h, 1e-9 * max(horizon, 1.0), horizon / 10)
    h_min = 1e-12 * max(horizon, 1.0)
    steps = np.zeros(n, dtype=np.int64)
    tg = np.asarray(t_grid, dtype=float)

    # Samples that stop stay in the working arrays, frozen (zero steps), until enough have
    # stopped to make compacting the arrays worth its cost.
    alive = np.ones(n, dtype=bool)
    while idx.size:
        # Steps are sized by the error control alone (clamped only at the horizon); the grid
        # is filled from the method's own continuous extension, so a smooth path needs few
        # steps however fine the output grid.
        h_try = np.where(alive, np.minimum(h, horizon - t), 0.0)
        k = [f]
        # overflow or NaN in a trial step shows up as a non-finite error: the step is rejected
        with np.errstate(invalid="ignore", over="ignore"):
            for s in range(1, 7):
                ys = y + h_try * sum(a * k[j] for j, a in enumerate(_A[s]) if a != 0.0)
                k.append(model.rhs(t + _C[s] * h_try, ys, p))
            y_new = y + h_try * sum(b * k[j] for j, b in enumerate(_B) if b != 0.0)
            f_new = k[6]
            if st.fixed_step is None:
                err_vec = h_try * sum(e * k[j] for j, e in enumerate(_E) if e != 0.0)
                scale = st.atol + st.rtol * np.maximum(np.abs(y), np.abs(y_new))
                err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
        if st.fixed_step is not None:
            accept = np.isfinite(y_new).all(axis=0) & alive
        else:
            finite = np.isfinite(err) & np.isfinite(y_new).all(axis=0)
            err = np.where(finite, err, np.inf)
            accept = (err <= 1.0) & alive
            with np.errstate(divide="ignore"):
                factor = np.where(err == 0, 5.0, np.clip(0.9 * err ** -0.2, 0.2, 5.0))
            factor = np.where(accept, factor, np.minimum(factor, 0.5))
            h_next = np.where(np.isfinite(err), h_try * factor, h_try * 0.2)
            # a last step shortened to end on the horizon says nothing against the longer one
            h = np.where(accept & (h_try < h), np.maximum(h, h_next), h_next)

        # -- accepted samples: thresholds, cap, grid --------------------------------------
        t_new = np.where(accept, t + h_try, t)
        y_acc = np.where(accept, y_new, y)
        f_acc = np.where(accept, f_new, f)
        y0_old, y0_new = y[0], y_acc[0]
        lvl = thr_level_all[:, idx]
        crossed = accept & (y0_new >= lvl) & (y0_old < lvl) & ~np.isfinite(thr_time[:, idx])
        if crossed.any():
            qi, si = np.nonzero(crossed)
            frac = _dense_root(y0_old[si], _dense_q(k, si)[:, 0], h_try[si], lvl[qi, si])
            thr_time[qi, idx[si]] = t[si] + frac * h_try[si]
        steps += accept
        blow = accept & (y0_new >= ln_cap_all[idx])
        t_cross = t_new.copy()
        if blow.any():
            # locate the cap crossing inside the last step, as for thresholds, and stop there
            b = np.nonzero(blow)[0]
            q = _dense_q(k, b)
            frac = _dense_root(y0_old[b], q[:, 0], h_try[b], ln_cap_all[idx[b]])
            t_cross[b] = t[b] + frac * h_try[b]
            y_acc[:, b] = y[:, b] + h_try[b] * frac * (q[0] + frac * (q[1] + frac * (q[2] + frac * q[3])))
        _fill_grid(y_grid, rate_grid, idx, next_g, tg, accept, t, h_try, y, k, t_cross, horizon)
        if blow.any():
            f_acc[:, blow] = model.rhs(t_cross[blow], y_acc[:, blow], _take(p, np.nonzero(blow)[0]))
        y, f, t = y_acc, f_acc, t_new

        done = accept & (t >= horizon * (1 - 1e-15))
        collapsed = (~accept) & (h < h_min)
        stalled = steps >= st.max_steps
        invalid = (~accept) & ~np.isfinite(f).all(axis=0)
        stop = (done | blow | collapsed | stalled | invalid) & alive
        if stop.any():
            ids = idx[stop]
            code = np.full(stop.sum(), Status.FINISHED, dtype=np.int8)
            code[stalled[stop]] = Status.STEP_LIMIT
            code[(collapsed & ~invalid)[stop]] = Status.BLOWUP
            code[invalid[stop]] = Status.INVALID
            code[blow[stop]] = Status.BLOWUP
            t_stop[ids] = np.where(blow[stop], t_cross[stop], t[stop])
            status[ids] = code
            y_stop[:, ids] = y[:, stop]
            rate_stop[ids] = f[0][stop]
            n_steps[ids] = steps[stop]
            alive &= ~stop
            dead = alive.size - np.count_nonzero(alive)
            if dead == alive.size or dead >= max(256, alive.size // 8):
                keep = alive
                idx, y, f, t, h, next_g, steps = idx[keep], y[:, keep], f[:, keep], t[keep], h[keep], next_g[keep], steps[keep]
                alive = alive[keep]
                p = _take(p_all, idx)

    # After a stop every state holds its value at the stop; beyond a blow-up the capability
    # is unbounded, and +inf on the grid keeps quantiles honest.
    missing = np.isnan(y_grid[0])   # grid times after a sample stopped
    if missing.any():
        y_grid[:, missing] = np.broadcast_to(y_stop[:, :, None], y_grid.shape)[:, missing]
    blown = status == Status.BLOWUP
    if blown.any():
        after = tg[None, :] > t_stop[blown][:, None]
        yg0 = y_grid[0, blown]
        yg0[after] = np.inf
        y_grid[0, blown] = yg0
    thr_time[ln_multiples <= 0, :] = 0.0
    return Solution(tg, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps)


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
    return np.einsum("jsm,jc->csm", stages, _P)


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


def _solve_map(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               st: SolverSettings) -> Solution:
    """Iterate a discrete-step map (generations, or one software doubling per step).

    Each step lasts ``model.step_years(y, p)`` (per sample, may depend on the state) and the
    map runs while the time is below the horizon and ``model.alive(y, p)`` holds, as the
    published per-doubling models do: the step that crosses the horizon is completed. The
    state at a grid time is the state after the last step completed by then. A model may
    offer ``path(p, horizon, max_steps)``, the same iteration in closed form over all steps at
    once; the tests hold it to the step-by-step loop.
    """
    tg = np.asarray(t_grid, dtype=float)
    horizon = float(tg[-1])
    path = getattr(model, "path", None)
    walked = path(p, horizon, st.max_steps) if path is not None else None
    if walked is None:
        walked = _walk(model, p, horizon, st.max_steps)
    step_times, ln_path, y_end, stopped_early, gains = walked
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


def _walk(model: Model, p: dict[str, np.ndarray], horizon: float, max_steps: int):
    """The step-by-step iteration: (step_times, ln_path, final state, hit max_steps, gains)."""
    y = np.asarray(model.initial(p), dtype=float)
    n = y.shape[1]
    t = np.zeros(n)
    gain_state = getattr(model, "gain_state", None)
    alive = getattr(model, "alive", None)
    t_hist, ln_hist = [t.copy()], [y[0].copy()]
    gains = [y[gain_state].copy()] if gain_state is not None else None
    stopped_early = np.zeros(n, dtype=bool)
    for step in range(max_steps + 1):
        live = t < horizon * (1 - 1e-12)
        if alive is not None:
            live &= alive(y, p)
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
