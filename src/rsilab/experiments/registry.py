"""Every experiment rsilab ships, declared once (``rsilab.experiments.spec.Experiment``).

The CLI (``rsilab experiment``), sweeps (``rsilab sweep``) and reports read these declarations
and nothing else: adding an experiment is one entry here plus its package. Imports the config
modules (pydantic only); never torch.
"""
from __future__ import annotations

from typing import Any

from rsilab.errors import ConfigError
from rsilab.experiments.learned_optimizer.config import PROFILES as LO_PROFILES, LOConfig
from rsilab.experiments.self_improver.config import PROFILES as SI_PROFILES, SIConfig
from rsilab.experiments.self_training.config import PROFILES as ST_PROFILES, SelfTrainingConfig
from rsilab.experiments.spec import Experiment


def _self_training_cpus(cfg: SelfTrainingConfig) -> int:
    return cfg.workers * cfg.threads_per_worker if cfg.device == "cpu" else 1


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment(
        name="self-training", config=SelfTrainingConfig, profiles=ST_PROFILES,
        about="a small transformer that labels harder instances for itself (Lee et al. 2025, in small)",
        run="rsilab.experiments.self_training.loop:run_experiment",
        chart="rsilab.report.self_training:plot_rounds",
        # one model's parameters (a run trains n_models of them side by side)
        scale_knob="d_model", parameters="rsilab.experiments.self_training.loop:parameter_count",
        cpus=_self_training_cpus, needs=("torch",),
        columns=("capability", "horizon_lo", "horizon_hi", "labelled_max", "label_precision", "frontier",
                 "kept_fraction", "compute_flop", "seconds")),
    Experiment(
        name="learned-optimizer", config=LOConfig, profiles=LO_PROFILES,
        about="a learned optimizer that meta-trains itself, numpy only (after Metz et al. 2021)",
        run="rsilab.experiments.learned_optimizer.loop:run_experiment",
        chart="rsilab.report.experiments:learned_optimizer_chart",
        # one population member's meta-parameters: the learned optimizer's own size
        scale_knob="hidden", parameters="rsilab.experiments.learned_optimizer.loop:parameter_count",
        columns=("capability", "capability_adam_meta", "capability_adam_inner", "gain", "compute_flop", "seconds")),
    Experiment(
        name="self-improver", config=SIConfig, profiles=SI_PROFILES,
        about="an improver applied to its own source inside the box (the loop of STOP)",
        run="rsilab.experiments.self_improver.loop:run_experiment",
        chart="rsilab.report.experiments:self_improver_chart",
        columns=("capability", "capability_control", "held_out", "held_out_control", "adopted", "adopted_control",
                 "compute_flop", "seconds")),
)}

# every profile any experiment has, smallest first (the CLI's choices)
_BY_SIZE = ("mini", "quick", "cpu", "gpu")
PROFILE_NAMES: tuple[str, ...] = tuple(sorted({p for e in EXPERIMENTS.values() for p in e.profiles},
                                              key=lambda p: (_BY_SIZE.index(p) if p in _BY_SIZE else len(_BY_SIZE), p)))


def get_experiment(name: Any, *, field: str = "NAME") -> Experiment:
    """The declared experiment ``name``; a ConfigError naming ``field`` otherwise."""
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise ConfigError(field, name, f"an experiment: one of {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]
