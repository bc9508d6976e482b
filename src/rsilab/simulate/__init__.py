"""Solvers vectorised over samples, priors, Monte Carlo, regimes and sensitivity.

Imports rsilab.dynamics and numpy/scipy; never torch. The numba kernel is imported lazily."""
