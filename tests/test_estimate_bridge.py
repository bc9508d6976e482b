"""The bridge: to_prior() specs, the saved fit file, load_prior's validation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from rsilab.errors import DataError
from rsilab.estimate.bridge import load_prior, spec_problem
from rsilab.estimate.rounds import RoundsFit

GOOD_SPECS = [
    {"dist": "fixed", "value": 1.2},
    {"dist": "uniform", "low": 0.5, "high": 2},
    {"dist": "loguniform", "low": 0.1, "high": 10},
    {"dist": "normal", "mean": 1.0, "sd": 0.2},
    {"dist": "lognormal", "mu": 0.0, "sigma": 0.5},
    {"dist": "triangular", "low": 0.5, "mode": 1.0, "high": 2.0},
    {"dist": "empirical", "samples": [0.9, 1.0, 1.1]},
]


@pytest.mark.parametrize("spec", GOOD_SPECS)
def test_good_specs_pass_and_agree_with_the_forecast_engine(spec):
    assert spec_problem(spec) is None
    from rsilab.simulate.priors import parse_prior

    parse_prior("k", spec)   # the engine accepts what we accept


@pytest.mark.parametrize("spec,words", [
    ({"dist": "gamma", "a": 1}, "one of fixed"),
    ({"dist": "uniform", "low": 2, "high": 1}, "at most high"),
    ({"dist": "normal", "mean": 1}, "normal needs mean, sd"),
    ({"dist": "empirical", "samples": [1.0]}, "at least 2"),
    ({"dist": "empirical", "samples": [1.0, float("nan")]}, "samples[1]"),
    ({"dist": "fixed", "value": 1, "extra": 2}, "a field of fixed"),
    ({"dist": "loguniform", "low": 0, "high": 1}, "positive"),
    ([0.5, 1.0], "must be an object"),
])
def test_bad_specs_are_named(spec, words):
    assert words in spec_problem(spec)


def test_round_trip_through_a_saved_fit(tmp_path):
    fit = RoundsFit().fit(np.r_[0, np.cumsum(1.1 ** np.arange(7))])
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"k": fit.params_["k"], "prior": fit.to_prior(source="rounds.csv")}))
    prior = load_prior(path)
    assert prior["quantity"] == "k" and prior["source"] == "rounds.csv"
    assert np.median(prior["spec"]["samples"]) == pytest.approx(1.1, rel=0.05)


@pytest.mark.parametrize("content,words", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"k": 1.2}', "no \\\"prior\\\" key"),
    ('{"prior": {"quantity": "k", "spec": {"dist": "normal", "mean": 1}, "source": "x"}}', "invalid prior spec"),
    ('{"prior": {"spec": {"dist": "fixed", "value": 1}, "source": "x"}}', "lacks 'quantity'"),
])
def test_bad_files_raise_data_error(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError) as err:
        load_prior(path)
    assert str(path) in str(err.value)
    assert words.replace("\\", "") in str(err.value)
    assert "column '" not in str(err.value)      # a JSON file has keys, not a table's columns


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_prior(tmp_path / "nope.json")


def _estimators():
    """Every estimator with small data it can fit quickly: (estimator, fit args, default quantity)."""
    from rsilab.estimate import BNSLFit, ChinchillaFit, PowerLawFit, RnDReturnsFit
    from rsilab.estimate.chinchilla import log_predict
    from rsilab.estimate.scale import ScaleFit

    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1e4, 20)
    years = np.arange(10.0)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 40))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), 40))
    L = np.exp(log_predict(np.array([np.log(400.0), np.log(1500.0), np.log(1.7), 0.33, 0.31]), np.log(N), np.log(D))
               + rng.normal(0, 0.002, 40))
    return [
        (RoundsFit(), (np.r_[0, np.cumsum(1.1 ** np.arange(7))],), "k"),
        (PowerLawFit(n_bootstrap=20), (x, 0.5 + 3 * x ** -0.4 * np.exp(rng.normal(0, 0.01, 20))), "alpha"),
        (BNSLFit(0, n_bootstrap=5), (x, 0.3 + 4 * x ** -0.4), "c0"),
        (RnDReturnsFit(n_draws=200), ({"d": (years, 10 * np.exp(0.3 * years + rng.normal(0, 0.05, 10)))},
                                      {"d": (0.0, 10.0, 1.0, float(np.exp(4.5)))}), "r"),
        (ChinchillaFit(n_bootstrap=0), (N, D, L), "alpha"),
        (ScaleFit(), ([1e3, 1e4, 1e5, 1e6], [
            np.r_[0, np.cumsum(k ** np.arange(7) * np.exp(rng.normal(0, 0.02, 7)))] for k in (0.8, 0.9, 1.0, 1.1)]),
         "k"),
    ]


@pytest.mark.parametrize("est,args,quantity", _estimators(), ids=lambda v: type(v).__name__ if hasattr(v, "fit") else "")
def test_every_estimator_follows_one_contract(est, args, quantity):
    """guess() before fit, fit returns self, converged_ and message_ set, one to_prior for all."""
    assert est.guess(*args) is not None
    assert est.fit(*args) is est
    assert isinstance(est.converged_, bool) and est.message_
    prior = est.to_prior(source="test")
    assert prior["quantity"] == quantity and prior["source"] == "test" and spec_problem(prior["spec"]) is None
    draws = est.estimates_[est.prior_quantity].draws
    if draws is not None and len(draws) >= 2:
        from rsilab.estimate.result import empirical_prior_samples

        # the prior is the draws themselves, thinned to evenly spaced order statistics when many
        assert prior["spec"]["dist"] == "empirical" and prior["spec"]["samples"] == empirical_prior_samples(draws)
    else:
        assert prior["spec"] == {"dist": "fixed", "value": est.params_[quantity]}


def test_to_prior_names_the_quantities_it_knows():
    from rsilab.errors import ConfigError

    fit = RoundsFit().fit(np.r_[0, np.cumsum(1.1 ** np.arange(7))])
    with pytest.raises(ConfigError, match="one of k"):
        fit.to_prior("alpha")


def test_pooled_k_checks_in_fit_and_follows_the_contract():
    from rsilab.errors import ConfigError
    from rsilab.estimate.levels import levels_from_values
    from rsilab.estimate.pooling import PooledK

    rng = np.random.default_rng(0)
    levels = [levels_from_values(np.r_[0, np.cumsum(0.1 * k ** np.arange(6) * np.exp(rng.normal(0, 0.05, 6)))])
              for k in (0.8, 0.9, 1.0, 1.1)]
    with pytest.raises(ConfigError, match="level"):
        PooledK(level=2.0).fit(levels, ["f"] * 4, ["a", "b", "c", "d"])
    fit = PooledK(loco=False).fit(levels, ["f"] * 4, ["a", "b", "c", "d"])
    assert fit.converged_ is True and fit.message_
    assert fit.to_prior()["quantity"] == "k" and spec_problem(fit.to_prior()["spec"]) is None
