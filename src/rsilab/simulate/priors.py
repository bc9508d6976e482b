"""Joint sampling of priors through a Gaussian copula (the spec format itself, ``Prior`` and
``parse_prior``, lives in ``rsilab.core.priors``, shared with ``estimate``).

Correlations are rank-level: correlated standard normals are drawn, mapped to uniforms by the
normal CDF, then through each marginal's inverse CDF (for ``empirical``, the inverse empirical
CDF of the given samples). The same seed gives the same draws. Imports numpy, our errors
and ``rsilab.core`` only; scipy.special only where correlations need the normal CDF.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rsilab.core.priors import DISTRIBUTIONS, OPTIONAL_FIELDS, Prior, parse_prior
from rsilab.errors import ConfigError

# Prior and parse_prior are re-exported: scenarios and their tests reach the format through here.


def correlation_matrix(names: Sequence[str], correlations: Mapping[tuple[str, str], float]) -> np.ndarray:
    """The normal scores' correlation matrix over ``names``; a ConfigError unless it is positive definite."""
    corr = np.eye(len(names))
    pos = {name: i for i, name in enumerate(names)}
    for (a, b), rho in correlations.items():
        corr[pos[a], pos[b]] = corr[pos[b], pos[a]] = rho
    try:
        np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        raise ConfigError("correlations", {f"{a},{b}": r for (a, b), r in correlations.items()},
                          "a set of correlations whose matrix is positive definite") from None
    return corr


def correlated_uniforms(n: int, names: Sequence[str], correlations: Mapping[tuple[str, str], float],
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Uniforms for each name whose normal scores have the given pairwise correlations."""
    d = len(names)
    if not correlations:
        # independent marginals need no normal scores: plain uniforms are cheaper
        u = rng.random((d, n))
        np.clip(u, 1e-15, 1 - 1e-15, out=u)
        return {name: u[i] for i, name in enumerate(names)}
    chol = np.linalg.cholesky(correlation_matrix(names, correlations))
    z = chol @ rng.standard_normal((d, n))
    return {name: u for name, u in zip(names, normal_scores_to_uniforms(z))}


def normal_scores_to_uniforms(z: np.ndarray) -> np.ndarray:
    """The normal CDF of ``z``, kept strictly inside (0, 1) so inverse CDFs stay finite."""
    from scipy.special import ndtr

    u = ndtr(z)
    np.clip(u, 1e-15, 1 - 1e-15, out=u)
    return u


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """The one place a seed becomes a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
