"""numpy's NaN-propagating minimum, maximum, clip and logaddexp for one float: the pieces the
models' one-sample right-hand sides (``OdeModel.rhs_one``) are written with, so that a model's
scalar form computes exactly what its numpy ``rhs`` computes.

Plain Python on floats and ``math`` only, which numba also compiles (``rsilab.simulate``
compiles the functions that call these, and these with them). Imports nothing of ours.
"""
from __future__ import annotations

import math


def nmin(a, b):
    """np.minimum for two floats: NaN if either is NaN."""
    if a != a or b != b:
        return math.nan
    return a if a <= b else b


def nmax(a, b):
    """np.maximum for two floats: NaN if either is NaN."""
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


def clip(v, lo, hi):
    """np.clip for one float: NaN stays NaN."""
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def logaddexp(a, b):
    """np.logaddexp for two floats."""
    if a == b:
        return a + math.log(2.0)
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d   # NaN
