"""The per-parameter learned optimizer (after Metz et al. 2021) and hand-written Adam.

The learned optimizer (LO) is one small MLP applied to every scalar parameter independently.
Its inputs are the gradient and two momenta (timescales 0.9 and 0.99), each divided by the
RMS of the gradient (timescale 0.999), plus the parameter value; its outputs are a direction
``d`` and a log step size ``s``; the update is ``-step_scale * d * exp(s)``. Its meta-parameters
``theta`` are one flat vector, so the same code can update any parameter vector, including
``theta`` itself (that is how the LO becomes its own meta-optimizer, see ``meta.py``).

Everything is batched over R runs (rows), each with its own theta. Imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FEATURES = 4
BETA_FAST, BETA_SLOW, BETA_RMS = 0.9, 0.99, 0.999
LOG_RATIO_CAP = 5.0  # a diverged unroll counts as loss x e^5, so one blow-up cannot dominate ES
LOG_STEP_RANGE = (-8.0, 4.0)  # bounded step sizes: a bad ES perturbation cannot overflow


def n_meta_params(hidden: int) -> int:
    return N_FEATURES * hidden + hidden + 2 * hidden + 2


def init_theta(rng: np.random.Generator, hidden: int) -> np.ndarray:
    """Random initialisation (the paper's starting point: an LO that knows nothing)."""
    w1 = rng.normal(size=N_FEATURES * hidden) / np.sqrt(N_FEATURES)
    w2 = rng.normal(size=2 * hidden) / np.sqrt(hidden)
    return np.concatenate([w1, np.zeros(hidden), w2, np.zeros(2)])


def _unpack(theta: np.ndarray, hidden: int):
    r, f, h = theta.shape[0], N_FEATURES, hidden
    i = 0
    w1 = theta[:, i:i + f * h].reshape(r, f, h); i += f * h
    b1 = theta[:, i:i + h]; i += h
    w2 = theta[:, i:i + 2 * h].reshape(r, h, 2); i += 2 * h
    b2 = theta[:, i:i + 2]
    return w1, b1, w2, b2


@dataclass
class Moments:
    """Per-parameter optimiser state for R runs of a D-dimensional parameter vector."""

    fast: np.ndarray   # (R, D)
    slow: np.ndarray   # (R, D)
    sq: np.ndarray     # (R, D)
    t: int = 0

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> "Moments":
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape), 0)

    def to_state(self) -> dict:
        return {"fast": self.fast.tolist(), "slow": self.slow.tolist(), "sq": self.sq.tolist(), "t": self.t}

    @classmethod
    def from_state(cls, s: dict) -> "Moments":
        return cls(np.array(s["fast"]), np.array(s["slow"]), np.array(s["sq"]), int(s["t"]))


def features(p: np.ndarray, g: np.ndarray, mom: Moments) -> tuple[np.ndarray, Moments]:
    """Update the moments with gradient g and return the LO inputs, shape (R, D, F)."""
    t = mom.t + 1
    fast = BETA_FAST * mom.fast + (1 - BETA_FAST) * g
    slow = BETA_SLOW * mom.slow + (1 - BETA_SLOW) * g
    sq = BETA_RMS * mom.sq + (1 - BETA_RMS) * g * g
    # bias-corrected, so the first steps see unit-scale inputs like later ones
    rms = np.sqrt(sq / (1 - BETA_RMS**t)) + 1e-8
    feats = np.stack([g / rms, fast / (1 - BETA_FAST**t) / rms, slow / (1 - BETA_SLOW**t) / rms, p], axis=-1)
    return feats, Moments(fast, slow, sq, t)


def lo_update(theta: np.ndarray, p: np.ndarray, g: np.ndarray, mom: Moments, hidden: int,
              step_scale: float) -> tuple[np.ndarray, Moments]:
    """One LO step on parameters p (R, D) with gradient g; theta is (R, n_meta_params)."""
    feats, mom = features(p, g, mom)                              # (R, D, F)
    w1, b1, w2, b2 = _unpack(theta, hidden)
    hid = np.tanh(np.matmul(feats, w1) + b1[:, None, :])          # (R, D, H)
    out = np.matmul(hid, w2) + b2[:, None, :]                     # (R, D, 2)
    step = np.exp(np.clip(out[..., 1], *LOG_STEP_RANGE))
    return p - step_scale * out[..., 0] * step, mom


def lo_flop_per_param(hidden: int) -> float:
    """FLOP of one LO step per scalar parameter: features, two matmuls, tanh, exp, update."""
    return 2.0 * N_FEATURES * hidden + 2.0 * hidden * 2 + 6.0 * hidden + 30.0


def unroll_lo(problem, theta: np.ndarray, steps: int, hidden: int, step_scale: float) -> np.ndarray:
    """Train ``problem`` for ``steps`` with each row of theta; return the meta-loss per run.

    Meta-loss = mean over steps of log(L_t / L_0): scale-free across problems, 0 for an
    optimizer that does nothing, negative when it trains, capped at +LOG_RATIO_CAP.
    """
    r = theta.shape[0]
    p = np.repeat(problem.init[None, :], r, axis=0)
    mom = Moments.zeros(p.shape)
    loss0, g = problem.loss_and_grad(p)
    total = np.zeros(r)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            p, mom = lo_update(theta, p, g, mom, hidden, step_scale)
            loss, g = problem.loss_and_grad(p)
            total += _capped_log_ratio(loss, loss0)
            g = np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
            p = np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0)
    return total / steps


def _capped_log_ratio(loss: np.ndarray, loss0: np.ndarray) -> np.ndarray:
    ratio = np.log(np.maximum(loss, 1e-30) / loss0)
    return np.where(np.isfinite(ratio), np.minimum(ratio, LOG_RATIO_CAP), LOG_RATIO_CAP)


def adam_update(p: np.ndarray, g: np.ndarray, mom: Moments, lr: np.ndarray,
                b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> tuple[np.ndarray, Moments]:
    """Adam (Kingma & Ba) with one learning rate per run: lr has shape (R,)."""
    t = mom.t + 1
    m = b1 * mom.fast + (1 - b1) * g
    v = b2 * mom.sq + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr[:, None] * m_hat / (np.sqrt(v_hat) + eps), Moments(m, mom.slow, v, t)


def unroll_adam(problem, lrs: np.ndarray, steps: int) -> np.ndarray:
    """Train ``problem`` with Adam at each learning rate; return the meta-loss per rate."""
    r = lrs.shape[0]
    p = np.repeat(problem.init[None, :], r, axis=0)
    mom = Moments.zeros(p.shape)
    loss0, g = problem.loss_and_grad(p)
    total = np.zeros(r)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            p, mom = adam_update(p, g, mom, lrs)
            loss, g = problem.loss_and_grad(p)
            total += _capped_log_ratio(loss, loss0)
            g = np.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
            p = np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0)
    return total / steps
