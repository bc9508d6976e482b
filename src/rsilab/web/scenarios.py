"""Scenarios as the playground moves them: request bodies, versioned permalinks and TOML.

A request carries ``{"name": ..., "scenario": {...}}`` where the scenario is the TOML-shaped
dict of ``Scenario.to_dict()``; the engine's own parser (``parse_scenario``) validates it, so
the page shows the engine's messages. A permalink holds the same pair, versioned: ``v=1`` is
base64url(zlib(JSON)); a later scheme adds a decoder here and keeps this one, so old links
still open. ``to_toml`` writes what ``rsilab simulate FILE.toml`` reads back unchanged.
A request names the scenario it started from (a preset's name); ``edited_name`` says what was
changed from that preset ("default, r edited"), the name a run is recorded under, and
``file_name`` is the same as a file name ("default-r-edited"). Imports the scenario parser and
our errors only.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any, Mapping

from rsilab.core.toml_text import toml_key, toml_value
from rsilab.errors import ConfigError

PERMALINK_VERSION = 1
MAX_PERMALINK_CHARS = 64_000
MAX_NAME_CHARS = 80
# a page run is interactive: more samples than this belong in `rsilab simulate`
MAX_WEB_SAMPLES = 2_000_000
_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,80}$")


def parse_request(body: Any):
    """The Scenario a request body describes; ConfigError naming the field otherwise."""
    from rsilab.simulate.scenario import parse_scenario

    if not isinstance(body, Mapping):
        raise ConfigError("request", type(body).__name__, 'a JSON object {"name": ..., "scenario": {...}}')
    unknown = sorted(set(body) - {"name", "scenario"})
    if unknown:
        raise ConfigError(unknown[0], "...", 'only "name" and "scenario"')
    name = body.get("name", "scenario")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError("name", name, "1 to 80 letters, digits, '_', '-', '.' or '+'")
    data = body.get("scenario")
    if not isinstance(data, Mapping):
        raise ConfigError("scenario", data, "a table with [model], [params], [simulation], ...")
    scenario = parse_scenario(data, name=name)
    if scenario.n_samples > MAX_WEB_SAMPLES:
        raise ConfigError("simulation.n_samples", scenario.n_samples,
                          f"at most {MAX_WEB_SAMPLES:,} in the playground (use `rsilab simulate` for more)")
    return scenario


# simulation settings that choose how a run is done, not what is simulated: changing them does
# not make an edited scenario (the runs list shows samples and seed in columns of their own)
RUN_SETTINGS = ("n_samples", "seed")


def edited_name(scenario) -> str:
    """``scenario.name``, or, for a scenario that started as a preset and differs from it, that
    name with what differs: "default, r edited", "sie, r0 and horizon edited",
    "default, r, c and 2 more edited"."""
    from rsilab.simulate.scenario import load_preset, preset_names

    if scenario.name not in preset_names():
        return scenario.name
    mine, base = scenario.to_dict(), load_preset(scenario.name).to_dict()
    if mine["model"] != base["model"]:
        return f"{scenario.name}, model edited"
    changed = [k for k in mine["params"] if mine["params"][k] != base["params"].get(k)]
    changed += ["horizon" if k == "horizon_years" else k for k in mine["simulation"]
                if k not in RUN_SETTINGS and mine["simulation"][k] != base["simulation"].get(k)]
    changed += [k for k in ("thresholds", "correlations") if mine[k] != base[k]]
    if not changed:
        return scenario.name
    if len(changed) > 3:
        shown = f"{', '.join(changed[:2])} and {len(changed) - 2} more"
    elif len(changed) > 1:
        shown = f"{', '.join(changed[:-1])} and {changed[-1]}"
    else:
        shown = changed[0]
    return f"{scenario.name}, {shown} edited"


def file_name(scenario) -> str:
    """The scenario's name (``edited_name``) as a file name: letters, digits and "_.+-" only."""
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9_.+-]", "-", edited_name(scenario))).strip("-") or "scenario"


def compact(scenario) -> dict[str, Any]:
    """``scenario.to_dict()`` without the parameters left at the model's default (a fixed value):
    they take it again when parsed, and a default may be infinite, which neither JSON nor the
    scenario parser accepts as a value."""
    data = scenario.to_dict()
    data["params"] = {k: spec for k, spec in data["params"].items()
                      if spec != {"dist": "fixed", "value": scenario.model.param(k).default}}
    return data


def encode_permalink(name: str, scenario: Mapping[str, Any]) -> str:
    raw = json.dumps({"name": name, "scenario": scenario}, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return base64.urlsafe_b64encode(zlib.compress(raw.encode(), 9)).decode().rstrip("=")


def decode_permalink(version: Any, code: Any) -> dict[str, Any]:
    """The request body a permalink holds (not yet validated: ``parse_request`` does that)."""
    if str(version) != str(PERMALINK_VERSION):
        raise ConfigError("v", version, f"a permalink version this rsilab reads ({PERMALINK_VERSION})")
    if not isinstance(code, str) or not code or len(code) > MAX_PERMALINK_CHARS:
        raise ConfigError("s", (code or "")[:20] if isinstance(code, str) else code,
                          f"a permalink code of 1 to {MAX_PERMALINK_CHARS:,} characters")
    try:
        raw = zlib.decompressobj().decompress(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)), 1_000_000)
        body = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError, RecursionError):
        raise ConfigError("s", code[:20] + ("..." if len(code) > 20 else ""), "a permalink made by rsilab (v=1)") from None
    if not isinstance(body, dict):
        raise ConfigError("s", code[:20], "a permalink made by rsilab (v=1)")
    return body


def _value(v: Any) -> str:
    try:
        return toml_value(v)
    except TypeError:
        raise ConfigError("scenario", type(v).__name__, "numbers, strings, lists and tables only") from None


def to_toml(scenario: Mapping[str, Any]) -> str:
    """A scenario dict (``Scenario.to_dict()``) as a TOML file that parses back to the same run."""
    out: list[str] = []
    for table in ("meta", "model", "params", "simulation", "thresholds"):
        items = scenario.get(table) or {}
        if not items:
            continue
        out.append(f"[{table}]")
        for k, v in items.items():
            if table == "params" and isinstance(v, Mapping) and v.get("dist") == "fixed" and set(v) == {"dist", "value"}:
                v = v["value"]
            out.append(f"{toml_key(k)} = {_value(v)}")
        out.append("")
    for corr in scenario.get("correlations") or []:
        out += ["[[correlations]]", f"params = {_value(list(corr['params']))}", f"rho = {_value(corr['rho'])}", ""]
    return "\n".join(out)
