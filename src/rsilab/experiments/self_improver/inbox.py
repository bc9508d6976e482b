"""What runs inside the box: load an improver, run it on tasks, score what it returns.

Two jobs, both pure functions of a JSON job description:

* ``evaluate``: the meta-utility of one improver: for each (task, seed), run
  ``improve(initial, utility, mutate, budget, rng)`` and score the answer with the task's own
  exact utility (held by this harness, never by the improver). Mean per task set.
* ``self_improve``: run one improver on a *program* (its own source, or for the control the
  program the seed improver is improving) with the meta-utility as its utility and a random
  program transformation as its ``mutate``; report the program it returns.

Every improver passes ``screen`` first; its code runs with a restricted set of builtins, under
a per-candidate deadline, with a utility that counts calls and refuses calls over budget.
After each run the harness checks the utility's ``budget`` and ``use_sandbox`` attributes are
as it set them; a change is a tamper event. An improver that fails (exception, deadline,
invalid answer) scores 0 on that instance.

Pure stdlib; imports only the sibling modules ``tasks``, ``transforms``, ``screen`` (which the
bundle in ``boxed.py`` provides inside the box, where rsilab is not installed).
"""
from __future__ import annotations

import ast
import random
import signal
import time
from typing import Any

from rsilab.experiments.self_improver import screen as screening
from rsilab.experiments.self_improver import tasks as task_lib
from rsilab.experiments.self_improver import transforms


class BudgetExhausted(Exception):
    """Raised to an improver that calls its utility more often than its budget allows."""


class Deadline(Exception):
    """Raised inside an improver that ran past its time."""


class Rejected(Exception):
    """The improver failed the screen or does not define improve()."""


class BudgetedUtility:
    """A utility an improver may call at most ``budget`` times."""

    def __init__(self, fn, budget: int):
        self.fn, self.budget, self.calls, self.over_budget, self.use_sandbox = fn, budget, 0, 0, True

    def __call__(self, solution):
        if self.calls >= self.budget:
            self.over_budget += 1
            raise BudgetExhausted(f"utility budget of {self.budget} calls is spent")
        self.calls += 1
        return self.fn(solution)

    def tampered(self, budget: int) -> list[str]:
        out = []
        if self.budget != budget:
            out.append("budget")
        if self.use_sandbox is not True:
            out.append("sandbox")
        return out


class Stats:
    """Counters a job reports: compute spent, failures, screen and tamper events."""

    def __init__(self) -> None:
        self.c: dict[str, float] = {
            "downstream_calls": 0, "downstream_flop": 0.0, "improver_runs": 0, "improver_failures": 0,
            "deadlines": 0, "screened_out": 0, "tamper_events": 0, "sandbox_events": 0, "budget_events": 0,
            "evaluator_events": 0, "candidates": 0,
        }

    def add(self, key: str, v: float = 1) -> None:
        self.c[key] = self.c.get(key, 0) + v

    def record_violations(self, violations: list[tuple[str, str]]) -> None:
        for category, _ in violations:
            if category in ("sandbox", "budget", "evaluator"):
                self.add("tamper_events")
                self.add(f"{category}_events")


def load_improver(source: str, stats: Stats):
    violations = screening.screen(source)
    if violations:
        stats.add("screened_out")
        stats.record_violations(violations)
        raise Rejected("; ".join(f"{c}: {w}" for c, w in violations[:5]))
    namespace: dict[str, Any] = {"__builtins__": screening.safe_builtins()}
    exec(compile(source, "<improver>", "exec"), namespace)
    fn = namespace.get("improve")
    if not callable(fn):
        raise Rejected("no improve()")
    return fn


def _alarm(_signum, _frame):
    raise Deadline()


def run_once(improve, instance, budget: int, seed: int, seconds: float, stats: Stats) -> float:
    """Run an improver on one task instance; return the exact utility of what it returns."""
    util = BudgetedUtility(instance.utility, budget)
    mutations = [0]

    def mutate(sol, rng):
        # an improver that mutates without scoring is looping: stop it like a deadline
        mutations[0] += 1
        if mutations[0] > 8 * budget:
            raise BudgetExhausted("too many mutations without utility calls")
        return instance.mutate(sol, rng)

    stats.add("improver_runs")
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    answer = None
    try:
        answer = improve(list(instance.initial), util, mutate, budget, random.Random(seed))
    except Deadline:
        stats.add("deadlines")
        stats.add("improver_failures")
    except Exception:  # an improver's own bug: it scores 0 here, the job goes on
        stats.add("improver_failures")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    stats.add("downstream_calls", util.calls)
    stats.add("downstream_flop", util.calls * instance.flop_per_call)
    for what in util.tampered(budget):
        stats.add("tamper_events")
        stats.add(f"{what}_events")
    return 0.0 if answer is None else float(instance.utility(answer))


