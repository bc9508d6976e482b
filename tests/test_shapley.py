"""Shapley effects for correlated priors: closed forms, agreement with Sobol on independent
priors, and the CLI's choice of method.

Tolerances are Monte Carlo ones, set from the estimators' own standard errors: an estimate
within 3 standard errors of the truth (3 combined standard errors, sqrt(se_a^2 + se_b^2), when
two estimates are compared). With a handful of comparisons per test, a correct estimator fails
one of them with probability of order 1%; the seeds are fixed, so a run is reproducible.
"""
from __future__ import annotations

import itertools
import json
from math import factorial

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.core.priors import Prior
from rsilab.simulate.shapley import estimate_shapley, subset_weights


def linear_gaussian_truth(b: np.ndarray, cov: np.ndarray) -> dict[str, np.ndarray]:
    """Shapley effects, Kucherenko's first-order and total indices of Y = b . X, X ~ N(0, cov),
    from the closed-form conditional variances of a Gaussian, averaged over all d! orderings
    (Shapley's definition itself, not the subset weights the estimator uses)."""
    d = len(b)
    var_y = b @ cov @ b

    def explained(J) -> float:  # Var(E[Y | X_J]) = V - Var(Y | X_J)
        J = list(J)
        K = [i for i in range(d) if i not in J]
        if not J:
            return 0.0
        if not K:
            return var_y
        cond = cov[np.ix_(K, K)] - cov[np.ix_(K, J)] @ np.linalg.solve(cov[np.ix_(J, J)], cov[np.ix_(J, K)])
        return var_y - b[K] @ cond @ b[K]

    sh = np.zeros(d)
    for order in itertools.permutations(range(d)):
        for j, i in enumerate(order):
            sh[i] += explained(order[:j + 1]) - explained(order[:j])
    first = np.array([explained([i]) for i in range(d)]) / var_y
    total = np.array([var_y - explained([k for k in range(d) if k != i]) for i in range(d)]) / var_y
    return {"shapley": sh / factorial(d) / var_y, "first": first, "total": total}


def test_three_inputs_match_the_published_closed_form():
    # Iooss & Prieur (2019), Y = b1 X1 + b2 X2 + b3 X3 with X1 independent of (X2, X3),
    # corr(X2, X3) = rho: Sh1 = b1^2 s1^2, Sh2 = b2^2 s2^2 (1 - rho^2/2) + rho^2 b3^2 s3^2 / 2 +
    # rho b2 b3 s2 s3 (and Sh3 by symmetry), over Var(Y). A check of the reference function.
    b, s, rho = np.array([1.0, 2.0, 1.5]), np.array([1.0, 0.7, 1.2]), 0.6
    cov = np.diag(s**2)
    cov[1, 2] = cov[2, 1] = rho * s[1] * s[2]
    v = b @ cov @ b
    cross = rho * b[1] * b[2] * s[1] * s[2]
    closed = np.array([b[0]**2 * s[0]**2,
                       b[1]**2 * s[1]**2 * (1 - rho**2 / 2) + rho**2 * b[2]**2 * s[2]**2 / 2 + cross,
                       b[2]**2 * s[2]**2 * (1 - rho**2 / 2) + rho**2 * b[1]**2 * s[1]**2 / 2 + cross]) / v
    assert linear_gaussian_truth(b, cov)["shapley"] == pytest.approx(closed, abs=1e-12)


def test_subset_weights_sum_each_ordering_once():
    # Shapley's weights over subsets: for every player they add to 0 over the proper subsets
    # and give c(all) the weight 1/d, so the effects of any cost function sum to c(all)
    for d in range(2, 7):
        w = subset_weights(d)
        full = (1 << d) - 1
        assert w[:, full] == pytest.approx(np.full(d, 1 / d), abs=1e-15)
        assert w[:, 1:full].sum(axis=0) == pytest.approx(np.zeros(full - 1), abs=1e-12)


CASES = {
    # three inputs, one pair correlated (the closed form above), normal priors
    "pair": (np.array([1.0, 2.0, 1.5]), np.array([1.0, 0.7, 1.2]), {(1, 2): 0.6}),
    # four inputs, all correlated, one negatively; a negative coefficient
    "four": (np.array([1.0, -0.8, 1.5, 0.5]), np.array([0.5, 1.0, 0.8, 1.5]),
             {(0, 1): 0.5, (1, 2): -0.3, (0, 3): 0.4, (2, 3): 0.2}),
}


