"""The self-improver experiment's configuration: one frozen, validated record per profile.

``budget`` is the downstream budget (utility calls an improver may spend on one task
instance); ``meta_budget`` is the number of programs an improver may score when it improves an
improver (STOP's budget of language-model calls becomes a budget of meta-utility calls).
Seeds index task instances: ``selection`` instances score candidates, ``eval`` instances (fresh
instances of the same tasks) give the capability, ``held_out`` instances of the held-out tasks
measure transfer. Imports pydantic (through the config template) and, to check task names, the
task registry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from rsilab.errors import ConfigError
from rsilab.experiments.spec import ExperimentConfig, Names


class SIConfig(ExperimentConfig):
    rounds: int = Field(40, ge=1)
    budget: int = Field(40, ge=2, description="utility calls per downstream task instance")
    meta_budget: int = Field(96, ge=2, description="meta-utility calls per self-improvement step")
    selection_seeds: int = Field(4, ge=1, description="instances per training task used to select")
    eval_seeds: int = Field(8, ge=1, description="fresh instances per training task for capability")
    held_out_seeds: int = Field(8, ge=1, description="instances per held-out task for transfer")
    seconds_per_run: float = Field(0.5, gt=0, description="deadline of one improver on one instance")
    job_seconds: float = Field(60.0, gt=1, description="CPU limit of one boxed job")
    training_tasks: Names = Field(("lpn", "3sat", "maxcut", "grid"), min_length=1)
    held_out_tasks: Names = Field(("knapsack", "partition"), min_length=1)

    @model_validator(mode="after")
    def _known_tasks(self) -> "SIConfig":
        from rsilab.experiments.self_improver.tasks import HELD_OUT_TASKS, TRAINING_TASKS

        for name, known in (("training_tasks", TRAINING_TASKS), ("held_out_tasks", HELD_OUT_TASKS)):
            for i, task in enumerate(getattr(self, name)):
                if task not in known:
                    raise ConfigError(f"{name}[{i}]", task, f"one of {', '.join(known)}")
        return self


PROFILES: dict[str, dict[str, Any]] = {
    "mini": dict(rounds=2, budget=8, meta_budget=3, selection_seeds=1, eval_seeds=1, held_out_seeds=1,
                 job_seconds=20.0),
    "cpu": dict(),
    "gpu": dict(rounds=60, meta_budget=64, selection_seeds=8, eval_seeds=16, held_out_seeds=16, job_seconds=300.0),
}


def load_config(path: str | Path | None = None, profile: str = "cpu",
                overrides: dict[str, Any] | None = None) -> SIConfig:
    """The ``profile``'s defaults, then the TOML file's fields, then ``overrides``."""
    from rsilab.experiments.registry import get_experiment

    return get_experiment("self-improver").build(profile, path, overrides)