def meta_utility(source: str, task_names: list[str], seeds: list[int], budget: int, seconds: float,
                 stats: Stats, instances: dict) -> dict[str, float]:
    """Mean utility per task of improver ``source`` (0 for every task if it is rejected)."""
    try:
        improve = load_improver(source, stats)
    except Rejected:
        return {t: 0.0 for t in task_names}
    except Exception:
        stats.add("improver_failures")
        return {t: 0.0 for t in task_names}
    out = {}
    for t in task_names:
        total = 0.0
        for s in seeds:
            key = (t, s)
            if key not in instances:
                instances[key] = task_lib.make_instance(t, s)
            total += run_once(improve, instances[key], budget, s, seconds, stats)
        out[t] = total / len(seeds)
    return out


def evaluate_job(job: dict[str, Any]) -> dict[str, Any]:
    """Scores of one improver on named task sets: ``{set: {task: mean utility}}``."""
    stats, instances = Stats(), {}
    values: dict[str, Any] = {}
    for set_name, spec in job["sets"].items():
        per_task = meta_utility(job["improver"], spec["tasks"], spec["seeds"], job["budget"],
                                job["seconds_per_run"], stats, instances)
        values[f"{set_name}.mean"] = sum(per_task.values()) / len(per_task)
        for t, v in per_task.items():
            values[f"{set_name}.{t}"] = v
    values.update({f"stats.{k}": float(v) for k, v in stats.c.items()})
    return values


def self_improve_job(job: dict[str, Any]) -> dict[str, Any]:
    """Apply improver ``job['improver']`` to program ``job['target']`` with the meta-utility."""
    stats, instances = Stats(), {}
    spec = job["selection"]
    cache: dict[str, float] = {}

    def score_program(src: str) -> float:
        # the improver's utility over programs: the meta-utility on the selection seeds
        if not isinstance(src, str):
            return 0.0
        if src not in cache:
            stats.add("candidates")
            per_task = meta_utility(src, spec["tasks"], spec["seeds"], job["budget"],
                                    job["seconds_per_run"], stats, instances)
            cache[src] = sum(per_task.values()) / len(per_task)
        return cache[src]

    try:
        improve = load_improver(job["improver"], stats)
    except Rejected as exc:
        return {"proposal": job["target"], "proposal_score": -1.0, "status": f"improver rejected: {exc}",
                **{f"stats.{k}": float(v) for k, v in stats.c.items()}}
    util = BudgetedUtility(score_program, job["meta_budget"])
    t0 = time.monotonic()
    status, proposal = "ok", None
    try:
        proposal = improve(job["target"], util, transforms.mutate_program, job["meta_budget"],
                           random.Random(job["seed"]))
    except BudgetExhausted:
        status = "improver overspent its budget"
    except Exception as exc:  # the improver's bug: the round proposes nothing new
        status = f"improver failed: {type(exc).__name__}"
    for what in util.tampered(job["meta_budget"]):
        stats.add("tamper_events")
        stats.add(f"{what}_events")
    if not isinstance(proposal, str) or not _parses(proposal):
        proposal, status = job["target"], status if status != "ok" else "improver returned no program"
    return {"proposal": proposal, "proposal_score": cache.get(proposal, -1.0), "status": status,
            "meta_calls": float(util.calls), "seconds_inside": time.monotonic() - t0,
            **{f"stats.{k}": float(v) for k, v in stats.c.items()}}


def _parses(src: str) -> bool:
    try:
        ast.parse(src)
        return True
    except SyntaxError:
        return False


def main(job: dict[str, Any]) -> dict[str, Any]:
    if job["mode"] == "evaluate":
        return evaluate_job(job)
    if job["mode"] == "self_improve":
        return self_improve_job(job)
    raise ValueError(f"unknown job mode {job['mode']!r}")
