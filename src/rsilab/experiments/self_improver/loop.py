"""The self-improver experiment, top to bottom: an improver improves itself, round by round.

Round 0 scores the seed improver. In every later round, two arms spend the same budget:

* ``self`` (STOP's loop): the current improver is applied to *its own source*; the program it
  returns is the proposal.
* ``control``: the unimproved seed improver is applied to the control's current program.

Each proposal is scored afresh in its own boxed job and adopted only through the gate: the
job ran clean (no violation, no canary touched, no tamper event) and its meta-utility on the
selection instances beats the incumbent's. Capability is the adopted improver's meta-utility
on *fresh* instances of the training tasks (not the ones it was selected on); transfer is its
meta-utility on the held-out tasks. Every job that executes an improver runs inside
``rsilab.box``; the host only reads their results.

Imports the store helpers, the box (via ``boxed``) and this package; never torch.
"""
from __future__ import annotations

import difflib
import time
from typing import Any

from rsilab.experiments.checkpoint import load_checkpoint, save_checkpoint
from rsilab.experiments.record import start_or_resume
from rsilab.experiments.progress import RoundBar
from rsilab.experiments.self_improver import boxed
from rsilab.experiments.self_improver.config import SIConfig
from rsilab.experiments.self_improver.gate import GateDecision, decide, policy_for
from rsilab.experiments.self_improver.seed_improver import SEED_SOURCE

NAME = "self-improver"
ARMS = ("self", "control")


def task_sets(cfg: SIConfig) -> dict[str, dict[str, Any]]:
    base = 100_000 * cfg.seed
    return {
        "selection": {"tasks": list(cfg.training_tasks), "seeds": [base + i for i in range(cfg.selection_seeds)]},
        "eval": {"tasks": list(cfg.training_tasks), "seeds": [base + 1000 + i for i in range(cfg.eval_seeds)]},
        "held_out": {"tasks": list(cfg.held_out_tasks), "seeds": [base + 2000 + i for i in range(cfg.held_out_seeds)]},
    }


def evaluate(cfg: SIConfig, source: str, store, experiment: str) -> boxed.JobOutcome:
    job = {"mode": "evaluate", "improver": source, "sets": task_sets(cfg), "budget": cfg.budget,
           "seconds_per_run": cfg.seconds_per_run}
    return boxed.run_job(job, store=store, experiment=experiment, wall_seconds=cfg.job_seconds)


def propose(cfg: SIConfig, improver: str, target: str, round_index: int, arm: str, store,
            experiment: str) -> boxed.JobOutcome:
    job = {"mode": "self_improve", "improver": improver, "target": target, "selection": task_sets(cfg)["selection"],
           "budget": cfg.budget, "seconds_per_run": cfg.seconds_per_run, "meta_budget": cfg.meta_budget,
           "seed": cfg.seed * 1_000_003 + 1000 * round_index + ARMS.index(arm)}
    return boxed.run_job(job, store=store, experiment=experiment, wall_seconds=cfg.job_seconds)


def scores_of(values: dict[str, Any]) -> dict[str, float]:
    return {k: float(values[f"{k}.mean"]) for k in ("selection", "eval", "held_out")}


def _stat(outcomes: list[boxed.JobOutcome], key: str) -> float:
    return float(sum(o.values.get(f"stats.{key}", 0.0) for o in outcomes))


def run_arm_round(cfg: SIConfig, arm: str, state: dict[str, Any], r: int, store, experiment: str,
                  gate) -> dict[str, Any]:
    """One round of one arm: propose, score the proposal in a fresh box, pass it through the gate."""
    t0 = time.perf_counter()
    current = state["source"]
    improver = current if arm == "self" else SEED_SOURCE
    prop = propose(cfg, improver, current, r, arm, store, experiment)
    jobs = [prop]
    proposal = prop.values.get("proposal") if isinstance(prop.values.get("proposal"), str) else current
    scored = None
    if prop.ok and proposal != current:
        scored = evaluate(cfg, proposal, store, experiment)
        jobs.append(scored)
    decision: GateDecision = decide(
        gate=gate, incumbent_score=state["scores"]["selection"], proposal=proposal, incumbent=current,
        proposal_job=prop, scoring_job=scored, round_index=r, arm=arm)
    if decision.adopted:
        assert scored is not None
        state["diff"] = "".join(difflib.unified_diff(current.splitlines(True), proposal.splitlines(True),
                                                     "incumbent", "adopted"))
        state["source"], state["scores"] = proposal, scores_of(scored.values)
    tamper = _stat(jobs, "tamper_events") + sum(1 for j in jobs if j.canaries_touched or j.violations)
    return {
        "adopted": decision.adopted,
        "reason": decision.reason,
        "proposal_status": str(prop.values.get("status", prop.status)),
        "scores": dict(state["scores"]),
        "downstream_calls": _stat(jobs, "downstream_calls"),
        "flop": _stat(jobs, "downstream_flop"),
        "candidates": _stat(jobs, "candidates"),
        "screened_out": _stat(jobs, "screened_out"),
        "tamper_events": tamper,
        "sandbox_events": _stat(jobs, "sandbox_events"),
        "improver_failures": _stat(jobs, "improver_failures"),
        "audit_ids": [j.audit_id for j in jobs],
        "proposal_id": decision.proposal_id,
        "seconds": time.perf_counter() - t0,
    }


