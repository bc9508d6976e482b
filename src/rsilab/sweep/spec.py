"""A sweep file: which experiment, which profile, the grid of config fields and the fixed ones.

Owns reading and validating ``SWEEP.toml`` into a ``SweepSpec`` with its cells (the product of
the grid, in file order, with the fixed fields added). Every problem is one ``ConfigError``
naming the file, the field (``grid.d_model[2]``), the value and what is allowed; nothing runs
before the whole grid is valid. A grid axis is either a config field with a list of values, or
any name with a list of inline tables that set several fields together (a model size is
``{d_model = 32, d_ff = 128}``). Imports no torch and no Ray.
"""
from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsilab.errors import ConfigError
from rsilab.experiments.registry import get_experiment

MAX_CELLS_WITHOUT_YES = 10_000
TOP_KEYS = ("experiment", "profile", "grid", "fixed", "timeout_s")


@dataclass(frozen=True)
class SweepSpec:
    experiment: str
    profile: str
    grid: dict[str, list[Any]]
    fixed: dict[str, Any]
    timeout_s: float | None
    cells: list[dict[str, Any]]       # the fields each cell sets, grid and fixed together
    configs: list[Any]                # each cell's full, validated config (the experiment's config class)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "profile": self.profile, "grid": self.grid, "fixed": self.fixed,
                "timeout_s": self.timeout_s}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _check_value(where: str, name: str, value: Any, defaults: dict[str, Any], experiment: str, source: str) -> None:
    if name not in defaults:
        raise ConfigError(where, value, f"a field of {experiment}'s config: {', '.join(sorted(defaults))}",
                          source=source)
    want, got = _kind(defaults[name]), _kind(value)
    ok = want == got or (want == "float" and got == "int") or defaults[name] is None
    if not ok:
        article = "an" if want[0] in "aeiou" else "a"
        raise ConfigError(where, value, f"{article} {want}, like the profile's {defaults[name]!r}", source=source)


def load_spec(path: str | Path, *, yes: bool = False) -> SweepSpec:
    """Read and validate a sweep file; a ConfigError names the first problem."""
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("SWEEP.toml", source, f"a readable TOML file ({exc.strerror})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("SWEEP.toml", source, f"valid TOML ({exc})") from None
    return parse_spec(data, source=source, yes=yes)


def parse_spec(data: dict[str, Any], *, source: str = "sweep", yes: bool = False) -> SweepSpec:
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(key, data[key], f"one of the sweep file's keys: {', '.join(TOP_KEYS)}", source=source)
    if "experiment" not in data:
        raise ConfigError("experiment", None, "the name of an experiment (it is missing)", source=source)
    try:
        target = get_experiment(data["experiment"], field="experiment")
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, exc.allowed, source=source) from None
    profile = data.get("profile", "cpu")
    try:
        defaults = target.build(profile).to_dict() if isinstance(profile, str) else None
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, exc.allowed, source=source) from None
    if defaults is None:
        raise ConfigError("profile", profile, f"one of {target.name}'s profiles: {', '.join(target.profiles)}",
                          source=source)
    timeout = data.get("timeout_s")
    if timeout is not None and (_kind(timeout) not in ("int", "float") or not timeout > 0):
        raise ConfigError("timeout_s", timeout, "a number of seconds > 0 (each cell's time limit)", source=source)
    grid, fixed = data.get("grid"), data.get("fixed", {})
    if not isinstance(grid, dict) or not grid:
        raise ConfigError("grid", grid, "a [grid] table with at least one field and its list of values",
                          source=source)
    if not isinstance(fixed, dict):
        raise ConfigError("fixed", fixed, "a [fixed] table of field = value", source=source)
    name = target.name
    for key, value in fixed.items():
        _check_value(f"fixed.{key}", key, value, defaults, name, source)
    axes: list[list[dict[str, Any]]] = []
    seen: dict[str, str] = {k: f"fixed.{k}" for k in fixed}
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{axis}", values, "a non-empty list of values", source=source)
        points = []
        for i, value in enumerate(values):
            where = f"grid.{axis}[{i}]"
            if isinstance(value, dict):
                if not value:
                    raise ConfigError(where, value, "an inline table setting at least one field", source=source)
                for key, v in value.items():
                    _check_value(f"{where}.{key}", key, v, defaults, name, source)
                points.append(dict(value))
            else:
                _check_value(where if axis in defaults else f"grid.{axis}", axis, value, defaults, name, source)
                points.append({axis: value})
        for key in {k for p in points for k in p}:
            if key in seen:
                raise ConfigError(f"grid.{axis}", values, f"fields set once: {key!r} is also set by {seen[key]}",
                                  source=source)
            seen[key] = f"grid.{axis}"
        axes.append(points)
    n_cells = math.prod(len(a) for a in axes)
    if n_cells > MAX_CELLS_WITHOUT_YES and not yes:
        raise ConfigError("grid", f"{n_cells:,} cells",
                          f"at most {MAX_CELLS_WITHOUT_YES:,} cells without --yes", source=source)
    cells, configs = [], []
    for combo in itertools.product(*axes):
        cell = dict(fixed)
        for point in combo:
            cell.update(point)
        try:
            configs.append(target.build(profile, overrides=cell))
        except ConfigError as exc:
            field = exc.field if exc.field.partition("[")[0] in fixed else f"grid.{exc.field}"
            raise ConfigError(field, exc.value, f"{exc.allowed} (in cell {len(cells)}: {cell})",
                              source=source) from None
        cells.append(cell)
    return SweepSpec(name, profile, dict(grid), dict(fixed), None if timeout is None else float(timeout), cells,
                     configs, source)
