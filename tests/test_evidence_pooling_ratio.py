"""The ratio method's pooling (kept for comparison): closed-form REML against the dense formula, recovery and
interval coverage on synthetic series whose k is known."""
import numpy as np
import pytest

from rsilab.estimate import pooling_ratio as pooling
from rsilab.estimate.pooling_ratio import RatioPooledK as PooledK


def synthetic(rng, mu=0.6, tau_c=0.1, tau_s=0.1, sigma=0.25, n_clusters=12):
    """Series drawn from the model's own assumptions: k_i = mu + cluster + series effects; each
    pair's later gain is k_i times the earlier one plus noise, the earlier gain known exactly
    (the noiseless geometric path k_i^j). Series have 3-6 rounds (1-4 pairs), as published ones do.

    (When the earlier gain is itself noisy, the ratio of gains is biased low on short series;
    docs/evidence.md gives the size. That is a property of k's definition, not of the pooling.)
    """
    pairs, clusters, families = [], [], []
    for c in range(n_clusters):
        kc = mu + tau_c * rng.standard_normal()
        for _ in range(rng.integers(1, 4)):
            k = kc + tau_s * rng.standard_normal()
            x = k ** np.arange(rng.integers(1, 5))
            pairs.append((x, k * x + sigma * rng.standard_normal(len(x))))
            clusters.append(f"c{c}")
            families.append("A" if c % 2 else "B")
    return pairs, clusters, families


def _dense_neg_reml(d, log_ratios, X):
    """The textbook REML (dense V, sigma^2 profiled out), for checking the closed form."""
    Zc, Zs = pooling._zmat(d)
    H = np.eye(len(d.y)) + np.exp(log_ratios[0]) * Zc @ Zc.T + np.exp(log_ratios[1]) * Zs @ Zs.T
    Hi = np.linalg.inv(H)
    XtHX = X.T @ Hi @ X
    beta = np.linalg.solve(XtHX, X.T @ Hi @ d.y)
    r = d.y - X @ beta
    dof = len(d.y) - X.shape[1]
    return 0.5 * (np.linalg.slogdet(H)[1] + np.linalg.slogdet(XtHX)[1] + dof * np.log(r @ Hi @ r / dof))


def test_closed_form_reml_equals_the_dense_formula():
    pairs, clusters, families = synthetic(np.random.default_rng(3))
    d = pooling.stack_pairs(pairs, clusters)
    st = pooling._series_stats(d)
    fam_of_pair = np.array([0 if families[s] == "A" else 1 for s in d.series])
    cluster_group = np.zeros(d.n_clusters, int)
    cluster_group[d.cluster] = fam_of_pair
    for lr in ([-2.0, -1.0], [1.0, -8.0], [-12.0, 2.0]):
        lr = np.array(lr)
        # both are sums of O(100) terms of O(1): they agree to rounding (1e-9 relative)
        assert np.isclose(pooling.neg_reml(lr, st, d.n_clusters, np.zeros(d.n_clusters, int), 1),
                          _dense_neg_reml(d, lr, d.x[:, None]), rtol=1e-9)
        X = np.zeros((len(d.x), 2))
        X[np.arange(len(d.x)), fam_of_pair] = d.x
        assert np.isclose(pooling.neg_reml(lr, st, d.n_clusters, cluster_group, 2), _dense_neg_reml(d, lr, X),
                          rtol=1e-9)


def test_a_large_synthetic_body_of_evidence_recovers_k():
    pairs, clusters, families = synthetic(np.random.default_rng(11), mu=0.8, n_clusters=80)
    fit = PooledK(loo=False).fit_pairs(pairs, clusters, families)
    # 80 clusters: the SE of the pooled k is ~0.02; 3 SE is a miss that happens 3 times in 1000
    assert abs(fit.k_ - 0.8) <= 3 * fit.k_se_, (fit.k_, fit.k_se_)
    # tau (true 0.14 = sqrt(0.1^2 + 0.1^2)) is estimated from 80 clusters: within a factor 2
    assert 0.07 < fit.tau_ < 0.28, fit.tau_
    # shrunken per-series k sit closer, on average, to the true series mean than the series' own k
    own = np.array([s["k_own"] for s in fit.series_])
    shrunk = np.array([s["k_shrunk"] for s in fit.series_])
    assert np.mean((shrunk - 0.8) ** 2) < np.mean((own - 0.8) ** 2)


@pytest.mark.slow
def test_interval_coverage_over_repeated_draws():
    rng = np.random.default_rng(2026)
    n_draws, mu = 200, 0.6
    covered, estimates, pred_covered = 0, [], 0
    for _ in range(n_draws):
        pairs, clusters, families = synthetic(rng, mu=mu)
        fit = PooledK(level=0.9, loo=False).fit_pairs(pairs, clusters, families)
        covered += fit.k_interval_[0] <= mu <= fit.k_interval_[1]
        estimates.append(fit.k_)
        # a new series' k drawn from the same population falls in the predictive interval
        k_new = mu + 0.1 * rng.standard_normal() + 0.1 * rng.standard_normal()
        lo, hi = fit.predictive_["interval"]
        pred_covered += lo <= k_new <= hi
    coverage, pred_coverage = covered / n_draws, pred_covered / n_draws
    # Nominal 0.90. With 200 draws the binomial SE of a coverage is 0.021; accept 0.84-0.96 (3 SE).
    assert 0.84 <= coverage <= 0.96, f"coverage of the 90% interval of the pooled k: {coverage:.3f}"
    assert 0.84 <= pred_coverage <= 0.96, f"coverage of the 90% predictive interval: {pred_coverage:.3f}"
    # Bias: the mean estimate within 0.03 of the truth (the Monte Carlo SE of the mean is ~0.006;
    # 0.03 is well inside the +-0.05 band that separates the verdicts around k = 1).
    assert abs(np.mean(estimates) - mu) <= 0.03, f"mean pooled k {np.mean(estimates):.4f} vs true {mu}"


def test_log_ratio_check_counts_sign_changes_and_recovers_the_median_k():
    out = pooling.pool_log_ratios([np.array([1.0, 0.5, 0.25]), np.array([1.0, -1.0, 0.5]),
                                   np.array([2.0, 1.2, 0.6])], ["a", "b", "c"])
    assert out["n_pairs_dropped"] == 2 and out["n_series_dropped"] == 1 and out["n_series"] == 2
    rng = np.random.default_rng(5)
    gains = [np.exp(np.cumsum(np.r_[0.0, np.log(0.6) + 0.3 * rng.standard_normal(5)])) for _ in range(60)]
    out = pooling.pool_log_ratios(gains, [f"c{i}" for i in range(60)])
    # 300 log ratios with SD 0.3: the SE of their mean is ~0.017; 0.1 is ~6 SE
    assert abs(np.log(out["median_k"]) - np.log(0.6)) < 0.1, out
    assert out["interval"][0] < out["median_k"] < out["interval"][1]
