"""Estimate returns (k, r) and scaling laws from data, with uncertainty, and turn them into priors.

Estimators follow scikit-learn's contract with lmfit's ``guess()``: ``__init__`` only stores its
arguments and ``fit`` checks them, ``fit`` returns self, learned values end in ``_``, every result
carries intervals, ``converged_`` (the optimizer's own verdict) and ``message_``, and the one
``to_prior()`` (``result.Estimator``) returns {"quantity", "spec", "source"} for the forecast
engine. This package imports numpy/scipy, rsilab.core and rsilab.dynamics (what models declare);
never torch, never rsilab.simulate or rsilab.cli.
"""
from rsilab.estimate.bnsl import BNSLFit, bnsl
from rsilab.estimate.bridge import apply_returns_prior, load_prior, make_prior, spec_problem
from rsilab.estimate.chinchilla import ChinchillaFit, compute_optimal_allocation, hoffmann_grid
from rsilab.estimate.powerlaw import PowerLawFit
from rsilab.estimate.rnd_returns import RnDReturnsFit, growth_ratio
from rsilab.estimate.pooling import PooledK
from rsilab.estimate.rounds import RoundsFit
from rsilab.estimate.scale import ScaleFit
from rsilab.estimate.verdict import verdict

__all__ = ["BNSLFit", "ChinchillaFit", "PooledK", "PowerLawFit", "RnDReturnsFit", "RoundsFit", "ScaleFit", "bnsl",
           "verdict",
           "apply_returns_prior", "compute_optimal_allocation", "growth_ratio", "hoffmann_grid", "load_prior",
           "make_prior", "spec_problem"]
