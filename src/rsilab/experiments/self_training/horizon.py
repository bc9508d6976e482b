"""The length horizon: how long an instance the models solve at a stated accuracy, with its noise.

Owns the capability measure of the self-training experiment. Accuracy against length is first
made non-increasing (pool-adjacent-violators, weighted by instances, with accuracy 1 at length
0), then the horizon at level ``p`` is the length where that curve crosses ``p``, interpolated
linearly between the two lengths around the crossing (as METR's time horizons read the length of
task a model completes with probability ``p``). A curve still at or above ``p`` at the longest
evaluated length is *censored*: the horizon is that length, a lower bound.

The noise comes from a bootstrap over the evaluation instances: each replicate redraws the
instances of every length with replacement (models kept together on an instance) and recomputes
the horizon. The redraws depend only on ``seed`` and the instance counts, and the evaluation set
is fixed for a whole run, so replicate ``b`` of every round uses the same instances: differences
between rounds (gains) and ratios of gains (k) are bootstrapped jointly from the stored replicates.
numpy only; must not import torch.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

INTERVAL = 0.90  # two-sided coverage of every recorded interval (the same as `rsilab fit rounds`)


def monotone(accuracy: Sequence[float], weights: Sequence[float] | None = None) -> np.ndarray:
    """The non-increasing least-squares fit to ``accuracy`` (pool adjacent violators)."""
    y = np.asarray(accuracy, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for yi, wi in zip(y, w):
        blocks.append([yi, wi, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(int(n), m) for m, _, n in blocks]) if blocks else y


def horizon(accuracy: Sequence[float], level: float = 0.5,
            weights: Sequence[float] | None = None) -> tuple[float, bool]:
    """(horizon, censored) for accuracy at lengths 1..len(accuracy) and a level in (0, 1).

    Length 0 counts as solved (accuracy 1), so a model below ``level`` already at length 1 has a
    horizon between 0 and 1.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    fit = monotone(accuracy, weights)
    curve = np.concatenate(([1.0], fit))  # curve[d] = accuracy at length d
    below = np.nonzero(curve < level)[0]
    if below.size == 0:
        return float(len(accuracy)), True
    d = int(below[0])  # curve[d - 1] >= level > curve[d]
    return float(d - 1 + (curve[d - 1] - level) / (curve[d - 1] - curve[d])), False


def replicate_accuracy(correct: Sequence[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, D) bootstrap accuracies; ``correct[d - 1]`` holds each instance's mean over models."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(correct)))
    for j, c in enumerate(correct):
        c = np.asarray(c, dtype=float)
        idx = rng.integers(0, c.size, size=(n_boot, c.size))  # (B, n) instances redrawn
        out[:, j] = c[idx].mean(axis=1)
    return out


def bootstrap_horizons(correct: Sequence[np.ndarray], levels: Sequence[float], n_boot: int,
                       seed: int) -> np.ndarray:
    """(n_boot, len(levels)) horizons of the bootstrap replicates (see the module docstring)."""
    acc = replicate_accuracy(correct, n_boot, seed)
    weights = [len(c) for c in correct]
    return np.array([[horizon(row, lv, weights)[0] for lv in levels] for row in acc])


def interval(samples: np.ndarray, coverage: float = INTERVAL) -> tuple[float, float]:
    """Percentile interval of ``samples`` (NaNs dropped) with the given two-sided coverage.

    Infinite samples are kept (a ratio over a replicate's zero gain is one): the percentiles are
    then order statistics, never interpolated across an infinity.
    """
    s = np.asarray(samples, dtype=float)
    s = s[~np.isnan(s)]
    if s.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - coverage) / 2
    method = "linear" if np.isfinite(s).all() else "nearest"
    lo, hi = np.percentile(s, [tail, 100 - tail], method=method)
    return float(lo), float(hi)


def gain_ratio_interval(h: Sequence[np.ndarray], coverage: float = INTERVAL) -> tuple[float, float] | None:
    """Interval of this round's k = (h2 - h1) / (h1 - h0) from measurement noise alone.

    ``h`` holds the joint bootstrap replicates of the last three rounds' horizons (oldest
    first). None when the previous gain's interval contains 0: the ratio is then unbounded
    under the noise, and k from these rounds is not measured at all.
    """
    h0, h1, h2 = (np.asarray(x, dtype=float) for x in h)
    prev = h1 - h0
    lo, hi = interval(prev, coverage)
    if lo <= 0.0 <= hi:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 (no gain in either round) is NaN: dropped
        return interval((h2 - h1) / prev, coverage)


def encode_correct(counts: Sequence[Sequence[int]]) -> list[str]:
    """Per length, one digit per instance: how many models answered it right (compact JSON)."""
    return ["".join(str(int(c)) for c in row) for row in counts]


def decode_correct(rows: Sequence[str], n_models: int) -> list[np.ndarray]:
    """Inverse of ``encode_correct``, as each instance's share of models right."""
    return [np.array([int(ch) for ch in row], dtype=float) / n_models for row in rows]
