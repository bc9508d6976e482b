"""Semi-endogenous software R&D once AI research is automated (Epoch, Forethought).

Law of motion: dS/dt = a S^(1-beta) (L^alpha C^(1-alpha))^lambda, with research labour L
proportional to S once AI does the research, and experiment compute C exogenous. Writing
p = lambda alpha and the returns to software R&D r = lambda alpha / beta, the growth rate
g = d ln S / dt obeys d ln g / d ln S = p - p / r: progress accelerates iff r > 1.
Returns fall as S nears effective limits: r declines linearly in ln S from r0 to 0 at the
ceiling, which lies ``limit_years`` years of recent-rate AI progress above the start.

Units follow Davidson & Houlden 2025 ("How quick and big would a software intelligence
explosion be?", Forethought): software doubled every ``recent_doubling_years`` (3 months)
before automation and is ``software_share`` (half) of AI progress, so one year of progress at
recent rates is 1 / (recent_doubling_years software_share) = 8 software doublings. Automation
multiplies the pace of software progress by ``f`` at once (``boost = "instant"``) or ramps it
exponentially from ``f0`` to ``f`` over ``boost_years`` (``"gradual"``).

Two forms (option ``form``):
- ``doublings``: the published discretisation, one software doubling per step, exactly as the
  authors' code (github.com/thoulden/Accelerated_AI_Progress, multiple_sims.py) steps it:
  the doubling time is multiplied by 2^(p (1/r - 1)) using the already-decremented r, the
  retraining variant uses the code's exponent e / |e + 1| (the paper's text writes
  e / (1 + |e|); the code's is what reproduces the published tables), and the run stops at the
  horizon, at the ceiling, or when r reaches 0.
- ``continuous``: the ODE. State (ln S, ln g_R) with d ln g_R / dt = h(ln S) d ln S / dt,
  h = d ln g / d ln S = p - p / r (retraining: -e / (1 + |e|), the paper's text), and
  g = g_R B(t) C(t)^(lambda (1 - alpha)), B the gradual boost, C = exp(compute_growth t).

The doublings form also runs as a compiled kernel that ``rsilab.simulate.kernels`` registers
for this model: it steps this model's one-sample forms (``first_doubling_one``,
``can_double_one``, ``next_doubling_one``, ``outputs_one``: plain Python on floats, next to the
numpy ``step``), and the tests hold it to ``step`` sample by sample. numpy only (the
one-sample forms: ``math``); imports nothing of ours but the model base and ``rsilab.core``.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from rsilab.core.solution import Solution
from rsilab.dynamics.base import MapModel, OdeModel, Option, Param, Params, kernel_rows

LN2 = float(np.log(2.0))
# (label, window in years, pace multiple): the published conditions (12 months, 3x),
# (12 months, 10x), (4 months, 10x: shown as '3 years', really 3.33) and (4 months, 30x)
COMPRESSION_CONDITIONS = (("3y_in_1y", 1.0, 3.0), ("10y_in_1y", 1.0, 10.0),
                          ("3y_in_4mo", 4 / 12, 10.0), ("10y_in_4mo", 4 / 12, 30.0))
_WINDOWS = np.array([c[1] for c in COMPRESSION_CONDITIONS])
_MULTIPLES = np.array([c[2] for c in COMPRESSION_CONDITIONS])


class SoftwareRnd(OdeModel, MapModel):
    name = "software_rnd"
    summary = "Semi-endogenous software R&D after automation, returns r falling toward effective limits."
    state = ("ln_software", "ln_rate", "r", "boost")
    returns_param = "r0"
    params = (
        Param("f", "x recent pace", 1e-3, 1e4, 8.0, "speed-up of software progress once AI automates AI research"),
        Param("r0", "dimensionless", 1e-3, 20.0, 1.2, "returns to software R&D at the start (r = lambda alpha / beta)"),
        Param("limit_years", "years of progress", 0.01, 200.0, 11.0, "distance to effective limits, in years of recent-rate AI progress"),
        Param("p", "dimensionless", 1e-3, 2.0, 0.3, "p = lambda alpha: diminishing returns to parallel research labour"),
        Param("software_share", "fraction", 0.01, 1.0, 0.5, "share of recent AI progress that came from software"),
        Param("recent_doubling_years", "years", 1e-3, 10.0, 0.25, "software doubling time before automation"),
        Param("alpha", "fraction", 0.01, 0.99, 0.5, "continuous: labour's share in research input (compute has 1 - alpha)"),
        Param("compute_growth", "1/year", 0.0, 10.0, 0.0, "continuous: growth rate of experiment compute (0 = constant)"),
        Param("f0", "x recent pace", 1e-3, 1e4, 0.1, "gradual boost: speed-up when the ramp starts"),
        Param("boost_years", "years", 1e-3, 100.0, 5.0, "gradual boost: years for the speed-up to ramp from f0 to f"),
    )
    options = (
        Option("form", ("continuous", "doublings"), "continuous", "ODE, or one software doubling per step (published)"),
        Option("retraining", ("off", "on"), "off", "each doubling of pace halves the time to retrain (slows acceleration)"),
        Option("boost", ("instant", "gradual"), "instant", "automation's speed-up arrives at once or ramps up"),
    )

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "map" if self.opt("form") == "doublings" else "ode"

    # -- shared pieces ---------------------------------------------------------------------
    @staticmethod
    def doublings_to_ceiling(p: Params) -> np.ndarray:
        per_year = 1.0 / (p["recent_doubling_years"] * p["software_share"])
        return p["limit_years"] * per_year

    def _boost(self, t: np.ndarray, p: Params) -> np.ndarray:
        """Speed-up at time t: f (instant), or f0 (f / f0)^(t / boost_years) capped at f (gradual)."""
        if self.opt("boost") == "instant":
            return p["f"]
        frac = np.minimum(t / p["boost_years"], 1.0)
        return p["f0"] * np.exp(frac * np.log(p["f"] / p["f0"]))

    def _speed(self, f: np.ndarray) -> np.ndarray:
        # The authors' code runs the pace as f times recent (instant) and 1 + f times recent
        # (gradual: human researchers keep their pace while AI adds f).
        return f if self.opt("boost") == "instant" else 1.0 + f

    def initial(self, p: Params) -> np.ndarray:
        n = len(p["f"])
        f_start = self._boost(np.zeros(n), p)
        if self.kind == "map":
            dt0 = p["recent_doubling_years"] / self._speed(f_start)
            return np.stack([np.zeros(n), dt0, p["r0"].astype(float), f_start])
        # continuous: ln g_R at S = 1 is the recent rate; the boost factor multiplies it in rhs
        ln_rate0 = np.log(LN2 / p["recent_doubling_years"])
        return np.stack([np.zeros(n), ln_rate0, p["r0"].astype(float), f_start])

    def ln_ceiling(self, p: Params) -> np.ndarray:
        return self.doublings_to_ceiling(p) * LN2

    # -- the published per-doubling map ---------------------------------------------------
    def step_years(self, y: np.ndarray, p: Params) -> np.ndarray:
        return y[1]

    def alive(self, y: np.ndarray, p: Params) -> np.ndarray:
        return (y[0] < self.ln_ceiling(p) - 1e-12) & (y[2] > 0)

    def step(self, y: np.ndarray, p: Params, t: np.ndarray) -> np.ndarray:
        ln_s, dt, r, f_old = y
        t_new = t + dt
        r_new = r - p["r0"] / self.doublings_to_ceiling(p)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            e = p["p"] * (1.0 / r_new - 1.0)
            if self.opt("retraining") == "on":
                e = e / np.abs(e + 1.0)
            dt_new = np.where(r_new > 0, dt * np.exp2(e), dt)
        f_new = f_old
        if self.opt("boost") == "gradual":
            f_new = self._boost(t_new, p)
            dt_new = dt_new * self._speed(f_old) / self._speed(f_new)
        return np.stack([ln_s + LN2, dt_new, r_new, f_new])

    # -- the same map for one sample, as the compiled doubling-map kernel steps it -----------
    # Capability after ``done`` doublings is done ln 2. The rest of one sample's state is a
    # tuple of floats: the numpy map's (dt, r, boost), then k, the first doubling of the
    # longest run shorter than a year so far (for ``years_compressed_in_1y``: counted as the
    # doublings complete, its work overlaps the step's exponential instead of costing a second
    # pass over the times). ``c`` holds the sample's constants, read once from its row of
    # ``doubling_params`` (in a tuple they stay in registers; read from the row, every store
    # to the times would make the compiled loop read them again).
    # what ``outputs_one`` writes, in order (the compression conditions as 1 or 0)
    doubling_outputs = tuple(f"p_compress_{c[0]}" for c in COMPRESSION_CONDITIONS) + ("years_compressed_in_1y",)

    def doubling_params(self, p: Params) -> np.ndarray:
        """One row of float64 per sample: f, r0, p, recent_doubling_years, f0, boost_years,
        doublings to the ceiling, r's drop per doubling, doublings a year of recent-rate
        progress takes, retraining (1 or 0), gradual boost (1 or 0)."""
        ceiling = p["limit_years"] / (p["recent_doubling_years"] * p["software_share"])
        return kernel_rows(len(p["f"]), p["f"], p["r0"], p["p"], p["recent_doubling_years"], p["f0"], p["boost_years"],
                           ceiling, p["r0"] / ceiling, 1.0 / (p["recent_doubling_years"] * p["software_share"]),
                           float(self.opt("retraining") == "on"), float(self.opt("boost") == "gradual"))

    @staticmethod
    def first_doubling_one(row):
        """``initial`` for one sample: (its state, its constants)."""
        c = (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] != 0.0, row[10] != 0.0)
        gradual = c[10]
        boost = c[4] if gradual else c[0]
        return (c[3] / ((1.0 + boost) if gradual else boost), c[1], boost, 0.0), c

    @staticmethod
    def can_double_one(done, state, c):
        """``alive`` for one sample after ``done`` doublings."""
        return (done * LN2 < c[6] * LN2 - 1e-12) and (state[1] > 0.0)

    @staticmethod
    def next_doubling_one(t_end, done, times, state, c):
        """``step`` for one sample: the state after doubling ``done``, which took ``state[0]``
        years and ended at ``t_end`` (``times[0..done]``: the completion times so far); 2^e as
        exp(e ln 2), the compiled path's exponential."""
        dt, r, boost, k = state
        r_new = r - c[7]
        dt_new = dt
        if r_new > 0.0:
            e = c[2] * (1.0 / r_new - 1.0)
            if c[9]:
                e = e / abs(e + 1.0)
            dt_new = dt * math.exp(e * LN2) if e < 1023.0 else math.inf
        if c[10]:
            frac = min(t_end / c[5], 1.0)
            f_new = c[4] * math.exp(frac * math.log(c[0] / c[4]))
            dt_new = dt_new * (1.0 + boost) / (1.0 + f_new)
            boost = f_new
        # the window [times[k], times[done]] never shrinks and moves on by one doubling whenever
        # it spans a year or more: it ends as long as the longest run shorter than a year
        if t_end - times[int(k)] >= 1.0:
            k += 1.0
        return dt_new, r_new, boost, k

    @staticmethod
    def outputs_one(times, done, state, c, out):
        """``sample_outputs`` for one sample from its doubling times ``times[0..done]``: out[j]
        is 1 where compression condition j holds, else 0; the last entry is the most years of
        recent-rate progress completed within one year."""
        per_year = c[8]
        for j in range(_WINDOWS.shape[0]):
            needed = int(math.floor(_WINDOWS[j] * _MULTIPLES[j] * per_year + 1e-9))
            found = needed <= 0
            k = 0
            while not found and k + needed <= done:
                if times[k + needed] - times[k] < _WINDOWS[j]:
                    found = True
                k += 1
            out[j] = 1.0 if found else 0.0
        out[_WINDOWS.shape[0]] = (done - int(state[3])) / per_year

    # -- the ODE ---------------------------------------------------------------------------
    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        ln_s, ln_rate = y[0], y[1]
        room = self.ln_ceiling(p)
        r = np.maximum(p["r0"] * (1.0 - ln_s / room), 1e-12)
        e = p["p"] * (1.0 / r - 1.0)
        if self.opt("retraining") == "on":
            e = e / (1.0 + np.abs(e))  # the paper's text
        ln_compute_factor = p["p"] * (1.0 - p["alpha"]) / p["alpha"] * p["compute_growth"] * t
        f_t = self._boost(t, p)
        growth = np.exp(ln_rate + ln_compute_factor) * self._speed(f_t)
        growth = np.where(ln_s >= room, 0.0, growth)
        zero = np.zeros_like(ln_s)
        return np.stack([growth, -e * growth, zero, zero])

    # -- outputs ---------------------------------------------------------------------------
    def sample_outputs(self, sol: Solution, p: Params) -> dict[str, np.ndarray]:
        """Whether >= m years of recent-rate progress were compressed into <= W years.

        As published: m years in a window of W years needs int(W m / (recent_doubling_years
        software_share)) software doublings to complete within strictly less than W years.
        """
        per_year = 1.0 / (p["recent_doubling_years"] * p["software_share"])
        out = {}
        if sol.extras is not None:  # the compiled kernel computed them on the way (outputs_one)
            rows = sol.extras["outputs_one"]
            return {name: rows[k] != 0.0 if name.startswith("p_") else rows[k]
                    for k, name in enumerate(self.doubling_outputs)}
        for label, window, years in COMPRESSION_CONDITIONS:
            needed = np.floor(window * years * per_year + 1e-9).astype(np.int64)
            out[f"p_compress_{label}"] = _fits(sol, needed, window)
        # The most years compressed into one year costs a per-sample search, so it is read off
        # the first COMPRESSION_ROWS samples of each chunk (nan elsewhere; the summary's
        # quantiles use the finite ones, and say what fraction that was).
        years = np.full(len(per_year), np.nan)
        k = min(COMPRESSION_ROWS, len(per_year))
        years[:k] = _max_doublings_within(_head(sol, k), 1.0) / per_year[:k]
        out["years_compressed_in_1y"] = years
        return out


