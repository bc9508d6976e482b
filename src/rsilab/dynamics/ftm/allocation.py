"""The optimal split of labour and compute over tasks, for every sample and sector at once.

One sector's cognitive output is a CES over tasks i = 0..N-1 (N = 101, task 0 the work compute
already does): Y = (sum_i beta_i x_i^rho / sum_i beta_i)^(1/rho), with x_i = l_i + eta_i c_i,
labour budget L = sum l_i, compute budget C = sum c_i, and compute allowed only on the first AT
(automatable) tasks. eta_i, the labour one unit of compute replaces on task i, does not rise
with i (harder tasks need more runtime compute). Write sigma = 1 / (1 - rho) and
b_i = beta_i^sigma (beta is one weight for task 0 and another for every labour task).

The first-order conditions put tasks below a critical index I on compute only, tasks above it
on labour only, and let task I take both; with the shadow price of labour lambda and
K = lambda^(-sigma), x_i = K b_i on labour tasks and x_i = K b_i (eta_i / eta_I)^sigma on
compute tasks. Summing the budgets, with S(J) = sum_{i>=J} b_i and B(J) = sum_{i<J} b_i
eta_i^(sigma-1):

    L + eta_I C = K D,   D = S(I) + eta_I^(1-sigma) B(I),   sum_i beta_i x_i^rho = K^rho D,

and task I's labour is non-negative iff  L B(I+1) >= C eta_I^sigma S(I+1). The left side grows
with I and the right side shrinks, so the first I < AT where it holds is a first crossing,
found for all samples at once by comparing at every task (small batches) or at every tenth
task and then within the one block of ten where it crosses (large ones): no optimiser. Then:
- mixed: task I's compute, c_I = (C A - L B(I)) / (A + eta_I B(I)) with A = eta_I^sigma S(I),
  is non-negative (always when I = 0): the solution above;
- otherwise a corner at J (compute exactly on tasks < J, labour on tasks >= J): J = I when
  c_I < 0, and J = AT when no I < AT qualifies; sum beta x^rho = C^rho B(J)^(1-rho) +
  L^rho S(J)^(1-rho). (J < N always: the condition holds at I = N - 1, where the right side
  is 0, so with every task automatable the last one takes all the labour.)
A task counts as automated when its compute does more than ten times the work of its labour
(eta_i c_i > 10 l_i): every compute-only task, and task I when its compute dominates.
These are the closed forms of the model's authors (their notebook's equations 14-22, solved in
their code by a loop over I for each run and step).

eta_i = min(1, s a_i): the largest training run scales every task's efficiency by
s = run^tradeoff, and a task whose runtime need falls to 1 FLOP is capped. With rho < 0,
eta^(sigma-1) = max(1, (s a)^(sigma-1)), so the running sums B come from per-run prefix sums
of a^(sigma-1) and the number of capped tasks, without a pass over the tasks per step.
numpy only; imports nothing of ours.
"""
from __future__ import annotations

import numpy as np

N_TASKS = 101
BLOCK = 10                   # tasks per block of the two-level search
# samples from which the two-level search is used: fewer elements compared, more numpy calls
# (the full comparison's fewer calls are what a deterministic run's time is made of)
BLOCKED_FROM = 48
_BLOCK_ENDS = np.minimum(np.arange(BLOCK - 1, N_TASKS + BLOCK - 1, BLOCK), N_TASKS - 1)
_ALL_TASKS = np.arange(N_TASKS)
_ALL_TASKS_F = _ALL_TASKS.astype(float)
_BLOCK_ENDS_F = _BLOCK_ENDS.astype(float)
_IN_BLOCK = np.arange(BLOCK)


