"""A self-improving improver (the loop of STOP, Zelikman et al. 2023), without a language model.

``run_experiment`` is what ``rsilab experiment`` uses (its chart: rsilab.report.experiments). Every program an
improver proposes runs inside ``rsilab.box``; the host only reads their results.
"""
from rsilab.experiments.self_improver.loop import run_experiment

__all__ = ["run_experiment"]
