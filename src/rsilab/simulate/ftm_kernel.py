"""The compute-centric model's steps as a compiled per-sample loop (numba).

``rsilab.dynamics.ftm.economy.step`` steps every sample at once with numpy: a handful of numpy
calls per step, each on arrays of a few elements when the batch is one deterministic run, where
numpy's cost per call is most of the time. This module does the same steps for one sample at a
time in a compiled loop, from the same ``Setup`` and into the same ``Steps``, operation for
operation: the R&D update, the fractions and the wake-up, the delayed hardware, the counts of
automatable tasks, and each allocation problem's critical task (by bisection on the same
monotone condition the numpy search reads at every task) and closed forms. The tests hold it
to the numpy steps sample by sample.

``rsilab.simulate.compiled`` compiles the loop on first use and caches it on disk. Imports
numpy, the model's declared layout (``rsilab.dynamics.ftm``) and ``rsilab.simulate.compiled``;
never imported by ``dynamics``.
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.ftm.allocation import N_TASKS
from rsilab.dynamics.ftm.economy import INVESTMENT_RATE, STEP_SERIES, Setup, Steps
from rsilab.dynamics.ftm.requirements import N_LABOUR_TASKS
from rsilab.simulate import compiled

BLOCK = 512   # samples per work item handed to a thread

# rows of the per-sample parameter block: (name, rows)
_LAYOUT = (("pen", 1), ("gamma", 1), ("delay", 1), ("rho4", 4), ("rho_out4", 4), ("ceilings", 7), ("grow", 7),
           ("grow_rampup", 7), ("returns", 2), ("log_ceiling", 2), ("ceiling", 2), ("growth_labour_tfp", 2),
           ("decay", 1), ("experiments", 1), ("money_cap", 1), ("trigger", 1), ("capital_to_cognitive", 4),
           ("compute_to_labour", 4), ("gwp0", 1), ("rnd_input0", 2), ("cumulative0", 2), ("buyable0", 1),
           ("labour_tfp0", 2), ("capital0", 1), ("hardware0", 1), ("compute_investment0", 1), ("money0", 1),
           ("frac0", 7), ("sigma", 2), ("stretch", 3))
_AT = {}
_row = 0
for _name, _rows in _LAYOUT:
    _AT[_name] = _row
    _row += _rows
N_PAR = _row
PEN, GAMMA, DELAY, RHO4, RHO_OUT4 = _AT["pen"], _AT["gamma"], _AT["delay"], _AT["rho4"], _AT["rho_out4"]
CEILINGS, GROW, GROW_RAMPUP, RETURNS = _AT["ceilings"], _AT["grow"], _AT["grow_rampup"], _AT["returns"]
LOG_CEILING, CEILING, GROWTH_LT, DECAY = _AT["log_ceiling"], _AT["ceiling"], _AT["growth_labour_tfp"], _AT["decay"]
EXPERIMENTS, MONEY_CAP, TRIGGER = _AT["experiments"], _AT["money_cap"], _AT["trigger"]
CAP_TO_COG, COMPUTE_TO_LAB, GWP0, RND0 = _AT["capital_to_cognitive"], _AT["compute_to_labour"], _AT["gwp0"], _AT["rnd_input0"]
CUM0, BUY0, LT0, CAPITAL0, HARDWARE0 = _AT["cumulative0"], _AT["buyable0"], _AT["labour_tfp0"], _AT["capital0"], _AT["hardware0"]
INV0, MONEY0, FRAC0, SIGMA, STRETCH = _AT["compute_investment0"], _AT["money0"], _AT["frac0"], _AT["sigma"], _AT["stretch"]
N_EXTRA = len(STEP_SERIES)
PTYPE = (0, 1, 1, 1)
LAST = N_TASKS - 1


def pack(s: Setup) -> dict[str, np.ndarray]:
    """The setup as contiguous per-sample blocks: ``par`` (n, N_PAR) and the task arrays
    (n, types, tasks)."""
    rows = []
    for name, count in _LAYOUT:
        if name == "sigma":
            value = s.costs.sigma
        elif name == "stretch":
            value = s.stretch3[:, :, 0]
        else:
            value = getattr(s, name)
        rows.append(np.asarray(value, dtype=np.float64).reshape(count, s.n))
    return {"par": np.ascontiguousarray(np.concatenate(rows).T),
            "ln_a": np.ascontiguousarray(s.costs.ln_a.transpose(1, 0, 2)),
            "prefix": np.ascontiguousarray(s.costs.prefix.transpose(1, 0, 2)),
            "power_left": np.ascontiguousarray(s.costs.power_left.transpose(1, 0, 2)),
            "training": np.ascontiguousarray(s.training3.transpose(1, 0, 2))}


def step_compiled(s: Setup) -> Steps:
    """``economy.step`` through the compiled loop: the same ``Steps``."""
    packed = pack(s)
    n, steps = s.n, s.steps
    outputs = np.full((n, steps, 4), np.nan)
    automated = np.zeros((n, steps, 2))
    automatable = np.zeros((n, steps, 3), dtype=np.int64)
    hw_perf = np.zeros((n, steps))
    keep_extra = bool(s.extra)
    extras = np.full((n, steps, N_EXTRA) if keep_extra else (n, 1, 1), np.nan)
    kernel = _compiled()

    def work(lo: int, hi: int) -> None:
        kernel(lo, hi, steps, s.t_step, packed["par"], packed["ln_a"], packed["prefix"], packed["power_left"],
               packed["training"], keep_extra, outputs, automated, automatable, hw_perf, extras)

    compiled.in_threads(work, n, BLOCK)
    extra = {name: np.ascontiguousarray(extras[:, :, STEP_SERIES.index(name)].T) for name in s.extra}
    return Steps(outputs=np.ascontiguousarray(outputs.transpose(1, 2, 0)),
                 automated=np.ascontiguousarray(automated.transpose(1, 2, 0)),
                 automatable=np.ascontiguousarray(automatable.transpose(1, 2, 0)),
                 hw_perf=np.ascontiguousarray(hw_perf.T), extras=extra)


# -- the scalar loop (compiled by numba; plain Python also runs it) ---------------------------

def _nmin(a, b):
    """numpy.minimum for two floats: NaN if either is."""
    if a != a or b != b:
        return math.nan
    return a if a < b else b


def _nmax(a, b):
    if a != a or b != b:
        return math.nan
    return a if a > b else b


def _odds(odds):
    """(p, 1 - p) for odds p / (1 - p), as the model's authors compute them."""
    if odds < 1e-10:
        return odds, 1.0 - odds
    if odds > 1e10:
        return 1.0 - 1.0 / odds, 1.0 / odds
    p = 1.0 / (1.0 + 1.0 / odds)
    return p, 1.0 - p


