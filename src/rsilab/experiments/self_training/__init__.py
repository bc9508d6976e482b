"""The self-training experiment: a NoPE transformer trains on its own filtered answers, round by round.

``run_experiment`` (the loop, ``loop.py``) and ``plot_rounds`` (``plot.py``) are what the CLI
calls; ``tasks`` holds the generators and exact verifiers, ``model`` the network, ``training``
the per-model jobs, ``config`` the one config. Torch is imported only when ``run_experiment``
(or a torch module) is first used, so ``config`` and ``tasks`` stay light.
"""
from __future__ import annotations

from typing import Any

__all__ = ["run_experiment", "plot_rounds"]


def __getattr__(name: str) -> Any:
    if name == "run_experiment":
        from rsilab.experiments.self_training.loop import run_experiment

        return run_experiment
    if name == "plot_rounds":
        from rsilab.experiments.self_training.plot import plot_rounds

        return plot_rounds
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
