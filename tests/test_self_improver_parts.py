"""The self-improver's parts, exact on small cases: task utilities, transformations, screen, harness."""
from __future__ import annotations

import ast
import itertools
import random
from collections import deque

import pytest

from rsilab.experiments.self_improver import inbox, tasks, transforms
from rsilab.experiments.self_improver.screen import screen
from rsilab.experiments.self_improver.seed_improver import SEED_SOURCE


# -- utilities ---------------------------------------------------------------------------------
def test_lpn_accuracy_hand_case():
    xs = [[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 1]]
    ys = [0, 1, 1, 0]
    # mask (1,0,1): parities 0, 1, 1, 0 -> all four right; mask (1,1,0): 1, 0, 0, 0 -> one right
    assert tasks.lpn_accuracy([1, 0, 1], xs, ys) == 1.0
    assert tasks.lpn_accuracy([1, 1, 0], xs, ys) == 0.25


def test_lpn_secret_scores_one_minus_the_noise_it_drew():
    inst = tasks.make_instance("lpn", 3)
    d = inst.data
    flipped = sum(1 for x, y in zip(d["xs"], d["ys"]) if (sum(s & b for s, b in zip(d["secret"], x)) & 1) != y)
    assert inst.utility(d["secret"]) == 1 - flipped / len(d["xs"])
    assert inst.utility([0] * len(d["secret"])) == sum(1 for y in d["ys"] if y == 0) / len(d["ys"])


def test_sat_fraction_hand_case():
    clauses = [(1, 2, -3), (-1, -2, 3), (1, -2, 3)]
    assert tasks.sat_fraction([0, 0, 0], clauses) == 1.0                    # not x3, not x1, not x2
    assert tasks.sat_fraction([1, 1, 0], clauses) == pytest.approx(2 / 3)   # (-1 -2 3) fails
    assert tasks.sat_fraction([0, 1, 0], clauses) == pytest.approx(2 / 3)   # (1 -2 3) fails
    assert tasks.sat_fraction([1, 0, 1], clauses) == 1.0


def test_planted_sat_instance_is_satisfied_by_its_plant():
    inst = tasks.make_instance("3sat", 5)
    assert inst.utility(inst.data["planted"]) == 1.0
    assert len(inst.data["clauses"]) == 85


def test_max_cut_exact_on_small_graphs():
    square = [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 0, 1)]
    assert tasks.max_cut_value(4, square) == 4
    triangle = [(0, 1, 2), (1, 2, 3), (0, 2, 5)]
    assert tasks.max_cut_value(3, triangle) == 8          # cut off node 2: 3 + 5
    assert tasks.cut_weight([0, 0, 1], triangle) == 8
    inst = tasks.make_instance("maxcut", 2)
    n = len(inst.initial)
    brute = max(tasks.cut_weight(list(b), inst.data["edges"]) for b in itertools.product((0, 1), repeat=n))
    assert inst.data["best"] == brute
    assert inst.utility([0] * n) == 0.0


def _swap_distance(a: str, b: str, width: int) -> int:
    """Reference: breadth-first search over single swaps of grid-adjacent cells."""
    n = len(a)
    height = n // width
    moves = [(i, i + 1) for i in range(n) if (i + 1) % width != 0] + [(i, i + width) for i in range(n - width)]
    assert height * width == n
    seen, queue = {a: 0}, deque([a])
    while queue:
        s = queue.popleft()
        if s == b:
            return seen[s]
        for i, j in moves:
            if s[i] != s[j]:
                t = list(s)
                t[i], t[j] = t[j], t[i]
                t = "".join(t)
                if t not in seen:
                    seen[t] = seen[s] + 1
                    queue.append(t)
    raise AssertionError("unreachable")


def test_grid_distance_equals_the_minimum_number_of_adjacent_swaps():
    strings = sorted({"".join(p) for p in itertools.permutations("AAABBB")})
    for a in strings:
        for b in strings:
            assert tasks.grid_distance(a, b, 3) == _swap_distance(a, b, 3), (a, b)
    rng = random.Random(0)
    strings9 = sorted({"".join(p) for p in itertools.permutations("AAAABBBBB")})
    for _ in range(40):
        a, b = rng.choice(strings9), rng.choice(strings9)
        assert tasks.grid_distance(a, b, 3) == _swap_distance(a, b, 3), (a, b)


def test_grid_instance_utility_is_optimum_over_cost():
    inst = tasks.make_instance("grid", 4)
    src = tasks.grid_positions(inst.data["a"], inst.data["width"])
    dst = tasks.grid_positions(inst.data["b"], inst.data["width"])
    k = len(src)
    assert inst.utility(list(range(k))) == pytest.approx(inst.data["optimum"] / tasks.matching_cost(list(range(k)), src, dst))
    best = min(itertools.permutations(range(k)), key=lambda p: tasks.matching_cost(list(p), src, dst))
    assert inst.utility(list(best)) == 1.0
    assert inst.utility([0] * k) == 0.0          # not a permutation: invalid


