"""Solvers vectorised over samples, priors, Monte Carlo, regimes and sensitivity.

Imports rsilab.dynamics, rsilab.core and numpy/scipy; never torch. numba is imported lazily, on a compiled kernel's first use."""
