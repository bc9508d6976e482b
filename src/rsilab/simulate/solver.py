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


@dataclass(frozen=True)
class SolverSettings:
    rtol: float = 1e-6
    atol: float = 1e-9
    max_steps: int = 20_000
    cap_multiple: float = 1e15   # capability/I0 beyond which a sample is stopped as a blow-up
    fixed_step: float | None = None  # for convergence-order checks: no adaptivity


def solve(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
          settings: SolverSettings = SolverSettings()) -> Solution:
    """Integrate ``model`` for every sample in ``p`` over ``t_grid`` (which starts at 0)."""
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

    while idx.size:
        target = tg[np.minimum(next_g, g_count - 1)]
        h_try = np.minimum(h, target - t)
        k = [f]
        for s in range(1, 7):
            ys = y + h_try * sum(a * k[j] for j, a in enumerate(_A[s]) if a != 0.0)
            k.append(model.rhs(t + _C[s] * h_try, ys, p))
        y_new = y + h_try * sum(b * k[j] for j, b in enumerate(_B) if b != 0.0)
        f_new = k[6]
        if st.fixed_step is not None:
            accept = np.isfinite(y_new).all(axis=0)
            err = np.zeros_like(h_try)
        else:
            err_vec = h_try * sum(e * k[j] for j, e in enumerate(_E) if e != 0.0)
            scale = st.atol + st.rtol * np.maximum(np.abs(y), np.abs(y_new))
            with np.errstate(invalid="ignore", over="ignore"):
                err = np.sqrt(np.mean((err_vec / scale) ** 2, axis=0))
            finite = np.isfinite(err) & np.isfinite(y_new).all(axis=0)
            err = np.where(finite, err, np.inf)
            accept = err <= 1.0
            with np.errstate(divide="ignore"):
                factor = np.where(err == 0, 5.0, np.clip(0.9 * err ** -0.2, 0.2, 5.0))
            factor = np.where(accept, factor, np.minimum(factor, 0.5))
            h_next = np.where(np.isfinite(err), h_try * factor, h_try * 0.2)
            # A step shortened only to land on a grid time says nothing against the longer
            # step: keep the longer proposal after such an accepted step.
            clamped = h_try < h
            h = np.where(accept & clamped, np.maximum(h, h_next), h_next)

        # -- accepted samples: thresholds, cap, grid --------------------------------------
        t_new = np.where(accept, t + h_try, t)
        y_acc = np.where(accept, y_new, y)
        f_acc = np.where(accept, f_new, f)
        y0_old, y0_new = y[0], y_acc[0]
        lvl = thr_level_all[:, idx]
        crossed = accept & (y0_new >= lvl) & (y0_old < lvl) & ~np.isfinite(thr_time[:, idx])
        if crossed.any():
            qi, si = np.nonzero(crossed)
            frac = _hermite_root(y0_old[si], y0_new[si], f[0][si] * h_try[si], f_acc[0][si] * h_try[si], lvl[qi, si])
            thr_time[qi, idx[si]] = t[si] + frac * h_try[si]
        # thresholds already met at t = 0 (multiple <= 1)
        steps += accept
        blow = accept & (y0_new >= ln_cap_all[idx])
        on_grid = accept & (np.abs(t_new - target) <= 1e-12 * max(horizon, 1.0)) & ~blow
        if on_grid.any():
            gi = next_g[on_grid]
            y_grid[:, idx[on_grid], gi] = y_acc[:, on_grid]
            rate_grid[idx[on_grid], gi] = f_acc[0][on_grid]
            next_g = next_g + on_grid
        y, f, t = y_acc, f_acc, t_new

        done = next_g >= g_count
        collapsed = (~accept) & (h < h_min)
        stalled = steps >= st.max_steps
        invalid = (~accept) & ~np.isfinite(f).all(axis=0)
        stop = done | blow | collapsed | stalled | invalid
        if stop.any():
            ids = idx[stop]
            code = np.full(stop.sum(), Status.FINISHED, dtype=np.int8)
            code[stalled[stop]] = Status.STEP_LIMIT
            code[(collapsed & ~invalid)[stop]] = Status.BLOWUP
            code[invalid[stop]] = Status.INVALID
            code[blow[stop]] = Status.BLOWUP
            if blow.any():
                # locate the cap crossing inside the last step, as for thresholds
                bsel = blow[stop]
                b = np.nonzero(blow)[0]
                frac = _hermite_root(y0_old[b], y0_new[b], k[0][0][b] * h_try[b], f_new[0][b] * h_try[b], ln_cap_all[idx[b]])
                t_stop_b = t[b] - h_try[b] + frac * h_try[b]
                t_stop[ids[bsel]] = t_stop_b
            status[ids] = code
            keep_t = ~blow[stop]
            t_stop[ids[keep_t]] = t[stop][keep_t]
            y_stop[:, ids] = y[:, stop]
            rate_stop[ids] = f[0][stop]
            n_steps[ids] = steps[stop]
            keep = ~stop
            idx, y, f, t, h, next_g, steps = idx[keep], y[:, keep], f[:, keep], t[keep], h[keep], next_g[keep], steps[keep]
            p = _take(p_all, idx)

    # Beyond a blow-up the capability is unbounded: +inf on the grid keeps quantiles honest.
    blown = status == Status.BLOWUP
    if blown.any():
        after = tg[None, :] > t_stop[blown][:, None]
        yg0 = y_grid[0, blown]
        yg0[after] = np.inf
        y_grid[0, blown] = yg0
    _forward_fill(y_grid, rate_grid, status)
    thr_time[ln_multiples <= 0, :] = 0.0
    return Solution(tg, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps)