def test_knapsack_and_partition_optima_match_brute_force():
    values, weights = [6, 10, 12, 7], [1, 2, 3, 2]
    brute = max(sum(v for v, t in zip(values, take) if t)
                for take in itertools.product((0, 1), repeat=4)
                if sum(w for w, t in zip(weights, take) if t) <= 5)
    assert tasks.knapsack_optimum(values, weights, 5) == brute == 23
    numbers = [3, 1, 4, 1, 5, 9, 2, 6]
    brute = min(abs(sum(numbers) - 2 * sum(x for x, s in zip(numbers, side) if s))
                for side in itertools.product((0, 1), repeat=len(numbers)))
    assert tasks.partition_best_difference(numbers) == brute == 1
    inst = tasks.make_instance("partition", 1)
    assert inst.utility([0] * 16) == 0.0
    assert inst.utility("not a list") == 0.0


def test_utilities_stay_in_the_unit_interval_under_random_moves():
    rng = random.Random(1)
    for name in tasks.ALL_TASKS:
        inst = tasks.make_instance(name, 7)
        s = inst.initial
        for _ in range(200):
            s = inst.mutate(s, rng)
            assert 0.0 <= inst.utility(s) <= 1.0, name


def test_instances_are_reproducible_from_their_seed():
    for name in tasks.ALL_TASKS:
        assert tasks.make_instance(name, 3).data == tasks.make_instance(name, 3).data


# -- transformations ------------------------------------------------------------------------------
SMALL = "def f(a, b):\n    x = a + 1\n    y = b\n    if x < y:\n        x = y\n    return x"


@pytest.mark.parametrize("name, site, expected", [
    ("swap_compare", 0, "def f(a, b):\n    x = a + 1\n    y = b\n    if x <= y:\n        x = y\n    return x"),
    ("swap_binop", 0, "def f(a, b):\n    x = a - 1\n    y = b\n    if x < y:\n        x = y\n    return x"),
    ("delete_statement", 1, "def f(a, b):\n    x = a + 1\n    if x < y:\n        x = y\n    return x"),
    ("duplicate_statement", 0,
     "def f(a, b):\n    x = a + 1\n    x = a + 1\n    y = b\n    if x < y:\n        x = y\n    return x"),
    ("swap_statements", 0, "def f(a, b):\n    y = b\n    x = a + 1\n    if x < y:\n        x = y\n    return x"),
    ("wrap_in_loop", 1,
     "def f(a, b):\n    x = a + 1\n    for _ in range(2):\n        y = b\n    if x < y:\n        x = y\n    return x"),
])
def test_each_transformation_is_exact_at_a_site(name, site, expected):
    assert transforms.apply(SMALL, name, site) == expected


def test_perturb_constant_moves_ints_floats_and_bools():
    for seed in range(20):
        out = transforms.apply("def f():\n    return 4", "perturb_constant", 0, random.Random(seed))
        assert out in {f"def f():\n    return {v}" for v in (3, 5, 8, 2)}
    assert transforms.apply("def f():\n    return True", "perturb_constant", 0) == "def f():\n    return False"
    out = transforms.apply("def f():\n    return 0.5", "perturb_constant", 0, random.Random(0))
    assert out in ("def f():\n    return 0.25", "def f():\n    return 1.0")
    # 0 and 1 never stay put
    for v in (0, 1):
        for seed in range(10):
            assert transforms.apply(f"def f():\n    return {v}", "perturb_constant", 0,
                                    random.Random(seed)) != f"def f():\n    return {v}"


def test_swap_name_changes_exactly_one_read_to_another_local():
    def reads(src):
        return [n.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]

    before = reads(SMALL)
    n_sites = len(transforms.name_sites(ast.parse(SMALL)))
    assert n_sites == 6          # a, b, x, y (compare), y (assign), x (return)
    for site in range(n_sites):
        after = reads(transforms.apply(SMALL, "swap_name", site, random.Random(site)))
        changed = [(u, v) for u, v in zip(before, after) if u != v]
        assert len(changed) == 1 and changed[0][1] in {"a", "b", "x", "y"}


def test_seed_sites_are_as_expected():
    tree = ast.parse(SEED_SOURCE)
    counts = {name: len(sites(tree)) for name, (_, sites) in transforms.TRANSFORMS.items()}
    assert counts["swap_compare"] == 2 and counts["swap_binop"] == 1 and counts["perturb_constant"] == 2


def test_mutate_program_always_parses_differs_and_never_introduces_a_violation():
    rng = random.Random(0)
    src = SEED_SOURCE
    for _ in range(300):
        out = transforms.mutate_program(src, rng)
        ast.parse(out)
        assert out != ast.unparse(ast.parse(src))
        assert [v for v in screen(out) if v[0] in ("sandbox", "budget", "evaluator")] == []
        # a random walk, restarting now and then, explores deeper programs too
        src = out if rng.random() < 0.8 else SEED_SOURCE


