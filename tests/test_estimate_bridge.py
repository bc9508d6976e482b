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
    fit = RoundsFit(n_bootstrap=200).fit(np.r_[0, np.cumsum(1.1 ** np.arange(7))])
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


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_prior(tmp_path / "nope.json")
