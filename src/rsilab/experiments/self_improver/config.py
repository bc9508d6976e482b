"""The self-improver experiment's configuration: one frozen, validated record per profile.

``budget`` is the downstream budget (utility calls an improver may spend on one task
instance); ``meta_budget`` is the number of programs an improver may score when it improves an
improver (STOP's budget of language-model calls becomes a budget of meta-utility calls).
Seeds index task instances: ``selection`` instances score candidates, ``eval`` instances (fresh
instances of the same tasks) give the capability, ``held_out`` instances of the held-out tasks
measure transfer. Imports pydantic only.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from rsilab.errors import ConfigError
from rsilab.experiments.settings import build_config


class SIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    rounds: int = Field(40, ge=1)
    budget: int = Field(40, ge=2, description="utility calls per downstream task instance")
    meta_budget: int = Field(96, ge=2, description="meta-utility calls per self-improvement step")
    selection_seeds: int = Field(4, ge=1, description="instances per training task used to select")
    eval_seeds: int = Field(8, ge=1, description="fresh instances per training task for capability")
    held_out_seeds: int = Field(8, ge=1, description="instances per held-out task for transfer")
    seconds_per_run: float = Field(0.5, gt=0, description="deadline of one improver on one instance")
    job_seconds: float = Field(60.0, gt=1, description="CPU limit of one boxed job")
    training_tasks: tuple[str, ...] = ("lpn", "3sat", "maxcut", "grid")
    held_out_tasks: tuple[str, ...] = ("knapsack", "partition")


PROFILES: dict[str, dict] = {
    "mini": dict(rounds=2, budget=8, meta_budget=3, selection_seeds=1, eval_seeds=1, held_out_seeds=1,
                 job_seconds=20.0),
    "cpu": dict(),
    "gpu": dict(rounds=60, meta_budget=64, selection_seeds=8, eval_seeds=16, held_out_seeds=16, job_seconds=300.0),
}


def load_config(config_path: Path | None, profile: str) -> SIConfig:
    cfg, source = build_config(SIConfig, PROFILES, profile, config_path)
    from rsilab.experiments.self_improver.tasks import HELD_OUT_TASKS, TRAINING_TASKS

    for name in cfg.training_tasks:
        if name not in TRAINING_TASKS:
            raise ConfigError("training_tasks", name, f"one of {', '.join(TRAINING_TASKS)}", source=source)
    for name in cfg.held_out_tasks:
        if name not in HELD_OUT_TASKS:
            raise ConfigError("held_out_tasks", name, f"one of {', '.join(HELD_OUT_TASKS)}", source=source)
    return cfg
