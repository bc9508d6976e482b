"""Tolerances shared by the forecast's regime rule and the estimators' verdicts.

"Returns about 1": |returns - 1| <= RETURNS_TOLERANCE counts as steady (combustion), above as
explosion, below as fizzle. Every returns quantity here (k, p, r, p_eff, k_eff) has its
critical value at 1, and the forecast's regime rule and the estimators' verdicts share this
one band, so a fitted k and a forecast drawn from its prior use the same word for the same
value. 0.02: a gain ratio within 2% of 1 changes gains by at most 1.02^10 - 1 = 22% over ten
rounds, and a path's growth rate by at most 2% per e-fold of capability.

Imports nothing of ours.
"""
from __future__ import annotations

RETURNS_TOLERANCE = 0.02
