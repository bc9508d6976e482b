"""What a solver returns for a batch of samples, and each sample's status.

Shared by ``simulate`` (which fills it) and ``dynamics`` (whose models read it to compute
their own outputs). numpy only; imports nothing of ours.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class Status(IntEnum):
    FINISHED = 0
    BLOWUP = 1
    CEILING = 2
    STEP_LIMIT = 3
    INVALID = 4

    @property
    def message(self) -> str:
        return _STATUS_MESSAGES[self]


_STATUS_MESSAGES = {
    Status.FINISHED: "finished: reached the horizon",
    Status.BLOWUP: "blow-up detected: capability passed the cap (or the step size collapsed) before the horizon",
    Status.CEILING: "ceiling reached: capability ended within the ceiling factor of the model's ceiling",
    Status.STEP_LIMIT: "step limit: the solver used its maximum number of steps before the horizon",
    Status.INVALID: "invalid: the model produced NaN for this sample's parameters",
}


@dataclass
class Solution:
    """What the solver returns for a batch of samples (n samples, g grid times, m thresholds)."""

    t_grid: np.ndarray          # (g,)
    y_grid: np.ndarray          # (n_state, n, g); after a stop every state holds its stop value,
                                # except ln capability, +inf after a blow-up
    rate_grid: np.ndarray       # (n, g): d ln I / dt at the grid times (nan after a stop)
    status: np.ndarray          # (n,) Status values
    t_stop: np.ndarray          # (n,) time the sample stopped (horizon when finished)
    y_stop: np.ndarray          # (n_state, n)
    rate_stop: np.ndarray       # (n,)
    threshold_times: np.ndarray  # (m, n): first time ln I >= ln I(0) + ln multiple; inf if never
    n_steps: np.ndarray         # (n,) accepted steps (generations for maps)
    gain_ratio: np.ndarray | None = None  # maps only: ratio of the last two generations' gains
    step_times: np.ndarray | None = None  # maps only: (n, steps + 1) time each step completed (nan after stop)
    ln_path: np.ndarray | None = None     # maps only: (n, steps + 1) ln capability after each step
    early_gain_ratio: np.ndarray | None = None  # gain maps: ratio of the first two generations' gains
    extras: dict | None = None            # per-sample model outputs a compiled kernel computed on the way
    threshold_states: np.ndarray | None = None  # ODE solvers: (m, n_state, n) state at each threshold time (nan if never)
    # Values a model derives from this solution that more than one of its outputs hooks read,
    # computed once: kept with the solution, not the model, so chunks solved in parallel
    # threads never see each other's.
    derived: dict = field(default_factory=dict)
