"""Scenarios: a TOML file naming a model, priors over its parameters and simulation settings.

    [model]        name = "returns", plus the model's options (e.g. form = "discrete")
    [params]       name = number | { dist = "...", ... }   (unlisted parameters take defaults)
    [simulation]   n_samples, horizon_years, seed, n_grid, rtol, atol, max_steps, cap_multiple,
                   regime_tolerance, ceiling_factor, regime_phase ("late" or "early")
    [thresholds]   capability_multiples = [10, 1000]
    [[correlations]] params = ["a", "b"], rho = 0.3
    [meta]         title, description, sources (free text, kept with the run); name, the
                   scenario's name (default: the file's name without .toml, or the preset's)

Every problem is a ConfigError naming the field, the value and what is allowed: unknown keys
and parameter names are errors, never ignored. Imports dynamics, priors, solver settings.
"""
from __future__ import annotations

import math
import sys
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from rsilab.core.priors import Prior, parse_prior
from rsilab.core.tolerances import RETURNS_TOLERANCE
from rsilab.dynamics import MODELS, Model
from rsilab.errors import ConfigError
from rsilab.simulate.solver import SolverSettings

TOP_LEVEL = {"model", "params", "simulation", "thresholds", "correlations", "meta"}
SIMULATION_FIELDS: dict[str, tuple[type, float, float]] = {
    # name: (type, low, high)
    "n_samples": (int, 1, 50_000_000),
    "horizon_years": (float, 1e-6, 1e4),
    "seed": (int, 0, 2**63 - 1),
    "n_grid": (int, 2, 10_001),
    "rtol": (float, 1e-13, 1e-1),
    "atol": (float, 1e-15, 1e-1),
    "max_steps": (int, 10, 10_000_000),
    "cap_multiple": (float, 1.0 + 1e-9, 1e300),
    "regime_tolerance": (float, 0.0, 1.0),
    "ceiling_factor": (float, 1.0, 1e6),
    "regime_phase": (str, 0, 0),
}
REGIME_PHASES = ("late", "early")
DEFAULT_SIMULATION = {"n_samples": 100_000, "horizon_years": 20.0, "seed": 0, "n_grid": 101,
                      "rtol": 1e-6, "atol": 1e-9, "max_steps": 20_000, "cap_multiple": 1e15,
                      "regime_tolerance": RETURNS_TOLERANCE, "ceiling_factor": 2.0, "regime_phase": "late"}
META_FIELDS = {"name", "title", "description", "sources"}
MAX_NAME_CHARS = 80


