"""The self-training experiment's one config: a frozen dataclass, per-profile defaults, TOML overrides.

Owns the fields, their allowed values and the three profiles (``mini`` for tests, ``cpu`` the
default, ``gpu`` the paper's scale). A ``--config FILE`` TOML overrides fields of the chosen
profile; an unknown key or a bad value is a ``ConfigError`` naming it. Imports no torch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from rsilab.errors import ConfigError
from rsilab.experiments.settings import read_toml

PROFILES = ("mini", "cpu", "gpu")


@dataclass(frozen=True)
class SelfTrainingConfig:
    # task and difficulties
    task: str = "copy"                      # copy | reverse | add | mul
    n0: int = 8                             # round 0 trains on labelled difficulties 1..n0
    eval_max_difficulty: int = 20           # accuracy is measured at difficulties 1..this
    # model
    positions: str = "nope"                 # nope | rope | learned
    n_layer: int = 3
    n_head: int = 4
    d_model: int = 96
    d_ff: int = 384
    # data sizes (instances)
    labelled_per_difficulty: int = 1000     # round 0's labelled pool, per difficulty
    unlabelled_per_round: int = 500         # self-labelled candidates per difficulty per round
    eval_per_difficulty: int = 100          # held-out verified instances per difficulty
    # the loop
    rounds: int = 10                        # self-training rounds after round 0
    mode: str = "one-up"                    # one-up: next difficulty only | fast: every difficulty the gate passes
    fast_growth: float = 0.25               # fast mode tries ceil(fast_growth * labelled_max) new difficulties a round
    fast_max_step: int = 16                 # ... but at most this many
    # filters
    n_models: int = 2                       # independently trained models (seeds) that label together
    vote: str = "agreement"                 # agreement (all equal) | majority (> half) | none (model 0 alone)
    length_filter: bool = True              # drop outputs without the end token or of the wrong length
    gate_threshold: float = 0.5             # advance only if this fraction of candidates pass the length filter and the vote; 0 = no gate
    min_confidence: float = 0.9             # of those, label only answers each voting model gave every token of at this probability or more; 0 = off
    # training
    steps_round0: int = 5000
    steps_per_round: int = 500
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 50
    # measurement
    horizon_accuracy: float = 0.5           # capability: the length horizon at this accuracy (also recorded at 0.8)
    horizon_bootstrap: int = 1000           # bootstrap replicates over evaluation instances for its interval
    frontier_accuracy: float = 0.95         # the frontier (secondary): largest d with accuracy >= this at 1..d
    # execution
    seed: int = 0
    workers: int = 2                        # processes training models side by side (1 = in this process)
    threads_per_worker: int = 1             # torch threads in each worker process (or here when workers=1)
    device: str = "cpu"                     # cpu | cuda | auto
    dtype: str = "float32"                  # float32 | bfloat16 (autocast, cuda only)

    def __post_init__(self) -> None:
        choices = {"task": ("copy", "reverse", "add", "mul"), "positions": ("nope", "rope", "learned"),
                   "mode": ("one-up", "fast"), "vote": ("agreement", "majority", "none"),
                   "device": ("cpu", "cuda", "auto"), "dtype": ("float32", "bfloat16")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(name, getattr(self, name), f"one of {', '.join(allowed)}")
        positive = ("n0", "eval_max_difficulty", "n_layer", "n_head", "d_model", "d_ff", "labelled_per_difficulty",
                    "unlabelled_per_round", "eval_per_difficulty", "fast_max_step", "n_models", "steps_round0",
                    "batch_size", "workers", "threads_per_worker", "horizon_bootstrap")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(name, getattr(self, name), "an integer of at least 1")
        for name in ("rounds", "steps_per_round", "warmup_steps", "seed"):
            if getattr(self, name) < 0:
                raise ConfigError(name, getattr(self, name), "an integer of at least 0")
        if self.eval_max_difficulty < self.n0:
            raise ConfigError("eval_max_difficulty", self.eval_max_difficulty, f"at least n0 = {self.n0}")
        if self.d_model % self.n_head:
            raise ConfigError("d_model", self.d_model, f"a multiple of n_head = {self.n_head}")
        if self.positions == "rope" and (self.d_model // self.n_head) % 2:
            raise ConfigError("d_model", self.d_model, "d_model / n_head must be even for rope")
        if not 0.0 <= self.gate_threshold <= 1.0:
            raise ConfigError("gate_threshold", self.gate_threshold, "a fraction in [0, 1] (0 turns the gate off)")
        if not 0.0 <= self.min_confidence < 1.0:
            raise ConfigError("min_confidence", self.min_confidence, "a probability in [0, 1) (0 turns the filter off)")
        if not 0.0 < self.horizon_accuracy < 1.0:
            raise ConfigError("horizon_accuracy", self.horizon_accuracy, "a fraction in (0, 1)")
        if not self.fast_growth > 0.0:
            raise ConfigError("fast_growth", self.fast_growth, "a number above 0")
        if self.n_models > 9:  # the record stores, per evaluation instance, one digit: how many models were right
            raise ConfigError("n_models", self.n_models, "at most 9")
        if not 0.0 < self.frontier_accuracy <= 1.0:
            raise ConfigError("frontier_accuracy", self.frontier_accuracy, "a fraction in (0, 1]")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise ConfigError("lr", self.lr, "lr > 0 and weight_decay >= 0")
        if self.vote in ("agreement", "majority") and self.n_models < 2:
            raise ConfigError("n_models", self.n_models, f"at least 2 for vote = {self.vote!r} (or vote = 'none')")
        if self.mode == "fast" and self.gate_threshold == 0.0:
            raise ConfigError("gate_threshold", 0.0, "above 0 in fast mode: the gate decides how far a round goes")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_PROFILE_FIELDS: dict[str, dict[str, Any]] = {
    # Seconds: exercises every path (agreement, gate, length filter, resume) on a toy model, whose
    # answers are too rarely confident for the confidence filter (its test turns it on).
    "mini": dict(n0=2, eval_max_difficulty=4, n_layer=2, n_head=2, d_model=32, d_ff=64,
                 labelled_per_difficulty=100, unlabelled_per_round=40, eval_per_difficulty=20, rounds=2,
                 min_confidence=0.0, steps_round0=100, steps_per_round=20, batch_size=32, lr=3e-3, warmup_steps=10,
                 workers=1),
    # About 9 minutes on 2 cores: the copy task, NoPE, two agreeing models trained side by side,
    # confident labels only (docs/self_training.md says how this was chosen).
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
    if profile not in PROFILES:
        raise ConfigError("profile", profile, f"one of {', '.join(PROFILES)}")
    cfg = SelfTrainingConfig(**_PROFILE_FIELDS[profile])
    if path is not None:
        path = Path(path)
        cfg = _apply(cfg, read_toml(path), source=str(path))
    if overrides:
        cfg = _apply(cfg, overrides, source="overrides")
    return cfg


def _apply(cfg: SelfTrainingConfig, data: dict[str, Any], *, source: str) -> SelfTrainingConfig:
    types = {f.name: f.type for f in fields(SelfTrainingConfig)}
    data = dict(data)
    for key, value in data.items():
        if key not in types:
            raise ConfigError(key, value, f"a known field: {', '.join(types)}", source=source)
        want = {"int": int, "float": float, "bool": bool, "str": str}[types[key]]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            data[key], ok = float(value), True
        if not ok:
            raise ConfigError(key, value, f"a {types[key]}", source=source)
    try:
        return replace(cfg, **data)
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, exc.allowed, source=source) from None