COMPRESSION_ROWS = 2048


def _head(sol: Solution, k: int) -> Solution:
    """The first k samples of a solution, for the outputs that are read off a subsample."""
    return replace(sol, y_grid=sol.y_grid[:, :k], step_times=None if sol.step_times is None else sol.step_times[:k])


def _fits(sol, needed: np.ndarray, window: float) -> np.ndarray:
    """True where some run of ``needed`` consecutive doublings took less than ``window`` years
    (per sample; ``needed`` may differ between samples)."""
    if sol.step_times is None:  # continuous form: from the output grid
        return _grid_doublings_within(sol, window) >= needed
    times = sol.step_times
    n, m1 = times.shape
    values = np.unique(needed)
    if len(values) <= 4:
        # few distinct counts (the usual case: fixed units): plain slices, no gathers
        out = np.zeros(n, dtype=bool)
        for v in values:
            rows = needed == v
            if 0 < v < m1:
                with np.errstate(invalid="ignore"):
                    out[rows] = np.any(times[rows, v:] - times[rows, :-v] < window, axis=1)
            elif v <= 0:
                out[rows] = True
        return out
    start = np.arange(m1)[None, :]
    end = start + needed[:, None]
    ok = end < m1
    rows = np.arange(n)[:, None]
    with np.errstate(invalid="ignore"):
        span = times[rows, np.minimum(end, m1 - 1)] - times
        return np.any(ok & (span < window), axis=1)


def _max_doublings_within(sol, window: float) -> np.ndarray:
    """Most consecutive doublings completed in less than ``window`` years, per sample.

    Fitting N doublings implies fitting N - 1, so a per-sample binary search on N over
    ``_fits`` finds the largest.
    """
    if sol.step_times is None:
        return _grid_doublings_within(sol, window)
    n, m1 = sol.step_times.shape
    lo, hi = np.zeros(n, dtype=np.int64), np.full(n, m1 - 1, dtype=np.int64)  # lo fits, answer in [lo, hi]
    while (lo < hi).any():
        mid = (lo + hi + 1) // 2
        fit = _fits(sol, mid, window)
        lo, hi = np.where(fit, mid, lo), np.where(fit, hi, mid - 1)
    return lo.astype(float)


def _grid_doublings_within(sol, window: float) -> np.ndarray:
    """Continuous form: doublings gained over windows of a whole number of grid steps."""
    x = sol.y_grid[0] / LN2
    dt = sol.t_grid[1] - sol.t_grid[0]
    k = max(int(round(window / dt)), 1)
    if k >= x.shape[1]:
        return x[:, -1] - x[:, 0]
    return np.max(x[:, k:] - x[:, :-k], axis=1)
