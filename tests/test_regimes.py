"""The regime rule, checked on models whose returns are known exactly."""
import pytest

from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.regimes import Regime
from rsilab.simulate.scenario import parse_scenario


def ensemble(model: dict, params: dict, **sim):
    return run_scenario(parse_scenario({"model": model, "params": params,
                                        "simulation": {"n_samples": 1, "horizon_years": 10.0, "cap_multiple": 1e300, **sim}}))


@pytest.mark.parametrize("p,expected", [(0.5, Regime.FIZZLE), (1.0, Regime.COMBUSTION), (1.5, Regime.EXPLOSION)])
def test_continuous_criticality_regime_is_the_exponent(p, expected):
    e = ensemble({"name": "criticality"}, {"p": p, "c": 0.3})
    assert e.regime[0] == expected and e.other_regime[0] == expected
    # the mid-path growth rate comes from the integrator's continuous extension (third order)
    assert e.returns_eff[0] == pytest.approx(p, abs=1e-4)


def test_fast_exponential_past_the_cap_is_combustion_not_explosion():
    e = ensemble({"name": "criticality"}, {"p": 1.0, "c": 10.0}, cap_multiple=1e15)
    assert e.summary()["status_counts"]["blowup"] == 1  # the solver stopped it at the cap ...
    assert e.regime[0] == Regime.COMBUSTION              # ... but its returns are exactly 1


@pytest.mark.parametrize("k,expected", [(0.8, Regime.FIZZLE), (1.0, Regime.COMBUSTION), (1.2, Regime.EXPLOSION)])
def test_discrete_criticality_regime_is_k(k, expected):
    e = ensemble({"name": "criticality", "form": "discrete"}, {"k": k, "dI0": 0.1, "generation_years": 0.5})
    assert e.regime[0] == expected and e.returns_eff[0] == pytest.approx(k, rel=1e-12)


def test_goal_ceiling_is_classified_as_ceiling():
    e = ensemble({"name": "returns"}, {"r": 1.5, "c": 1.0, "G": 1e4})
    assert e.regime[0] == Regime.CEILING
    assert e.summary()["status_counts"]["ceiling"] == 1


def test_early_and_late_phases_differ_when_returns_fall_toward_limits():
    # r = 3 at the start, falling to 0 at the limit: explosive early, fizzling late
    e = ensemble({"name": "returns", "shape": "diminishing"}, {"r": 3.0, "c": 1.0, "beta": 0.5, "limit": 1e12})
    assert e.other_regime[0] == Regime.EXPLOSION   # early: the first output interval
    assert e.regime[0] == Regime.FIZZLE            # late half (the default phase)
