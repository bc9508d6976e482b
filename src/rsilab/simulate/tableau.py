"""The Dormand-Prince 5(4) tableau (the coefficients of scipy's RK45 and of DOP5 generally): the
one table both ODE solvers read, the numpy one (``solver``) and the compiled one
(``ode_kernels``). numpy only; imports nothing of ours.
"""
from __future__ import annotations

import numpy as np

# stage times, as fractions of the step
C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
# stage s is evaluated at y + h sum_j A[s, j] k_j; the last row is the fifth-order solution's
# weights (B: the method is first-same-as-last, its seventh stage is the next step's first)
A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1 / 5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3 / 40, 9 / 40, 0.0, 0.0, 0.0, 0.0, 0.0],
    [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0, 0.0, 0.0],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0, 0.0, 0.0],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0.0, 0.0],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0],
])
# the error estimate: the fifth-order solution less the embedded fourth-order one
E = np.array([71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40])
# Continuous extension (Shampine 1986; also scipy's RK45.P): with Q = K^T P,
# y(t + x h) = y + h (Q1 x + Q2 x^2 + Q3 x^3 + Q4 x^4), fourth-order accurate within a step.
P = np.array([
    [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
    [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
    [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
    [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
    [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
])
for _table in (C, A, E, P):
    _table.flags.writeable = False
B = A[6]
