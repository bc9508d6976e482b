"""The bridge from estimates to forecasts: prior specs, saved fit files, and which model
parameter a measured returns prior replaces.

Owns ``make_prior`` (the one constructor of {"quantity", "spec", "source"}, used by every
estimator's ``to_prior``), ``load_prior(path)``, which reads the JSON that ``rsilab fit rounds
--json`` or ``rsilab fit rnd-returns --json`` wrote, and ``apply_returns_prior``, which puts such
a prior into a scenario at the parameter its model declares as ``Model.returns_param``.

Whether a spec is valid is decided by the forecast engine's own parser (``rsilab.core.priors``,
a leaf module), so the two can never disagree about the format. This module may import rsilab.dynamics (models declare their returns
parameter there) and never rsilab.cli; scenarios are taken as given (duck-typed: ``.model``,
``.with_prior``), and a preset is loaded through the ``load_preset`` the caller passes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from rsilab.errors import ConfigError, DataError

# What each declared returns parameter measures, i.e. the quantity a fit must be of to replace
# it. r: returns to R&D, r = lambda / beta (`rsilab fit rnd-returns`); r0 is that same r at the
# start of a run whose returns then fall toward effective limits (software_rnd). k: the ratio
# of successive gains per round (`rsilab fit rounds`). p: the exponent of dI/dt = c I^p, which
# no estimator here measures yet (a prior file of quantity "p" still feeds it). software_returns
# (ftm) is r too: software grows as cumulative R&D input to that power, so with input growing
# at g_I software grows at r g_I, the growth ratio `fit rnd-returns` measures. A model whose
# returns parameter is missing here is caught by tests/test_bridge_forecast.py.
RETURNS_QUANTITY = {"r": "r", "r0": "r", "k": "k", "p": "p", "software_returns": "r"}

# Without a named scenario, a fit of each quantity drives the shipped scenario built for it.
DEFAULT_PRESET = {"r": "default", "k": "criticality-discrete", "p": "criticality-continuous"}


def spec_problem(spec: Any) -> str | None:
    """None if ``spec`` is a prior spec the forecast engine accepts, else what is wrong with it.

    The engine's own parser decides (one definition of the format, in rsilab.core.priors).
    """
    from rsilab.core.priors import parse_prior

    if not isinstance(spec, dict):
        return f"the spec must be an object, got {type(spec).__name__}"
    try:
        parse_prior("prior", spec)
    except ConfigError as exc:
        return str(exc)
    return None


def make_prior(quantity: str, spec: dict[str, Any], source: str) -> dict[str, Any]:
    """A prior as fits save it; an invalid spec here is a bug in the estimator, not user input."""
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
        raise DataError(str(p), "no \"prior\" key: is this the --json output of an `rsilab fit` or "
                                "`rsilab evidence fit` command?")
    if not isinstance(prior, dict):
        raise DataError(str(p), "key \"prior\": must be an object with quantity, spec and source")
    for key in ("quantity", "spec", "source"):
        if key not in prior:
            raise DataError(str(p), f"key \"prior\": it lacks {key!r}")
    if not isinstance(prior["quantity"], str) or not prior["quantity"]:
        raise DataError(str(p), f"key \"prior.quantity\" = {prior['quantity']!r}: a non-empty name such as \"k\" or \"r\"")
    problem = spec_problem(prior["spec"])
    if problem:
        raise DataError(str(p), f"key \"prior.spec\": invalid prior spec: {problem}")
    return {"quantity": prior["quantity"], "spec": prior["spec"], "source": str(prior["source"])}


def returns_target(model: Any, quantity: str) -> str | None:
    """The parameter of ``model`` that a measured prior on ``quantity`` replaces: its declared
    ``returns_param`` when that measures ``quantity``; None otherwise."""
    param = model.returns_param
    if param is None:
        return None
    if param not in RETURNS_QUANTITY:
        raise ValueError(f"internal: model {model.name!r} declares returns_param {param!r}, "
                         "which RETURNS_QUANTITY does not list")
    return param if RETURNS_QUANTITY[param] == quantity else None


def apply_returns_prior(scenario: Any, prior: dict[str, Any], *, origin: str, explicit: bool,
                        load_preset: Callable[[str], Any]) -> tuple[Any, str, float]:
    """The scenario with its model's returns parameter drawn from ``prior``, that parameter, and
    the share of the prior's draws moved into the parameter's declared range (``_within_domain``).

    ``explicit``: the user named the scenario; a model whose returns parameter measures another
    quantity is then a ConfigError naming both. Otherwise the shipped scenario for the prior's
    quantity is used (``DEFAULT_PRESET``) when the given one does not take it.
    """
    quantity = prior["quantity"]
    if quantity not in DEFAULT_PRESET:
        raise ConfigError("--returns-from", origin, f"a fit of one of {', '.join(sorted(DEFAULT_PRESET))} "
                                                    f"(a returns quantity); this fit is of {quantity!r}")
    param = returns_target(scenario.model, quantity)
    if param is None:
        if explicit:
            declared = scenario.model.returns_param
            what = (f"its returns parameter is {declared!r}, which measures {RETURNS_QUANTITY[declared]!r}"
                    if declared else "it declares no returns parameter")
            raise ConfigError("--returns-from", origin,
                              f"a fit of the quantity model {scenario.model.name!r} takes ({what}); "
                              f"this fit is of {quantity!r}")
        scenario = load_preset(DEFAULT_PRESET[quantity])
        param = returns_target(scenario.model, quantity)
        assert param is not None, f"preset {DEFAULT_PRESET[quantity]!r} does not take {quantity!r}"
    spec, clipped = _within_domain(prior["spec"], scenario.model.param(param))
    return scenario.with_prior(param, spec, origin=origin), param, clipped


def _within_domain(spec: dict[str, Any], declared: Any) -> tuple[dict[str, Any], float]:
    """An empirical spec with its draws moved to the nearest bound of the parameter's declared
    range, and the share of draws moved.

    Measured draws can lie outside a model's domain: a ratio of successive gains below 0 (a gain
    followed by a loss) has no place in a model whose k is a gain ratio in [0, 10]. Setting such
    a draw to the bound (k = 0: no further gains) keeps the share of draws above any value
    inside the range, P(k > 1) included, which dropping the draws would not. Other specs are
    left to the engine's own range check.
    """
    if spec.get("dist") != "empirical":
        return spec, 0.0
    samples = [float(v) for v in spec["samples"]]
    moved = sum(1 for v in samples if v < declared.low or v > declared.high)
    if not moved:
        return spec, 0.0
    inside = [min(max(v, declared.low), declared.high) for v in samples]
    return dict(spec, samples=inside), moved / len(samples)
