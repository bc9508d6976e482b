"""Learned optimizer that trains itself (after Metz et al. 2021, arXiv 2101.07367).

``run_experiment`` is the entry point ``rsilab experiment`` uses (its chart: rsilab.report.experiments). numpy
only: for problems this small numpy beats torch on 2 cores (docs/learned_optimizer.md).
"""
from rsilab.experiments.learned_optimizer.loop import run_experiment

__all__ = ["run_experiment"]
