"""Capability transforms: the scale on which gains per round are measured before k is taken.

Owns the four transforms and the rule for a metric's scale. Most published metrics are bounded
(accuracy %, win rate %, 0-10 judge scores): near the ceiling each point costs more, so on the
raw scale every loop looks like a fizzle. A transform maps the metric to a scale where equal
steps mean comparable progress:

- ``raw``: the value itself.
- ``logit``: ln(p / (1 - p)), p = value / ceiling (ceiling 100 for percentages, 10 for 0-10
  scores); needs 0 < value < ceiling.
- ``neglog-error``: -ln(1 - p), the log of the error rate's reciprocal; needs value < ceiling.
- ``log``: ln(value), for unbounded positive scores; needs value > 0.

``metric_ceiling`` reads a metric's name: MT-Bench and "0-10"/"1-10" scores have ceiling 10;
a name with "%", "accuracy", "acc", "win rate" or the Open LLM Leaderboard is a percentage
(ceiling 100); anything else is unbounded. The default transform is ``logit`` for bounded
metrics and ``raw`` for unbounded ones. Imports numpy and our errors only.
"""
from __future__ import annotations

import re

import numpy as np

from rsilab.errors import ConfigError, DataError

TRANSFORMS = ("raw", "logit", "neglog-error", "log")

_SCORE_10 = re.compile(r"mt-bench|\b[01]\s*-\s*10\b", re.IGNORECASE)
_PERCENT = re.compile(r"%|accuracy|\bacc\b|acc_norm|win rate|open llm", re.IGNORECASE)


def check_transform(name: str) -> str:
    if name not in TRANSFORMS:
        raise ConfigError("--transform", name, f"one of {', '.join(TRANSFORMS)}")
    return name


def metric_ceiling(metric: str, benchmark: str = "") -> float | None:
    """The metric's upper bound (100 for percentages, 10 for 0-10 judge scores), or None if unbounded."""
    text = f"{metric} {benchmark}"
    if _SCORE_10.search(text):
        return 10.0
    if _PERCENT.search(text):
        return 100.0
    return None


def default_transform(ceiling: float | None) -> str:
    return "logit" if ceiling is not None else "raw"


def value_problem(value: float, transform: str, ceiling: float | None) -> str | None:
    """None if ``value`` can be transformed, else what is allowed (for an error message)."""
    if transform == "raw":
        return None
    if transform == "log":
        return None if value > 0 else "must be > 0 under the log transform"
    if ceiling is None:
        return f"the {transform} transform needs a bounded metric (a percentage or a 0-10 score)"
    if transform == "logit" and not 0 < value < ceiling:
        return f"must be inside (0, {ceiling:g}) under the logit transform (a metric bounded by {ceiling:g})"
    if transform == "neglog-error" and not value < ceiling:
        return f"must be below {ceiling:g} under the neglog-error transform"
    return None


def apply_transform(values, transform: str, ceiling: float | None = 100.0) -> np.ndarray:
    """The values on the transform's scale; a value outside its domain raises DataError."""
    check_transform(transform)
    v = np.asarray(values, dtype=float)
    for x in v.ravel():
        problem = value_problem(float(x), transform, ceiling)
        if problem:
            raise DataError("capability", f"{x:g} {problem}")
    if transform == "raw":
        return v.copy()
    if transform == "log":
        return np.log(v)
    p = v / ceiling
    if transform == "logit":
        return np.log(p) - np.log1p(-p)
    return -np.log1p(-p)


def proportion_and_slope(mu, transform: str, ceiling: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The proportion value / ceiling at fitting-scale values ``mu`` (the transform's inverse) and
    its slope d proportion / d mu: how a binomial level's mean path is mapped back to a proportion."""
    mu = np.asarray(mu, dtype=float)
    c = 1.0 if ceiling is None else float(ceiling)
    if transform == "logit":
        p = 0.5 * (1.0 + np.tanh(0.5 * mu))   # the logistic function, without overflow
        return p, p * (1.0 - p)
    if transform == "neglog-error":
        q = np.exp(-mu)
        return 1.0 - q, q
    if transform == "log":
        p = np.exp(mu) / c
        return p, p
    check_transform(transform)
    return mu / c, np.full_like(mu, 1.0 / c)


def invert_transform(mu, transform: str, ceiling: float | None) -> np.ndarray:
    """The metric's values at fitting-scale values ``mu`` (``apply_transform``'s inverse)."""
    return proportion_and_slope(mu, transform, ceiling)[0] * (1.0 if ceiling is None else float(ceiling))


def describe(transform: str, ceiling: float | None) -> str:
    """One line for the CLI: which transform, on which bound."""
    if transform in ("logit", "neglog-error") and ceiling is not None:
        formula = "ln(p / (1 - p))" if transform == "logit" else "-ln(1 - p)"
        return f"{transform}: {formula}, p = value / {ceiling:g}"
    return {"raw": "raw: the value itself", "log": "log: ln(value)"}.get(transform, transform)


def check_rounds_domain(path, data: dict, transform: str, ceiling: float | None,
                        rows: list[dict[str, str]] | None = None) -> None:
    """Every capability of ``fit rounds``' data can be fitted on ``transform``'s scale, or a
    DataError names the file's row and the capability column (of ``rows`` when given: a stored
    run's table, which has no file to read). With ``n_items`` (binomial noise) a value at the
    bound is data; it must still lie within [0, ceiling]."""
    from rsilab.estimate.io import read_table

    check_transform(transform)
    binomial = data.get("n_items") is not None
    for v, r in zip(np.asarray(data["capability"], float), data["round"]):
        if binomial:
            problem = None if ceiling is not None and 0 <= v <= ceiling else \
                f"must lie in [0, {ceiling:g}] with n_items (a proportion of the bound)"
        else:
            problem = value_problem(float(v), transform, ceiling)
            if problem and ceiling is not None and transform in ("logit", "neglog-error"):
                problem += "; give an n_items column to fit values at the bound with binomial noise"
        if problem:
            if rows is None:  # the loader sorted by round: find the row as the file has it
                rows = read_table(path)[1]
            row = next(i for i, raw in enumerate(rows, start=1) if float(raw["round"]) == r)
            raise DataError(str(path), f"{v:g} (round {r:g}) {problem}", row=row, column="capability")


def usable_transforms(values, ceiling: float | None, binomial: bool = False) -> dict[str, str | None]:
    """Each transform -> None if every value can be fitted on its scale, else why not."""
    out: dict[str, str | None] = {}
    for name in TRANSFORMS:
        if binomial and name in ("logit", "neglog-error") and ceiling is not None:
            out[name] = None
            continue
        bad = next((float(v) for v in values if value_problem(float(v), name, ceiling)), None)
        out[name] = None if bad is None else f"{bad:g} {value_problem(bad, name, ceiling)}"
    return out
