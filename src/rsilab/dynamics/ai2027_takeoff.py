"""AI 2027's takeoff model (Kokotajlo & Lifland 2025): SC -> SAR -> SIAR -> ASI in closed form.

The model (as the authors' code, ``takeoff/forecasting_takeoff.py`` of
uvafan/timelines-takeoff-ai-2027, samples and walks it): after a superhuman coder (SC, t = 0),
three milestones follow, a superhuman AI researcher (SAR), a superintelligent AI researcher
(SIAR) and artificial superintelligence (ASI). Each phase i needs G_i years of progress at the
pace of humans alone (its human-only gap); AI R&D automation multiplies the pace of progress
by v_SC = 5 at SC, 25 at SAR, 250 at SIAR and 2000 at ASI, and within a phase the multiplier
is interpolated geometrically in progress:

    v(P) = v0 (v1 / v0)^(P / G)     for progress P in [0, G] (human-only years),

with v0 the phase's starting milestone's multiplier and v1 the next one's.

**The human-only gaps** (the structure of the authors' ``get_milestone_samples``):
- SC -> SAR: G1 = 0 with probability ``p_sc_sar_zero`` (0.15), else ``sc_sar_years``
  (lognormal with 80% interval 1.5-10 years);
- the shared quantity A (``amr_sar_years``, lognormal with 80% interval 1-25 years, rank
  correlated 0.8 with ``sc_sar_years`` through a Gaussian copula) sets the human-only research
  stock through SAR, S = 10 + A years (``base_stock_years`` = 10), and SIAR is as many "jumps"
  of ln(S / 10) further as ``sar_siar_jumps`` (2): G2 = S ((S / 10)^2 - 1);
- with Y = S + G2, ASI is J = ``siar_asi_jumps`` (lognormal with 80% interval 0.3-7.5,
  independent) jumps of ln(Y / S) further: G3 = Y ((Y / S)^J - 1).

**The closed form of the speed law.** The authors walk each phase in one-day steps. In
continuous time, dP/dt = v(P) = v0 e^(k P) with k = ln(r) / G and r = v1 / v0, so
e^(-k P) dP = v0 dt and, from P = 0 at t = 0,

    t(P) = (1 - e^(-k P)) / (k v0),          P(t) = -ln(1 - k v0 t) / k,
    v(t) = v0 / (1 - k v0 t)                  (hyperbolic in calendar time),
    T    = t(G) = G (1/v0 - 1/v1) / ln(v1/v0) = (G / v0) (1 - e^(-x)) / x,   x = ln r,

the phase's calendar time (T = G / v0 when v1 = v0, the limit x -> 0). The one-day walk is
the explicit Euler method for this ODE with the day count rounded up, and it is never faster:
each day of it covers v(P_n) of progress, for which the continuous law needs
(1 - e^(-a)) / a <= 1 day with a = k v(P_n) (the speed only rises), so the walk takes at least
T days; and 1 - (1 - e^(-a)) / a <= a / 2 summed over its full days is at most k G / 2, so it
takes less than T + ln(r) / 2 + 1 days. A milestone's time is the sum of its phases' T.

Milestones are times after SC; one beyond the horizon is NaN (not reached), never a date.
The model has no capability path, so no regimes (``regimes`` says so). numpy only.
"""
from __future__ import annotations

import numpy as np

from rsilab.dynamics.base import Metric, OutcomeModel, Outcomes, Param, Params, Series

MILESTONES = ("SC", "SAR", "SIAR", "ASI")
PHASES = ("SC_to_SAR", "SAR_to_SIAR", "SIAR_to_ASI")
SPEEDS = ("speed_sc", "speed_sar", "speed_siar", "speed_asi")
INF = float("inf")
PATH_ROWS = 256   # samples per block of the multiplier's path


