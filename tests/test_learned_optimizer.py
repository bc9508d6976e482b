"""The learned optimizer: exact gradients and updates on small cases, PBT, and miniature runs."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.errors import ConfigError, ExperimentError
from rsilab.experiments.learned_optimizer import loop
from rsilab.experiments.learned_optimizer.config import LOConfig, load_config
from rsilab.experiments.learned_optimizer.inner import InnerProblem, mlp_dim, sample_problem
from rsilab.experiments.learned_optimizer.meta import Arm, es_gradient, meta_update, pbt_step
from rsilab.experiments.learned_optimizer.optimizer import (
    Moments,
    adam_update,
    lo_update,
    n_meta_params,
    unroll_adam,
    unroll_lo,
)


def finite_difference(problem: InnerProblem, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(p)
    for i in range(p.shape[1]):
        e = np.zeros_like(p)
        e[:, i] = h
        out[:, i] = (problem.loss_and_grad(p + e)[0] - problem.loss_and_grad(p - e)[0]) / (2 * h)
    return out


@pytest.mark.parametrize("kind", ["linreg", "mlp"])
def test_inner_gradients_match_finite_differences(kind):
    rng = np.random.default_rng(3)
    problem = sample_problem(kind, rng)
    p = problem.init[None, :] + 0.3 * rng.normal(size=(3, problem.dim))
    _, grad = problem.loss_and_grad(p)
    np.testing.assert_allclose(grad, finite_difference(problem, p), rtol=1e-5, atol=1e-7)


def test_linreg_loss_exact_on_a_hand_case():
    problem = InnerProblem("linreg", np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 2.0]), np.zeros(2))
    loss, grad = problem.loss_and_grad(np.array([[1.0, 0.0]]))
    # residuals (0, -2): mse 2; gradient (2/n) X^T r = (0, -4)
    assert loss.tolist() == [2.0]
    assert grad.tolist() == [[0.0, -4.0]]


def test_mlp_dim():
    assert mlp_dim(2, 8) == 33
    assert sample_problem("mlp", np.random.default_rng(0)).dim == 33


def test_lo_update_exact_on_a_hand_built_optimizer():
    # hidden = 1: h = tanh(normalised gradient), d = h, s = 0, so the first step is
    # -step_scale * tanh(g / |g|) (at t = 1 the bias-corrected RMS of g is |g|)
    hidden = 1
    theta = np.zeros((1, n_meta_params(hidden)))
    theta[0, 0] = 1.0            # W1[feature 0 -> hidden 0]
    theta[0, 4 + 1] = 1.0        # W2[hidden 0 -> output d] (after W1 (4) and b1 (1))
    p = np.array([[0.5, -1.0, 2.0]])
    g = np.array([[3.0, -0.25, 1e-3]])
    new_p, mom = lo_update(theta, p, g, Moments.zeros(p.shape), hidden, 0.1)
    expected = p - 0.1 * np.tanh(g / (np.abs(g) + 1e-8))   # 1e-8: the RMS guard
    np.testing.assert_allclose(new_p, expected, rtol=1e-7)
    assert mom.t == 1


def test_a_zero_optimizer_does_nothing_so_its_meta_loss_is_zero():
    problem = sample_problem("mlp", np.random.default_rng(1))
    theta = np.zeros((2, n_meta_params(4)))
    assert unroll_lo(problem, theta, 5, 4, 0.01).tolist() == [0.0, 0.0]


def test_adam_first_step_is_minus_lr_sign_g():
    p = np.array([[1.0, 1.0]])
    g = np.array([[2.0, -0.5]])
    new_p, _ = adam_update(p, g, Moments.zeros(p.shape), np.array([0.1]))
    np.testing.assert_allclose(new_p, [[0.9, 1.1]], rtol=1e-6)


def test_adam_trains_a_regression():
    problem = sample_problem("linreg", np.random.default_rng(0))
    assert unroll_adam(problem, np.array([0.1]), 50)[0] < -1.0   # loss falls by e^1 on average


def test_self_meta_update_is_the_optimizer_applied_to_its_own_parameters():
    rng = np.random.default_rng(0)
    hidden = 3
    theta = rng.normal(size=(2, n_meta_params(hidden)))
    grad = rng.normal(size=theta.shape)
    arm = Arm("self", theta.copy(), Moments.zeros(theta.shape), np.ones(2), np.array([1.0, 2.0]))
    meta_update(arm, grad, hidden, 0.01)
    expected, _ = lo_update(theta, theta, grad, Moments.zeros(theta.shape), hidden, 0.01 * np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(arm.theta, expected)


def test_es_gradient_is_antithetic_and_zero_where_the_optimizer_is_inert():
    # every perturbation of an all-zero LO still moves parameters, but with sigma tiny the
    # finite difference approaches the true directional derivative; here we check the exact
    # property that matters for the estimator: swapping the sign of every epsilon flips it
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    theta = np.random.default_rng(1).normal(size=(1, n_meta_params(2))) * 0.3
    problems = [sample_problem("linreg", np.random.default_rng(2))]
    g1, level1 = es_gradient(theta, np.array([0.05]), problems, rng_a, 3, 5, 2, 0.01)
    g2, level2 = es_gradient(theta, np.array([-0.05]), problems, rng_b, 3, 5, 2, 0.01)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)   # (L+ - L-) eps / sigma is even in sigma
    np.testing.assert_allclose(level1, level2, rtol=1e-12)
    # an inert optimizer (step scale 0) leaves every inner problem where it started, so every
    # perturbed run has meta-loss exactly 0 and the ES estimate must be exactly zero
    g0, level0 = es_gradient(theta, np.array([0.05]), problems, np.random.default_rng(5), 3, 5, 2, 0.0)
    np.testing.assert_array_equal(g0, np.zeros_like(theta))
    np.testing.assert_array_equal(level0, [0.0])
    assert np.abs(g1).max() > 0   # and not zero when it acts: the check above could not pass by accident


def test_pbt_losers_copy_winners_and_perturb_hyperparameters():
    theta = np.arange(12.0).reshape(4, 3)
    arm = Arm("adam", theta.copy(), Moments.zeros(theta.shape), np.ones(4), np.full(4, 0.01))
    pairs = pbt_step(arm, np.array([3.0, 0.0, 2.0, 1.0]), np.random.default_rng(0))
    assert sorted(pairs) == [(0, 1), (2, 3)]
    np.testing.assert_array_equal(arm.theta[0], theta[1])
    np.testing.assert_array_equal(arm.theta[2], theta[3])
    for loser in (0, 2):
        assert arm.sigma[loser] in (0.8, 1.25)
        assert arm.hyper[loser] == pytest.approx(0.008) or arm.hyper[loser] == pytest.approx(0.0125)


def test_config_rejects_bad_values_with_field_names(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("population = 1\n")
    with pytest.raises(ConfigError, match="population"):
        load_config(bad, "mini")
    bad.write_text("no_such_key = 3\n")
    with pytest.raises(ConfigError, match="no_such_key"):
        load_config(bad, "mini")
    with pytest.raises(ConfigError, match="profile"):
        load_config(None, "huge")
    assert load_config(None, "cpu") == LOConfig()


MINI = load_config(None, "mini")


def _capabilities(store, run_id):
    return [(r["round"], r["capability"], r["capability_adam_meta"], r["compute_flop"]) for r in store.rounds(run_id)]


def test_mini_run_records_every_round_with_controls(store, tmp_path):
    run_id = loop.run_experiment(MINI, store)
    rounds = store.rounds(run_id)
    cfg = load_config(None, "mini")
    assert [r["round"] for r in rounds] == list(range(cfg.rounds + 1))
    assert store.get_run(run_id).status == "finished"
    for r in rounds:
        assert r["capability"] > 0 and r["capability_adam_meta"] > 0 and r["capability_adam_inner"] > 0
        assert r["seconds"] > 0 and r["compute_flop"] > 0
    assert rounds[0]["gain"] is None and rounds[1]["gain"] == pytest.approx(rounds[1]["capability"] - rounds[0]["capability"])
    # both arms spend the same meta-training compute (same runs, same problems)
    for r in rounds[1:]:
        assert r["inner_steps"] > 0
        assert r["compute_flop"] == pytest.approx(r["compute_flop_adam_meta"], rel=0.05)


def test_resume_after_a_crash_repeats_the_uninterrupted_run_exactly(store, monkeypatch):
    reference = loop.run_experiment(MINI, store)
    real = loop.run_round_pair

    def crash_at_round_2(cfg, arms, r, *args):
        if r == 2:
            raise KeyboardInterrupt("simulated crash")
        return real(cfg, arms, r, *args)

    monkeypatch.setattr(loop, "run_round_pair", crash_at_round_2)
    with pytest.raises(KeyboardInterrupt):
        loop.run_experiment(MINI, store)
    crashed = max(r.id for r in store.list_runs())
    assert [r["round"] for r in store.rounds(crashed)] == [0, 1]
    assert store.get_run(crashed).status == "running"
    monkeypatch.setattr(loop, "run_round_pair", real)
    assert loop.run_experiment(MINI, store, resume_run=crashed) == crashed
    assert _capabilities(store, crashed) == _capabilities(store, reference)


def test_resume_refuses_another_config(store, tmp_path):
    run_id = loop.run_experiment(MINI, store)
    other = tmp_path / "other.toml"
    other.write_text("seed = 9\n")
    with pytest.raises(ExperimentError, match="another config"):
        loop.run_experiment(load_config(other, "mini"), store, resume_run=run_id)


def test_cli_run_show_export(tmp_path):
    from rsilab.cli import cli as main

    db = str(tmp_path / "cli.sqlite")
    runner = CliRunner()
    res = runner.invoke(main, ["experiment", "run", "learned-optimizer", "--profile", "mini", "--store", db])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["experiment", "show", "1", "--store", db, "--plot", str(tmp_path / "lo.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lo.png").stat().st_size > 0
    out = tmp_path / "rounds.csv"
    res = runner.invoke(main, ["experiment", "export", "1", "--rounds", str(out), "--store", db])
    assert res.exit_code == 0, res.output
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["round", "capability", "compute_flop", "seconds"]
    assert len(rows) == 1 + 1 + load_config(None, "mini").rounds
    bad = runner.invoke(main, ["experiment", "run", "learned-optimizer", "--profile", "mini", "--store", db,
                               "--config", str(tmp_path / "missing.toml")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_a_shorter_run_is_the_longer_runs_first_rounds(store):
    """What lets the quick profile call itself the cpu profile's first 8 rounds: no setting
    depends on how many rounds follow (checked here on the mini profile, 2 rounds against 3)."""
    short = loop.run_experiment(load_config(None, "mini", {"rounds": 2}), store)
    assert _capabilities(store, short) == _capabilities(store, loop.run_experiment(MINI, store))[:3]
    assert load_config(None, "quick") == load_config(None, "cpu", {"rounds": 8})
