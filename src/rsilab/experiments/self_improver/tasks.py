"""Downstream tasks of the self-improver: instances, mutations and exact utilities.

Four training tasks reimplemented from their standard definitions, as STOP (Zelikman et al.
2023) uses them: learning parity with noise, 3-SAT, max-cut, string grid distance; and two
held-out tasks for transfer: 0/1 knapsack and number partitioning. Without a language model,
a downstream *solution* is a candidate answer (a list of ints), not a program; an improver
improves it through ``mutate`` and a budgeted ``utility``.

Every utility is in [0, 1], 1 being optimal (or, for LPN, agreeing with every noisy test label),
and is exact: the optima it divides by come from exhaustive search or dynamic programming.
Pure Python and stdlib only, so this module also runs inside the box. Must not import numpy
(the box's Python may be started without it), torch, or anything of rsilab outside this package.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable

Solution = list


@dataclass
class Instance:
    """One instance: where an improver starts, how it may move, and how it is scored."""

    task: str
    initial: Solution
    mutate: Callable[[Solution, random.Random], Solution]
    score: Callable[[Solution], float]          # exact utility in [0, 1]
    valid: Callable[[object], bool]
    flop_per_call: float                        # arithmetic of one utility call (estimate)
    data: dict = field(default_factory=dict)    # for tests and reports

    def utility(self, solution: object) -> float:
        """Utility of anything an improver returns: an invalid answer scores 0."""
        return self.score(solution) if self.valid(solution) else 0.0


def _is_bits(n: int) -> Callable[[object], bool]:
    def valid(s: object) -> bool:
        return isinstance(s, list) and len(s) == n and all(type(b) is int and b in (0, 1) for b in s)
    return valid


def flip_one(s: Solution, rng: random.Random) -> Solution:
    out = list(s)
    i = rng.randrange(len(out))
    out[i] = 1 - out[i]
    return out


def swap_two(s: Solution, rng: random.Random) -> Solution:
    out = list(s)
    i, j = rng.randrange(len(out)), rng.randrange(len(out))
    out[i], out[j] = out[j], out[i]
    return out


# -- learning parity with noise --------------------------------------------------------------
def lpn_accuracy(mask: Solution, xs: list[list[int]], ys: list[int]) -> float:
    """Fraction of examples whose label equals the parity of the bits selected by mask."""
    hits = sum(1 for x, y in zip(xs, ys) if (sum(m & b for m, b in zip(mask, x)) & 1) == y)
    return hits / len(xs)


def lpn(rng: random.Random, n_bits: int = 8, n_test: int = 96, noise: float = 0.05) -> Instance:
    secret = [rng.randrange(2) for _ in range(n_bits)]
    if not any(secret):
        secret[rng.randrange(n_bits)] = 1
    xs = [[rng.randrange(2) for _ in range(n_bits)] for _ in range(n_test)]
    ys = [(sum(s & b for s, b in zip(secret, x)) & 1) ^ (1 if rng.random() < noise else 0) for x in xs]
    return Instance("lpn", [0] * n_bits, flip_one, lambda m: lpn_accuracy(m, xs, ys), _is_bits(n_bits),
                    flop_per_call=2.0 * n_test * n_bits, data={"secret": secret, "xs": xs, "ys": ys})


# -- 3-SAT -----------------------------------------------------------------------------------
def sat_fraction(assign: Solution, clauses: list[tuple[int, int, int]]) -> float:
    """Fraction of clauses satisfied; literal +v / -v means variable v-1 true / false."""
    sat = 0
    for clause in clauses:
        for lit in clause:
            if (assign[abs(lit) - 1] == 1) == (lit > 0):
                sat += 1
                break
    return sat / len(clauses)


def three_sat(rng: random.Random, n_vars: int = 20, ratio: float = 4.25) -> Instance:
    # planted instance: every clause is satisfied by a hidden assignment, so the optimum is 1
    planted = [rng.randrange(2) for _ in range(n_vars)]
    clauses: list[tuple[int, int, int]] = []
    while len(clauses) < int(round(ratio * n_vars)):
        vs = rng.sample(range(1, n_vars + 1), 3)
        clause = tuple(v if rng.random() < 0.5 else -v for v in vs)
        if sat_fraction(planted, [clause]) == 1.0:
            clauses.append(clause)
    return Instance("3sat", [0] * n_vars, flip_one, lambda a: sat_fraction(a, clauses), _is_bits(n_vars),
                    flop_per_call=6.0 * len(clauses), data={"clauses": clauses, "planted": planted})


# -- max-cut ---------------------------------------------------------------------------------
def cut_weight(side: Solution, edges: list[tuple[int, int, int]]) -> int:
    return sum(w for i, j, w in edges if side[i] != side[j])


def max_cut_value(n: int, edges: list[tuple[int, int, int]]) -> int:
    """Exact maximum cut by exhaustive search (node 0 fixed to side 0 by symmetry)."""
    best = 0
    for bits in itertools.product((0, 1), repeat=n - 1):
        best = max(best, cut_weight((0,) + bits, edges))
    return best


def max_cut(rng: random.Random, n_nodes: int = 11, p_edge: float = 0.5) -> Instance:
    edges = [(i, j, rng.randint(1, 10)) for i in range(n_nodes) for j in range(i + 1, n_nodes)
             if rng.random() < p_edge]
    if not edges:
        edges = [(0, 1, 1)]
    best = max_cut_value(n_nodes, edges)
    return Instance("maxcut", [0] * n_nodes, flip_one, lambda s: cut_weight(s, edges) / best, _is_bits(n_nodes),
                    flop_per_call=2.0 * len(edges), data={"edges": edges, "best": best})


# -- string grid distance ----------------------------------------------------------------------
def grid_positions(s: str, width: int) -> list[tuple[int, int]]:
    return [(i // width, i % width) for i, c in enumerate(s) if c == "A"]


def matching_cost(perm: Solution, src: list[tuple[int, int]], dst: list[tuple[int, int]]) -> int:
    """Moves of a transformation that carries the A at src[i] to dst[perm[i]] (Manhattan)."""
    return sum(abs(src[i][0] - dst[p][0]) + abs(src[i][1] - dst[p][1]) for i, p in enumerate(perm))


def grid_distance(a: str, b: str, width: int) -> int:
    """Minimum number of swaps of grid-adjacent cells turning string a into b (two letters).

    With two letters this equals the minimum-cost matching of the A cells of a to those of b
    under Manhattan distance; solved here by exhaustive search over matchings with
    branch-and-bound, which is exact and fast for the small grids the task uses.
    """
    src, dst = grid_positions(a, width), grid_positions(b, width)
    if len(src) != len(dst) or len(a) != len(b):
        raise ValueError("grid distance needs two strings of equal length and equal count of 'A'")
    k = len(src)
    dist = [[abs(s[0] - d[0]) + abs(s[1] - d[1]) for d in dst] for s in src]
    best = [sum(dist[i][i] for i in range(k))]  # the identity matching: an upper bound
    used = [False] * k
    lower = [min(row) for row in dist]
    suffix = [sum(lower[i:]) for i in range(k + 1)]

    def search(i: int, cost: int) -> None:
        if cost + suffix[i] >= best[0]:
            return
        if i == k:
            best[0] = cost
            return
        for j in sorted(range(k), key=lambda j: dist[i][j]):
            if not used[j]:
                used[j] = True
                search(i + 1, cost + dist[i][j])
                used[j] = False

    search(0, 0)
    return best[0]


def string_grid(rng: random.Random, width: int = 4, height: int = 4) -> Instance:
    n = width * height
    k = n // 2
    a = ["A"] * k + ["B"] * (n - k)
    b = list(a)
    rng.shuffle(a)
    rng.shuffle(b)
    a_s, b_s = "".join(a), "".join(b)
    src, dst = grid_positions(a_s, width), grid_positions(b_s, width)
    optimum = grid_distance(a_s, b_s, width)

    def score(perm: Solution) -> float:
        cost = matching_cost(perm, src, dst)
        return 1.0 if cost == 0 else optimum / cost

    def valid(p: object) -> bool:
        return isinstance(p, list) and all(type(v) is int for v in p) and sorted(p) == list(range(k))

    return Instance("grid", list(range(k)), swap_two, score, valid, flop_per_call=6.0 * k,
                    data={"a": a_s, "b": b_s, "width": width, "optimum": optimum})


# -- held-out: knapsack and number partitioning --------------------------------------------------
def knapsack_optimum(values: list[int], weights: list[int], capacity: int) -> int:
    best = [0] * (capacity + 1)
    for v, w in zip(values, weights):
        for c in range(capacity, w - 1, -1):
            best[c] = max(best[c], best[c - w] + v)
    return best[capacity]


def knapsack(rng: random.Random, n_items: int = 16) -> Instance:
    values = [rng.randint(1, 30) for _ in range(n_items)]
    weights = [rng.randint(1, 30) for _ in range(n_items)]
    capacity = sum(weights) // 3
    optimum = knapsack_optimum(values, weights, capacity)

    def score(take: Solution) -> float:
        if sum(w for w, t in zip(weights, take) if t) > capacity:
            return 0.0
        return sum(v for v, t in zip(values, take) if t) / optimum

    return Instance("knapsack", [0] * n_items, flip_one, score, _is_bits(n_items), flop_per_call=4.0 * n_items,
                    data={"values": values, "weights": weights, "capacity": capacity, "optimum": optimum})


def partition_best_difference(numbers: list[int]) -> int:
    total = sum(numbers)
    reachable = 1  # bit s set: some subset sums to s
    for x in numbers:
        reachable |= reachable << x
    return min(abs(total - 2 * s) for s in range(total + 1) if (reachable >> s) & 1)


def partition(rng: random.Random, n_numbers: int = 16) -> Instance:
    numbers = [rng.randint(1, 1000) for _ in range(n_numbers)]
    total = sum(numbers)
    best = partition_best_difference(numbers)

    def score(side: Solution) -> float:
        diff = abs(total - 2 * sum(x for x, s in zip(numbers, side) if s))
        return (total - diff) / (total - best)

    return Instance("partition", [0] * n_numbers, flip_one, score, _is_bits(n_numbers),
                    flop_per_call=2.0 * n_numbers, data={"numbers": numbers, "best": best})


TRAINING_TASKS: dict[str, Callable[[random.Random], Instance]] = {
    "lpn": lpn, "3sat": three_sat, "maxcut": max_cut, "grid": string_grid,
}
HELD_OUT_TASKS: dict[str, Callable[[random.Random], Instance]] = {
    "knapsack": knapsack, "partition": partition,
}
ALL_TASKS = {**TRAINING_TASKS, **HELD_OUT_TASKS}


def make_instance(task: str, seed: int) -> Instance:
    if task not in ALL_TASKS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(ALL_TASKS)}")
    return ALL_TASKS[task](random.Random(f"{task}:{seed}"))
