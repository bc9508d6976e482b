"""Meta-training: an ES estimate of the meta-gradient, applied by the LO itself or by Adam.

An ``Arm`` is a population of learned optimizers trained one way:

* ``self``: the meta-gradient estimate of member k is applied to theta_k *by theta_k itself*:
  theta_k's own per-parameter MLP reads (gradient, momenta, value) of every meta-parameter and
  outputs its update (Metz et al. 2021). ``hyper`` is a PBT-tuned multiplier on its step scale.
* ``adam``: the control: the same estimate applied by Adam; ``hyper`` is Adam's meta-lr.

Population-based training (Jaderberg et al. 2017) every few rounds: the worse half copies the
better half (theta and optimiser state) and perturbs ``sigma`` (ES scale) and ``hyper`` by x0.8
or x1.25. Imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rsilab.experiments.learned_optimizer.optimizer import (
    Moments,
    adam_update,
    lo_update,
    unroll_lo,
)


@dataclass
class Arm:
    kind: str              # "self" or "adam"
    theta: np.ndarray      # (K, Dm)
    mom: Moments           # (K, Dm) optimiser state of theta
    sigma: np.ndarray      # (K,) ES perturbation scale
    hyper: np.ndarray      # (K,) self: step multiplier; adam: meta learning rate

    def to_state(self) -> dict:
        return {"kind": self.kind, "theta": self.theta.tolist(), "mom": self.mom.to_state(),
                "sigma": self.sigma.tolist(), "hyper": self.hyper.tolist()}

    @classmethod
    def from_state(cls, s: dict) -> "Arm":
        return cls(s["kind"], np.array(s["theta"]), Moments.from_state(s["mom"]),
                   np.array(s["sigma"]), np.array(s["hyper"]))


def es_gradient(theta: np.ndarray, sigma: np.ndarray, problems: list, rng: np.random.Generator,
                pairs: int, steps: int, hidden: int, step_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Antithetic ES estimate of d(meta-loss)/d(theta) for every member.

    Returns (gradient (K, Dm), meta-loss (K,) = mean over the 2*pairs perturbed runs).
    """
    k, dm = theta.shape
    eps = rng.normal(size=(k, pairs, dm))                                  # (K, N, Dm)
    plus = theta[:, None, :] + sigma[:, None, None] * eps
    minus = theta[:, None, :] - sigma[:, None, None] * eps
    runs = np.concatenate([plus, minus], axis=1).reshape(k * 2 * pairs, dm)
    grad = np.zeros_like(theta)
    level = np.zeros(k)
    for problem in problems:
        ml = unroll_lo(problem, runs, steps, hidden, step_scale).reshape(k, 2, pairs)
        diff = ml[:, 0, :] - ml[:, 1, :]                                   # (K, N)
        grad += np.einsum("kn,knd->kd", diff, eps) / (2.0 * pairs * sigma[:, None])
        level += ml.mean(axis=(1, 2))
    return grad / len(problems), level / len(problems)


def meta_update(arm: Arm, grad: np.ndarray, hidden: int, step_scale: float) -> None:
    """Apply the meta-gradient estimate to theta, in place, the arm's way."""
    if arm.kind == "self":
        # theta is both the network (first argument) and the parameters it updates
        arm.theta, arm.mom = lo_update(arm.theta, arm.theta, grad, arm.mom, hidden,
                                       step_scale * arm.hyper[:, None])
    elif arm.kind == "adam":
        arm.theta, arm.mom = adam_update(arm.theta, grad, arm.mom, arm.hyper)
    else:
        raise ValueError(f"unknown arm kind {arm.kind!r}")


def pbt_step(arm: Arm, fitness_loss: np.ndarray, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Exploit and explore: the worse half copies the better half; return (loser, winner) pairs."""
    order = np.argsort(fitness_loss)                # best (lowest meta-loss) first
    half = len(order) // 2
    pairs = []
    for winner, loser in zip(order[:half], order[::-1][:half]):
        if loser == winner:
            continue
        arm.theta[loser] = arm.theta[winner]
        for name in ("fast", "slow", "sq"):
            getattr(arm.mom, name)[loser] = getattr(arm.mom, name)[winner]
        arm.sigma[loser] = arm.sigma[winner] * rng.choice([0.8, 1.25])
        arm.hyper[loser] = arm.hyper[winner] * rng.choice([0.8, 1.25])
        pairs.append((int(loser), int(winner)))
    return pairs


def eval_meta_loss(theta: np.ndarray, problems: list, steps: int, hidden: int, step_scale: float) -> np.ndarray:
    """Mean meta-loss of every member (rows of theta) over fixed evaluation problems."""
    return np.mean([unroll_lo(p, theta, steps, hidden, step_scale) for p in problems], axis=0)