def _hermite_root(y0, y1, d0, d1, level, iters: int = 40):
    """Fraction s in [0, 1] where the cubic Hermite through (y0, d0), (y1, d1) first reaches level."""
    lo, hi = np.zeros_like(y0), np.ones_like(y0)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        s, s2, s3 = mid, mid * mid, mid * mid * mid
        val = (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * y1 + (s3 - s2) * d1
        below = val < level
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _forward_fill(y_grid: np.ndarray, rate_grid: np.ndarray, status: np.ndarray) -> None:
    """Grid points after a sample stopped hold its last recorded state (ln I stays +inf if blown)."""
    missing = np.isnan(y_grid[0])
    if not missing.any():
        return
    g = y_grid.shape[2]
    last = np.where(~missing, np.arange(g)[None, :], 0)
    np.maximum.accumulate(last, axis=1, out=last)
    rows = np.arange(y_grid.shape[1])[:, None]
    for s in range(y_grid.shape[0]):
        y_grid[s] = y_grid[s][rows, last]


def _solve_map(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               st: SolverSettings) -> Solution:
    """Iterate a discrete generation map; capability is piecewise constant between generations."""
    y = np.asarray(model.initial(p), dtype=float)
    n_state, n = y.shape
    tg = np.asarray(t_grid, dtype=float)
    horizon = float(tg[-1])
    dt = np.broadcast_to(np.asarray(model.step_years(p), dtype=float), (n,))
    n_gen = np.floor(horizon / dt + 1e-9).astype(np.int64)
    max_gen = int(min(n_gen.max(initial=0), st.max_steps))
    ln_start = y[0].copy()
    ln_cap = ln_start + np.log(st.cap_multiple)
    levels = ln_start[None, :] + ln_multiples[:, None]
    thr_time = np.where(ln_multiples[:, None] <= 0, 0.0, np.inf) * np.ones((1, n))
    status = np.zeros(n, dtype=np.int8)
    t_stop = np.minimum(n_gen * dt, horizon).astype(float)
    history = [y.copy()]
    running = np.ones(n, dtype=bool)
    for gen in range(1, max_gen + 1):
        live = running & (gen <= n_gen)
        if not live.any():
            break
        y_next = np.where(live, model.step(y, p), y)
        new_cross = live[None, :] & (y_next[0][None, :] >= levels) & ~np.isfinite(thr_time)
        thr_time = np.where(new_cross, gen * dt[None, :], thr_time)
        blow = live & (y_next[0] >= ln_cap)
        status[blow] = Status.BLOWUP
        t_stop[blow] = gen * dt[blow]
        running &= ~blow
        y = y_next
        history.append(y.copy())
    status[(n_gen > st.max_steps) & (status == Status.FINISHED)] = Status.STEP_LIMIT
    hist = np.stack(history, axis=-1)  # (n_state, n, gens+1)
    gen_at = np.minimum(np.floor(tg[None, :] / dt[:, None] + 1e-9).astype(np.int64), hist.shape[2] - 1)
    rows = np.arange(n)[:, None]
    y_grid = np.stack([hist[s][rows, gen_at] for s in range(n_state)])
    blown = status == Status.BLOWUP
    if blown.any():
        y_grid[0][blown] = np.where(tg[None, :] >= t_stop[blown][:, None], np.inf, y_grid[0][blown])
    # per-generation log growth rate, for the regime rule (ratio of successive gains is what maps report)
    rate_grid = np.full((n, len(tg)), np.nan)
    n_done = np.minimum(n_gen, hist.shape[2] - 1)
    # ratio of successive gains over the last two generations each sample completed
    # A map that carries its gain as a state (``gain_state``) reports it directly: capability
    # differences lose all precision once a converging series has settled.
    gain_state = getattr(model, "gain_state", None)
    cap = np.exp(hist[0])
    last = np.where(blown, np.minimum(np.round(t_stop / dt).astype(np.int64), hist.shape[2] - 1), n_done)
    rows1 = np.arange(n)
    if gain_state is not None:
        g_last = hist[gain_state][rows1, np.maximum(last - 1, 0)]
        g_prev = hist[gain_state][rows1, np.maximum(last - 2, 0)]
    else:
        g_last = cap[rows1, last] - cap[rows1, np.maximum(last - 1, 0)]
        g_prev = cap[rows1, np.maximum(last - 1, 0)] - cap[rows1, np.maximum(last - 2, 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((last >= 2) & (g_prev > 0), g_last / g_prev, np.nan)
    return Solution(tg, y_grid, rate_grid, status, t_stop, y.copy(), np.full(n, np.nan), thr_time, n_done, ratio)
