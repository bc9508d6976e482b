"""The model contract: a model is declared data (parameters, state, options) plus pure functions.

Three kinds, and a solver reads only what a kind declares (it never probes for methods):
- ``OdeModel``: ``rhs(t, y, p)``, the time derivative of the state, and ``live_states(p)``
  when a sample's trailing states are padding with derivative 0; and, for the compiled
  integrator, the same right-hand side for one sample (``rhs_one``) with the parameters it
  reads (``kernel_params``);
- ``MapModel``: a discrete-step map, ``step``, ``step_years`` and ``alive``, and
  ``gain_state`` when the map carries each step's gain as a state;
- ``OutcomeModel``: ``evaluate(p, t_grid, keep_rows)``, each sample's outcomes computed in
  closed form or by the model's own vectorised routine, with no solver: the per-sample
  ``metrics`` and grid ``series`` it declares. It has no capability path, so it has no
  regimes (explosion, combustion, fizzle, ceiling are read off a capability path); its
  summary carries its declared metrics instead, and ``regimes`` says in words why there are
  none for it.
A model with two forms (chosen by an option) derives from both and says which applies
through ``kind``.

Every ODE and map model integrates the natural log of capability as its first state variable,
so that trajectories spanning dozens of orders of magnitude stay well conditioned and
thresholds are simple comparisons. ``rhs`` works on whole arrays of samples at once: ``y`` has shape
``(n_state, n)`` and each parameter is an array of shape ``(n,)``. A model's one-sample forms
(``rhs_one``) are plain Python on floats that ``rsilab.simulate`` compiles; models never
import a compiler. Models never do I/O and never choose a solver. Imports nothing of ours but
errors and core.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from rsilab.errors import ConfigError

Params = Mapping[str, np.ndarray]


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
    """What every model declares; derive from ``OdeModel``, ``MapModel`` (or both) or ``OutcomeModel``."""

    kind: str = ""  # "ode", "map" or "outcome": the solver this model (with its options) needs
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

    # What ``admissible`` requires, in words (the Monte Carlo's message when no draw passes).
    admissible_means: str = "every draw"

    def admissible(self, p: Params) -> np.ndarray:
        """Which samples the model admits, (n,) booleans: a condition on the prior, such as what
        is already known at the start. The Monte Carlo replaces each draw it rejects with a
        later one (see ``draw_parameters``); parameters supplied directly are not filtered."""
        return np.ones(len(next(iter(p.values()))), dtype=bool)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "state": list(self.state),
            "params": [p.__dict__ for p in self.params],
            "options": [o.__dict__ for o in self.options],
        }


class OdeModel(Model):
    """An ODE in time: the solver integrates ``rhs`` from ``initial`` over the output grid."""

    kind = "ode"

    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        """d y / dt, shape (n_state, n); ``t`` is a scalar or one time per sample."""
        raise NotImplementedError

    # The right-hand side of one sample, for the compiled per-sample integrator, or None (the
    # numpy solver only): ``rhs_one(t, y, par, out)`` writes d y / dt at time ``t`` (a float)
    # of one sample's state ``y`` (n_state,) into ``out`` (n_state,), reading that sample's
    # row ``par`` of ``kernel_params``. Plain Python on floats (``math``, the helpers of
    # ``rsilab.dynamics.scalar``, indexing), which numba compiles; written operation for
    # operation from ``rhs``, so that both solvers compute the same numbers (the tests hold
    # them equal sample by sample).
    rhs_one: Callable[..., None] | None = None

    def kernel_params(self, p: Params) -> np.ndarray:
        """What ``rhs_one`` reads, one row of float64 per sample, (n, k) in C order, from the
        prepared parameters (per-sample constants computed here once, as ``prepare`` does)."""
        raise NotImplementedError(f"{type(self).__name__} declares rhs_one but not kernel_params")

    def live_states(self, p: Params) -> np.ndarray | None:
        """How many leading states each sample integrates, (n,) integers, where a sample's
        later states have derivative exactly 0 throughout (padding, as when samples of one
        chunk have different numbers of systems); None: every state. A solver may skip the
        held states, and must give the same numbers as integrating them."""
        return None


class MapModel(Model):
    """A discrete-step map: from ``initial``, each live sample takes ``step`` after ``step``.

    A step starting at time t lasts ``step_years(y, p)`` and a sample steps while its time is
    below the horizon and ``alive(y, p)`` holds; the step that crosses the horizon is
    completed (as the published per-step models do).
    """

    kind = "map"
    # Index of a state that carries each step's gain, or None. With it the solver reads the
    # ratio of successive gains directly (capability differences lose all precision once a
    # converging series settles).
    gain_state: int | None = None

    def step_years(self, y: np.ndarray, p: Params) -> np.ndarray:
        """Duration of the step that starts from state ``y``, per sample (years)."""
        raise NotImplementedError

    def step(self, y: np.ndarray, p: Params, t: np.ndarray) -> np.ndarray:
        """The state after one step from ``y`` started at time ``t``."""
        raise NotImplementedError

    def alive(self, y: np.ndarray, p: Params) -> np.ndarray:
        """Which samples may take another step (besides being before the horizon)."""
        return np.ones(y.shape[1], dtype=bool)


@dataclass(frozen=True)
class Metric:
    """One per-sample number an ``OutcomeModel`` computes, e.g. when a milestone arrives.

    The summary reports it as ``summary[group][name][quantity]`` = {p10, median, p90}.
    ``by_horizon``: the metric is the time of an event and NaN means "not within the
    horizon"; its quantiles are taken over all samples with NaN ranked after every number
    (None where a quantile falls among them), and the summary adds the fraction reached.
    Otherwise NaN means "undefined" and the quantiles are over the defined values.
    """

    name: str
    group: str
    quantity: str
    unit: str
    meaning: str
    by_horizon: bool = False


@dataclass(frozen=True)
class Series:
    """One per-sample series an ``OutcomeModel`` computes on the output grid (NaN: undefined)."""

    name: str
    unit: str
    meaning: str
    log_scale: bool = False  # drawn on a log axis (a quantity spanning orders of magnitude)


@dataclass
class Outcomes:
    """What ``OutcomeModel.evaluate`` returns for a chunk of n samples: ``metrics`` (n,) per
    declared metric; ``series`` (k, g) per declared series on ``t_grid``, for the first
    k >= min(keep_rows, n) samples (the Monte Carlo keeps only those for the bands)."""

    metrics: dict[str, np.ndarray]
    series: dict[str, np.ndarray]


class OutcomeModel(Model):
    """A model whose per-sample result is computed directly, not integrated: ``evaluate``
    returns every declared metric and series for a chunk of samples at once."""

    kind = "outcome"
    state: tuple[str, ...] = ()      # nothing is integrated
    metrics: tuple[Metric, ...] = ()
    series: tuple[Series, ...] = ()
    chunk_samples: int = 16_384      # samples per call of ``evaluate``
    # The calendar year at output time 0, for models whose clock is the calendar (the charts
    # then read years, not years from the start); None: the grid counts years from the start.
    time_origin: float | None = None
    # What the regimes mean for this model: none, and why (the summary prints it).
    regimes: str = ("none: the model computes its outcomes directly and has no capability path to classify "
                    "as explosion, combustion, fizzle or ceiling")

    def evaluate(self, p: Params, t_grid: np.ndarray, keep_rows: int) -> Outcomes:
        """Every declared metric for all n samples of ``p`` and every declared series for at
        least the first ``keep_rows`` of them, on ``t_grid`` (0 to the horizon, years).
        A by-horizon metric whose event falls after ``t_grid[-1]`` is NaN."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return dict(super().describe(), metrics=[m.__dict__ for m in self.metrics],
                    series=[s.__dict__ for s in self.series], regimes=self.regimes)


def kernel_rows(n: int, *columns) -> np.ndarray:
    """One row of float64 per sample, (n, len(columns)) in C order (a sample's parameters
    contiguous), from columns that are arrays of shape (n,) or numbers: how ``kernel_params``
    lays its parameters out."""
    out = np.empty((n, len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = col
    return out


INF = math.inf
