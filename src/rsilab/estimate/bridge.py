"""The bridge from estimates to forecasts: prior specs and the loader for saved fit files.

Owns ``make_prior`` and ``load_prior(path)``, which reads the JSON that ``rsilab fit rounds
--json`` or ``rsilab fit rnd-returns --json`` wrote and returns its top-level ``{"quantity",
"spec", "source"}``. Whether a spec is valid is decided by the forecast engine's own parser
(``rsilab.core.priors``, a leaf module), so the two can never disagree about the format.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rsilab.errors import ConfigError, DataError

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
