"""Compiled kernels for maps whose per-sample loop is so cheap that numpy's per-operation cost
dominates: the per-doubling software intelligence explosion map runs ~50 scalar steps per
sample, which a fused compiled loop does in well under a microsecond.

The kernel fuses what ``solver._solve_map`` and ``SoftwareRnd.sample_outputs`` compute with
numpy (the step-by-step iteration, grid, thresholds, rates and compression tests) and the
tests hold the two to each other. numba is imported here only, lazily; without it the
numpy path runs instead.
"""
from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)

try:  # pragma: no cover - import guard
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None


def available() -> bool:
    return _numba is not None


def _doublings_kernel(f, r0, limit_years, pp, share, t_rec, f0, boost_years, retraining, gradual,
                      horizon, max_steps, max_doublings, ln_cap, tg, ln_mult, windows, multiples,
                      y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps,
                      hits, years_1y, returns_eff):
    n = f.shape[0]
    # samples in blocks, one scratch row of doubling times per block (allocated once)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for blk in _prange(n_blocks):
        times = np.empty(max_doublings + 2)
        for i in range(blk * BLOCK, min(n, (blk + 1) * BLOCK)):
            _one_sample(i, times, f, r0, limit_years, pp, share, t_rec, f0, boost_years, retraining, gradual,
                        horizon, max_steps, ln_cap, tg, ln_mult, windows, multiples,
                        y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps,
                        hits, years_1y, returns_eff)


def _one_sample(i, times, f, r0, limit_years, pp, share, t_rec, f0, boost_years, retraining, gradual,
                horizon, max_steps, ln_cap, tg, ln_mult, windows, multiples,
                y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps,
                hits, years_1y, returns_eff):
    g = tg.shape[0]
    per_year = 1.0 / (t_rec[i] * share[i])
    ceiling = limit_years[i] * per_year
    step_r = r0[i] / ceiling
    f_cur = f0[i] if gradual else f[i]
    speed = (1.0 + f_cur) if gradual else f_cur
    dt = t_rec[i] / speed
    times[0] = 0.0
    t = 0.0
    r = r0[i]
    nd = 0
    code = 0
    while True:
        alive = (t < horizon * (1.0 - 1e-12)) and (nd * LN2 < ceiling * LN2 - 1e-12) and (r > 0.0)
        if not alive:
            break
        if nd >= max_steps or nd + 1 >= times.shape[0]:
            code = 3  # step limit
            break
        t_new = t + dt
        if not math.isfinite(t_new):
            break  # a doubling that never completes is not taken (as in the numpy path)
        r_new = r - step_r
        dt_new = dt
        if r_new > 0.0:
            e = pp[i] * (1.0 / r_new - 1.0)
            if retraining:
                e = e / abs(e + 1.0)
            dt_new = dt * math.exp(e * LN2) if e < 1023.0 else math.inf
        if gradual:
            frac = min(t_new / boost_years[i], 1.0)
            f_new = f0[i] * math.exp(frac * math.log(f[i] / f0[i]))
            dt_new = dt_new * (1.0 + f_cur) / (1.0 + f_new)
            f_cur = f_new
        nd += 1
        times[nd] = t_new
        t, r, dt = t_new, r_new, dt_new
        if nd * LN2 >= ln_cap:
            code = 1  # blow-up: past the capability cap
            break
    n_steps[i] = nd
    status[i] = code
    t_last = times[nd]
    t_stop[i] = t_last if code == 1 else min(t_last, horizon)
    last_step = nd - 1 if nd > 0 else 0
    # grid: the state after the steps completed by each grid time
    c = 0
    for j in range(g):
        while c < nd and times[c + 1] <= tg[j]:
            c += 1
        y_grid[i, j] = c * LN2
        if code == 1 and tg[j] >= t_last:
            y_grid[i, j] = math.inf
        s = min(c, last_step)
        rate_grid[i, j] = LN2 / (times[s + 1] - times[s]) if nd > 0 else math.nan
    rate_stop[i] = LN2 / (times[last_step + 1] - times[last_step]) if nd > 0 else math.nan
    # effective returns (regimes.effective_returns): late = mid -> stop, early = 0 -> first grid time
    j_mid = 0
    while j_mid + 1 < g and tg[j_mid + 1] <= t_stop[i] / 2.0:
        j_mid += 1
    for ph in range(2):
        a = j_mid if ph == 0 else 0
        ya, ga = y_grid[i, a], rate_grid[i, a]
        if ph == 0:
            yb, gb = nd * LN2, rate_stop[i]
        else:
            b = 1 if g > 1 else 0
            yb, gb = y_grid[i, b], rate_grid[i, b]
        dy = yb - ya
        if ga > 0.0 and gb > 0.0 and dy > 1e-9 and math.isfinite(yb):
            returns_eff[ph, i] = 1.0 + (math.log(gb) - math.log(ga)) / dy
        else:
            returns_eff[ph, i] = math.nan
    y_stop[0, i] = nd * LN2
    y_stop[1, i] = dt
    y_stop[2, i] = r
    y_stop[3, i] = f_cur
    for q in range(ln_mult.shape[0]):
        if ln_mult[q] <= 0.0:
            thr_time[q, i] = 0.0
            continue
        need = int(math.ceil(ln_mult[q] / LN2 - 1e-12))
        thr_time[q, i] = times[need] if need <= nd else math.inf
    # compression: some run of `needed` doublings in strictly less than the window
    for cidx in range(windows.shape[0]):
        needed = int(math.floor(windows[cidx] * multiples[cidx] * per_year + 1e-9))
        found = needed <= 0
        k = 0
        while not found and k + needed <= nd:
            if times[k + needed] - times[k] < windows[cidx]:
                found = True
            k += 1
        hits[cidx, i] = found
    # most doublings within one year (two pointers over the increasing times)
    best = 0
    jj = 0
    for k in range(nd + 1):
        if jj < k:
            jj = k
        while jj + 1 <= nd and times[jj + 1] - times[k] < 1.0:
            jj += 1
        if jj - k > best:
            best = jj - k
    years_1y[i] = best / per_year


BLOCK = 256
_compiled = None
_prange = range


def doublings_kernel():
    """The compiled kernel (compiled once, cached on disk by numba)."""
    global _compiled, _prange, _one_sample
    if _compiled is None:
        _prange = _numba.prange
        _one_sample = _numba.njit(cache=True, inline="always")(_one_sample)
        _compiled = _numba.njit(parallel=True, cache=True)(_doublings_kernel)
    return _compiled
