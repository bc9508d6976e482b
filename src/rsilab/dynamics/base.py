"""The model contract: a model is declared data (parameters, state, options) plus pure functions.

Every model integrates the natural log of capability as its first state variable, so that
trajectories spanning dozens of orders of magnitude stay well conditioned and thresholds are
simple comparisons. ``rhs`` works on whole arrays of samples at once: ``y`` has shape
``(n_state, n)`` and each parameter is an array of shape ``(n,)``. Models never do I/O and
never choose a solver. Imports nothing of ours but errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from rsilab.errors import ConfigError

Params = Mapping[str, np.ndarray]

# "Returns about 1": |returns - 1| <= RETURNS_TOLERANCE counts as steady (combustion), above as
# explosion, below as fizzle. Every returns quantity here (k, p, r, p_eff, k_eff) has its
# critical value at 1, and the forecast's regime rule and the estimators' verdicts share this
# one band, so a fitted k and a forecast drawn from its prior use the same word for the same
# value. 0.02: a gain ratio within 2% of 1 changes gains by at most 1.02^10 - 1 = 22% over ten
# rounds, and a path's growth rate by at most 2% per e-fold of capability.
RETURNS_TOLERANCE = 0.02


@dataclass(frozen=True)
class Param:
    """One model parameter: allowed range [low, high] (inclusive), default and meaning."""

    name: str
    unit: str
    low: float
    high: float
    default: float
    meaning: str

    def check(self, values: np.ndarray | float, *, field_path: str | None = None) -> None:
        arr = np.asarray(values, dtype=float)
        where = field_path or f"params.{self.name}"
        if np.isnan(arr).any():
            raise ConfigError(where, float("nan"), f"a number in [{self.low}, {self.high}] ({self.unit})")
        bad = (arr < self.low) | (arr > self.high)
        if bad.any():
            value = float(arr[bad].flat[0])
            raise ConfigError(
                where, value,
                f"{self.name} ({self.meaning}) must lie in [{self.low:g}, {self.high:g}] {self.unit}".rstrip(),
            )


@dataclass(frozen=True)
class Option:
    """A non-numeric model choice, such as the shape of a returns curve."""

    name: str
    choices: tuple[str, ...]
    default: str
    meaning: str


class Model:
    """Base class: subclasses set the class attributes and implement ``rhs`` (and ``initial``)."""

    name: str = ""
    summary: str = ""
    state: tuple[str, ...] = ("ln_capability",)
    params: tuple[Param, ...] = ()
    options: tuple[Option, ...] = ()
    # The parameter an estimated returns prior (from `rsilab fit`) replaces, if any.
    returns_param: str | None = None

    def __init__(self, choice: Mapping[str, str] | None = None):
        self.choice = dict(choice or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.choice})"

    # -- declared data ---------------------------------------------------------------------
    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def with_options(self, **choices: str) -> "Model":
        """A copy with options set; unknown options or values are ConfigErrors."""
        known = {o.name: o for o in self.options}
        merged = {o.name: o.default for o in self.options}
        for key, value in choices.items():
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ConfigError(f"model.{key}", value, f"an option of model {self.name!r} ({allowed})")
            if value not in known[key].choices:
                raise ConfigError(f"model.{key}", value, f"one of {', '.join(known[key].choices)}")
            merged[key] = value
        return type(self)(choice=merged)

    def opt(self, name: str) -> str:
        if name in self.choice:
            return self.choice[name]
        return next(o.default for o in self.options if o.name == name)

    # -- dynamics (override) ---------------------------------------------------------------
    def initial(self, p: Params) -> np.ndarray:
        """State at t = 0, shape (n_state, n). Default: ln I0 from parameter ``I0`` (or 0)."""
        n = len(next(iter(p.values())))
        i0 = p["I0"] if "I0" in p else np.ones(n)
        return np.log(i0)[None, :].copy()

    def rhs(self, t: float, y: np.ndarray, p: Params) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, p: Params) -> dict[str, np.ndarray]:
        """Parameters plus any per-sample arrays derived from them once before solving (keys
        starting with '_'), so ``rhs`` does not recompute them at every stage."""
        return dict(p)

    def ln_ceiling(self, p: Params) -> np.ndarray | None:
        """ln of the capability ceiling per sample, or None when the model has none."""
        return None

    def sample_outputs(self, sol: Any, p: Params) -> dict[str, np.ndarray]:
        """Extra per-sample outputs (``sol`` is the solver's Solution). Boolean arrays are
        summarised as probabilities with standard errors, numbers as quantiles."""
        return {}

    def grid_outputs(self, sol: Any, p: Params) -> dict[str, np.ndarray]:
        """Extra per-sample series on the output grid, shape (n, g); summarised as means over
        samples at each time (e.g. the probability of escape by time t)."""
        return {}

    def check_params(self, p: Params) -> None:
        """Cross-parameter constraints (single ranges are checked by ``Param.check``)."""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "state": list(self.state),
            "params": [p.__dict__ for p in self.params],
            "options": [o.__dict__ for o in self.options],
        }


INF = math.inf