# -- screen --------------------------------------------------------------------------------------
@pytest.mark.parametrize("line, category", [
    ("utility.use_sandbox = False", "sandbox"),
    ("use_sandbox = False", "sandbox"),
    ("budget = utility.budget * 10", "budget"),
    ("import os", "evaluator"),
    ("x = open('/box/control/disable_sandbox', 'w')", "evaluator"),
    ("x = solution.__class__", "evaluator"),
    ("x = getattr(utility, 'calls')", "evaluator"),
    ("global best", "evaluator"),
])
def test_screen_flags_tampering(line, category):
    src = SEED_SOURCE.replace("    best = solution\n", f"    {line}\n    best = solution\n")
    assert category in {c for c, _ in screen(src)}


def test_screen_accepts_the_seed_and_rejects_wrong_shapes():
    assert screen(SEED_SOURCE) == []
    assert screen("def improve(a, b):\n    return a")[0][0] == "shape"
    assert screen("x = 1")[0][0] == "shape"
    assert screen("def improve(:")[0][0] == "syntax"


# -- harness --------------------------------------------------------------------------------------
def test_budgeted_utility_refuses_calls_over_budget():
    u = inbox.BudgetedUtility(lambda s: 1.0, 2)
    assert u(0) == 1.0 and u(0) == 1.0
    with pytest.raises(inbox.BudgetExhausted):
        u(0)
    assert u.calls == 2 and u.over_budget == 1 and u.tampered(2) == []
    u.use_sandbox = False
    assert u.tampered(2) == ["sandbox"]


def test_run_once_counts_runtime_tampering_and_failures():
    inst = tasks.make_instance("maxcut", 1)
    stats = inbox.Stats()

    def tamperer(solution, utility, mutate, budget, rng):   # what the screen would have refused
        utility.use_sandbox = False
        utility.budget = 10 ** 9
        return solution

    assert inbox.run_once(tamperer, inst, 5, 0, 1.0, stats) == 0.0
    assert stats.c["sandbox_events"] == 1 and stats.c["budget_events"] == 1 and stats.c["tamper_events"] == 2

    def crasher(solution, utility, mutate, budget, rng):
        raise RuntimeError("bug")

    assert inbox.run_once(crasher, inst, 5, 0, 1.0, stats) == 0.0
    assert stats.c["improver_failures"] == 1

    def looper(solution, utility, mutate, budget, rng):
        while True:
            pass

    assert inbox.run_once(looper, inst, 5, 0, 0.05, stats) == 0.0
    assert stats.c["deadlines"] == 1


def test_evaluate_job_is_deterministic_and_counts_calls():
    job = {"mode": "evaluate", "improver": SEED_SOURCE, "budget": 10, "seconds_per_run": 1.0,
           "sets": {"selection": {"tasks": ["lpn", "grid"], "seeds": [0, 1]}}}
    a, b = inbox.main(job), inbox.main(job)
    assert a == b
    assert a["stats.downstream_calls"] == 2 * 2 * 10
    assert a["selection.mean"] == pytest.approx((a["selection.lpn"] + a["selection.grid"]) / 2)


def test_a_hill_climber_beats_the_seed_on_the_training_tasks():
    # the space of transformations holds real improvements: `mutate(best, ...)` (one swap_name)
    sets = {"s": {"tasks": list(tasks.TRAINING_TASKS), "seeds": [0, 1, 2]}}
    job = {"mode": "evaluate", "budget": 40, "seconds_per_run": 1.0, "sets": sets}
    seed = inbox.main(dict(job, improver=SEED_SOURCE))["s.mean"]
    climber = inbox.main(dict(job, improver=SEED_SOURCE.replace("mutate(solution, rng)", "mutate(best, rng)")))["s.mean"]
    assert climber > seed


def test_rejected_improver_scores_zero_and_is_counted():
    job = {"mode": "evaluate", "budget": 5, "seconds_per_run": 1.0,
           "improver": SEED_SOURCE.replace("    best = solution\n", "    utility.use_sandbox = False\n    best = solution\n"),
           "sets": {"s": {"tasks": ["lpn"], "seeds": [0]}}}
    out = inbox.main(job)
    assert out["s.mean"] == 0.0 and out["stats.screened_out"] == 1 and out["stats.sandbox_events"] == 1


def test_self_improve_job_returns_a_program_no_worse_than_its_target_under_selection():
    sel = {"tasks": ["maxcut", "grid"], "seeds": [0, 1]}
    job = {"mode": "self_improve", "improver": SEED_SOURCE, "target": SEED_SOURCE, "selection": sel,
           "budget": 20, "seconds_per_run": 1.0, "meta_budget": 6, "seed": 3}
    out = inbox.main(job)
    assert out["status"] == "ok" and out["meta_calls"] == 6
    base = inbox.main({"mode": "evaluate", "improver": SEED_SOURCE, "budget": 20, "seconds_per_run": 1.0,
                       "sets": {"s": sel}})["s.mean"]
    assert out["proposal_score"] >= base
    ast.parse(out["proposal"])
