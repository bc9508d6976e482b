"""Why the learned optimizer is numpy: one LO unroll in numpy vs the same maths in torch.

The shapes are the cpu profile's: 4 members x 16 antithetic pairs x 2 signs = 128 runs, a
33-parameter MLP inner problem, a 16-unit LO, 50 inner steps. Prints seconds per unroll and the
ratio torch / numpy measured in this run (torch with 1 and 2 intra-op threads). Run:

    .venv/bin/python benchmarks/bench_self_improvement.py
"""
from __future__ import annotations

import time

import numpy as np

from rsilab.experiments.learned_optimizer.inner import sample_problem
from rsilab.experiments.learned_optimizer.optimizer import (
    BETA_FAST, BETA_RMS, BETA_SLOW, N_FEATURES, init_theta, unroll_lo,
)

RUNS, HIDDEN, STEPS, STEP_SCALE = 128, 16, 50, 1e-2


def torch_unroll(torch, problem, theta_np):
    """The same unroll as ``optimizer.unroll_lo`` (MLP problem), written with torch ops."""
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    x, y = t(problem.x), t(problem.y)
    theta = t(theta_np)
    r, h, f = theta.shape[0], HIDDEN, N_FEATURES
    w1 = theta[:, :f * h].reshape(r, f, h)
    b1 = theta[:, f * h:f * h + h]
    w2 = theta[:, f * h + h:f * h + 3 * h].reshape(r, h, 2)
    b2 = theta[:, f * h + 3 * h:]
    p = t(problem.init).repeat(r, 1)
    fast = torch.zeros_like(p); slow = torch.zeros_like(p); sq = torch.zeros_like(p)
    ih = problem.hidden

    def loss_grad(p):
        pw1 = p[:, :2 * ih].reshape(r, 2, ih); pb1 = p[:, 2 * ih:3 * ih]
        pw2 = p[:, 3 * ih:4 * ih]; pb2 = p[:, 4 * ih]
        hid = torch.tanh(torch.einsum("nd,rdh->rnh", x, pw1) + pb1[:, None, :])
        out = torch.einsum("rnh,rh->rn", hid, pw2) + pb2[:, None]
        err = out - y
        dout = (2.0 / x.shape[0]) * err
        dpre = dout[:, :, None] * pw2[:, None, :] * (1 - hid * hid)
        g = torch.cat([torch.einsum("nd,rnh->rdh", x, dpre).reshape(r, -1), dpre.sum(1),
                       torch.einsum("rnh,rn->rh", hid, dout), dout.sum(1)[:, None]], dim=1)
        return (err * err).mean(1), g

    loss0, g = loss_grad(p)
    total = torch.zeros(r, dtype=torch.float64)
    for step in range(1, STEPS + 1):
        fast = BETA_FAST * fast + (1 - BETA_FAST) * g
        slow = BETA_SLOW * slow + (1 - BETA_SLOW) * g
        sq = BETA_RMS * sq + (1 - BETA_RMS) * g * g
        rms = torch.sqrt(sq / (1 - BETA_RMS**step)) + 1e-8
        feats = torch.stack([g / rms, fast / (1 - BETA_FAST**step) / rms, slow / (1 - BETA_SLOW**step) / rms, p], -1)
        hid = torch.tanh(torch.matmul(feats, w1) + b1[:, None, :])
        out = torch.matmul(hid, w2) + b2[:, None, :]
        p = p - STEP_SCALE * out[..., 0] * torch.exp(torch.clamp(out[..., 1], -8.0, 4.0))
        loss, g = loss_grad(p)
        total += torch.clamp(torch.log(loss / loss0), max=5.0)
    return (total / STEPS).numpy()


def best_of(fn, repeats=15):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    rng = np.random.default_rng(0)
    problem = sample_problem("mlp", rng)
    theta = np.stack([init_theta(rng, HIDDEN) for _ in range(RUNS)]) * 0.3
    t_np, ref = best_of(lambda: unroll_lo(problem, theta, STEPS, HIDDEN, STEP_SCALE))
    print(f"numpy            {t_np * 1e3:8.2f} ms per unroll (baseline)")
    try:
        import torch
    except ImportError:
        print("torch not installed: nothing to compare")
        return
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t_t, out = best_of(lambda: torch_unroll(torch, problem, theta))
        assert np.allclose(out, ref, rtol=1e-6, atol=1e-9), "torch and numpy unrolls disagree"
        print(f"torch {threads} thread(s) {t_t * 1e3:8.2f} ms per unroll  torch/numpy = {t_t / t_np:.2f}")


if __name__ == "__main__":
    main()
