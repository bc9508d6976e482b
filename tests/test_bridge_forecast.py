"""The bridge end to end: measured returns become the forecast's prior, for every model that
declares a returns parameter (``Model.returns_param``), through the CLI."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import need_shared_data
from rsilab.cli import cli
from rsilab.dynamics import MODELS
from rsilab.estimate.bridge import DEFAULT_PRESET, RETURNS_QUANTITY
from rsilab.simulate.scenario import load_preset, preset_names


def _invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout   # what the command printed (its JSON or tables): stderr apart


def _presets_by_returns_param() -> dict[tuple[str, str], str]:
    """(model, returns parameter) -> the first shipped preset with it."""
    out: dict[tuple[str, str], str] = {}
    for name in preset_names():
        model = load_preset(name).model
        if model.returns_param is not None:
            out.setdefault((model.name, model.returns_param), name)
    return out


TARGETS = _presets_by_returns_param()


def test_every_model_with_a_returns_parameter_is_covered_and_declared():
    declaring = set()
    for name, cls in MODELS.items():
        forms = [o.choices for o in cls.options if o.name == "form"]
        for form in (forms[0] if forms else (None,)):
            model = cls().with_options(form=form) if form else cls()
            if model.returns_param is not None:
                declaring.add((name, model.returns_param))
    assert declaring == set(TARGETS), f"models without a shipped preset to test: {declaring - set(TARGETS)}"
    for _, param in declaring:
        assert param in RETURNS_QUANTITY, f"returns_param {param!r} does not say which quantity it measures"
    for quantity, preset in DEFAULT_PRESET.items():
        model = load_preset(preset).model
        assert RETURNS_QUANTITY[model.returns_param] == quantity


@pytest.fixture(scope="module")
def fit_files(tmp_path_factory):
    """One prior file per quantity: real `fit rounds` and `fit rnd-returns` output, and a prior
    file of quantity p (no estimator measures p)."""
    tmp = tmp_path_factory.mktemp("fits")
    store = str(tmp / "s.sqlite")
    rounds = tmp / "rounds.csv"
    capability, gain, lines = 1.0, 0.1, ["round,capability"]
    for i in range(10):  # each round's gain 1.15 times the last: k = 1.15
        lines.append(f"{i},{capability!r}")
        capability, gain = capability + gain, gain * 1.15
    rounds.write_text("\n".join(lines) + "\n")
    files = {"k": tmp / "fit_k.json", "r": tmp / "fit_r.json", "p": tmp / "fit_p.json"}
    files["k"].write_text(_invoke("fit", "rounds", str(rounds), "--json", "--store", store))
    shared = need_shared_data()   # the shared_data fixture's rule, for this module-wide fixture
    files["r"].write_text(_invoke("fit", "rnd-returns", str(shared / "software_rnd_inputs.csv"),
                                  str(shared / "software_rnd_endpoints.csv"), "--json", "--store", store))
    files["p"].write_text(json.dumps({"prior": {"quantity": "p", "spec": {"dist": "uniform", "low": 1.05, "high": 1.25},
                                                "source": "test"}}))
    return files


@pytest.mark.slow   # a forecast with charts per model: tens of seconds each on a loaded 2-core machine
@pytest.mark.parametrize("model,param", sorted(TARGETS))
def test_a_fit_of_the_models_returns_quantity_drives_its_forecast(model, param, fit_files, tmp_path):
    from rsilab.store import Store

    preset = TARGETS[(model, param)]
    quantity = RETURNS_QUANTITY[param]
    store = str(tmp_path / "s.sqlite")
    summary = json.loads(_invoke("forecast", "--preset", preset, "--returns-from", str(fit_files[quantity]),
                                 "--samples", "200", "--horizon", "5", "--json", "--out", str(tmp_path / "out"),
                                 "--store", store))
    assert summary["model"] == model
    assert summary["returns_prior"]["parameter"] == param and summary["returns_prior"]["quantity"] == quantity
    # the run that was simulated drew the returns parameter from the fit's prior, and nothing else changed
    saved = json.loads(fit_files[quantity].read_text())["prior"]["spec"]
    with Store(store) as s:
        config = s.get_run(summary["run_id"]).config
    assert config["params"][param] == saved
    preset_params = load_preset(preset).to_dict()["params"]
    assert {k: v for k, v in config["params"].items() if k != param} == \
           {k: v for k, v in preset_params.items() if k != param}


def test_rounds_fit_without_a_scenario_drives_the_discrete_criticality_forecast(fit_files, tmp_path):
    summary = json.loads(_invoke("forecast", "--returns-from", str(fit_files["k"]), "--samples", "2000", "--json",
                                 "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite")))
    assert summary["model"] == "criticality" and summary["returns_prior"]["parameter"] == "k"
    # every draw of k is about 1.15 > 1 + tolerance: every trajectory compounds
    assert summary["regime_probabilities"]["explosion"] == 1.0
    assert np.isclose(summary["effective_returns"]["median"], 1.15, atol=0.01)


def test_rnd_returns_fit_without_a_scenario_replaces_r_in_the_default_scenario(fit_files, tmp_path):
    summary = json.loads(_invoke("forecast", "--returns-from", str(fit_files["r"]), "--samples", "2000", "--json",
                                 "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.sqlite")))
    assert summary["model"] == "returns" and summary["returns_prior"]["parameter"] == "r"
    # the CV posterior sits above 1 (P(r > 1) ~ 0.999): the early regime is almost all explosion
    early = summary["regime_probabilities_by_phase"]["early"]
    assert early["explosion"] + early["combustion"] > 0.95


@pytest.mark.parametrize("preset,quantity,declared", [("sie", "k", "'r0', which measures 'r'"),
                                                      ("criticality-discrete", "r", "'k', which measures 'k'")])
def test_a_fit_of_another_quantity_than_the_named_scenario_takes_is_a_clear_error(preset, quantity, declared,
                                                                                    fit_files, tmp_path):
    result = CliRunner().invoke(cli, ["forecast", "--preset", preset, "--returns-from", str(fit_files[quantity]),
                                      "--samples", "100", "--store", str(tmp_path / "s.sqlite"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"this fit is of '{quantity}'" in result.output and declared in result.output
    assert "Traceback" not in result.output


def test_a_fit_of_no_returns_quantity_and_a_broken_file_are_clear_errors(tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"prior": {"quantity": "alpha", "spec": {"dist": "uniform", "low": 0.3, "high": 0.4},
                                         "source": "chinchilla"}}))
    result = CliRunner().invoke(cli, ["forecast", "--returns-from", str(fit), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "this fit is of 'alpha'" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(cli, ["forecast", "--returns-from", str(broken), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_draws_outside_the_models_range_are_moved_to_its_bound_and_said(tmp_path):
    """A measured k can be negative (a gain followed by a loss); the discrete model's k lies in
    [0, 10]. Those draws are set to 0, the share is reported, and P(k > 1) is kept exactly."""
    from rsilab.estimate.bridge import make_prior

    draws = [-0.5, -0.2, 0.3, 0.6, 1.5, 2.0, 12.0, 0.9]   # 2 below 0, 1 above 10: 3 of 8 moved
    path = tmp_path / "k.json"
    path.write_text(json.dumps(make_prior("k", {"dist": "empirical", "samples": draws}, "test draws")))
    args = ["forecast", "--returns-from", str(path), "--samples", "4000", "--store", str(tmp_path / "s.sqlite")]
    text = _invoke(*args)
    assert "37.5% of its draws lay outside k's range [0, 10]" in text, text
    summary = json.loads(_invoke(*args, "--json"))
    assert summary["returns_prior"]["draws_moved_into_range"] == 3 / 8
    # the regime rule's explosion band is k > 1.02: 3 of the 8 draws (1.5, 2.0, 12 -> 10) are in it;
    # resampling 4000 draws from 8 values gives a share within 0.04 of 3/8 (about 4 s.d.)
    assert abs(summary["regime_probabilities"]["explosion"] - 3 / 8) < 0.04, summary["regime_probabilities"]
