"""The self-training experiment's one config: frozen, validated, per-profile defaults, TOML overrides.

Owns the fields, their allowed values and the profiles (``mini`` for tests, ``cpu`` the default,
``gpu`` the paper's scale). A ``--config FILE`` TOML overrides fields of the chosen profile; an
unknown key or a bad value is a ``ConfigError`` naming it (the template:
``rsilab.experiments.spec.ExperimentConfig``). Imports no torch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from rsilab.errors import ConfigError
from rsilab.experiments.spec import ExperimentConfig


class SelfTrainingConfig(ExperimentConfig):
    # task and difficulties
    task: Literal["copy", "reverse", "add", "mul"] = "copy"
    n0: int = Field(8, ge=1)                      # round 0 trains on labelled difficulties 1..n0
    eval_max_difficulty: int = Field(20, ge=1)    # accuracy is measured at difficulties 1..this
    # model
    positions: Literal["nope", "rope", "learned"] = "nope"
    n_layer: int = Field(3, ge=1)
    n_head: int = Field(4, ge=1)
    d_model: int = Field(96, ge=1)
    d_ff: int = Field(384, ge=1)
    # data sizes (instances)
    labelled_per_difficulty: int = Field(1000, ge=1)  # round 0's labelled pool, per difficulty
    unlabelled_per_round: int = Field(500, ge=1)      # self-labelled candidates per difficulty per round
    eval_per_difficulty: int = Field(100, ge=1)       # held-out verified instances per difficulty
    # the loop
    rounds: int = Field(10, ge=0)                     # self-training rounds after round 0
    mode: Literal["one-up", "fast"] = "one-up"        # one-up: next difficulty only | fast: every difficulty the gate passes
    fast_growth: float = Field(0.25, gt=0)            # fast mode tries ceil(fast_growth * labelled_max) new difficulties a round
    fast_max_step: int = Field(16, ge=1)              # ... but at most this many
    # filters
    n_models: int = Field(2, ge=1, le=9)              # independently trained models (seeds) that label together
    # (at most 9: the record stores, per evaluation instance, one digit: how many models were right)
    vote: Literal["agreement", "majority", "none"] = "agreement"  # all equal | more than half | model 0 alone
    length_filter: bool = True                        # drop outputs without the end token or of the wrong length
    gate_threshold: float = Field(0.5, ge=0, le=1)    # advance only if this fraction pass the length filter and the vote; 0 = no gate
    min_confidence: float = Field(0.9, ge=0, lt=1)    # of those, label only answers each voting model gave every token of at this probability or more; 0 = off
    # training
    steps_round0: int = Field(5000, ge=1)
    steps_per_round: int = Field(500, ge=0)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    warmup_steps: int = Field(50, ge=0)
    # measurement
    horizon_accuracy: float = Field(0.5, gt=0, lt=1)   # capability: the length horizon at this accuracy (also recorded at 0.8)
    horizon_bootstrap: int = Field(1000, ge=1)         # bootstrap replicates over evaluation instances for its interval
    frontier_accuracy: float = Field(0.95, gt=0, le=1)  # the frontier (secondary): largest d with accuracy >= this at 1..d
    # execution
    workers: int = Field(2, ge=1)                     # processes training models side by side (1 = in this process)
    threads_per_worker: int = Field(1, ge=1)          # torch threads in each worker process (or here when workers=1)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    dtype: Literal["float32", "bfloat16"] = "float32"  # bfloat16: autocast, cuda only

    @model_validator(mode="after")
    def _consistent(self) -> "SelfTrainingConfig":
        if self.eval_max_difficulty < self.n0:
            raise ConfigError("eval_max_difficulty", self.eval_max_difficulty, f"at least n0 = {self.n0}")
        if self.d_model % self.n_head:
            raise ConfigError("d_model", self.d_model, f"a multiple of n_head = {self.n_head}")
        if self.positions == "rope" and (self.d_model // self.n_head) % 2:
            raise ConfigError("d_model", self.d_model, f"an even multiple of n_head = {self.n_head} for rope")
        if self.vote in ("agreement", "majority") and self.n_models < 2:
            raise ConfigError("n_models", self.n_models, f"at least 2 for vote = {self.vote!r} (or vote = 'none')")
        if self.mode == "fast" and self.gate_threshold == 0.0:
            raise ConfigError("gate_threshold", 0.0, "above 0 in fast mode: the gate decides how far a round goes")
        return self


PROFILES: dict[str, dict[str, Any]] = {
    # Seconds: exercises every path (agreement, gate, length filter, resume) on a toy model, whose
    # answers are too rarely confident for the confidence filter (its test turns it on).
    "mini": dict(n0=2, eval_max_difficulty=4, n_layer=2, n_head=2, d_model=32, d_ff=64,
                 labelled_per_difficulty=100, unlabelled_per_round=40, eval_per_difficulty=20, rounds=2,
                 min_confidence=0.0, steps_round0=100, steps_per_round=20, batch_size=32, lr=3e-3, warmup_steps=10,
                 workers=1),
    # Minutes on 2 cores (docs/self_training.md has the measured time): the copy task, NoPE, two
    # agreeing models trained side by side, confident labels only (the same page says how this
    # was chosen).
    "cpu": dict(),
    # The paper's scale: ~14M parameters, 6 layers, reverse addition trained up to 16 digits.
    "gpu": dict(task="add", n0=16, eval_max_difficulty=40, n_layer=6, n_head=8, d_model=448, d_ff=1792,
                labelled_per_difficulty=50_000, unlabelled_per_round=20_000, eval_per_difficulty=500,
                rounds=20, n_models=3, min_confidence=0.0, steps_round0=10_000, steps_per_round=1500, batch_size=512,
                lr=5e-4, warmup_steps=500, workers=1, threads_per_worker=4, device="auto", dtype="bfloat16"),
}


def load_config(path: str | Path | None = None, profile: str = "cpu",
                overrides: dict[str, Any] | None = None) -> SelfTrainingConfig:
    """The ``profile``'s defaults, then the TOML file's fields, then ``overrides``."""
    from rsilab.experiments.registry import get_experiment

    return get_experiment("self-training").build(profile, path, overrides)