class TaskCosts:
    """Per run: ln a per task (ln eta at s = 1, uncapped) for each requirement type, and the
    prefix sums of a^(sigma-1). ``ln_a`` is (t, n, N), task 0 (ln a = 0) first; ``sigma``
    (t, n)."""

    def __init__(self, ln_a: np.ndarray, sigma: np.ndarray):
        self.ln_a = ln_a
        self.sigma = sigma
        self.prefix = np.cumsum(np.exp((sigma - 1.0)[:, :, None] * ln_a), axis=2)
        # a^sigma times the tasks after each one: eta^sigma S(J+1) / b1 = min(1, (s a)^sigma) (N-1-J)
        self.power_left = np.exp(sigma[:, :, None] * ln_a) * (N_TASKS - 1 - np.arange(N_TASKS))
        t, n, _ = ln_a.shape
        self.rows = (np.arange(t)[:, None] * n + np.arange(n)[None, :]) * N_TASKS   # (t, n) flat row starts


class Allocator:
    """The allocation problems of one run: k problems for n samples, problem j on requirement
    type ``ptype[j]`` of ``costs``, with CES parameter ``rho`` and weights ``w0`` (task 0) and
    ``w1`` (each labour task), each (k, n). What does not change from step to step is computed
    here once; ``solve`` does one step. (Its arithmetic keeps to float64 arrays of the same
    shape where it can: a deterministic run is a few numpy calls per step on tiny arrays,
    where a dtype cast or a Python scalar costs more than the arithmetic.)"""

    def __init__(self, costs: TaskCosts, ptype: np.ndarray, rho: np.ndarray, w0: np.ndarray, w1: np.ndarray):
        k, n = rho.shape
        sigma = costs.sigma[ptype]
        self.ptype, self.rho, self.k, self.n = ptype, rho, k, n
        self.ln_a = costs.ln_a.reshape(-1)
        # ln a with a last column of -inf: the first task below a threshold always exists
        self.ln_a_ends = np.concatenate([costs.ln_a, np.full(costs.ln_a.shape[:2] + (1,), -np.inf)], axis=2)
        self.prefix = costs.prefix.reshape(-1)
        self.power_left = costs.power_left.reshape(-1)
        self.rows = costs.rows[ptype]
        self.rows3 = self.rows[:, :, None]
        self.rows_less1 = self.rows - 1
        # the full comparison reads every task of every problem: gathered once per run
        every = (self.rows3 + _ALL_TASKS).ravel()
        self.prefix_all = self.prefix[every].reshape(k, n, N_TASKS)
        self.power_left_all = self.power_left[every].reshape(k, n, N_TASKS)
        self.sigma, self.sigma_less1 = sigma, sigma - 1.0
        # everything in units of b1 = w1^sigma: B(J+1) / b1 = cum_J + b0 / b1 - 1
        self.b0 = (w0 / w1) ** sigma
        self.shift = self.b0 - 1.0
        self.shift3 = self.shift[:, :, None]
        self.one_less_rho, self.inv_rho = 1.0 - rho, 1.0 / rho
        # sum beta x^rho = b1^(1-rho) [...] = w1 [...]; Y = (w1 / sum beta)^(1/rho) [...]^(1/rho)
        self.scale = (w1 / (w0 + (N_TASKS - 1) * w1)) ** self.inv_rho
        self.blocked = n >= BLOCKED_FROM
        self.zero, self.zero3, self.cap = np.zeros((k, n)), np.zeros((k, n, N_TASKS)), np.full((k, n), 700.0)

    def solve(self, ln_s: np.ndarray, labour: np.ndarray, compute: np.ndarray,
              n_auto: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step: s = exp(``ln_s``) (n,) scales every task's efficiency; ``labour``,
        ``compute`` and ``n_auto`` (automatable tasks, task 0 included, >= 1; integers) are
        (k, n). Returns ``(cognitive_output, n_automated)``: the CES aggregate Y and the number
        of tasks automated (task 0 included, as floats), each (k, n)."""
        ln_a, prefix, power_left, rows3, shift3 = self.ln_a, self.prefix, self.power_left, self.rows3, self.shift3
        # capped tasks (eta = 1) per type: ln a descends, so they are the first m
        m_int = (self.ln_a_ends < -ln_s[None, :, None]).argmax(axis=2)[self.ptype]
        m = m_int.astype(float)
        s1 = np.exp(self.sigma_less1 * ln_s)
        p_cap = prefix[self.rows_less1 + m_int]
        # capped at e^700: past it every task is capped, as ln a >= -680 within the parameter bounds
        s_sigma = np.exp(np.minimum(self.sigma * ln_s, self.cap))[:, :, None]
        ratio = (compute / labour)[:, :, None]
        m3, s13, p_cap3 = m[:, :, None], s1[:, :, None], p_cap[:, :, None]

        def first_holding(tasks: np.ndarray, prefix_at: np.ndarray, power_left_at: np.ndarray) -> np.ndarray:
            """Position along the last axis of ``tasks`` (ascending task indices as floats, a
            shared grid or one per problem and sample; ``*_at``: the prefix sums and powers
            there) of the first where L B(J+1) >= C eta_J^sigma S(J+1), divided by L b1. It
            holds at the last task, so one always does."""
            cum = np.minimum(tasks + 1.0, m3) + s13 * np.maximum(prefix_at - p_cap3, 0.0)
            es_left = np.minimum(power_left_at * s_sigma, (N_TASKS - 1.0) - tasks)
            return (cum + shift3 >= ratio * es_left).argmax(axis=2)

        if self.blocked:
            at = rows3 + _BLOCK_ENDS
            block_end = _BLOCK_ENDS[first_holding(_BLOCK_ENDS_F, prefix[at], power_left[at])]
            start = (block_end - block_end % BLOCK)[:, :, None]
            tasks = np.minimum(start + _IN_BLOCK, N_TASKS - 1)
            at = rows3 + tasks
            first = np.minimum(start[:, :, 0] + first_holding(tasks.astype(float), prefix[at], power_left[at]),
                               N_TASKS - 1)
        else:
            first = first_holding(_ALL_TASKS_F, self.prefix_all, self.power_left_all)
        none = first >= n_auto                        # no automatable task qualifies
        g_int = np.minimum(first, n_auto - 1)         # the task whose values are read below
        at = self.rows + g_int
        g = g_int.astype(float)
        at_first = (g_int == 0).astype(float)
        ln_eta = np.minimum(ln_a[at] + ln_s, self.zero)
        eta = np.exp(ln_eta)
        e1 = np.exp(self.sigma_less1 * ln_eta)
        cum = np.minimum(g + 1.0, m) + s1 * np.maximum(prefix[at] - p_cap, self.zero)
        b_here = 1.0 + self.shift * at_first           # b of task g (b0 for task 0)
        b_next = cum + self.shift                     # B(g+1)
        b_at = b_next - b_here * e1                   # B(g): 0 for g = 0
        s_at = (N_TASKS - g) - 1.0 + b_here           # S(g)
        rho, one_less_rho = self.rho, self.one_less_rho
        # mixed solution at I = g; at g = 0, B(0) = 0 and c_I = C. (A sample whose inputs are
        # not finite gives NaN here: the caller decides what warnings it wants.)
        a = eta * e1 * s_at                           # eta^sigma S(I)
        work_mid = eta * (compute * a - labour * b_at) / (a + eta * b_at)   # eta c_I
        mixed = (work_mid >= self.zero) > none
        d = s_at + b_at / e1
        budget = labour + eta * compute
        y_mixed = budget ** rho * d ** one_less_rho
        auto_mid = work_mid > 10.0 * (budget / d * b_here - work_mid)
        # corner at J = g (when c_I < 0) or J = g + 1 = AT (when no I qualifies: B(g+1), S(g+1))
        gone = none.astype(float)
        b_j = b_at + gone * (b_next - b_at)
        s_j = s_at - gone * b_here
        y_corner = compute ** rho * b_j ** one_less_rho + labour ** rho * s_j ** one_less_rho
        output = self.scale * np.where(mixed, y_mixed, y_corner) ** self.inv_rho
        n_automated = g + ((auto_mid & mixed) | none).astype(float)
        return output, n_automated
