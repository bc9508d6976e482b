"""The evidence registry: published per-round results of self-improvement methods, and users' own.

Owns the registry format (one CSV row per series and round, the columns of ``COLUMNS``), the
shipped registry ``self_improvement_rounds.csv`` (34 published series, each row citing its
paper, arXiv id and table, the benchmark's size and where that size is stated), the checks every
registry file passes, and each series' levels for the estimators. Nothing is derived from a
row's text but the metric's bound: the method family, the cluster of series that share
checkpoints and whether an external judge or teacher is involved are columns of their own.
Users add series with the same columns; ``series_id``, ``method``, ``metric``, ``round`` and
``value`` are required, the rest optional: without ``family`` a series is "unspecified", without
``cluster`` it is a cluster of its own, without ``external`` it counts as pure self-improvement,
and without ``n_items`` or ``se`` its noise is estimated from its own levels.
Imports numpy and our errors only; never torch, never rsilab.simulate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from rsilab.errors import DataError
from rsilab.estimate.io import numeric_column, read_table
from rsilab.estimate.levels import Levels, levels_from_values
from rsilab.estimate.transforms import apply_transform, check_transform, default_transform, metric_ceiling, value_problem

TRANSCRIBED = ("series_id", "source", "arxiv", "location", "method", "model", "model_params", "benchmark", "metric",
               "higher_is_better", "round", "value", "confidence")
ANNOTATIONS = ("family", "cluster", "external", "n_items", "se", "noise_source")
COLUMNS = TRANSCRIBED + ANNOTATIONS
REQUIRED = ("series_id", "method", "metric", "round", "value")
REGISTRY_FILE = "self_improvement_rounds.csv"
MIN_ROUNDS = 3  # 2 gains make 1 ratio: the least a series can say about k
UNSPECIFIED = "unspecified"
_YES, _NO = ("yes", "true", "1"), ("no", "false", "0", "")


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
    family: str = UNSPECIFIED
    cluster: str = ""
    external: bool = False
    n_items: np.ndarray | None = None
    se: np.ndarray | None = None
    noise_source: str = ""
    origin: str = "registry"
    rows: list[int] = field(default_factory=list, repr=False)  # the file's data-row numbers, per round

    def __post_init__(self):
        self.cluster = self.cluster or self.series_id

    @property
    def ceiling(self) -> float | None:
        return metric_ceiling(self.metric, self.benchmark)

    @property
    def default_transform(self) -> str:
        return default_transform(self.ceiling)

    @property
    def noise(self) -> str:
        return "binomial" if self.n_items is not None else "known" if self.se is not None else "estimated"

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

    def levels(self, transform: str | None = None, from_round: int | None = None) -> Levels:
        """The series' levels for the estimators, with its noise (binomial from ``n_items``, Gaussian
        from ``se``, else estimated), from ``from_round`` on (default: all)."""
        t = check_transform(transform or self.default_transform)
        keep = self.rounds >= (from_round if from_round is not None else self.rounds.min())
        if keep.sum() < MIN_ROUNDS:
            raise DataError(self.origin, f"series {self.series_id!r} has {int(keep.sum())} rounds from round "
                                         f"{from_round}; at least {MIN_ROUNDS} are needed", column="round")
        if self.n_items is None:
            self.transformed(t)                    # a value outside the transform's domain names its row
        try:
            return levels_from_values(self.values[keep], self.rounds[keep],
                                      se=None if self.se is None else self.se[keep],
                                      n_items=None if self.n_items is None else self.n_items[keep],
                                      transform=t, ceiling=self.ceiling)
        except Exception as exc:  # EstimationError: name the series' file and rows
            raise DataError(self.origin, f"series {self.series_id!r}: {exc}",
                            row=self.rows[0] if self.rows else None, column="value") from None

    def gains(self, transform: str | None = None) -> np.ndarray:
        return np.diff(self.transformed(transform))

    def fit(self, transform: str | None = None, from_round: int | None = None, level: float = 0.9):
        """The series' own k (``rsilab fit rounds``' levels estimator, with this series' noise)."""
        from rsilab.estimate.rounds import RoundsFit

        t = transform or self.default_transform
        self.levels(t, from_round)           # the checks, with file and row
        return RoundsFit(transform=t, ceiling=self.ceiling, level=level, min_rounds=MIN_ROUNDS,
                         from_round=from_round).fit(self.values, rounds=self.rounds, se=self.se, n_items=self.n_items)

    def summary(self) -> dict:
        return {"series_id": self.series_id, "method": self.method, "family": self.family, "model": self.model,
                "model_params": self.model_params, "benchmark": self.benchmark, "metric": self.metric,
                "rounds": len(self.rounds), "confidence": self.confidence, "external_judge_or_teacher": self.external,
                "cluster": self.cluster, "noise": self.noise,
                "n_items": None if self.n_items is None else float(self.n_items[0]),
                "noise_source": self.noise_source, "source": self.source, "arxiv": self.arxiv,
                "location": self.location, "origin": self.origin}


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
    for col in ("n_items", "se"):
        if col in header:
            numeric_column(p, rows, col, positive=True, allow_empty=True,
                           why=" (the benchmark's number of items)" if col == "n_items" else " (a standard error)")
    by_id: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for i, row in enumerate(rows, start=1):
        sid = row.get("series_id", "")
        if not sid:
            raise DataError(str(p), "empty series_id", row=i, column="series_id")
        if float(row["round"]) != int(float(row["round"])) or float(row["round"]) < 0:
            raise DataError(str(p), f"{row['round']!r} is not a round number (0, 1, 2, ...)", row=i, column="round")
        if row.get("external", "").lower() not in _YES + _NO:
            raise DataError(str(p), f"external = {row['external']!r}: yes or no (whether an external judge or teacher "
                                    "is involved)", row=i, column="external")
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
        for col in ("family", "cluster", "external"):
            if row.get(col, "") != first.get(col, ""):
                raise DataError(str(p), f"{col} {row.get(col, '')!r} differs from the series' first row "
                                        f"({first.get(col, '')!r}): one value per series", row=i, column=col)
    noise = {}
    for col in ("n_items", "se"):
        given = [row.get(col, "") != "" for _, row in members]
        if any(given) and not all(given):
            i = members[given.index(False)][0]
            raise DataError(str(p), f"series {sid!r} gives {col} on some rows only: give it on every row of the "
                                    "series, or on none (its noise is then estimated)", row=i, column=col)
        noise[col] = np.array([float(r[col]) for _, r in members]) if all(given) else None
    if noise["n_items"] is not None and noise["se"] is not None:
        raise DataError(str(p), f"series {sid!r} gives both n_items and se: the noise comes from one of them",
                        row=members[0][0], column="se")
    s = Series(series_id=sid, method=first["method"], metric=first["metric"], rounds=np.array(rounds),
               values=np.array([float(r["value"]) for _, r in members]), source=first.get("source", ""),
               arxiv=first.get("arxiv", ""), location=first.get("location", ""), model=first.get("model", ""),
               model_params=first.get("model_params", ""), benchmark=first.get("benchmark", ""),
               confidence=first.get("confidence", ""), family=first.get("family", "") or UNSPECIFIED,
               cluster=first.get("cluster", ""), external=first.get("external", "").lower() in _YES,
               n_items=noise["n_items"], se=noise["se"], noise_source=first.get("noise_source", ""),
               origin=str(p), rows=[i for i, _ in members])
    ceiling = s.ceiling
    if s.n_items is not None and ceiling is None:
        raise DataError(str(p), f"series {sid!r} gives n_items, but its metric {s.metric!r} has no bound: n_items "
                                "is for a proportion (a percentage or a 0-10 score); give se instead",
                        row=members[0][0], column="n_items")
    for (i, _), v in zip(members, s.values):
        if ceiling is not None and not 0 <= v <= ceiling:
            raise DataError(str(p), f"{v:g} is outside the metric's bounds [0, {ceiling:g}] ({s.metric})",
                            row=i, column="value")
    return s


