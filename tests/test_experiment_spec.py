"""One declaration per experiment and one config template: every experiment's config is frozen,
refuses unknown keys and mistyped values, and says what is wrong in one line; sweeps pass the
declared config objects to the declared run function."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.errors import ConfigError
from rsilab.experiments.registry import EXPERIMENTS, get_experiment
from rsilab.experiments.spec import ExperimentConfig

NAMES = sorted(EXPERIMENTS)


@pytest.mark.parametrize("name", NAMES)
def test_every_profile_builds_a_frozen_strict_config(name):
    spec = EXPERIMENTS[name]
    assert issubclass(spec.config, ExperimentConfig) and spec.name == name
    cfg_conf = spec.config.model_config
    assert (cfg_conf["extra"], cfg_conf["frozen"], cfg_conf["strict"]) == ("forbid", True, True)
    for profile in spec.profiles:
        cfg = spec.build(profile)
        assert isinstance(cfg, spec.config)
        # the dict the store keeps builds the same config again (tuples come back from lists)
        assert spec.config(**cfg.to_dict()) == cfg
        with pytest.raises(Exception):
            cfg.seed = 5  # type: ignore[misc]
    assert spec.scale_knob is None or spec.scale_knob in spec.config.model_fields


# (field, value, what the one line must say): the same kinds of mistake for every experiment
BAD = [
    ("rounds_", 3, ["rounds_", "did you mean 'rounds'"]),
    ("rounds", "8", ["rounds", "'8'", "an integer"]),
    ("rounds", True, ["rounds", "True", "an integer"]),
    ("rounds", 2.5, ["rounds", "2.5", "an integer"]),
    ("rounds", -1, ["rounds", "-1", "an integer of at least"]),
    ("seed", -3, ["seed", "-3", "an integer of at least 0"]),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field, value, words", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_a_bad_field_is_one_line_naming_field_value_and_what_is_allowed(name, field, value, words):
    with pytest.raises(ConfigError) as info:
        get_experiment(name).build("mini", overrides={field: value})
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{field} = "), text
    for word in words:
        assert word in text, f"{word!r} not in: {text}"


@pytest.mark.parametrize("name, overrides, words", [
    ("self-training", {"vote": "plurality"}, ["vote = 'plurality'", "one of agreement, majority, none"]),
    ("self-training", {"gate_threshold": 1.5}, ["gate_threshold = 1.5", "a number in [0, 1]"]),
    ("self-training", {"min_confidence": 1.0}, ["min_confidence = 1.0", "a number in [0, 1)"]),
    ("self-training", {"length_filter": 1}, ["length_filter = 1", "true or false"]),
    ("self-training", {"d_model": 33}, ["d_model = 33", "a multiple of n_head"]),
    ("learned-optimizer", {"inner_problems": ["linreg", "sudoku"]}, ["inner_problems[1] = 'sudoku'", "linreg, mlp"]),
    ("learned-optimizer", {"adam_inner_lrs": []}, ["adam_inner_lrs = []", "at least 1"]),
    ("self-improver", {"training_tasks": ["chess"]}, ["training_tasks[0] = 'chess'", "one of lpn"]),
])
def test_choices_ranges_and_cross_field_checks(name, overrides, words):
    with pytest.raises(ConfigError) as info:
        get_experiment(name).build("mini", overrides=overrides)
    text = str(info.value)
    assert "\n" not in text
    for word in words:
        assert word in text, f"{word!r} not in: {text}"


def test_the_cli_names_the_file_and_the_profile(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("rounds = 1\n")
    res = CliRunner().invoke(cli, ["experiment", "run", "learned-optimizer", "--profile", "mini", "--config", str(bad),
                                   "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2
    assert res.output.strip() == f"error: {bad}: rounds = 1 is not allowed: an integer of at least 2"
    res = CliRunner().invoke(cli, ["experiment", "run", "self-training", "--profile", "quick",
                                   "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2
    assert res.output.strip() == ("error: --profile = 'quick' is not allowed: one of self-training's profiles: "
                                  "mini, cpu, gpu")
    res = CliRunner().invoke(cli, ["experiment", "run", "no-such", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "NAME = 'no-such'" in res.output and "learned-optimizer" in res.output


def test_a_sweep_passes_config_objects_to_the_run_function(tmp_path):
    from rsilab.sweep.cell import run_cell
    from rsilab.sweep.spec import parse_spec

    spec = parse_spec({"experiment": "learned-optimizer", "profile": "mini", "grid": {"hidden": [4, 6]},
                       "fixed": {"rounds": 2}})
    assert all(isinstance(c, EXPERIMENTS["learned-optimizer"].config) for c in spec.configs)
    assert [c.hidden for c in spec.configs] == [4, 6] and {c.rounds for c in spec.configs} == {2}
    out = run_cell("learned-optimizer", spec.configs[1])
    assert out["ok"], out["error"]
    assert [r["round"] for r in out["rounds"]] == [0, 1, 2]
    assert out["parameters"] == 7 * 6 + 2  # the learned optimizer's meta-parameters: 7 x hidden + 2


def test_the_self_training_parameter_count_is_the_models():
    pytest.importorskip("torch")
    from rsilab.experiments.self_training.loop import model_shape
    from rsilab.experiments.self_training.model import count_params

    spec = EXPERIMENTS["self-training"]
    cfg = spec.build("cpu")
    assert spec.parameter_count(cfg) == count_params(model_shape(cfg)) == 337_440  # the README's cpu figure
