"""What a sweep needs to know about each experiment: its config, its scale knob, its cores.

Owns one ``SweepTarget`` per experiment in ``rsilab.experiments.EXPERIMENTS``: how to build and
validate a config from a profile plus overriding fields (without a file), which config field is
its model-size knob and how many parameters a config gives, and how many CPUs one cell uses.
Config modules import pydantic only; ``parameters`` may import torch (it runs on the worker,
through the experiment's own modules). Imports no torch itself.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from rsilab.errors import ConfigError


def _pydantic_config(module: str, model: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    def build(profile: str, values: dict[str, Any]) -> dict[str, Any]:
        from pydantic import ValidationError

        mod = importlib.import_module(module)
        profiles: Mapping[str, Mapping[str, Any]] = mod.PROFILES
        if profile not in profiles:
            raise ConfigError("profile", profile, f"one of {', '.join(profiles)}")
        try:
            return getattr(mod, model)(**{**profiles[profile], **values}).model_dump(mode="json")
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "config"
            raise ConfigError(field, err.get("input"), err["msg"]) from None
    return build


def _self_training_config(profile: str, values: dict[str, Any]) -> dict[str, Any]:
    from rsilab.experiments.self_training.config import load_config

    return load_config(None, profile, overrides=values).to_dict()


def _self_training_parameters(cfg: dict[str, Any]) -> float:
    from rsilab.experiments.self_training.config import SelfTrainingConfig
    from rsilab.experiments.self_training.loop import model_shape
    from rsilab.experiments.self_training.model import count_params

    # one model's parameters (the cell trains n_models of them side by side)
    return float(count_params(model_shape(SelfTrainingConfig(**cfg))))


def _learned_optimizer_parameters(cfg: dict[str, Any]) -> float:
    from rsilab.experiments.learned_optimizer.optimizer import n_meta_params

    # one population member's meta-parameters: the learned optimizer's own size
    return float(n_meta_params(int(cfg["hidden"])))


def _self_training_cpus(cfg: dict[str, Any]) -> int:
    return int(cfg["workers"]) * int(cfg["threads_per_worker"]) if cfg["device"] == "cpu" else 1


@dataclass(frozen=True)
class SweepTarget:
    name: str
    config: Callable[[str, dict[str, Any]], dict[str, Any]]   # (profile, fields) -> validated config dict
    scale_knob: str | None                                     # the config field that sets model size
    parameters: Callable[[dict[str, Any]], float] | None       # config dict -> parameters (on the worker)
    cpus: Callable[[dict[str, Any]], int]                      # CPUs one cell occupies


TARGETS: dict[str, SweepTarget] = {
    "self-training": SweepTarget("self-training", _self_training_config, "d_model", _self_training_parameters,
                                 _self_training_cpus),
    "learned-optimizer": SweepTarget(
        "learned-optimizer", _pydantic_config("rsilab.experiments.learned_optimizer.config", "LOConfig"), "hidden",
        _learned_optimizer_parameters, lambda cfg: 1),
    "self-improver": SweepTarget(
        "self-improver", _pydantic_config("rsilab.experiments.self_improver.config", "SIConfig"), None, None,
        lambda cfg: 1),
}


def get_target(name: str) -> SweepTarget:
    from rsilab.experiments import EXPERIMENTS

    if name not in EXPERIMENTS or name not in TARGETS:
        raise ConfigError("experiment", name, f"one of {', '.join(sorted(TARGETS))}")
    return TARGETS[name]
