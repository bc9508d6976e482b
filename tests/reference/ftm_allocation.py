"""A brute-force reference for the compute-centric model's task allocation, in plain numpy.

For one sector: labour L and compute C over tasks 0..N-1 with weights beta, compute-to-labour
ratios eta (non-increasing) and compute allowed on the first ``n_auto`` tasks only; output
Y = (sum beta x^rho / sum beta)^(1/rho), x_i = l_i + eta_i c_i, rho < 0.

Instead of the first-crossing rule rsilab uses, this tries every allocation of the two shapes
the first-order conditions allow (compute on tasks < J and labour on tasks >= J with task J
shared, for every J < n_auto; or compute exactly on tasks < J and labour on the rest, for
every J <= n_auto), builds each one task by task, keeps those that spend the budgets with no
negative input, and returns the one with the highest output: Y, the allocation and the
number of tasks whose compute does more than ten times the work of their labour.
"""
from __future__ import annotations

import numpy as np


def ces(x: np.ndarray, beta: np.ndarray, rho: float) -> float:
    return float((np.sum(beta * x ** rho) / np.sum(beta)) ** (1.0 / rho))


def candidates(labour: float, compute: float, beta: np.ndarray, rho: float, eta: np.ndarray, n_auto: int):
    n = beta.size
    sigma = 1.0 / (1.0 - rho)
    b = beta ** sigma
    for j in range(n_auto):                      # task j shared
        # x_i = K b_i on labour tasks, K b_i (eta_i / eta_j)^sigma on compute tasks; the budgets
        # give L + eta_j C = K (sum_{i>=j} b_i + eta_j^(1-sigma) sum_{i<j} b_i eta_i^(sigma-1))
        d = b[j:].sum() + eta[j] ** (1 - sigma) * np.sum(b[:j] * eta[:j] ** (sigma - 1))
        k = (labour + eta[j] * compute) / d
        c = np.zeros(n)
        l = np.zeros(n)
        c[:j] = k * b[:j] * (eta[:j] / eta[j]) ** sigma / eta[:j]
        c[j] = compute - c[:j].sum()
        l[j + 1:] = k * b[j + 1:]
        l[j] = labour - l[j + 1:].sum()
        yield l, c
    for j in range(1, n_auto + 1):               # compute exactly on tasks < j
        if j == n:
            continue                             # no task left for labour
        w = b[:j] * eta[:j] ** (sigma - 1)
        c = np.zeros(n)
        l = np.zeros(n)
        c[:j] = compute * w / w.sum()
        l[j:] = labour * b[j:] / b[j:].sum()
        yield l, c


def best_allocation(labour: float, compute: float, beta: np.ndarray, rho: float, eta: np.ndarray,
                    n_auto: int) -> tuple[float, np.ndarray, np.ndarray, int]:
    best = None
    for l, c in candidates(labour, compute, beta, rho, eta, n_auto):
        # rounding may leave a shared task a few ulps below 0 in either budget
        if (l < -1e-9 * labour).any() or (c < -1e-9 * compute).any():
            continue
        l, c = np.maximum(l, 0.0), np.maximum(c, 0.0)
        y = ces(l + eta * c, beta, rho)
        if best is None or y > best[0]:
            best = (y, l, c, int(np.sum(eta * c > 10 * l)))
    assert best is not None, "no feasible candidate"
    return best