def _first_at_least(row, value):
    """First index of the ascending ``row`` (last entry inf) at or above ``value`` (0 for NaN,
    as numpy's argmax over all-False comparisons)."""
    if value != value:
        return 0
    lo, hi = 0, row.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if row[mid] >= value:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _capped(ln_a, threshold):
    """Tasks with ln a >= ``threshold`` (ln a descends): the first index below it, or N."""
    if threshold != threshold:
        return 0
    lo, hi = 0, ln_a.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if ln_a[mid] < threshold:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _allocate(ln_a, prefix, power_left, m, s1, p_cap, s_sigma, sigma_less1, ln_s, shift, rho, scale,
              labour, compute, n_auto):
    """One allocation problem: (cognitive output, tasks automated) as ``Allocator.solve``."""
    ratio = compute / labour
    lo, hi = 0, LAST
    while lo < hi:       # the first task where the condition holds (it does at the last)
        mid = (lo + hi) // 2
        cum = _nmin(mid + 1.0, m) + s1 * _nmax(prefix[mid] - p_cap, 0.0)
        es_left = _nmin(power_left[mid] * s_sigma, LAST - mid * 1.0)
        if cum + shift >= ratio * es_left:
            hi = mid
        else:
            lo = mid + 1
    first = lo
    none = first >= n_auto
    g = first if first < n_auto - 1 else n_auto - 1
    gf = g * 1.0
    ln_eta = _nmin(ln_a[g] + ln_s, 0.0)
    eta = math.exp(ln_eta)
    e1 = math.exp(sigma_less1 * ln_eta)
    cum = _nmin(gf + 1.0, m) + s1 * _nmax(prefix[g] - p_cap, 0.0)
    b_here = 1.0 + shift * (1.0 if g == 0 else 0.0)
    b_next = cum + shift
    b_at = b_next - b_here * e1
    s_at = (N_TASKS - gf) - 1.0 + b_here
    a = eta * e1 * s_at
    work_mid = eta * (compute * a - labour * b_at) / (a + eta * b_at)
    mixed = work_mid >= 0.0 and not none
    d = s_at + b_at / e1
    budget = labour + eta * compute
    one_less_rho = 1.0 - rho
    if mixed:
        y = budget ** rho * d ** one_less_rho
        auto = work_mid > 10.0 * (budget / d * b_here - work_mid)
    else:
        gone = 1.0 if none else 0.0
        b_j = b_at + gone * (b_next - b_at)
        s_j = s_at - gone * b_here
        y = compute ** rho * b_j ** one_less_rho + labour ** rho * s_j ** one_less_rho
        auto = none
    return scale * y ** (1.0 / rho), gf + (1.0 if auto else 0.0)


