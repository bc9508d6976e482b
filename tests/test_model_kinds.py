"""The model/solver contract: every model declares its kind and is the class of that kind; the
solver's helpers leave their inputs alone; ``prepare`` runs once per chunk."""
from dataclasses import replace

import numpy as np
import pytest

from rsilab.dynamics import MODELS, MapModel, OdeModel, OutcomeModel
from rsilab.dynamics.returns import Returns
from rsilab.simulate import montecarlo
from rsilab.simulate.regimes import classify
from rsilab.simulate.scenario import parse_scenario
from rsilab.simulate.solver import SolverSettings, Status, solve

FORMS = [(name, {}) for name in MODELS] + [("criticality", {"form": "discrete"}),
                                            ("software_rnd", {"form": "doublings"})]


@pytest.mark.parametrize("name, options", FORMS, ids=lambda v: str(v))
def test_every_model_declares_its_kind_and_is_of_that_kind(name, options):
    model = MODELS[name]().with_options(**options)
    assert model.kind in ("ode", "map", "outcome")
    assert isinstance(model, {"ode": OdeModel, "map": MapModel, "outcome": OutcomeModel}[model.kind])


def test_classify_returns_the_ceiling_status_and_leaves_the_solution_alone():
    model = Returns()
    p = {k: np.full(2, v) for k, v in model.defaults().items()}
    p["G"] = np.array([1e4, np.inf])     # the first sample stops at its goal ceiling
    p["r"] = np.full(2, 1.5)
    sol = solve(model, p, np.linspace(0, 10, 11), np.log([10.0]), SolverSettings(cap_multiple=1e300))
    before = sol.status.copy()
    result = classify(sol, model, model.prepare(p))
    np.testing.assert_array_equal(sol.status, before)
    assert before[0] == Status.FINISHED and result.status[0] == Status.CEILING


class CountingReturns(Returns):
    """The returns model, counting how often its parameters are prepared."""

    calls = 0

    def prepare(self, p):
        type(self).calls += 1
        return super().prepare(p)


def test_prepare_runs_once_per_chunk(monkeypatch):
    sc = parse_scenario({"model": {"name": "returns"}, "params": {"r": {"dist": "uniform", "low": 0.5, "high": 2.0}},
                         "simulation": {"n_samples": 10_000, "horizon_years": 2.0, "n_grid": 11}})
    sc = replace(sc, model=CountingReturns())
    monkeypatch.setattr(montecarlo, "chunk_size", lambda *a, **k: 4_000)   # 3 chunks
    CountingReturns.calls = 0
    montecarlo.run_scenario(sc, workers=1)
    assert CountingReturns.calls == 3
