"""The per-doubling software intelligence explosion map of Davidson & Houlden 2025, one run at
a time, in plain Python floats and in months (the time unit of the authors' code,
github.com/thoulden/Accelerated_AI_Progress, multiple_sims.py), written from the model's
stepping rules for the tests to hold rsilab's engine to. Instant boost, no retraining.

Rules: software doubles once per step; before automation it doubled every 3 months and is half
of AI progress, so one year of progress is 8 doublings and effective limits lie
8 * limit_years doublings above the start. Automation makes the first doubling take 3 / f
months. After each doubling r falls by r0 / (8 * limit_years) and, while r > 0, the doubling
time is multiplied by 2^(p (1/r - 1)) (with the already-decremented r). A run stops at the
horizon (the doubling in progress there is completed), at the limits, or when r reaches 0.
"""
from __future__ import annotations

DOUBLINGS_PER_YEAR = 8.0          # 1 / (3-month doubling time x software share 1/2), per year
FIRST_DOUBLING_MONTHS = 3.0       # before automation


def doubling_months(r0: float, f: float, limit_years: float, p: float, horizon_months: float) -> list[float]:
    """Time (months) at which each doubling completed, starting with 0.0 for the start."""
    limit = DOUBLINGS_PER_YEAR * limit_years
    r_step = r0 / limit
    months = [0.0]
    t, r, done, dt = 0.0, r0, 0, FIRST_DOUBLING_MONTHS / f
    while t < horizon_months and done < limit and r > 0:
        t += dt
        done += 1
        months.append(t)
        r -= r_step
        if r > 0:
            dt *= 2.0 ** (p * (1.0 / r - 1.0))
    return months


def most_years_in_window(months: list[float], window_months: float) -> float:
    """Most years of progress (doublings / 8) completed in strictly less than the window."""
    best = 0
    for i in range(len(months)):
        j = i
        while j + 1 < len(months) and months[j + 1] - months[i] < window_months:
            j += 1
        best = max(best, j - i)
    return best / DOUBLINGS_PER_YEAR
