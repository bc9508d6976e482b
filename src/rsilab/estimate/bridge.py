"""The bridge from estimates to forecasts: prior specs and the loader for saved fit files.

Owns the check that a prior dict is in the scenario TOML format the forecast engine reads
({"dist": "fixed", "value"} | uniform | loguniform | normal | lognormal | triangular |
empirical) and ``load_prior(path)``, which reads the JSON that ``rsilab fit rounds --json`` or
``rsilab fit rnd-returns --json`` wrote and returns its top-level ``{"quantity", "spec",
"source"}``. Imports json and our errors only (it must not import rsilab.simulate: the forecast
side depends on us, not the other way round).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rsilab.errors import DataError

SPEC_FIELDS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("mu", "sigma"),
    "triangular": ("low", "mode", "high"),
    "empirical": ("samples",),
}
OPTIONAL = {"normal": ("low", "high"), "lognormal": ("low", "high")}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def spec_problem(spec: Any) -> str | None:
    """None if ``spec`` is a valid prior spec, else what is wrong with it."""
    if not isinstance(spec, dict):
        return f"the spec must be an object, got {type(spec).__name__}"
    dist = spec.get("dist")
    if dist not in SPEC_FIELDS:
        return f"dist = {dist!r} is not one of {', '.join(SPEC_FIELDS)}"
    need = SPEC_FIELDS[dist]
    allowed = set(need) | set(OPTIONAL.get(dist, ())) | {"dist"}
    extra = sorted(set(spec) - allowed)
    if extra:
        return f"{dist} takes {', '.join(need)}; unexpected field(s) {extra}"
    for key in need:
        if key not in spec:
            return f"{dist} needs {key!r}"
    if dist == "empirical":
        xs = spec["samples"]
        if not isinstance(xs, list) or len(xs) < 2:
            return "empirical samples must be a list of at least 2 numbers"
        bad = next((i for i, x in enumerate(xs) if not _finite(x)), None)
        return None if bad is None else f"samples[{bad}] = {xs[bad]!r} is not a finite number"
    for key in set(spec) - {"dist"}:
        if not _finite(spec[key]):
            return f"{key} = {spec[key]!r} is not a finite number"
    if dist in ("uniform", "loguniform", "triangular") and spec["low"] > spec["high"]:
        return f"low ({spec['low']}) is above high ({spec['high']})"
    if dist == "loguniform" and spec["low"] <= 0:
        return "loguniform needs low > 0"
    if dist == "triangular" and not spec["low"] <= spec["mode"] <= spec["high"]:
        return "triangular needs low <= mode <= high"
    if dist == "normal" and spec["sd"] < 0 or dist == "lognormal" and spec["sigma"] < 0:
        return "the scale (sd or sigma) must be >= 0"
    return None


def make_prior(quantity: str, spec: dict[str, Any], source: str) -> dict[str, Any]:
    problem = spec_problem(spec)
    if problem:
        raise ValueError(f"internal: invalid prior spec for {quantity}: {problem}")
    return {"quantity": quantity, "spec": spec, "source": source}


def load_prior(path: str | Path) -> dict[str, Any]:
    """The prior stored in a saved fit (``--json`` output): {"quantity", "spec", "source"}.

    Accepts the whole fit JSON (uses its top-level "prior") or a bare prior object. Any problem
    raises DataError naming the file and what is wrong.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(str(p), "file not found (save a fit with: rsilab fit rounds ROUNDS.csv --json > FIT.json)")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(str(p), f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DataError(str(p), f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(doc, dict):
        raise DataError(str(p), "expected a JSON object with a \"prior\" key")
    prior = doc.get("prior", doc if "spec" in doc else None)
    if prior is None:
        raise DataError(str(p), "no \"prior\" key: is this the --json output of `rsilab fit rounds` or "
                                "`rsilab fit rnd-returns`?", column="prior")
    if not isinstance(prior, dict):
        raise DataError(str(p), "\"prior\" must be an object with quantity, spec and source", column="prior")
    for key in ("quantity", "spec", "source"):
        if key not in prior:
            raise DataError(str(p), f"the prior lacks {key!r}", column=f"prior.{key}")
    if not isinstance(prior["quantity"], str) or not prior["quantity"]:
        raise DataError(str(p), f"prior.quantity = {prior['quantity']!r} must be a non-empty name such as \"k\" or \"r\"",
                        column="prior.quantity")
    problem = spec_problem(prior["spec"])
    if problem:
        raise DataError(str(p), f"invalid prior spec: {problem}", column="prior.spec")
    return {"quantity": prior["quantity"], "spec": prior["spec"], "source": str(prior["source"])}