@pytest.mark.parametrize("estimator", ["exact", "random-permutation"])
@pytest.mark.parametrize("case", list(CASES))
def test_linear_gaussian_model_is_recovered(case, estimator):
    # Y = sum b_i ln X_i with lognormal priors, ln X_i ~ N(0, s_i^2), normal scores correlated:
    # ln X is Gaussian with the copula's correlations, so the truth is linear_gaussian_truth's;
    # lognormal priors send the draws through a marginal that is not the identity.
    b, s, pairs = CASES[case]
    d = len(b)
    names = [f"x{i}" for i in range(d)]
    priors = {n: Prior("lognormal", {"mu": 0.0, "sigma": float(s[i])}) for i, n in enumerate(names)}
    corr = {(names[i], names[j]): rho for (i, j), rho in pairs.items()}
    cov = np.diag(s**2)
    for (i, j), rho in pairs.items():
        cov[i, j] = cov[j, i] = rho * s[i] * s[j]
    truth = linear_gaussian_truth(b, cov)

    def evaluate(p):
        return sum(b[i] * np.log(p[n]) for i, n in enumerate(names))

    est = estimate_shapley(evaluate, priors, corr, n_outer=4000, rng=np.random.default_rng(11), estimator=estimator)
    # tolerance: 3 of the estimator's standard errors per effect (module docstring)
    assert np.all(np.abs(est.shapley - truth["shapley"]) <= 3 * est.shapley_se), (est.shapley, truth["shapley"], est.shapley_se)
    # the effects share Var(Y): they sum to 1 by the estimator's construction (the weights of
    # each subset cancel), so only rounding separates the sum from 1
    assert est.shapley.sum() == pytest.approx(1.0, abs=1e-12)
    # pooled Var(Y): the smallest design here has 24,000 draws in 8,000 groups of 3; counting
    # each group as a single draw, a Gaussian sample variance has relative SE sqrt(2 / 8000) =
    # 0.016, so 5% is over 3 SE
    assert est.variance == pytest.approx(b @ cov @ b, rel=0.05)
    if estimator == "exact":
        assert np.all(np.abs(est.first_order - truth["first"]) <= 3 * est.first_order_se), (est.first_order, truth["first"])
        assert np.all(np.abs(est.total - truth["total"]) <= 3 * est.total_se), (est.total, truth["total"])
        assert est.n_evaluations == 3 * 4000 * ((1 << d) - 2)
    else:
        assert est.first_order is None and est.n_evaluations == 3 * 4000 * (d - 1)


@pytest.mark.parametrize("estimator", ["exact", "random-permutation"])
def test_standard_errors_match_the_spread_over_seeds(estimator):
    # over 40 seeds the squared z-scores (estimate - truth)^2 / se^2 of each effect average to 1
    # when the standard errors are right; their mean is chi^2_40 / 40, inside [0.45, 1.84] with
    # probability 99.8% (0.1% quantile 17.9, 99.9% quantile 73.4, divided by 40)
    b, s, pairs = CASES["four"]
    names = [f"x{i}" for i in range(4)]
    priors = {n: Prior("normal", {"mean": 0.0, "sd": float(s[i])}) for i, n in enumerate(names)}
    corr = {(names[i], names[j]): rho for (i, j), rho in pairs.items()}
    cov = np.diag(s**2)
    for (i, j), rho in pairs.items():
        cov[i, j] = cov[j, i] = rho * s[i] * s[j]
    truth = linear_gaussian_truth(b, cov)["shapley"]
    z2 = []
    for seed in range(40):
        est = estimate_shapley(lambda p: sum(b[i] * p[n] for i, n in enumerate(names)), priors, corr, n_outer=500,
                               rng=np.random.default_rng(seed), estimator=estimator)
        z2.append(((est.shapley - truth) / est.shapley_se) ** 2)
    mean_z2 = np.mean(z2, axis=0)
    assert np.all((0.45 <= mean_z2) & (mean_z2 <= 1.84)), mean_z2


def test_auto_samples_orderings_past_eight_parameters():
    # nine independent inputs: Sh_i = b_i^2 s_i^2 / Var(Y); within 3 SE each
    b = np.arange(1.0, 10.0)
    names = [f"x{i}" for i in range(9)]
    priors = {n: Prior("uniform", {"low": 0.0, "high": 1.0}) for n in names}
    est = estimate_shapley(lambda p: sum(b[i] * p[n] for i, n in enumerate(names)), priors, {}, n_outer=3000,
                           rng=np.random.default_rng(5))
    assert est.estimator == "random-permutation" and est.n_evaluations == 3 * 3000 * 8
    truth = b**2 / np.sum(b**2)
    assert np.all(np.abs(est.shapley - truth) <= 3 * est.shapley_se), (est.shapley, truth)


