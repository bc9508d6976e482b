"""Returns that vary with the state: k(I, E, G) for capability I, environment complexity E and
goal difficulty G, in the shapes the takeoff debate uses.

Base law (semi-endogenous research, research labour proportional to the system's useful
capability): dI/dt = theta I^(1-beta) U^(beta r), so the growth rate g = d ln I / dt = c I^-beta U^(beta r)
with U the useful capability. With U = I this is dI/dt = c I^(1 + beta (r - 1)): the
criticality exponent is p = 1 + beta (r - 1), so r > 1 explodes, r = 1 is exponential, r < 1 fizzles.

- Environment E caps the intelligence that is useful: U = I E / (I + E) (U = I when E = inf), so
  past E more capability buys no more research and growth decelerates.
- Goal difficulty G: the drive to self-improve vanishes as goals are met: g is multiplied by
  max(0, 1 - I / G), a ceiling at G (none when G = inf).

Shapes (option ``shape``):
- ``constant``: the base law.
- ``diminishing``: returns fall toward effective limits: r(x) = r (1 - x / ln(limit)) with
  x = ln(I / I0), and growth stops at ``limit`` (multiple of I0), as in Forethought's SIE model.
- ``depletion``: a finite pool of one-off improvements (``pool_efolds`` e-folds of capability)
  harvested at rate h (pool left) U^(beta r): in a short sprint the hoard looks like explosive
  returns, then only the base returns remain. Extra state: e-folds harvested.
- ``partial``: the system can improve a fraction f(I) = I^m / (I^m + I_half^m) of its own
  design; the rest improves at the human rate: g = human_rate + c f(I) I^-beta U^(beta r).
  Early free-riding on human design, later increasing returns.
- ``tools``: capability T of tools the system builds adds to its own (U uses I + T);
  dT/dt = tool_rate (I + T). Extra state: T.

numpy only (``rhs_one``: ``math`` and ``rsilab.dynamics.scalar``); no I/O.
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import INF, OdeModel, Option, Param, Params, kernel_rows
from rsilab.dynamics.scalar import clip, logaddexp, nmax

SHAPES = ("constant", "diminishing", "depletion", "partial", "tools")


class Returns(OdeModel):
    name = "returns"
    summary = "Heterogeneous returns k(I, E, G): constant, diminishing, depletion, partial self-modification, tools."
    returns_param = "r"
    params = (
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability at t = 0"),
        Param("c", "1/year", 0.0, 100.0, 0.7, "initial growth rate of ln capability"),
        Param("r", "dimensionless", 0.0, 20.0, 1.2, "returns to research: r > 1 compounds"),
        Param("beta", "dimensionless", 0.01, 5.0, 0.4, "diminishing returns to the idea stock (ideas get harder to find)"),
        Param("E", "capability units", 1e-12, INF, INF, "environment complexity: the most capability that is useful"),
        Param("G", "capability units", 1e-12, INF, INF, "goal difficulty: self-improvement stops once capability reaches it"),
        Param("limit", "multiple of I0", 1.0 + 1e-9, INF, 1e9, "diminishing: effective limits of software"),
        Param("pool_efolds", "e-folds", 0.0, 100.0, 5.0, "depletion: size of the pool of one-off improvements"),
        Param("harvest_rate", "1/year", 0.0, 1e3, 2.0, "depletion: rate one-off improvements are harvested"),
        Param("human_rate", "1/year", 0.0, 100.0, 0.3, "partial: growth rate contributed by human design work"),
        Param("I_half", "capability units", 1e-12, 1e12, 10.0, "partial: capability at which half of its design is self-modifiable"),
        Param("hill", "dimensionless", 0.1, 10.0, 2.0, "partial: steepness of the self-modifiable fraction"),
        Param("tool_rate", "1/year", 0.0, 100.0, 0.1, "tools: rate at which tool capability is built"),
    )
    options = (Option("shape", SHAPES, "constant", "how returns vary with capability"),)

    @property
    def state(self) -> tuple[str, ...]:  # type: ignore[override]
        # only the shapes with a second stock integrate one (keeps the others' solves lean)
        extra = {"depletion": ("efolds_harvested",), "tools": ("tool_capability",)}.get(self.opt("shape"), ())
        return ("ln_capability",) + extra

    def initial(self, p: Params) -> np.ndarray:
        n = len(p["I0"])
        return np.vstack([np.log(p["I0"])[None, :], np.zeros((len(self.state) - 1, n))])

    def prepare(self, p: Params) -> dict[str, np.ndarray]:
        q = dict(p)
        q["_ln_i0"], q["_ln_c"], q["_ln_limit"] = np.log(p["I0"]), np.log(p["c"]), np.log(p["limit"])
        q["_finite_e"], q["_finite_g"] = np.isfinite(p["E"]), np.isfinite(p["G"])
        q["_ln_e"] = np.log(np.where(q["_finite_e"], p["E"], 1.0))
        q["_ln_g"] = np.log(np.where(q["_finite_g"], p["G"], 1.0))
        return q

    def rhs(self, t: float, y: np.ndarray, p: Params) -> np.ndarray:
        shape = self.opt("shape")
        ln_i = y[0]
        ln_i0 = p["_ln_i0"]
        x = ln_i - ln_i0
        ln_own = np.log(np.exp(ln_i) + y[1]) if shape == "tools" else ln_i
        ln_useful = ln_own
        finite_e = p["_finite_e"]
        if finite_e.any():
            # U = I E / (I + E), in logs; samples with E = inf keep U = I
            ln_useful = np.where(finite_e, ln_own + p["_ln_e"] - np.logaddexp(ln_own, p["_ln_e"]), ln_own)
        r, beta = p["r"], p["beta"]
        if shape == "diminishing":
            room_left = np.clip(1.0 - x / p["_ln_limit"], 0.0, 1.0)
            r = r * room_left
        g = np.exp(p["_ln_c"] - beta * x + beta * r * (ln_useful - ln_i0))
        rates = [None]
        if shape == "diminishing":
            g = g * room_left
        elif shape == "depletion":
            harvest = p["harvest_rate"] * np.maximum(p["pool_efolds"] - y[1], 0.0) * np.exp(beta * p["r"] * x)
            rates.append(harvest)
            g = g + harvest
        elif shape == "partial":
            frac = 1.0 / (1.0 + np.exp(p["hill"] * (np.log(p["I_half"]) - ln_i)))
            g = p["human_rate"] + frac * g
        elif shape == "tools":
            rates.append(p["tool_rate"] * np.exp(ln_own))
        finite_g = p["_finite_g"]
        if finite_g.any():
            goal_left = np.clip(1.0 - np.exp(ln_i - p["_ln_g"]), 0.0, 1.0)
            g = np.where(finite_g, g * goal_left, g)
        rates[0] = g
        return np.stack(rates) if len(rates) > 1 else g[None, :]

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: shape (index in SHAPES), ln I0, ln c, ln limit, E finite (1 or 0), ln E, G finite,
        #      ln G, r, beta, harvest_rate, pool_efolds, human_rate, ln I_half, hill, tool_rate
        shape = par[0]
        ln_i = y[0]
        ln_i0 = par[1]
        x = ln_i - ln_i0
        ln_own = math.log(math.exp(ln_i) + y[1]) if shape == 4.0 else ln_i   # tools
        ln_useful = ln_own
        if par[4] != 0.0:
            ln_useful = ln_own + par[5] - logaddexp(ln_own, par[5])
        r = par[8]
        beta = par[9]
        room_left = 1.0
        if shape == 1.0:   # diminishing
            room_left = clip(1.0 - x / par[3], 0.0, 1.0)
            r = r * room_left
        g = math.exp(par[2] - beta * x + beta * r * (ln_useful - ln_i0))
        if shape == 1.0:
            g = g * room_left
        elif shape == 2.0:   # depletion
            harvest = par[10] * nmax(par[11] - y[1], 0.0) * math.exp(beta * par[8] * x)
            out[1] = harvest
            g = g + harvest
        elif shape == 3.0:   # partial
            frac = 1.0 / (1.0 + math.exp(par[14] * (par[13] - ln_i)))
            g = par[12] + frac * g
        elif shape == 4.0:
            out[1] = par[15] * math.exp(ln_own)
        if par[6] != 0.0:
            g = g * clip(1.0 - math.exp(ln_i - par[7]), 0.0, 1.0)
        out[0] = g

    def kernel_params(self, p: Params) -> np.ndarray:
        return kernel_rows(len(p["I0"]), float(SHAPES.index(self.opt("shape"))), p["_ln_i0"], p["_ln_c"],
                           p["_ln_limit"], p["_finite_e"], p["_ln_e"], p["_finite_g"], p["_ln_g"], p["r"], p["beta"],
                           p["harvest_rate"], p["pool_efolds"], p["human_rate"], np.log(p["I_half"]), p["hill"],
                           p["tool_rate"])

    def ln_ceiling(self, p: Params) -> np.ndarray | None:
        ceiling = np.log(p["G"])
        if self.opt("shape") == "diminishing":
            ceiling = np.minimum(ceiling, np.log(p["I0"] * p["limit"]))
        return ceiling

    def check_params(self, p: Params) -> None:
        from rsilab.errors import ConfigError

        bad = p["c"] <= 0
        if bad.any():
            raise ConfigError("params.c", float(p["c"][bad][0]), "a growth rate > 0 (ln of it is taken)")
        if (p["G"] <= p["I0"]).any():
            raise ConfigError("params.G", float(p["G"].min()), "above I0: goals already met leave nothing to model")
