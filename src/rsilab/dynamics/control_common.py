"""Pieces shared by the control models (boxing, drift, controlled, multipolar).

- The unconstrained self-improvement law they all build on, d ln I / dt = c (I / I0)^(p - 1)
  (the continuous criticality law written relative to the starting capability), and its
  closed-form time to gain x e-folds, which is how "compared with no box / no throttle" is
  measured without a second simulation.
- Reading a model's state between grid points: at a capability threshold, the solver's own
  state at the crossing (from its continuous extension), to report e.g. the drift at the moment
  the threshold is crossed; at any other time, a few RK4 steps of the model from the grid point
  before.
- Holding auxiliary states at their stop value after a sample stopped (the solver forward-fills
  only capability for blown-up samples).

numpy only; imports nothing of ours but the model base.
"""
from __future__ import annotations

import numpy as np

from rsilab.dynamics.base import OdeModel, Params


def free_rate(x: np.ndarray, c: np.ndarray, p_exp: np.ndarray) -> np.ndarray:
    """d ln I / dt of the unconstrained system at x = ln(I / I0) e-folds above the start."""
    return c * np.exp((p_exp - 1.0) * x)


def free_time(x: np.ndarray, c: np.ndarray, p_exp: np.ndarray) -> np.ndarray:
    """Years the unconstrained system needs to gain x e-folds: the integral of 1 / free_rate.

    p = 1: x / c.  p != 1: (1 - exp(-(p - 1) x)) / (c (p - 1)); for p > 1 this stays below the
    blow-up time 1 / (c (p - 1)).  inf where c = 0 and x > 0.
    """
    x = np.asarray(x, dtype=float)
    a = p_exp - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.abs(a * x) < 1e-8
        # -expm1(-a x) / a is exact and stable for both signs of a
        integral = np.where(small, x * (1.0 - 0.5 * a * x), -np.expm1(-a * x) / np.where(a == 0, 1.0, a))
        out = integral / c
    return np.where(x <= 0, 0.0, out)


def held(sol, s: int) -> np.ndarray:
    """State ``s`` on the grid, (n, g), holding its value at the stop after a sample stopped."""
    grid = sol.y_grid[s]
    missing = ~np.isfinite(grid)
    if s == 0 or not missing.any():
        return grid
    return np.where(missing, sol.y_stop[s][:, None], grid)


def threshold_state(model: OdeModel, sol, p: Params, k: int) -> np.ndarray:
    """The state when capability first reached threshold ``k`` (0-based), (n_state, n); nan
    where it never did. The solver's state at the crossing where it records one (ODE solvers
    do), else ``state_at`` the crossing time."""
    if sol.threshold_states is not None:
        return sol.threshold_states[k]
    return state_at(model, sol, p, sol.threshold_times[k])


def state_at(model: OdeModel, sol, p: Params, t_query: np.ndarray, substeps: int = 16) -> np.ndarray:
    """The state at per-sample times ``t_query`` (n,), shape (n_state, n); nan where t is not
    finite. Integrates the model from the grid point before t with ``substeps`` classical RK4
    steps: it needs only the state on the left (a Hermite fit would need the right end too,
    which near a blow-up is huge or infinite)."""
    tg = sol.t_grid
    n = sol.status.shape[0]
    n_state = sol.y_grid.shape[0]
    out = np.full((n_state, n), np.nan)
    ok = np.isfinite(t_query)
    if not ok.any():
        return out
    rows = np.nonzero(ok)[0]
    t_end = np.clip(t_query[rows], tg[0], tg[-1])
    j = np.clip(np.searchsorted(tg, t_end, side="right") - 1, 0, len(tg) - 1)
    t = tg[j].astype(float)
    y = np.stack([held(sol, s)[rows, j] for s in range(n_state)])
    sub = {k: v[rows] for k, v in p.items()}
    h = (t_end - t) / substeps
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(substeps):
            k1 = model.rhs(t, y, sub)
            k2 = model.rhs(t + h / 2, y + h / 2 * k1, sub)
            k3 = model.rhs(t + h / 2, y + h / 2 * k2, sub)
            k4 = model.rhs(t + h, y + h * k3, sub)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            t = t + h
    out[:, rows] = y
    return out


def first_crossing_down(t_grid: np.ndarray, values: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """First time each row of ``values`` (n, g) falls to 0 or below, located inside the grid
    interval by bisection on the cubic Hermite through the values and ``slopes``; inf if never.
    A dip below zero that starts and ends between two grid points is not seen."""
    n, g = values.shape
    below = values <= 0
    hit = below.any(axis=1)
    out = np.full(n, np.inf)
    if not hit.any():
        return out
    first = np.argmax(below, axis=1)
    at_start = hit & (first == 0)
    out[at_start] = t_grid[0]
    inner = np.nonzero(hit & (first > 0))[0]
    if inner.size:
        j = first[inner] - 1
        t0, t1 = t_grid[j], t_grid[j + 1]
        h = t1 - t0
        y0, y1 = values[inner, j], values[inner, j + 1]
        d0, d1 = slopes[inner, j] * h, slopes[inner, j + 1] * h
        d1 = np.where(np.isfinite(d1), d1, d0)
        lo, hi = np.zeros_like(y0), np.ones_like(y0)
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            s = mid
            val = (2 * s**3 - 3 * s**2 + 1) * y0 + (s**3 - 2 * s**2 + s) * d0 + (-2 * s**3 + 3 * s**2) * y1 + (s**3 - s**2) * d1
            above = val > 0
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        out[inner] = t0 + 0.5 * (lo + hi) * h
    return out
