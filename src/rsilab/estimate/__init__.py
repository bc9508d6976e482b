"""Estimate returns (k, r) and scaling laws from data, with uncertainty, and turn them into priors.

Estimators follow scikit-learn's contract: parameters in ``__init__``, ``fit`` returns self,
learned values end in ``_``, every result carries intervals and a convergence message
(``message_``), and ``to_prior()`` returns {"quantity", "spec", "source"} for the forecast engine.
This package imports numpy/scipy only; never torch, never rsilab.simulate or rsilab.cli.
"""
from rsilab.estimate.bnsl import BNSLFit, bnsl
from rsilab.estimate.bridge import load_prior, spec_problem
from rsilab.estimate.chinchilla import ChinchillaFit, compute_optimal_allocation, hoffmann_grid
from rsilab.estimate.powerlaw import PowerLawFit
from rsilab.estimate.rnd_returns import RnDReturnsFit, growth_ratio
from rsilab.estimate.rounds import RoundsFit

__all__ = ["BNSLFit", "ChinchillaFit", "PowerLawFit", "RnDReturnsFit", "RoundsFit", "bnsl",
           "compute_optimal_allocation", "growth_ratio", "hoffmann_grid", "load_prior", "spec_problem"]
