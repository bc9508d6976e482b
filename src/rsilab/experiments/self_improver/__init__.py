"""A self-improving improver (the loop of STOP, Zelikman et al. 2023), without a language model.

``run_experiment`` and ``plot_rounds`` are what ``rsilab experiment`` uses. Every program an
improver proposes runs inside ``rsilab.box``; the host only reads their results.
"""
from rsilab.experiments.self_improver.loop import plot_rounds, run_experiment

__all__ = ["run_experiment", "plot_rounds"]
