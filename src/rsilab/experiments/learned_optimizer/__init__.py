"""Learned optimizer that trains itself (after Metz et al. 2021, arXiv 2101.07367).

``run_experiment`` and ``plot_rounds`` are the entry points ``rsilab experiment`` uses. numpy
only: for problems this small numpy beats torch on 2 cores (docs/learned_optimizer.md).
"""
from rsilab.experiments.learned_optimizer.loop import plot_rounds, run_experiment

__all__ = ["run_experiment", "plot_rounds"]