def phase_years(gap_years: np.ndarray, v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """Calendar years to make ``gap_years`` of human-only progress while the progress
    multiplier rises geometrically in progress from v0 to v1 (the closed form above)."""
    x = np.log(v1 / v0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shape = np.where(x == 0.0, 1.0, -np.expm1(-x) / np.where(x == 0.0, 1.0, x))
        return np.where(gap_years == 0.0, 0.0, gap_years / v0 * shape)


def human_only_gaps(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The human-only years of the three phases, per sample (inf where they overflow)."""
    g1 = np.where(p["sc_sar_zero_draw"] < p["p_sc_sar_zero"], 0.0, p["sc_sar_years"])
    base = p["base_stock_years"]
    stock_sar = base + p["amr_sar_years"]
    with np.errstate(over="ignore", invalid="ignore"):
        g2 = stock_sar * np.expm1(p["sar_siar_jumps"] * np.log(stock_sar / base))
        stock_siar = stock_sar + g2
        g3 = stock_siar * np.expm1(p["siar_asi_jumps"] * np.log(stock_siar / stock_sar))
    return g1, g2, g3


def multiplier_path(t: np.ndarray, gaps, speeds, starts) -> np.ndarray:
    """The progress multiplier at times ``t`` (g,) for each sample (rows): v0 / (1 - k v0 tau)
    tau years into a phase; after ASI the ASI multiplier (where the model ends)."""
    out = np.broadcast_to(speeds[-1][:, None], (speeds[-1].shape[0], t.shape[0])).copy()
    tt = t[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(3):
            v0, v1, gap = speeds[i][:, None], speeds[i + 1][:, None], gaps[i][:, None]
            lo, hi = starts[i][:, None], starts[i + 1][:, None]
            inside = (tt >= lo) & (tt < hi)
            k_v0 = np.log(v1 / v0) / gap * v0
            out = np.where(inside, v0 / (1.0 - k_v0 * (tt - lo)), out)
    return out


class Ai2027Takeoff(OutcomeModel):
    name = "ai2027_takeoff"
    summary = ("AI 2027's takeoff: SC -> SAR -> SIAR -> ASI, each phase's human-only gap sped up by AI R&D "
               "progress multipliers interpolated geometrically in progress (closed form, no day loop)")
    regimes = ("none: the model computes when each milestone arrives (in closed form) and has no capability path "
               "to classify as explosion, combustion, fizzle or ceiling; within each phase the progress multiplier "
               "grows hyperbolically in calendar time, v(t) = v0 / (1 - k v0 t), until it reaches the next "
               "milestone's multiplier")
    params = (
        Param("sc_sar_years", "years", 0.0, INF, float(np.sqrt(1.5 * 10)),
              "human-only years from SC to SAR when that gap is not zero"),
        Param("p_sc_sar_zero", "", 0.0, 1.0, 0.15, "probability that SAR comes with SC (a zero SC-to-SAR gap)"),
        Param("sc_sar_zero_draw", "", 0.0, 1.0, 0.5,
              "a uniform draw per sample: the SC-to-SAR gap is zero where it is below p_sc_sar_zero"),
        Param("amr_sar_years", "years", 0.0, INF, 5.0,
              "the shared quantity A: the human-only research stock through SAR is base_stock_years + A"),
        Param("base_stock_years", "years", 1e-6, INF, 10.0,
              "human-only research stock that A is added to (the stock through SAR is this + A)"),
        Param("sar_siar_jumps", "", 0.0, 1e3, 2.0,
              "SAR to SIAR in jumps of ln(stock through SAR / base stock): G2 = S ((S / base)^jumps - 1)"),
        Param("siar_asi_jumps", "", 0.0, INF, 1.5,
              "the exponent J: SIAR to ASI in jumps of the SAR-to-SIAR jump in ln stock: G3 = Y ((Y / S)^J - 1)"),
        Param("speed_sc", "x", 1e-3, 1e9, 5.0, "AI R&D progress multiplier at SC"),
        Param("speed_sar", "x", 1e-3, 1e9, 25.0, "AI R&D progress multiplier at SAR"),
        Param("speed_siar", "x", 1e-3, 1e9, 250.0, "AI R&D progress multiplier at SIAR"),
        Param("speed_asi", "x", 1e-3, 1e9, 2000.0, "AI R&D progress multiplier at ASI"),
    )
    metrics = (
        *(Metric(m, "milestones", "years_after_sc", "years", f"calendar years from SC to {m}", by_horizon=True)
          for m in MILESTONES[1:]),
        *(Metric(ph, "phase_years", "years", "years", f"calendar years from {ph.replace('_to_', ' to ')}")
          for ph in PHASES),
        *(Metric(f"human_{ph}", "human_only_years", "years", "years",
                 f"human-only years from {ph.replace('_to_', ' to ')} (progress at the pace of humans alone)")
          for ph in PHASES),
    )
    series = (Series("progress_multiplier", "x", "AI R&D progress multiplier (5 at SC, rising to 2000 at ASI; "
                     "shown at the ASI multiplier after ASI, where the model ends)", log_scale=True),)

    def evaluate(self, p: Params, t_grid: np.ndarray, keep_rows: int) -> Outcomes:
        gaps = human_only_gaps(p)
        speeds = tuple(np.asarray(p[s], dtype=float) for s in SPEEDS)
        years = [phase_years(g, speeds[i], speeds[i + 1]) for i, g in enumerate(gaps)]
        arrival = np.cumsum(np.stack(years), axis=0)          # (3, n): SAR, SIAR, ASI after SC
        horizon = float(t_grid[-1])
        metrics = {m: np.where(arrival[i] <= horizon, arrival[i], np.nan) for i, m in enumerate(MILESTONES[1:])}
        metrics.update({ph: years[i] for i, ph in enumerate(PHASES)})
        metrics.update({f"human_{ph}": gaps[i] for i, ph in enumerate(PHASES)})
        k = min(keep_rows, arrival.shape[1])
        starts = (np.zeros(arrival.shape[1]), *arrival)
        path = np.empty((k, t_grid.shape[0]), dtype=np.float32)
        for a in range(0, k, PATH_ROWS):   # in blocks: a fine grid's temporaries stay small
            b = min(a + PATH_ROWS, k)
            path[a:b] = multiplier_path(t_grid, [g[a:b] for g in gaps], [v[a:b] for v in speeds],
                                        [s[a:b] for s in starts])
        return Outcomes(metrics, {"progress_multiplier": path})