@dataclass(frozen=True)
class Scenario:
    name: str
    model: Model
    priors: Mapping[str, Prior]
    correlations: Mapping[tuple[str, str], float]
    simulation: Mapping[str, Any]
    capability_multiples: tuple[float, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    @property
    def n_samples(self) -> int:
        return int(self.simulation["n_samples"])

    @property
    def seed(self) -> int:
        return int(self.simulation["seed"])

    @property
    def horizon_years(self) -> float:
        return float(self.simulation["horizon_years"])

    @property
    def solver_settings(self) -> SolverSettings:
        s = self.simulation
        return SolverSettings(rtol=s["rtol"], atol=s["atol"], max_steps=s["max_steps"], cap_multiple=s["cap_multiple"])

    def with_simulation(self, **changes: Any) -> "Scenario":
        sim = dict(self.simulation)
        for key, value in changes.items():
            if value is not None:
                sim[key] = _check_sim(key, value, self.source)
        return replace(self, simulation=sim)

    def with_prior(self, name: str, spec: Any, *, origin: str) -> "Scenario":
        if name not in self.model.param_names:
            raise ConfigError("params", name, f"a parameter of model {self.model.name!r}", source=origin)
        prior = parse_prior(f"params.{name}", spec, source=origin)
        _check_support(self.model, name, prior, origin)
        return replace(self, priors={**self.priors, name: prior})

    def to_dict(self) -> dict[str, Any]:
        """A TOML-shaped dict: what is stored with a run, and enough to re-run it."""
        return {
            "model": {"name": self.model.name, **dict(self.model.choice)},
            "params": {k: p.to_spec() for k, p in self.priors.items()},
            "simulation": dict(self.simulation),
            "thresholds": {"capability_multiples": list(self.capability_multiples)},
            "correlations": [{"params": [a, b], "rho": r} for (a, b), r in self.correlations.items()],
            "meta": dict(self.meta),
        }


def _check_sim(key: str, value: Any, source: str | None) -> Any:
    if key not in SIMULATION_FIELDS:
        raise ConfigError(f"simulation.{key}", value, f"one of {', '.join(SIMULATION_FIELDS)}", source=source)
    kind, lo, hi = SIMULATION_FIELDS[key]
    if kind is str:
        if value not in REGIME_PHASES:
            raise ConfigError(f"simulation.{key}", value, f"one of {', '.join(REGIME_PHASES)}", source=source)
        return value
    ok_type = isinstance(value, int) if kind is int else isinstance(value, (int, float))
    # abs(value) <= float max first: an integer too large for a float is not finite either
    if isinstance(value, bool) or not ok_type or (kind is float and not abs(value) <= sys.float_info.max) or (
            kind is float and not math.isfinite(value)):
        raise ConfigError(f"simulation.{key}", value, f"{'a whole number' if kind is int else 'a number'} in [{lo:g}, {hi:g}]",
                          source=source)
    if not lo <= value <= hi:
        raise ConfigError(f"simulation.{key}", value, f"a number in [{lo:g}, {hi:g}]", source=source)
    return kind(value)


def _check_support(model: Model, name: str, prior: Prior, source: str | None) -> None:
    param = model.param(name)
    lo, hi = prior.support
    if lo < param.low or hi > param.high:
        which = "low" if lo < param.low else "high"
        value = lo if lo < param.low else hi
        field_name = f"params.{name}" if prior.dist == "fixed" else f"params.{name}.{which}"
        if prior.dist in ("normal", "lognormal") and not math.isfinite(value):
            allowed = (f"a prior inside [{param.low:g}, {param.high:g}]: truncate {prior.dist} with low/high")
        else:
            allowed = f"{name} ({param.meaning}) must lie in [{param.low:g}, {param.high:g}] {param.unit}".rstrip()
        raise ConfigError(field_name, value, allowed, source=source)


def parse_scenario(data: Mapping[str, Any], *, name: str = "scenario", source: str | None = None) -> Scenario:
    for key in data:
        if key not in TOP_LEVEL:
            raise ConfigError(key, data[key] if not isinstance(data[key], Mapping) else "{...}",
                              f"a top-level table: {', '.join(sorted(TOP_LEVEL))}", source=source)
    model_table = data.get("model")
    if not isinstance(model_table, Mapping) or "name" not in model_table:
        raise ConfigError("model.name", None, f"a [model] table with name = one of {', '.join(sorted(MODELS))}",
                          source=source)
    model_name = model_table["name"]
    if not isinstance(model_name, str) or model_name not in MODELS:
        raise ConfigError("model.name", model_name, f"one of {', '.join(sorted(MODELS))}", source=source)
    options = {k: v for k, v in model_table.items() if k != "name"}
    try:
        model = MODELS[model_name]().with_options(**options)
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, exc.allowed, source=source) from None

    params_table = data.get("params", {})
    if not isinstance(params_table, Mapping):
        raise ConfigError("params", params_table, "a table of parameter = prior", source=source)
    priors: dict[str, Prior] = {p.name: Prior("fixed", {"value": p.default}) for p in model.params}
    for pname, spec in params_table.items():
        if pname not in priors:
            raise ConfigError(f"params.{pname}", spec, f"a parameter of model {model_name!r}: {', '.join(model.param_names)}",
                              source=source)
        prior = parse_prior(f"params.{pname}", spec, source=source)
        _check_support(model, pname, prior, source)
        priors[pname] = prior

    sim_table = data.get("simulation", {})
    if not isinstance(sim_table, Mapping):
        raise ConfigError("simulation", sim_table, "a table", source=source)
    simulation = dict(DEFAULT_SIMULATION)
    for key, value in sim_table.items():
        simulation[key] = _check_sim(key, value, source)

    thr_table = data.get("thresholds", {})
    if not isinstance(thr_table, Mapping):
        raise ConfigError("thresholds", thr_table, "a table with capability_multiples = [...]", source=source)
    for key in thr_table:
        if key != "capability_multiples":
            raise ConfigError(f"thresholds.{key}", thr_table[key], "only capability_multiples", source=source)
    multiples = thr_table.get("capability_multiples", [10, 1000])
    if not isinstance(multiples, list) or not multiples:
        raise ConfigError("thresholds.capability_multiples", multiples, "a non-empty list of numbers > 1", source=source)
    for i, m in enumerate(multiples):
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not (1 < m < simulation["cap_multiple"]):
            raise ConfigError(f"thresholds.capability_multiples[{i}]", m,
                              f"a number > 1 and below simulation.cap_multiple ({simulation['cap_multiple']:g})", source=source)

    corr = _parse_correlations(data.get("correlations", []), model, priors, source)
    meta = data.get("meta", {})
    if not isinstance(meta, Mapping) or set(meta) - META_FIELDS:
        bad = sorted(set(meta) - META_FIELDS) if isinstance(meta, Mapping) else meta
        raise ConfigError("meta", bad, f"a table with only {', '.join(sorted(META_FIELDS))}", source=source)
    if "name" in meta:
        if not isinstance(meta["name"], str) or not 0 < len(meta["name"].strip()) <= MAX_NAME_CHARS:
            raise ConfigError("meta.name", meta["name"], f"the scenario's name: text of 1 to {MAX_NAME_CHARS} characters",
                              source=source)
        name = meta["name"].strip()
    scenario = Scenario(name, model, priors, corr, simulation, tuple(float(m) for m in multiples), dict(meta), source)
    return scenario


