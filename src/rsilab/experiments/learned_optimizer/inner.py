"""Inner problems the learned optimizer trains: small regressions and tiny MLPs.

Every problem works on a whole batch of parameter vectors at once, shape (R, D): the R runs
of one meta-step (population members times ES perturbations) train the same problem from the
same starting point (common random numbers make the ES differences less noisy). Gradients are
written out by hand, with batched matmul (faster than einsum here; benchmarks/
bench_self_improvement.py compares with torch). Imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_POINTS = 32  # full-batch training set of every inner problem


@dataclass(frozen=True)
class InnerProblem:
    """One sampled problem: its data, its starting parameters and its loss."""

    kind: str
    x: np.ndarray          # (N, d_in)
    y: np.ndarray          # (N,)
    init: np.ndarray       # (D,) starting parameters shared by every run
    hidden: int = 0        # MLP width (0 for linear regression)

    @property
    def dim(self) -> int:
        return self.init.shape[0]

    def loss_and_grad(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean squared error and its gradient for params (R, D) -> ((R,), (R, D))."""
        if self.kind == "linreg":
            return _linreg(self.x, self.y, params)
        return _mlp(self.x, self.y, params, self.hidden)

    def flop_per_step(self) -> float:
        """Forward plus backward FLOP of one full-batch step for one run (multiply-adds count 2)."""
        n, d = self.x.shape
        if self.kind == "linreg":
            return 4.0 * n * d + 3.0 * n
        h = self.hidden
        return 6.0 * n * (d * h + h) + 8.0 * n * h


def _linreg(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    err = w @ x.T - y                               # (R, N)
    loss = np.mean(err * err, axis=1)               # (R,)
    grad = (2.0 / x.shape[0]) * err @ x             # (R, D)
    return loss, grad


def _unpack(params: np.ndarray, d_in: int, h: int):
    r = params.shape[0]
    i = 0
    w1 = params[:, i:i + d_in * h].reshape(r, d_in, h); i += d_in * h
    b1 = params[:, i:i + h]; i += h
    w2 = params[:, i:i + h]; i += h
    b2 = params[:, i]
    return w1, b1, w2, b2


def mlp_dim(d_in: int, h: int) -> int:
    return d_in * h + h + h + 1


def _mlp(x: np.ndarray, y: np.ndarray, params: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    n, d_in = x.shape
    w1, b1, w2, b2 = _unpack(params, d_in, h)
    hid = np.tanh(np.matmul(x, w1) + b1[:, None, :])                    # (R, N, H)
    out = np.matmul(hid, w2[:, :, None])[:, :, 0] + b2[:, None]         # (R, N)
    err = out - y                                                        # (R, N)
    loss = np.mean(err * err, axis=1)
    dout = (2.0 / n) * err                                               # (R, N)
    g_w2 = np.matmul(dout[:, None, :], hid)[:, 0, :]                    # (R, H)
    g_b2 = dout.sum(axis=1)
    dpre = dout[:, :, None] * w2[:, None, :] * (1.0 - hid * hid)         # (R, N, H)
    g_w1 = np.matmul(x.T, dpre)                                         # (R, d_in, H)
    g_b1 = dpre.sum(axis=1)
    grad = np.concatenate([g_w1.reshape(params.shape[0], -1), g_b1, g_w2, g_b2[:, None]], axis=1)
    return loss, grad


def sample_problem(kind: str, rng: np.random.Generator) -> InnerProblem:
    """Draw one problem of ``kind`` ('linreg' or 'mlp') from its family."""
    if kind == "linreg":
        d = int(rng.integers(4, 9))
        scales = np.exp(rng.uniform(np.log(0.3), np.log(3.0), size=d))   # ill-conditioning
        x = rng.normal(size=(N_POINTS, d)) * scales
        w_true = rng.normal(size=d)
        y = x @ w_true + 0.1 * rng.normal(size=N_POINTS)
        return InnerProblem("linreg", x, y, np.zeros(d))
    if kind == "mlp":
        d_in, h = 2, 8
        x = rng.uniform(-2.0, 2.0, size=(N_POINTS, d_in))
        teacher_w1 = rng.normal(size=(d_in, 16))
        teacher_w2 = rng.normal(size=16) / 4.0
        y = np.tanh(x @ teacher_w1) @ teacher_w2
        init = np.concatenate([rng.normal(size=d_in * h) / np.sqrt(d_in), np.zeros(h),
                               rng.normal(size=h) / np.sqrt(h), np.zeros(1)])
        return InnerProblem("mlp", x, y, init, hidden=h)
    raise ValueError(f"unknown inner problem kind {kind!r}")