def series_from_rounds(series_id: str, capability, *, method: str, metric: str, model: str = "",
                       model_params: str = "", origin: str = "", first_round: int = 0, se=None, n_items=None,
                       family: str = UNSPECIFIED) -> Series:
    """A series from a run's rounds (``rsilab.track`` or a built-in experiment)."""
    cap = np.asarray(capability, dtype=float)
    if len(cap) < MIN_ROUNDS:
        raise DataError(origin or series_id, f"series {series_id!r} has {len(cap)} rounds; at least {MIN_ROUNDS} "
                                             "are needed (2 gains make 1 ratio)")
    return Series(series_id=series_id, method=method, metric=metric, model=model, model_params=model_params,
                  rounds=np.arange(first_round, first_round + len(cap)), values=cap, family=family,
                  se=None if se is None else np.asarray(se, float),
                  n_items=None if n_items is None else np.asarray(n_items, float), origin=origin or series_id)


def select(series: list[Series], *, pure_self: bool = False) -> list[Series]:
    """The series that enter a fit: all, or (``pure_self``) those without an external judge or teacher."""
    return [s for s in series if not (pure_self and s.external)]


def pool(series: list[Series], *, transform: str | None = None, from_round: int | None = None, level: float = 0.9,
         method: str = "grid", seed: int = 0, loco: bool = True):
    """The pooled k of ``series`` (``rsilab.estimate.pooling.PooledK``), each on ``transform``'s
    scale (None: its default), from ``from_round`` on."""
    from rsilab.estimate.pooling import PooledK

    if len(series) < 2:
        raise DataError("evidence", f"{len(series)} series selected; pooling needs at least 2")
    levels = [s.levels(transform, from_round) for s in series]
    return PooledK(method=method, level=level, seed=seed, loco=loco).fit(
        levels, [s.family for s in series], [s.cluster for s in series], [s.series_id for s in series])
