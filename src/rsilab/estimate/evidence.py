"""The evidence registry: published per-round results of self-improvement methods, and users' own.

Owns the registry format (one CSV row per series and round, the columns of ``COLUMNS``), the
shipped registry ``self_improvement_rounds.csv`` (34 published series, each row citing its
paper, arXiv id and table), the checks every registry file passes, and what is derived from a
row's text: the method family, whether an external judge or teacher is involved, the cluster of
series that share checkpoints, and the metric's bound. Users add series with the same columns;
``series_id``, ``method``, ``metric``, ``round`` and ``value`` are required, the rest optional.
Imports numpy and our errors only; never torch, never rsilab.simulate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from rsilab.errors import DataError
from rsilab.estimate.io import numeric_column, read_table
from rsilab.estimate.rounds import gain_ratio
from rsilab.estimate.transforms import apply_transform, check_transform, default_transform, metric_ceiling, value_problem

COLUMNS = ("series_id", "source", "arxiv", "location", "method", "model", "model_params", "benchmark", "metric",
           "higher_is_better", "round", "value", "confidence")
REQUIRED = ("series_id", "method", "metric", "round", "value")
REGISTRY_FILE = "self_improvement_rounds.csv"
MIN_ROUNDS = 3  # 2 gains make 1 ratio: the least a series can say about k

FAMILIES = ("self-play / preference iteration", "self-rewarding", "self-training on own outputs",
            "self-refine (inference-time)", "other")
# (pattern on the method's name, family); the first match wins, so the specific names come first
# ("Self-Rewarding LM (iterative DPO ...)" is self-rewarding, "Iterative RPO (DPO+NLL)" self-training)
_FAMILY_RULES = (
    (re.compile(r"self-refine|reflexion", re.I), "self-refine (inference-time)"),
    (re.compile(r"self-reward|meta-reward", re.I), "self-rewarding"),
    (re.compile(r"\brpo\b|\bstar\b|\brest\b|rest-em|self-train|expert iteration|rejection sampl", re.I),
     "self-training on own outputs"),
    (re.compile(r"spin|sppo|\bdpo\b|\bipo\b|\bdno\b|self-play|preference", re.I), "self-play / preference iteration"),
)
# Methods whose preferences come from a model outside the loop: SPPO and the iterative DPO/IPO
# baselines use PairRM (0.4B); DNO uses GPT-4-Turbo as annotator and teacher.
_EXTERNAL = re.compile(r"pairrm|external|\bsppo\b|\bdno\b|teacher", re.I)


@dataclass
class Series:
    """One series: a method's metric after each round (round 0 = the model the loop starts from)."""

    series_id: str
    method: str
    metric: str
    rounds: np.ndarray
    values: np.ndarray
    source: str = ""
    arxiv: str = ""
    location: str = ""
    model: str = ""
    model_params: str = ""
    benchmark: str = ""
    confidence: str = ""
    origin: str = "registry"
    rows: list[int] = field(default_factory=list, repr=False)  # the file's data-row numbers, per round

    @property
    def family(self) -> str:
        return method_family(self.method)

    @property
    def external(self) -> bool:
        return bool(_EXTERNAL.search(self.method))

    @property
    def cluster(self) -> str:
        """Series of one run (same paper, method and model) share checkpoints: one cluster."""
        return " | ".join(p for p in (self.arxiv or self.origin, self.method, self.model) if p)

    @property
    def ceiling(self) -> float | None:
        return metric_ceiling(self.metric, self.benchmark)

    @property
    def default_transform(self) -> str:
        return default_transform(self.ceiling)

    def transformed(self, transform: str | None = None) -> np.ndarray:
        """The values on a transform's scale; a value outside its domain names the file's row."""
        t = check_transform(transform or self.default_transform)
        rows = self.rows or [None] * len(self.values)
        for v, r, row in zip(self.values, self.rounds, rows):
            problem = value_problem(float(v), t, self.ceiling)
            if problem:
                raise DataError(self.origin, f"{v:g} ({self.series_id}, round {int(r)}) {problem}", row=row,
                                column="value")
        return apply_transform(self.values, t, self.ceiling)

    def gains(self, transform: str | None = None) -> np.ndarray:
        return np.diff(self.transformed(transform))

    def k(self, transform: str | None = None) -> float:
        """The least-squares ratio of successive gains (``fit rounds``' k); NaN if no gain but the last."""
        g = self.gains(transform)
        return gain_ratio(g[:-1], g[1:])

    def summary(self) -> dict:
        return {"series_id": self.series_id, "method": self.method, "family": self.family, "model": self.model,
                "model_params": self.model_params, "benchmark": self.benchmark, "metric": self.metric,
                "rounds": len(self.rounds), "confidence": self.confidence, "external_judge_or_teacher": self.external,
                "cluster": self.cluster, "source": self.source, "arxiv": self.arxiv, "location": self.location,
                "origin": self.origin}


def method_family(method: str) -> str:
    for pattern, family in _FAMILY_RULES:
        if pattern.search(method):
            return family
    return "other"


def registry_path() -> Path:
    """The shipped registry file (inside the installed package)."""
    return Path(str(resources.files("rsilab.estimate").joinpath(REGISTRY_FILE)))


