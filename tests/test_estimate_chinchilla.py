"""Chinchilla fits: golden tests against Besiroglu et al. 2024 (arXiv 2404.10102) and internal checks.

Published figures (Table 1 of arXiv 2404.10102, "our estimate" column, 240 points, standard
errors from 4,000 bootstrap resamples): A = 482.01 (124.58), B = 2085.43 (1293.23),
E = 1.82 (0.03), alpha = 0.3478 (0.02), beta = 0.3658 (0.02).
Provenance note: the search tools in this session did not return the paper's table text
(the repository notebook's stored copy is mostly image output); the figures above are the
paper's Table 1 as known to the author of these tests. Our independent exact solution of the
headline likelihood reproduces every one of them to the printed digits, which is strong
evidence the transcription is right.
"""
from __future__ import annotations

import numpy as np
import pytest

from rsilab.estimate.chinchilla import (HOFFMANN_REPORTED, ChinchillaFit, compute_optimal_allocation,
                                        fit_hoffmann_fast, fit_hoffmann_reference, hoffmann_grid,
                                        huber_objective, log_predict, untransform)
from rsilab.estimate.io import load_scaling_chinchilla

PUBLISHED = {"A": 482.01, "B": 2085.43, "E": 1.82, "alpha": 0.3478, "beta": 0.3658}
PUBLISHED_SE = {"A": 124.58, "B": 1293.23, "E": 0.03, "alpha": 0.02, "beta": 0.02}
PRINTED_DECIMALS = {"A": 2, "B": 2, "E": 2, "alpha": 4, "beta": 4}


def _data(shared_data):
    N, D, L = load_scaling_chinchilla(shared_data / "chinchilla_epoch_svg_extracted.csv")
    keep = L < np.sort(L)[-5]   # the paper drops the 5 highest-loss points
    return N[keep], D[keep], L[keep]


def _report(found: dict, published: dict) -> str:
    return "\n".join(f"  {k:6s} found {found[k]:.6g}  published {published[k]:.6g}" for k in published)


def test_transcription_of_the_dataset(shared_data):
    N, D, L = load_scaling_chinchilla(shared_data / "chinchilla_epoch_svg_extracted.csv")
    assert len(L) == 245
    assert N.min() == pytest.approx(57334197.40687078) and N.max() == pytest.approx(16183346310.7305)
    assert L.min() == pytest.approx(2.0773942450664395) and L.max() == pytest.approx(5.005581996196243)
    assert len(_data(shared_data)[2]) == 240


def test_headline_fit_reproduces_table_1(shared_data):
    fit = ChinchillaFit("likelihood", n_bootstrap=0).fit(*_data(shared_data))
    found = fit.params_
    msg = "headline fit vs arXiv 2404.10102 Table 1:\n" + _report(found, PUBLISHED)
    # Exponents: 0.1%; E to the two printed decimals; A and B: the printed value to 0.5%
    # (the issue allows a few per cent, the LAD optimum is sharper than that).
    assert found["alpha"] == pytest.approx(PUBLISHED["alpha"], rel=1e-3), msg
    assert found["beta"] == pytest.approx(PUBLISHED["beta"], rel=1e-3), msg
    assert round(found["E"], 2) == PUBLISHED["E"], msg
    assert found["A"] == pytest.approx(PUBLISHED["A"], rel=5e-3), msg
    assert found["B"] == pytest.approx(PUBLISHED["B"], rel=5e-3), msg
    assert fit.converged_, fit.message_


def test_headline_fit_is_a_likelihood_optimum(shared_data):
    """The LAD solution must beat BFGS on the likelihood itself (what the paper's code ran)."""
    from scipy.optimize import minimize

    from rsilab.estimate.chinchilla import huber_nll

    N, D, L = _data(shared_data)
    ln, ld, ll = np.log(N), np.log(D), np.log(L)
    fit = ChinchillaFit("likelihood", n_bootstrap=0).fit(N, D, L)
    ours = huber_nll(np.r_[fit.theta_, fit.diagnostics_["log_scale"]], ln, ld, ll)
    bfgs = minimize(huber_nll, np.r_[HOFFMANN_REPORTED, 0.0], args=(ln, ld, ll), method="BFGS")
    assert ours <= bfgs.fun + 1e-6, (ours, bfgs.fun)


def test_analytic_gradient_matches_finite_differences(shared_data):
    N, D, L = _data(shared_data)
    ln, ld, ll = np.log(N), np.log(D), np.log(L)
    rng = np.random.default_rng(3)
    for _ in range(5):
        th = HOFFMANN_REPORTED + rng.normal(0, [0.5, 0.5, 0.2, 0.05, 0.05])
        f, g = huber_objective(th, ln, ld, ll)
        fd = np.array([(huber_objective(th + h, ln, ld, ll)[0] - huber_objective(th - h, ln, ld, ll)[0]) / 2e-7
                       for h in np.eye(5) * 1e-7])
        assert np.allclose(g, fd, rtol=1e-4, atol=1e-9), (g, fd)


def test_vectorised_objective_equals_single(shared_data):
    N, D, L = _data(shared_data)
    ln, ld, ll = np.log(N), np.log(D), np.log(L)
    grid = hoffmann_grid()[:50]
    fb, gb = huber_objective(grid, ln, ld, ll)
    for i in (0, 17, 49):
        f1, g1 = huber_objective(grid[i], ln, ld, ll)
        assert fb[i] == pytest.approx(f1) and np.allclose(gb[i], g1)


