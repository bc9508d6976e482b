"""Multipolar takeoff: N self-improving systems racing for a shared pool of compute.

Each system i trades speed of self-improvement against value stability through one choice,
its speed v_i: it makes modifications v_i times larger than the careful baseline, so it
improves v_i times faster and its goal walk takes v_i times larger steps (drift variance per
e-fold sigma^2 step v_i, as in the ``drift`` model racing with nothing verified). System 1 is
the careful incumbent: speed ``speed_min`` and a lead of ``head_start`` e-folds; the others'
speeds are spread geometrically up to ``speed_max``. Compute is shared: system i gets the share
s_i = I_i^lambda / sum_j I_j^lambda of it (lambda = ``compute_attraction``: compute follows
capability), and its growth scales with its share^kappa (kappa = ``compute_elasticity``):

    d ln I_i / dt = c v_i (I_i / I0)^(p - 1) s_i^kappa
    dD_i / dt     = sigma^2 step v_i d ln I_i / dt

State: (ln of total capability, ln I_1..ln I_N); the total is what thresholds and regimes read.
D_i is not integrated: dD_i/dt is a constant multiple of d ln I_i/dt, so
D_i(t) = sigma^2 step v_i (ln I_i(t) - ln I_i(0)) exactly (``drift_variance``), and as states
the N drift variances would only enlarge the integration (and, through the error norm, steer
its step size). With N = 1 (s_1 = 1) this is exactly the single-system law with c v and a drift
step v times larger, which the tests check against the ``drift`` model (race, nothing
verified) and the unconstrained closed form. A system dominates when it holds more than
``dominance_share`` of total capability. ``n_systems`` may vary across samples (whole numbers
up to 8); a chunk carries as many slots as its largest N, and a sample's inactive slots have
derivative 0 (the compiled integrator skips them: ``live_states``).

numpy (and scipy.special.erfc, via the drift model; ``rhs_one``: ``math`` and
``rsilab.dynamics.scalar``).
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.dynamics.base import OdeModel, Param, Params, kernel_rows
from rsilab.dynamics.drift import p_beyond
from rsilab.dynamics.scalar import nmax

N_MAX = 8


class Multipolar(OdeModel):
    name = "multipolar"
    summary = "N self-improving systems share compute; each trades speed against value stability."
    state = ("ln_total_capability", "ln_capability[1..N]")
    returns_param = "p"
    params = (
        Param("n_systems", "systems", 1.0, float(N_MAX), 3.0, "number of competing systems (a whole number)"),
        Param("I0", "capability units", 1e-12, 1e12, 1.0, "capability of the incumbent (system 1) at t = 0"),
        Param("c", "1/year", 0.0, 100.0, 0.5, "growth rate of ln capability at I0, at speed 1 with all the compute"),
        Param("p", "exponent", -5.0, 5.0, 1.0, "returns exponent of self-improvement (1 = exponential)"),
        Param("step_efolds", "e-folds", 1e-6, 10.0, 0.05, "size of one self-modification at speed 1"),
        Param("drift_sigma", "goal units per e-fold", 0.0, 100.0, 1.0, "goal perturbation s.d. per modification, per e-fold of its size"),
        Param("speed_min", "x baseline", 1e-3, 1e3, 1.0, "speed chosen by the careful incumbent (system 1)"),
        Param("speed_max", "x baseline", 1e-3, 1e3, 2.0, "speed chosen by the most reckless system"),
        Param("head_start", "e-folds", 0.0, 50.0, 0.7, "incumbent's initial lead: the others start at I0 exp(-head_start)"),
        Param("compute_elasticity", "dimensionless", 0.0, 5.0, 0.5, "kappa: growth scales with compute share^kappa"),
        Param("compute_attraction", "dimensionless", 0.0, 5.0, 1.0, "lambda: compute share proportional to capability^lambda"),
        Param("dominance_share", "fraction", 0.5, 0.999999, 0.9, "share of total capability that counts as dominance"),
        Param("tolerance", "goal units", 1e-9, 1e6, 0.2, "goal deviation beyond which the leader's values count as lost"),
        Param("u_drift", "quantile", 0.0, 1.0, 0.5, "seeded uniform draw that realises the leader's drift: beyond tolerance iff u < its probability"),
    )

    # -- layout ------------------------------------------------------------------------------
    @staticmethod
    def speeds(p: Params, slots: int) -> np.ndarray:
        """Speed of each slot, (slots, n): speed_min for system 1, geometric up to speed_max."""
        n_sys = p["n_systems"]
        i = np.arange(slots)[:, None]
        frac = np.where(n_sys > 1, i / np.maximum(n_sys - 1, 1), 0.0)
        return p["speed_min"] * (p["speed_max"] / p["speed_min"]) ** np.minimum(frac, 1.0)

    @staticmethod
    def active(p: Params, slots: int) -> np.ndarray:
        return np.arange(slots)[:, None] < np.round(p["n_systems"])[None, :]

    @staticmethod
    def n_slots(p: Params) -> int:
        """Slots of a batch: its largest number of systems."""
        return int(np.round(p["n_systems"]).max()) if len(p["n_systems"]) else 1

    def initial(self, p: Params) -> np.ndarray:
        slots = self.n_slots(p)
        ln_i = self.ln_start(p, slots)
        total = _logsumexp(np.where(self.active(p, slots), ln_i, -np.inf))
        return np.concatenate([total[None, :], ln_i])

    @classmethod
    def ln_start(cls, p: Params, slots: int) -> np.ndarray:
        """ln I_i at t = 0, (slots, n); inactive slots are held at ln I0 (and masked out)."""
        ln_i = np.log(p["I0"]) - np.where(np.arange(slots)[:, None] > 0, p["head_start"], 0.0)
        return np.where(cls.active(p, slots), ln_i, np.log(p["I0"]))

    def live_states(self, p: Params) -> np.ndarray:
        """The total and the sample's active slots (the first ones): its inactive slots are
        padding, with derivative 0."""
        return 1 + np.round(p["n_systems"]).astype(np.int64)

    @classmethod
    def drift_variance(cls, p: Params, slots: int, slot: np.ndarray, ln_i: np.ndarray) -> np.ndarray:
        """D of system ``slot`` when its ln capability is ``ln_i`` (both (n,), or (n, g) for a
        system that may change along the row): sigma^2 step v (ln I - ln I(0)). Held at >= 0:
        ln I never falls, but the solver's continuous extension may undershoot the start by a
        rounding error."""
        rows = np.arange(slot.shape[0]).reshape((-1,) + (1,) * (slot.ndim - 1))
        coef = ((p["drift_sigma"] ** 2 * p["step_efolds"]) * cls.speeds(p, slots)).T     # (n, slots)
        start = cls.ln_start(p, slots).T
        return coef[rows, slot] * np.maximum(ln_i - start[rows, slot], 0.0)

    _derived = None   # (the parameter arrays it was built from, slots, per-sample arrays): see _fixed

    def _fixed(self, p: Params, slots: int):
        """Per-sample arrays that depend only on the parameters, kept while the solver calls
        rhs with the same parameter arrays (it builds new ones whenever samples finish)."""
        key = tuple(p[k] for k in ("c", "I0", "n_systems", "speed_min", "speed_max"))
        d = self._derived
        if d is not None and d[1] == slots and all(a is b for a, b in zip(d[0], key)):
            return d[2]
        act = self.active(p, slots).astype(float)
        fixed = (act, p["c"] * self.speeds(p, slots) * act, np.log(p["I0"]), np.where(act > 0, 0.0, -np.inf))
        self._derived = (key, slots, fixed)
        return fixed

    def rhs(self, t: np.ndarray, y: np.ndarray, p: Params) -> np.ndarray:
        slots = y.shape[0] - 1
        act, cv, ln_i0, off = self._fixed(p, slots)            # act: 1.0 / 0.0; off: 0 / -inf
        ln_i = y[1:1 + slots]                                      # inactive slots sit at ln I0
        top = ln_i[0] if slots == 1 else np.max(ln_i + off, axis=0)
        z = ln_i - top                                             # <= 0 for every slot
        rel = np.exp(z) * act                                      # I_i / I_max, 0 when inactive
        cap_share = rel / rel.sum(axis=0)
        lam_z = p["compute_attraction"] * z
        ln_weight_sum = np.log(np.sum(np.exp(lam_z) * act, axis=0))
        # growth: c v_i (I_i / I0)^(p - 1) s_i^kappa, with ln s_i = lambda z_i - ln sum_j exp(lambda z_j)
        g = cv * np.exp((p["p"] - 1.0) * (ln_i - ln_i0) + p["compute_elasticity"] * (lam_z - ln_weight_sum))
        out = np.empty_like(y)
        out[0] = np.sum(cap_share * g, axis=0)
        out[1:] = g
        return out

    @staticmethod
    def rhs_one(t, y, par, out):
        # par: p - 1, kappa, lambda, ln I0, then c v per slot; last, the number of active slots.
        # Active slots come first, and in ``rhs`` an inactive one adds exactly 0 to every sum
        # and has derivative 0, so the loops stop at the active ones (the same numbers, to the bit).
        slots = y.shape[0] - 1
        pm1, kappa, lam, ln_i0 = par[0], par[1], par[2], par[3]
        n_act = int(par[4 + slots])
        top = y[1]
        for s in range(1, n_act):
            top = nmax(top, y[1 + s])
        rel_sum = 0.0
        weight_sum = 0.0
        for s in range(n_act):
            z = y[1 + s] - top
            if z == 0.0:       # the largest: exp(0) and exp(lam 0) are exactly 1
                rel = 1.0
                weight_sum += 1.0
            else:
                rel = math.exp(z)
                weight_sum += math.exp(lam * z)
            out[1 + s] = rel   # kept until the second pass overwrites it
            rel_sum += rel
        ln_weight_sum = math.log(weight_sum)
        total = 0.0
        for s in range(n_act):
            ln_i = y[1 + s]
            z = ln_i - top
            g = par[4 + s] * math.exp(pm1 * (ln_i - ln_i0) + kappa * (lam * z - ln_weight_sum))
            total += (out[1 + s] / rel_sum) * g
            out[1 + s] = g
        for s in range(n_act, slots):
            out[1 + s] = 0.0
        out[0] = total

    def kernel_params(self, p: Params) -> np.ndarray:
        slots = self.n_slots(p)
        act = self.active(p, slots).astype(float)
        cols = [p["p"] - 1.0, p["compute_elasticity"], p["compute_attraction"], np.log(p["I0"])]
        cols += list(p["c"] * self.speeds(p, slots) * act) + [act.sum(axis=0)]
        return kernel_rows(len(p["I0"]), *cols)

    def check_params(self, p: Params) -> None:
        from rsilab.errors import ConfigError

        n_sys = np.asarray(p["n_systems"])
        frac = n_sys != np.round(n_sys)
        if frac.any():
            raise ConfigError("params.n_systems", float(n_sys[frac][0]), f"a whole number of systems from 1 to {N_MAX}")
        bad = p["speed_max"] < p["speed_min"]
        if bad.any():
            raise ConfigError("params.speed_max", float(p["speed_max"][bad][0]),
                              f"at least speed_min ({float(p['speed_min'][bad][0]):g}): system 1 is the most careful")

    # -- outputs -----------------------------------------------------------------------------
    def _leading(self, sol, p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """On the grid, (n, g) each: the largest capability share, the first slot at the largest
        capability and its ln capability (after a stop every slot holds its stop value: the
        solvers' contract). Both outputs hooks need them: kept with ``sol``. Slot by slot, so
        no (slots, n, g) array is built: the largest share is 1 / sum_i I_i / I_max."""
        if "multipolar.leading" in sol.derived:
            return sol.derived["multipolar.leading"]
        slots = sol.y_grid.shape[0] - 1
        act = self.active(p, slots)
        # inactive slots sit at ln I0, which a slot that started there may undershoot by a
        # rounding error: they are kept out of the largest and of the sum
        top = sol.y_grid[1].copy()    # system 1 is always active
        leader = np.zeros(top.shape, dtype=np.intp)
        better = np.empty(top.shape, dtype=bool)
        for s in range(1, slots):
            ln = sol.y_grid[1 + s]
            np.greater(ln, top, out=better)
            if not act[s].all():
                better[~act[s]] = False
            np.copyto(leader, s, where=better)
            np.copyto(top, ln, where=better)
        total = np.zeros(top.shape)
        z = np.empty(top.shape)
        for s in range(slots):
            np.exp(np.subtract(sol.y_grid[1 + s], top, out=z), out=z)
            if not act[s].all():
                z[~act[s]] = 0.0
            total += z
        sol.derived["multipolar.leading"] = (1.0 / total, leader, top)
        return sol.derived["multipolar.leading"]

    def sample_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        slots = sol.y_grid.shape[0] - 1
        n = sol.status.shape[0]
        rows = np.arange(n)
        share, _, _ = self._leading(sol, p)                             # (n, g)
        t_dom = _first_at_or_above(sol.t_grid, share, p["dominance_share"])
        act = self.active(p, slots)
        ln_end = np.where(act, sol.y_stop[1:], -np.inf)
        leader = np.argmax(ln_end, axis=0)
        end_share = np.exp(ln_end - _logsumexp(ln_end)[None])
        var_leader = self.drift_variance(p, slots, leader, ln_end[leader, rows])
        prob = p_beyond(p["tolerance"], var_leader)
        return {
            "p_dominance": np.isfinite(t_dom),
            "time_to_dominance": t_dom,
            "leader_share": end_share[leader, rows],
            "p_leader_is_careful_incumbent": leader == 0,
            "leader_speed": self.speeds(p, slots)[leader, rows],
            "leader_drift_sd": np.sqrt(var_leader),
            "p_leader_drift_beyond_tolerance": p["u_drift"] < prob,
            "leader_drift_beyond_tolerance_probability": prob,
        }

    def grid_outputs(self, sol, p: Params) -> dict[str, np.ndarray]:
        share, leader, top = self._leading(sol, p)                      # (n, g)
        dom = np.maximum.accumulate(share >= p["dominance_share"][:, None], axis=1)
        var_leader = self.drift_variance(p, sol.y_grid.shape[0] - 1, leader, top)
        return {"P(dominance so far)": dom.astype(float), "leader's share of capability": share,
                "P(leader drift > tolerance)": p_beyond(p["tolerance"][:, None], var_leader)}


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """logsumexp over axis 0, -inf where every entry is -inf."""
    m = np.max(a, axis=0)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.sum(np.exp(a - safe[None]), axis=0))


def _first_at_or_above(t_grid: np.ndarray, values: np.ndarray, level: np.ndarray) -> np.ndarray:
    """First time each row reaches ``level`` (linear interpolation inside the grid interval:
    the leader's share has kinks where the leader changes); inf if never."""
    above = values >= level[:, None]
    hit = above.any(axis=1)
    first = np.argmax(above, axis=1)
    out = np.full(values.shape[0], np.inf)
    out[hit & (first == 0)] = t_grid[0]
    inner = np.nonzero(hit & (first > 0))[0]
    if inner.size:
        j = first[inner]
        v0, v1 = values[inner, j - 1], values[inner, j]
        frac = np.clip((level[inner] - v0) / np.where(v1 > v0, v1 - v0, 1.0), 0.0, 1.0)
        out[inner] = t_grid[j - 1] + frac * (t_grid[j] - t_grid[j - 1])
    return out