def load_registry(path: str | Path | None = None) -> list[Series]:
    """The series of a registry file (default: the shipped one), checked; errors name file, row and column."""
    p = Path(path) if path is not None else registry_path()
    header, rows = read_table(p)
    if not rows:
        raise DataError(str(p), "no data rows: expected one row per series and round")
    for col in REQUIRED:
        if col not in header:
            raise DataError(str(p), f"missing column {col!r}; a registry file has the columns {', '.join(COLUMNS)} "
                                    f"({', '.join(REQUIRED)} required)", column=col)
    numeric_column(p, rows, "round")
    numeric_column(p, rows, "value")
    by_id: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, row in enumerate(rows, start=1):
        sid = row.get("series_id", "")
        if not sid:
            raise DataError(str(p), "empty series_id", row=i, column="series_id")
        if float(row["round"]) != int(float(row["round"])) or float(row["round"]) < 0:
            raise DataError(str(p), f"{row['round']!r} is not a round number (0, 1, 2, ...)", row=i, column="round")
        if row.get("higher_is_better", "true").lower() not in ("true", "1", "yes", ""):
            raise DataError(str(p), f"higher_is_better = {row['higher_is_better']!r}: only higher-is-better metrics "
                                    "are accepted (record e.g. accuracy = 100 - error rate)", row=i,
                            column="higher_is_better")
        by_id.setdefault(sid, []).append((i, row))
    return [_series(p, sid, members) for sid, members in by_id.items()]


def _series(p: Path, sid: str, members: list[tuple[int, dict[str, str]]]) -> Series:
    members = sorted(members, key=lambda m: float(m[1]["round"]))
    rounds = [int(float(r["round"])) for _, r in members]
    for (i, _), prev, cur in zip(members[1:], rounds, rounds[1:]):
        if cur == prev:
            raise DataError(str(p), f"round {cur} of series {sid!r} appears twice", row=i, column="round")
        if cur != prev + 1:
            raise DataError(str(p), f"rounds of series {sid!r} jump from {prev} to {cur}: rounds must be consecutive",
                            row=i, column="round")
    if len(members) < MIN_ROUNDS:
        raise DataError(str(p), f"series {sid!r} has {len(members)} rounds; at least {MIN_ROUNDS} are needed "
                                "(2 gains make 1 ratio)", row=members[-1][0], column="series_id")
    first = members[0][1]
    for i, row in members[1:]:
        for col in ("method", "metric"):
            if row.get(col, "") != first.get(col, ""):
                raise DataError(str(p), f"{col} {row.get(col, '')!r} differs from the series' first row "
                                        f"({first.get(col, '')!r}): one series is one method on one metric",
                                row=i, column=col)
    for i, row in members:
        for col in ("method", "metric"):
            if not row.get(col):
                raise DataError(str(p), f"empty {col} in series {sid!r}", row=i, column=col)
    s = Series(series_id=sid, method=first["method"], metric=first["metric"], rounds=np.array(rounds),
               values=np.array([float(r["value"]) for _, r in members]), source=first.get("source", ""),
               arxiv=first.get("arxiv", ""), location=first.get("location", ""), model=first.get("model", ""),
               model_params=first.get("model_params", ""), benchmark=first.get("benchmark", ""),
               confidence=first.get("confidence", ""), origin=str(p), rows=[i for i, _ in members])
    ceiling = s.ceiling
    for (i, _), v in zip(members, s.values):
        if ceiling is not None and not 0 <= v <= ceiling:
            raise DataError(str(p), f"{v:g} is outside the metric's bounds [0, {ceiling:g}] ({s.metric})",
                            row=i, column="value")
    return s


def series_from_rounds(series_id: str, capability, *, method: str, metric: str, model: str = "",
                       model_params: str = "", origin: str = "", first_round: int = 0) -> Series:
    """A series from a run's rounds (``rsilab.track`` or a built-in experiment)."""
    cap = np.asarray(capability, dtype=float)
    if len(cap) < MIN_ROUNDS:
        raise DataError(origin or series_id, f"series {series_id!r} has {len(cap)} rounds; at least {MIN_ROUNDS} "
                                             "are needed (2 gains make 1 ratio)")
    return Series(series_id=series_id, method=method, metric=metric, model=model, model_params=model_params,
                  rounds=np.arange(first_round, first_round + len(cap)), values=cap, origin=origin or series_id)


def select(series: list[Series], *, pure_self: bool = False) -> list[Series]:
    """The series that enter a fit: all, or (``pure_self``) those without an external judge or teacher."""
    return [s for s in series if not (pure_self and s.external)]


def pool(series: list[Series], *, transform: str | None = None, level: float = 0.9, loo: bool = True):
    """The random-effects pooled k of ``series``, each on ``transform``'s scale (None: its default).

    Returns the fitted ``PooledK``; the transform of each series is in ``series_transforms(...)``.
    """
    from rsilab.estimate.pooling import PooledK

    if len(series) < 2:
        raise DataError("evidence", f"{len(series)} series selected; pooling needs at least 2")
    gains = []
    for s in series:
        g = s.gains(transform)
        if not np.any(g != 0):
            raise DataError(s.origin, f"series {s.series_id!r} gained nothing in any round: k is undefined",
                            row=s.rows[0] if s.rows else None, column="value")
        gains.append(g)
    return PooledK(level=level, loo=loo).fit(gains, [s.cluster for s in series], [s.family for s in series],
                                             [s.series_id for s in series])


def pool_log_ratio_check(series: list[Series], *, transform: str | None = None, level: float = 0.9) -> dict:
    """The pooled median k from per-round log gain ratios (pairs with a sign change dropped)."""
    from rsilab.estimate.pooling import pool_log_ratios

    return pool_log_ratios([s.gains(transform) for s in series], [s.cluster for s in series], level)
