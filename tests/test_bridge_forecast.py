"""The bridge end to end: measured returns become the forecast's prior."""
import json

import numpy as np
from click.testing import CliRunner

from rsilab.cli import cli


def _invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_rounds_fit_drives_the_discrete_criticality_forecast(tmp_path):
    rounds = tmp_path / "rounds.csv"
    capability, gain, lines = 1.0, 0.1, ["round,capability"]
    for i in range(10):  # each round's gain 1.15 times the last: k = 1.15
        lines.append(f"{i},{capability!r}")
        capability, gain = capability + gain, gain * 1.15
    rounds.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "s.sqlite")
    fit = tmp_path / "fit.json"
    fit.write_text(_invoke("fit", "rounds", str(rounds), "--json", "--store", store))
    summary = json.loads(_invoke("forecast", "--returns-from", str(fit), "--samples", "2000", "--json",
                                 "--out", str(tmp_path / "out"), "--store", store))
    assert summary["model"] == "criticality" and summary["returns_prior"]["parameter"] == "k"
    # every draw of k is about 1.15 > 1 + tolerance: every trajectory compounds
    assert summary["regime_probabilities"]["explosion"] == 1.0
    assert np.isclose(summary["effective_returns"]["median"], 1.15, atol=0.01)


def test_rnd_returns_fit_replaces_r_in_the_default_scenario(tmp_path, shared_data):
    store = str(tmp_path / "s.sqlite")
    fit = tmp_path / "fit.json"
    fit.write_text(_invoke("fit", "rnd-returns", str(shared_data / "software_rnd_inputs.csv"),
                           str(shared_data / "software_rnd_endpoints.csv"), "--json", "--store", store))
    summary = json.loads(_invoke("forecast", "--returns-from", str(fit), "--samples", "2000", "--json",
                                 "--out", str(tmp_path / "out"), "--store", store))
    assert summary["model"] == "returns" and summary["returns_prior"]["parameter"] == "r"
    # the CV posterior sits above 1 (P(r > 1) ~ 0.999): the early regime is almost all explosion
    early = summary["regime_probabilities_by_phase"]["early"]
    assert early["explosion"] + early["combustion"] > 0.95


def test_a_fit_of_a_parameter_the_named_scenario_lacks_is_a_clear_error(tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"prior": {"quantity": "k", "spec": {"dist": "uniform", "low": 0.9, "high": 1.1},
                                         "source": "test"}}))
    result = CliRunner().invoke(cli, ["forecast", "--scenario", "sie", "--returns-from", str(fit), "--samples", "100",
                                      "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "this fit is of 'k'" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(cli, ["forecast", "--returns-from", str(broken), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "not valid JSON" in result.output
