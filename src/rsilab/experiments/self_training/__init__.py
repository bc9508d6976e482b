"""The self-training experiment: a NoPE transformer trains on its own filtered answers, round by round.

``run_experiment`` (the loop, ``loop.py``) is what the CLI calls; its picture is
``rsilab.report.self_training.plot_rounds``. ``tasks`` holds the generators and exact verifiers,
``model`` the network, ``training`` the per-model jobs, ``horizon`` the capability measure,
``config`` the one config. Torch is imported only when ``run_experiment`` (or a torch module) is
first used, so ``config``, ``tasks`` and ``horizon`` stay light.
"""
from __future__ import annotations

from typing import Any

__all__ = ["run_experiment"]


def __getattr__(name: str) -> Any:
    if name == "run_experiment":
        from rsilab.experiments.self_training.loop import run_experiment

        return run_experiment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
