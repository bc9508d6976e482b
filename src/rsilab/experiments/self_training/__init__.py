"""The self-training experiment: a NoPE transformer trains on its own filtered answers, round by round.

``run_experiment`` (the loop, ``loop.py``) and ``plot_rounds`` (``plot.py``) are what the CLI
calls; ``tasks`` holds the generators and exact verifiers, ``model`` the network, ``training``
the per-model jobs, ``config`` the one config. Importing this package imports torch.
"""
from rsilab.experiments.self_training.loop import run_experiment
from rsilab.experiments.self_training.plot import plot_rounds

__all__ = ["run_experiment", "plot_rounds"]