def test_on_independent_priors_shapley_agrees_with_sobol():
    # The default scenario's priors are independent. Tolerances, with se_salib = SALib's 95%
    # half-width / 1.96 and se_comb = sqrt(se_ours^2 + se_salib^2):
    # - the exact estimator's first-order and total indices are then Sobol's: each within
    #   3 se_comb of SALib's;
    # - each Shapley effect lies between its first- and total-order Sobol index: S1 - 3 se_comb
    #   <= Sh <= ST + 3 se_comb (with SALib's S1 and ST, se_comb from the Shapley effect's SE and theirs);
    # - the effects sum to 1 (an identity of the estimator; rounding only).
    from rsilab.simulate.scenario import load_preset
    from rsilab.simulate.sensitivity import sensitivity_indices

    sc = load_preset("default")
    assert not sc.correlations
    sobol = sensitivity_indices(sc, output="log_growth", base_samples=1024)
    shapley = sensitivity_indices(sc, output="log_growth", base_samples=256, method="shapley")
    assert sobol["method"] == "sobol" and shapley["method"] == "shapley" and shapley["estimator"] == "exact"
    ours = {r["parameter"]: r for r in shapley["indices"]}
    bad = []
    for ref in sobol["indices"]:
        mine = ours[ref["parameter"]]
        for key in ("S1", "ST"):
            se = np.hypot(mine[f"{key}_conf"], ref[f"{key}_conf"]) / 1.96
            if abs(mine[key] - ref[key]) > 3 * se:
                bad.append(f"{ref['parameter']} {key}: Shapley design {mine[key]:.3f}, SALib {ref[key]:.3f}, 3 se {3 * se:.3f}")
        lo_se = np.hypot(mine["shapley_se"], ref["S1_conf"] / 1.96)
        hi_se = np.hypot(mine["shapley_se"], ref["ST_conf"] / 1.96)
        if not ref["S1"] - 3 * lo_se <= mine["shapley"] <= ref["ST"] + 3 * hi_se:
            bad.append(f"{ref['parameter']}: Shapley {mine['shapley']:.3f} outside [S1 {ref['S1']:.3f}, ST {ref['ST']:.3f}]")
    assert not bad, "\n".join(bad)
    assert shapley["shapley_sum"] == pytest.approx(1.0, abs=1e-12)
    assert shapley["n_evaluations"] == 3 * 256 * 30 and shapley["ensemble_runs"] == 1


CORRELATED = """
[model]
name = "returns"
shape = "diminishing"

[params]
r = { dist = "loguniform", low = 0.4, high = 3.6 }
beta = { dist = "loguniform", low = 0.125, high = 0.5 }
c = { dist = "loguniform", low = 5.545, high = 88.72 }

[[correlations]]
params = ["r", "beta"]
rho = 0.6

[simulation]
horizon_years = 5
seed = 2
n_grid = 31
cap_multiple = 1e300
"""


def test_cli_picks_shapley_for_correlated_priors_and_records_the_run(tmp_path):
    from rsilab.cli import cli
    from rsilab.report.html import report_data
    from rsilab.store import Store

    path, store_path = tmp_path / "correlated.toml", tmp_path / "s.sqlite"
    path.write_text(CORRELATED, encoding="utf-8")
    args = ["sensitivity", str(path), "--output", "log_growth", "--base-samples", "128", "--store", str(store_path)]
    res = CliRunner().invoke(cli, args + ["--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["method"] == "shapley" and out["method_requested"] == "auto" and out["correlated_priors"]
    assert out["n_evaluations"] == 3 * 128 * 6 and not out["correlations_ignored"]
    assert {r["parameter"] for r in out["indices"]} == {"r", "beta", "c"}
    assert all(r["shapley_se"] > 0 and r["shapley_conf"] == pytest.approx(1.96 * r["shapley_se"], rel=1e-3)
               for r in out["indices"])
    with Store(store_path) as st:
        rec = st.get_run(out["run_id"])
        assert rec.kind == "sensitivity" and rec.summary["method"] == "shapley"
        assert rec.summary["indices"] == out["indices"]
        data = report_data(st, out["run_id"])
    assert [r["parameter"] for r in data["charts"]["shapley"]] == [r["parameter"] for r in out["indices"]]
    # forcing Sobol on the same scenario runs it and says the correlations were not applied
    forced = CliRunner().invoke(cli, args + ["--method", "sobol", "--json"], catch_exceptions=False)
    assert json.loads(forced.stdout)["method"] == "sobol" and json.loads(forced.stdout)["correlations_ignored"]
    table = CliRunner().invoke(cli, args + ["--method", "sobol"], catch_exceptions=False)
    assert "Sobol indices of log_growth" in table.output and "NOT applied" in table.output
    table = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert "Shapley effects of log_growth" in table.output and "method: shapley (auto, the scenario has correlations)" in \
        " ".join(table.output.split())


def test_bad_requests_are_one_line():
    from rsilab.errors import ConfigError
    from rsilab.simulate.scenario import load_preset
    from rsilab.simulate.sensitivity import sensitivity_indices

    sc = load_preset("criticality-continuous")
    with pytest.raises(ConfigError, match="--method"):
        sensitivity_indices(sc, method="kucherenko")
    with pytest.raises(ConfigError, match="--base-samples"):
        sensitivity_indices(sc, method="shapley", base_samples=8)
    with pytest.raises(ConfigError, match="--output"):
        sensitivity_indices(sc, method="shapley", output="t_7", base_samples=16)
    with pytest.raises(ConfigError, match="varies across samples"):
        sensitivity_indices(load_preset("default"), method="shapley", output="p_explosion", base_samples=16)