def _parse_correlations(items: Any, model: Model, priors: Mapping[str, Prior], source: str | None):
    if not isinstance(items, list):
        raise ConfigError("correlations", items, "an array of tables [[correlations]] params = [a, b], rho = r",
                          source=source)
    out: dict[tuple[str, str], float] = {}
    for i, item in enumerate(items):
        where = f"correlations[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"params", "rho"}:
            raise ConfigError(where, item, "a table with exactly params = [a, b] and rho", source=source)
        pair, rho = item["params"], item["rho"]
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair) and pair[0] != pair[1]):
            raise ConfigError(f"{where}.params", pair, "two different parameter names", source=source)
        for pname in pair:
            if pname not in model.param_names:
                raise ConfigError(f"{where}.params", pname, f"a parameter of model {model.name!r}", source=source)
            if priors[pname].is_fixed:
                raise ConfigError(f"{where}.params", pname, "a parameter with a non-fixed prior", source=source)
        if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not -1 < rho < 1:
            raise ConfigError(f"{where}.rho", rho, "a number strictly between -1 and 1", source=source)
        key = (pair[0], pair[1])
        if key in out or key[::-1] in out:
            raise ConfigError(f"{where}.params", pair, "a pair not already correlated", source=source)
        out[key] = float(rho)
    return out


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("scenario", str(path), "an existing TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("scenario", str(path), f"a readable UTF-8 TOML file ({exc.__class__.__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("scenario", str(path), f"valid TOML ({exc})") from None
    return parse_scenario(data, name=path.stem, source=str(path))


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("rsilab.presets").iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> Scenario:
    names = preset_names()
    if name not in names:
        raise ConfigError("preset", name, f"one of {', '.join(names)}")
    text = resources.files("rsilab.presets").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(tomllib.loads(text), name=name, source=f"preset {name}")