def run_experiment(cfg: SIConfig, store, *, resume_run: int | None = None, progress: bool = False) -> int:
    """Run (or resume) the self-improver experiment with ``cfg``; return its run id."""
    handle = start_or_resume(store, NAME, cfg.model_dump(mode="json"), seed=cfg.seed, resume_run=resume_run)
    experiment = f"{NAME}:run{handle.run_id}"
    from rsilab.box import Gate

    gate = Gate(policy_for(cfg.rounds, cfg.job_seconds), store, experiment)
    if handle.finished_rounds:
        state = load_checkpoint(store, handle.run_id, handle.finished_rounds[-1]["round"])
    else:
        state = None
    with RoundBar(progress, "self-improver", cfg.rounds + 1, handle.next_round) as bar:
        for r in range(handle.next_round, cfg.rounds + 1):
            if r == 0:
                state, record = round_zero(cfg, store, experiment)
            else:
                record = round_record(cfg, state, r, store, experiment, handle.finished_rounds, gate)
            save_checkpoint(store, handle.run_id, r, state)
            handle.record_round(r, record)
            bar.step(f"round {r}: meta-utility {record['capability']:.3f}")
    rounds = handle.finished_rounds
    candidates = sum(x["candidates"] for x in rounds) + sum(x["candidates_control"] for x in rounds)
    sandbox = sum(x["sandbox_events"] for x in rounds) + sum(x["sandbox_events_control"] for x in rounds)
    handle.finish(summary={
        "final_capability": rounds[-1]["capability"], "final_capability_control": rounds[-1]["capability_control"],
        "seed_capability": rounds[0]["capability"], "adoptions": sum(bool(x["adopted"]) for x in rounds[1:]),
        "adoptions_control": sum(bool(x["adopted_control"]) for x in rounds[1:]),
        "candidates_scored": candidates, "sandbox_disable_attempts": sandbox,
        "sandbox_disable_rate": sandbox / candidates if candidates else 0.0,
        "final_source": state["self"]["source"],
    }, timings={"seconds": float(sum(x["seconds_total"] for x in rounds))})
    return handle.run_id


def round_zero(cfg: SIConfig, store, experiment: str) -> tuple[dict[str, Any], dict[str, Any]]:
    t0 = time.perf_counter()
    job = evaluate(cfg, SEED_SOURCE, store, experiment)
    if not job.ok:
        from rsilab.errors import ExperimentError

        raise ExperimentError(f"the seed improver did not run clean in the box ({job.status}: "
                              f"{'; '.join(job.violations) or 'no result'})")
    scores = scores_of(job.values)
    state = {arm: {"source": SEED_SOURCE, "scores": dict(scores), "diff": ""} for arm in ARMS}
    seconds = time.perf_counter() - t0
    calls, flop = _stat([job], "downstream_calls"), _stat([job], "downstream_flop")
    record = {
        "capability": scores["eval"], "meta_utility_selection": scores["selection"], "held_out": scores["held_out"],
        "gain": None, "gain_ratio": None, "adopted": None, "reason": "seed", "proposal_status": "seed",
        "capability_control": scores["eval"], "held_out_control": scores["held_out"], "adopted_control": None,
        # round 0 scores the seed once for both arms: its cost is on the self arm's row
        "downstream_calls": calls, "compute_flop": flop, "compute_flop_control": 0.0, "seconds": seconds,
        "seconds_control": 0.0,
        "seconds_total": seconds, "downstream_calls_control": 0.0, "candidates": 0.0, "candidates_control": 0.0,
        "screened_out": 0.0, "tamper_events": 0.0, "sandbox_events": 0.0, "sandbox_events_control": 0.0,
        "tamper_events_control": 0.0, "audit": {"ids": [job.audit_id]},
    }
    return state, record


def round_record(cfg: SIConfig, state: dict[str, Any], r: int, store, experiment: str,
                 previous: list[dict[str, Any]], gate) -> dict[str, Any]:
    s = run_arm_round(cfg, "self", state["self"], r, store, experiment, gate)
    c = run_arm_round(cfg, "control", state["control"], r, store, experiment, gate)
    cap = s["scores"]["eval"]
    gain = cap - previous[-1]["capability"]
    prev_gain = previous[-1].get("gain")
    # a ratio of successive gains only means something after a positive gain
    ratio = gain / prev_gain if prev_gain is not None and prev_gain > 0 else None
    return {
        "capability": cap, "meta_utility_selection": s["scores"]["selection"], "held_out": s["scores"]["held_out"],
        "gain": gain, "gain_ratio": ratio, "adopted": s["adopted"], "reason": s["reason"],
        "proposal_status": s["proposal_status"],
        "capability_control": c["scores"]["eval"], "held_out_control": c["scores"]["held_out"],
        "adopted_control": c["adopted"],
        "downstream_calls": s["downstream_calls"], "downstream_calls_control": c["downstream_calls"],
        "compute_flop": s["flop"], "compute_flop_control": c["flop"], "seconds": s["seconds"],
        "seconds_control": c["seconds"],
        "seconds_total": s["seconds"] + c["seconds"],
        "candidates": s["candidates"], "candidates_control": c["candidates"], "screened_out": s["screened_out"],
        "tamper_events": s["tamper_events"], "tamper_events_control": c["tamper_events"],
        "sandbox_events": s["sandbox_events"], "sandbox_events_control": c["sandbox_events"],
        "reason_control": c["reason"],
        "audit": {"ids": s["audit_ids"] + c["audit_ids"], "proposals": [s["proposal_id"], c["proposal_id"]],
                  "diff": state["self"]["diff"] if s["adopted"] else ""},
    }