def test_grid_is_hoffmanns():
    g = hoffmann_grid()
    assert g.shape == (4500, 5)
    assert sorted(set(g[:, 0])) == [0, 5, 10, 15, 20, 25] and sorted(set(g[:, 2])) == [-1, -0.5, 0, 0.5, 1]
    assert sorted(set(g[:, 3])) == [0, 0.5, 1, 1.5, 2]


@pytest.mark.slow
def test_hoffmann_fast_path_reaches_the_reference_optimum(shared_data):
    """The fast path over all 4,500 starts vs the reference loop (scipy L-BFGS-B, finite
    differences) run on 12 random starts plus the start the fast path won from: the reference
    can only find this optimum or a worse one, and from the winning start it must agree."""
    N, D, L = _data(shared_data)
    ln, ld, ll = np.log(N), np.log(D), np.log(L)
    grid = hoffmann_grid()
    theta, f_fast, info = fit_hoffmann_fast(ln, ld, ll, grid)
    rng = np.random.default_rng(0)
    subset = np.vstack([grid[rng.choice(len(grid), 12, replace=False)], [info["winning_start"]]])
    theta_ref, f_ref, _ = fit_hoffmann_reference(ln, ld, ll, subset)
    assert f_fast <= f_ref * (1 + 1e-7), (f_fast, f_ref)
    p_fast, p_ref = untransform(theta), untransform(theta_ref)
    msg = f"fast {p_fast}, reference {p_ref}"
    assert np.allclose(p_fast[2:], p_ref[2:], rtol=1e-3), msg     # E and the exponents to 0.1%
    assert np.allclose(p_fast[:2], p_ref[:2], rtol=1e-2), msg     # A, B: flat directions
    # Hoffmann's procedure lands near, not on, the headline optimum: its exponents within 1%
    assert p_fast[3] == pytest.approx(PUBLISHED["alpha"], rel=1e-2)


@pytest.mark.slow
def test_bootstrap_standard_errors_match_table_1(shared_data):
    """4,000 resamples, BFGS refits of the sum of Huber losses from Hoffmann's estimates, as the
    paper's code did. Tolerance: 10% of the published SE plus half a unit of its last printed
    digit (E, alpha, beta are printed to 2 decimals). B gets 15%: its bootstrap distribution is
    heavy-tailed and its SE moved between 1364 and 1454 across seeds 0-2 in our runs (the seed
    used here is the default, 0)."""
    fit = ChinchillaFit("likelihood", n_bootstrap=4000, seed=0, workers=2).fit(*_data(shared_data))
    found = {k: e.se for k, e in fit.estimates_.items()}
    msg = "bootstrap SE vs arXiv 2404.10102 Table 1:\n" + _report(found, PUBLISHED_SE)
    for k, pub in PUBLISHED_SE.items():
        rel = 0.15 if k == "B" else 0.10
        tol = rel * pub + (0.5 * 10 ** -2 if k in ("E", "alpha", "beta") else 0)
        assert abs(found[k] - pub) <= tol, msg


def test_compute_optimal_allocation_minimises_loss():
    A, B, E, alpha, beta = 482.0, 2085.4, 1.82, 0.3478, 0.3658
    C = 1e23
    n_opt, d_opt = compute_optimal_allocation(C, A, B, alpha, beta)
    assert 6 * n_opt * d_opt == pytest.approx(C)
    ns = n_opt * np.exp(np.linspace(-0.5, 0.5, 101))
    loss = E + A * ns ** -alpha + B * (C / (6 * ns)) ** -beta
    assert np.argmin(loss) == 50


def test_recovers_parameters_from_synthetic_data():
    rng = np.random.default_rng(1)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 120))
    D = np.exp(rng.uniform(np.log(1e9), np.log(1e11), 120))
    truth = np.array([np.log(400.0), np.log(1500.0), np.log(1.7), 0.33, 0.31])
    L = np.exp(log_predict(truth, np.log(N), np.log(D)) + rng.normal(0, 0.002, 120))
    fit = ChinchillaFit("likelihood", n_bootstrap=0).fit(N, D, L)
    assert fit.params_["alpha"] == pytest.approx(0.33, abs=0.02)
    assert fit.params_["E"] == pytest.approx(1.7, rel=0.02)


def test_prior_and_intervals(shared_data):
    fit = ChinchillaFit("likelihood", n_bootstrap=60, workers=1).fit(*_data(shared_data))
    prior = fit.to_prior("beta")
    assert prior["quantity"] == "beta" and prior["spec"]["dist"] == "empirical"
    lo, hi = fit.predict_interval([1e11], [2e12])
    mid = fit.predict([1e11], [2e12])
    assert lo[0] < mid[0] < hi[0]
    co = fit.compute_optimal([1e24])
    assert co["tokens_per_param_interval"][0] < co["tokens_per_param"][0] < co["tokens_per_param_interval"][1]


def test_too_few_points_is_refused():
    from rsilab.errors import EstimationError

    with pytest.raises(EstimationError, match="too few"):
        ChinchillaFit(n_bootstrap=0).fit([1e8] * 4, [1e9] * 4, [3.0] * 4)
