"""CSV loading for the estimators, with errors that name the file, the row and the column.

Owns: reading user-supplied CSV files (scaling data, R&D inputs and endpoints, self-improvement
rounds) into plain numpy arrays, and every check on their shape and values. Row numbers in
errors are 1-based data rows counted after the header line, as a spreadsheet shows them minus one.
Imports numpy and our errors only; never matplotlib, never torch.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from rsilab.errors import DataError


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file; a missing, empty or unreadable file is a DataError."""
    p = Path(path)
    if not p.is_file():
        raise DataError(str(p), "file not found")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = []
            for raw in reader:
                rows.append({(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()})
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(str(p), f"cannot read as CSV: {exc}") from None
    if not header:
        raise DataError(str(p), "empty file: expected a header line with column names")
    return header, rows


def pick_column(path: str | Path, header: Sequence[str], wanted: str | None, aliases: Iterable[str],
                role: str) -> str:
    """The column to use for ``role``: the one named by the user, else the first alias present."""
    if wanted is not None:
        if wanted not in header:
            raise DataError(str(path), f"no column {wanted!r} for {role}; columns are {list(header)}", column=wanted)
        return wanted
    for name in aliases:
        if name in header:
            return name
    names = list(aliases)
    raise DataError(str(path), f"missing column for {role}: expected one of {names} (or name it with an option); "
                               f"columns are {list(header)}", column=names[0])


def numeric_column(path: str | Path, rows: Sequence[dict[str, str]], column: str, *,
                   positive: bool = False, nonnegative: bool = False, why: str = "",
                   allow_empty: bool = False) -> np.ndarray:
    """One column as floats; NaN, text, and (if asked) non-positive values are errors naming the row."""
    out = np.empty(len(rows))
    for i, row in enumerate(rows, start=1):
        text = row.get(column, "")
        if text == "" and allow_empty:
            out[i - 1] = math.nan
            continue
        try:
            value = float(text)
        except ValueError:
            raise DataError(str(path), f"{text!r} is not a number", row=i, column=column) from None
        if not math.isfinite(value):
            raise DataError(str(path), f"{text!r} is not a finite number (NaN or infinity)", row=i, column=column)
        if positive and value <= 0:
            raise DataError(str(path), f"{value:g} must be > 0{why}", row=i, column=column)
        if nonnegative and value < 0:
            raise DataError(str(path), f"{value:g} must be >= 0{why}", row=i, column=column)
        out[i - 1] = value
    return out


def require_columns(path: str | Path, header: Sequence[str], columns: Sequence[str]) -> None:
    """Every one of ``columns`` is in the file's header, or a DataError names the first missing."""
    for col in columns:
        if col not in header:
            raise DataError(str(path), f"missing column {col!r}; columns are {header}", column=col)


def require_rows(path: str | Path, n: int, minimum: int, what: str) -> None:
    if n < minimum:
        raise DataError(str(path), f"too few rows: {n} {what}, at least {minimum} needed")


# -- the three file kinds ------------------------------------------------------------------

SCALING_ALIASES = {
    "params": ("params", "N", "n_params", "parameters", "Model Size", "model_size"),
    "tokens": ("tokens", "D", "n_tokens", "Training Tokens", "training_tokens"),
    "flop": ("compute_flop", "flop", "C", "Training FLOP", "training_flop"),
    "loss": ("loss", "L", "test_cross_entropy", "y"),
    "x": ("x", "training_dataset_size", "dataset_size", "compute_flop", "params", "N"),
    "split": ("split",),
}
_LOG_WHY = " (logs are taken of it)"


def load_scaling_chinchilla(path: str | Path, *, params_col: str | None = None, tokens_col: str | None = None,
                            flop_col: str | None = None, loss_col: str | None = None
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, D, L) from a scaling CSV. D comes from a tokens column, or from C / (6 N) with a FLOP column."""
    header, rows = read_table(path)
    n_col = pick_column(path, header, params_col, SCALING_ALIASES["params"], "model size N")
    l_col = pick_column(path, header, loss_col, SCALING_ALIASES["loss"], "loss")
    N = numeric_column(path, rows, n_col, positive=True, why=_LOG_WHY)
    L = numeric_column(path, rows, l_col, positive=True, why=_LOG_WHY)
    try:
        d_col = pick_column(path, header, tokens_col, SCALING_ALIASES["tokens"], "training tokens D")
        D = numeric_column(path, rows, d_col, positive=True, why=_LOG_WHY)
    except DataError:
        if tokens_col is not None:
            raise
        c_col = pick_column(path, header, flop_col, SCALING_ALIASES["flop"],
                            "training tokens D (or training FLOP C, with D = C / 6N)")
        D = numeric_column(path, rows, c_col, positive=True, why=_LOG_WHY) / (6.0 * N)
    require_rows(path, len(rows), 6, "data points for a 5-parameter law")
    return N, D, L


def load_scaling_xy(path: str | Path, *, x_col: str | None = None, loss_col: str | None = None,
                    split_col: str | None = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(x, y, split) for one-variable laws; split is a bool mask of rows to fit (None: all rows)."""
    header, rows = read_table(path)
    xc = pick_column(path, header, x_col, SCALING_ALIASES["x"], "the x variable (size, data or compute)")
    yc = pick_column(path, header, loss_col, SCALING_ALIASES["loss"], "loss")
    x = numeric_column(path, rows, xc, positive=True, why=_LOG_WHY)
    y = numeric_column(path, rows, yc, positive=True, why=_LOG_WHY)
    mask = None
    sc = "split" if split_col == "auto" and "split" in header else (None if split_col == "auto" else split_col)
    if sc is not None:
        if sc not in header:
            raise DataError(str(path), f"no column {sc!r}", column=sc)
        labels = [r.get(sc, "") for r in rows]
        for i, lab in enumerate(labels, start=1):
            if lab not in ("fit", "extrapolate", "holdout", ""):
                raise DataError(str(path), f"{lab!r} is not a split label (fit, extrapolate)", row=i, column=sc)
        mask = np.array([lab in ("fit", "") for lab in labels])
    return x, y, mask


def load_rnd_inputs(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """domain -> (year_index, research_input), sorted by year; duplicates and gaps are errors."""
    header, rows = read_table(path)
    require_columns(path, header, ("domain", "year_index", "research_input"))
    years = numeric_column(path, rows, "year_index")
    inputs = numeric_column(path, rows, "research_input", positive=True, why=_LOG_WHY)
    out: dict[str, tuple[list[float], list[float]]] = {}
    seen: dict[tuple[str, float], int] = {}
    for i, row in enumerate(rows, start=1):
        dom = row.get("domain", "")
        if not dom:
            raise DataError(str(path), "empty domain name", row=i, column="domain")
        key = (dom, years[i - 1])
        if key in seen:
            raise DataError(str(path), f"year {years[i - 1]:g} of {dom!r} repeats row {seen[key]}", row=i,
                            column="year_index")
        seen[key] = i
        out.setdefault(dom, ([], []))
        out[dom][0].append(years[i - 1])
        out[dom][1].append(inputs[i - 1])
    result = {}
    for dom, (ys, xs) in out.items():
        order = np.argsort(ys)
        result[dom] = (np.asarray(ys)[order], np.asarray(xs)[order])
    if not result:
        raise DataError(str(path), "no data rows")
    return result


def load_rnd_endpoints(path: str | Path) -> dict[str, tuple[float, float, float, float]]:
    """domain -> (t0, t1, efficiency_t0, efficiency_t1)."""
    header, rows = read_table(path)
    require_columns(path, header, ("domain", "t0", "t1", "efficiency_t0", "efficiency_t1"))
    t0 = numeric_column(path, rows, "t0")
    t1 = numeric_column(path, rows, "t1")
    e0 = numeric_column(path, rows, "efficiency_t0", positive=True, why=_LOG_WHY)
    e1 = numeric_column(path, rows, "efficiency_t1", positive=True, why=_LOG_WHY)
    out = {}
    for i, row in enumerate(rows, start=1):
        dom = row.get("domain", "")
        if not dom:
            raise DataError(str(path), "empty domain name", row=i, column="domain")
        if dom in out:
            raise DataError(str(path), f"domain {dom!r} appears twice", row=i, column="domain")
        if t1[i - 1] <= t0[i - 1]:
            raise DataError(str(path), f"t1 = {t1[i - 1]:g} must be after t0 = {t0[i - 1]:g}", row=i, column="t1")
        out[dom] = (float(t0[i - 1]), float(t1[i - 1]), float(e0[i - 1]), float(e1[i - 1]))
    if not out:
        raise DataError(str(path), "no data rows")
    return out


def load_efficiency_series(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """domain -> (year_index, efficiency) for a full efficiency time series."""
    header, rows = read_table(path)
    require_columns(path, header, ("domain", "year_index", "efficiency"))
    years = numeric_column(path, rows, "year_index")
    eff = numeric_column(path, rows, "efficiency", positive=True, why=_LOG_WHY)
    out: dict[str, dict[float, float]] = {}
    for i, row in enumerate(rows, start=1):
        dom = row.get("domain", "")
        if years[i - 1] in out.setdefault(dom, {}):
            raise DataError(str(path), f"year {years[i - 1]:g} of {dom!r} appears twice", row=i, column="year_index")
        out[dom][years[i - 1]] = eff[i - 1]
    return {d: (np.array(sorted(v)), np.array([v[k] for k in sorted(v)])) for d, v in out.items()}


def load_rounds(path: str | Path, table: tuple[list[str], list[dict[str, str]]] | None = None,
                ) -> dict[str, np.ndarray | None]:
    """round, capability and the optional columns, sorted by round; duplicates are errors.

    Optional: ``se`` (each capability's standard error) or ``n_items`` (the benchmark's size, for
    a proportion), the measurement noise; ``compute_flop`` and ``seconds``, each round's cost.
    ``table``: (header, rows) read elsewhere (a stored run's, as ``experiment export`` writes it);
    ``path`` then only names it in errors."""
    header, rows = read_table(path) if table is None else table
    require_columns(path, header, ("round", "capability"))
    rnd = numeric_column(path, rows, "round")
    cap = numeric_column(path, rows, "capability")
    seen: dict[float, int] = {}
    for i, r in enumerate(rnd, start=1):
        if r in seen:
            raise DataError(str(path), f"round {r:g} appears twice (first at row {seen[r]})", row=i, column="round")
        seen[r] = i
    out: dict[str, np.ndarray | None] = {"round": rnd, "capability": cap}
    why = {"compute_flop": " (a cost per round)", "seconds": " (a cost per round)",
           "se": " (a standard error)", "n_items": " (the benchmark's number of items)"}
    for opt, reason in why.items():
        # an optional column left empty throughout (as `rsilab experiment export` writes an
        # unknown cost) is absent; a partly empty one is an error naming the row
        present = opt in header and any(row.get(opt, "") != "" for row in rows)
        out[opt] = numeric_column(path, rows, opt, positive=True, why=reason) if present else None
    if out["se"] is not None and out["n_items"] is not None:
        raise DataError(str(path), "both se and n_items are given: the noise comes from one of them "
                                   "(se for any metric, n_items for a proportion)", column="n_items")
    order = np.argsort(rnd)
    return {k: (v[order] if v is not None else None) for k, v in out.items()}