def _run_block(lo, hi, steps, dt, par, ln_a, prefix, power_left, training, keep_extra,
               outputs, automated, automatable, hw_perf, extras):
    """Samples lo..hi-1, every step (``economy.step`` for one sample)."""
    saving = INVESTMENT_RATE * dt
    labour4 = np.empty(4)
    compute4 = np.empty(4)
    capital4 = np.empty(4)
    n_auto4 = np.ones(4, dtype=np.int64)
    b_shift = np.empty(4)
    scale4 = np.empty(4)
    outer_x = np.empty(4)
    outer_c = np.empty(4)
    output = np.empty(4)
    counts = np.empty(4)
    out_scale = np.empty(4)
    frac = np.empty(7)
    perf = np.empty(2)
    inv_span = np.empty(2)
    cumulative = np.empty(2)
    growth = np.empty(2)
    rnd_input = np.empty(2)
    labour_tfp = np.empty(2)
    m_type = np.empty(2)
    m_int = np.empty(2, dtype=np.int64)
    for i in range(lo, hi):
        q = par[i]
        pen, gamma, delay = q[PEN], q[GAMMA], int(q[DELAY])
        for k in range(2):
            cumulative[k] = q[CUM0 + k]
            rnd_input[k] = q[RND0 + k]
            labour_tfp[k] = q[LT0 + k]
        for j in range(7):
            frac[j] = q[FRAC0 + j]
        perf[0], perf[1] = 0.0, 1.0
        capital, hardware = q[CAPITAL0], q[HARDWARE0]
        compute_investment, compute, money = q[INV0], q[HARDWARE0], q[MONEY0]
        gwp, buyable0 = q[GWP0], q[BUY0]
        rampup = False
        automated_goods = 1.0
        for t in range(steps):
            if t > 0:
                # 1. R&D
                for k in range(2):
                    new_cum = cumulative[k] + rnd_input[k] ** pen * dt
                    growth[k] = new_cum / cumulative[k]
                    cumulative[k] = new_cum
                if t == 1:
                    first = _nmin(buyable0 * growth[0] ** q[RETURNS], q[CEILING])
                    perf[0] = buyable0 * (first / buyable0) ** (delay * 1.0)
                    hw_perf[i, 0] = perf[0]
                    for k in range(2):
                        inv_span[k] = 1.0 / (q[LOG_CEILING + k] - math.log10(perf[k]))
                for k in range(2):
                    damp = (q[LOG_CEILING + k] - math.log10(perf[k])) * inv_span[k]
                    perf[k] = _nmin(perf[k] * growth[k] ** (q[RETURNS + k] * damp), q[CEILING + k])
                hw_perf[i, t] = perf[0]
                # 2. investment
                capped = money > q[MONEY_CAP] and not rampup
                rampup = (automated_goods - 1) / N_LABOUR_TASKS >= q[TRIGGER]
                training_before = frac[6]
                for j in range(7):
                    factor = q[GROW_RAMPUP + j] if rampup else q[GROW + j]
                    frac[j] = _nmin(frac[j] * factor, q[CEILINGS + j])
                if capped:
                    frac[6] = training_before
                compute_investment = gwp * frac[0] * dt
                back = t - delay
                if back >= 0:
                    buyable = hw_perf[i, back]
                else:
                    buyable = hw_perf[i, 0] * (hw_perf[i, 1] / hw_perf[i, 0]) ** (back * 1.0)
                hardware = hardware * q[DECAY] + compute_investment * buyable
                compute = hardware * perf[1]
                capital = capital + gwp * saving
                for k in range(2):
                    labour_tfp[k] = labour_tfp[k] * q[GROWTH_LT + k]
                money = compute * frac[6] / (perf[1] * buyable)

            # 3. automation
            biggest = compute * frac[6]
            for j in range(3):
                automatable[i, t, j] = _first_at_least(training[i, j], q[STRETCH + j] * biggest)
            n_auto4[0] = automatable[i, t, 0]
            n_auto4[1] = n_auto4[2] = automatable[i, t, 1]

            # 4. production
            labour = labour_tfp[0]
            labour4[0] = labour * (1.0 - frac[2] - frac[4])
            labour4[1] = labour4[3] = labour * frac[2]
            labour4[2] = labour * frac[4]
            compute4[0] = compute * (1.0 - frac[3] - frac[5] - frac[6])
            compute4[1] = compute4[3] = compute * frac[3]
            compute4[2] = compute * frac[5]
            capital4[0] = capital * (1.0 - frac[1])
            capital4[1] = capital4[3] = capital * frac[1]
            capital4[2] = hardware ** q[EXPERIMENTS]
            if t == 0:
                for j in range(4):
                    rho, rho_out = q[RHO4 + j], q[RHO_OUT4 + j]
                    per_task = labour4[j] / N_LABOUR_TASKS
                    labour_share = N_LABOUR_TASKS * per_task ** rho
                    w0, w1 = _odds(q[COMPUTE_TO_LAB + j] * labour_share / compute4[j] ** rho)
                    cognitive = ((w0 * compute4[j] ** rho + N_LABOUR_TASKS * w1 * per_task ** rho)
                                 / (w0 + N_LABOUR_TASKS * w1)) ** (1.0 / rho)
                    ox, oc = _odds(q[CAP_TO_COG + j] * cognitive ** rho_out / capital4[j] ** rho_out)
                    outer_x[j], outer_c[j] = ox / (ox + oc), oc / (ox + oc)
                    sigma = q[SIGMA + PTYPE[j]]
                    b_shift[j] = (w0 / w1) ** sigma - 1.0
                    scale4[j] = (w1 / (w0 + (N_TASKS - 1) * w1)) ** (1.0 / rho)
            ln_s = gamma * math.log(biggest)
            for k in range(2):
                m_int[k] = _capped(ln_a[i, k], -ln_s)
                m_type[k] = m_int[k] * 1.0
            for j in range(4):
                k = PTYPE[j]
                sigma = q[SIGMA + k]
                s1 = math.exp((sigma - 1.0) * ln_s)
                p_cap = prefix[i, k, m_int[k] - 1]
                s_sigma = math.exp(_nmin(sigma * ln_s, 700.0))
                cog, counts[j] = _allocate(ln_a[i, k], prefix[i, k], power_left[i, k], m_type[k], s1, p_cap, s_sigma,
                                           sigma - 1.0, ln_s, b_shift[j], q[RHO4 + j], scale4[j],
                                           labour4[j], compute4[j], n_auto4[j])
                rho_out = q[RHO_OUT4 + j]
                output[j] = labour_tfp[1] * (outer_x[j] * capital4[j] ** rho_out
                                             + outer_c[j] * cog ** rho_out) ** (1.0 / rho_out)
            if t == 0:
                out_scale[0] = gwp / output[0]
                out_scale[1] = out_scale[3] = rnd_input[0] / output[1]
                out_scale[2] = rnd_input[1] / output[2]
            for j in range(4):
                output[j] *= out_scale[j]
                outputs[i, t, j] = output[j]
            gwp = output[0]
            rnd_input[0], rnd_input[1] = output[1], output[2]
            automated_goods = counts[0]
            automated[i, t, 0], automated[i, t, 1] = counts[0], counts[1]
            if keep_extra:
                # in the order of economy.STEP_SERIES
                extras[i, t, 0] = compute
                extras[i, t, 1] = biggest
                extras[i, t, 2] = perf[0]
                extras[i, t, 3] = perf[1]
                extras[i, t, 4] = compute_investment
                extras[i, t, 5] = frac[6]
                extras[i, t, 6] = frac[0]
                extras[i, t, 7] = hardware
                extras[i, t, 8] = capital
                extras[i, t, 9] = labour


def _compiled():
    """The compiled loop (``rsilab.simulate.compiled``: compiled on first use, cached on disk)."""
    return compiled.jit(_run_block, "ftm", helpers=(_nmin, _nmax, _odds, _first_at_least, _capped, _allocate))
