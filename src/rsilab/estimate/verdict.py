"""The one rule that turns an interval for k into a word: fizzle, combustion, explosion, undetermined.

Every verdict rsilab prints on a measured k (``fit rounds``, ``evidence``, ``fit scale``, sweeps,
``rsilab.track`` runs, reports, the playground) comes from ``verdict``, so the words mean the same
everywhere:

- fizzle when the whole interval lies below 1 - tol;
- explosion when it lies above 1 + tol;
- combustion when it lies within [1 - tol, 1 + tol];
- otherwise undetermined: the data allow more than one of the three, and P(k > 1) is printed
  beside the word.

The point estimate never decides: a k of 0.9 with an interval reaching 1.3 is undetermined. tol is
the project's one band for "returns about 1" (the forecast's regime rule uses it too). Imports
nothing of ours but that tolerance.
"""
from __future__ import annotations

from rsilab.core.tolerances import RETURNS_TOLERANCE

VERDICTS = ("fizzle", "combustion", "explosion", "undetermined")


def verdict(interval: tuple[float, float] | None, tol: float = RETURNS_TOLERANCE) -> str:
    """The word for an interval (low, high) of k; "undetermined" when there is no interval."""
    if interval is None:
        return "undetermined"
    lo, hi = interval
    if hi < 1 - tol:
        return "fizzle"
    if lo > 1 + tol:
        return "explosion"
    if lo >= 1 - tol and hi <= 1 + tol:
        return "combustion"
    return "undetermined"


def describe(word: str, p_k_gt_1: float | None, level: float) -> str:
    """One line: the word, the interval level it rests on and, when undetermined, P(k > 1)."""
    if word == "undetermined":
        p = f"; P(k > 1) = {p_k_gt_1:.2f}" if p_k_gt_1 is not None else ""
        return f"undetermined (the {level:.0%} interval spans more than one regime{p})"
    return f"{word} (the {level:.0%} interval lies {_where(word)})"


def _where(word: str) -> str:
    return {"fizzle": "below 1 - tol", "explosion": "above 1 + tol", "combustion": "within tol of 1"}.get(word, "")


def k_line(k: float, interval: tuple[float, float] | list[float] | None, level: float, p_k_gt_1: float | None,
           word: str) -> str:
    """"k = 0.83 [0.55, 1.21] (90%), P(k > 1) = 0.22: undetermined" for every command's text output."""
    iv = f" [{interval[0]:.3g}, {interval[1]:.3g}] ({level:.0%})" if interval is not None else ""
    p = f", P(k > 1) = {p_k_gt_1:.3f}" if p_k_gt_1 is not None else ""
    return f"k = {k:.3g}{iv}{p}: {word}"
