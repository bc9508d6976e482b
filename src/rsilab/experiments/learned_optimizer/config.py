"""The learned-optimizer experiment's configuration: one frozen, validated record per profile.

Profiles: ``mini`` (seconds; tests), ``quick`` (the cpu profile's first 8 rounds: enough for
``rsilab fit rounds`` in seconds, the README's quickstart), ``cpu`` (under 10 minutes on 2
shared cores), ``gpu`` (larger population and unrolls; still numpy, the name only says "the big
machine"). A TOML file given with ``--config`` overrides single fields of the profile. Imports pydantic (through the config
template, ``rsilab.experiments.spec``) only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from rsilab.experiments.spec import LIST_AS_TUPLE, ExperimentConfig, Floats

Problem = Literal["linreg", "mlp"]


class LOConfig(ExperimentConfig):
    rounds: int = Field(40, ge=2, description="meta-training rounds recorded in the store")
    meta_steps_per_round: int = Field(8, ge=1)
    population: int = Field(4, ge=2, description="population-based-training members")
    es_pairs: int = Field(16, ge=1, description="antithetic ES pairs per meta-gradient estimate")
    tasks_per_meta_step: int = Field(2, ge=1, description="inner problems averaged per estimate")
    unroll_steps: int = Field(50, ge=2, description="inner steps per unroll (full unroll, no truncation)")
    eval_tasks: int = Field(8, ge=2, description="fixed held-out inner problems for capability")
    hidden: int = Field(16, ge=2, description="hidden units of the per-parameter MLP")
    step_scale: float = Field(1e-2, gt=0, description="output scale: update = -step_scale*d*exp(s)")
    es_sigma: float = Field(0.05, gt=0, description="initial ES perturbation scale (PBT tunes it)")
    adam_meta_lr: float = Field(3e-3, gt=0, description="centre of the Adam control's initial meta-lrs (PBT tunes them)")
    pbt_every: int = Field(3, ge=1, description="rounds between PBT exploit/explore steps")
    adam_inner_lrs: Floats = Field((1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1), min_length=1)
    inner_problems: Annotated[tuple[Problem, ...], LIST_AS_TUPLE] = Field(("linreg", "mlp"), min_length=1)


PROFILES: dict[str, dict[str, Any]] = {
    "mini": dict(rounds=3, meta_steps_per_round=2, population=2, es_pairs=2, tasks_per_meta_step=1,
                 unroll_steps=8, eval_tasks=2, hidden=4, pbt_every=2, adam_inner_lrs=(1e-2, 1e-1)),
    # the cpu profile's loop, stopped at 8 rounds: 9 capabilities for `rsilab fit rounds` in seconds
    "quick": dict(rounds=8),
    "cpu": dict(),
    "gpu": dict(rounds=60, meta_steps_per_round=10, population=8, es_pairs=32, tasks_per_meta_step=4,
                unroll_steps=200, eval_tasks=32, hidden=32),
}


def load_config(path: str | Path | None = None, profile: str = "cpu",
                overrides: dict[str, Any] | None = None) -> LOConfig:
    """The ``profile``'s defaults, then the TOML file's fields, then ``overrides``."""
    from rsilab.experiments.registry import get_experiment

    return get_experiment("learned-optimizer").build(profile, path, overrides)
