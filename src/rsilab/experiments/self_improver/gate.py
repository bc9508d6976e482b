"""The self-improver's adoption rule, expressed through ``rsilab.box``'s ``Gate``.

A proposal (a new improver source) goes to the box's gate as a ``code`` proposal with:

* ``outcome``: the violations and touched canaries of *both* boxed jobs (the one that proposed
  it and the fresh one that scored it), so any canary touch or violation rejects it;
* ``tests``: the experiment's own criteria: both jobs finished ``ok`` with a result, neither
  counted a tamper event (screen violations, or a utility whose ``budget`` or ``use_sandbox``
  changed under it), and the proposal's meta-utility on the selection instances, measured in the
  fresh scoring job, strictly beats the incumbent's.

The gate adds its own checks (schema, size, forbidden capabilities, rate, CPU budget) and writes
the proposal and decision to the hash-chained audit log; an adopted proposal gets an outcome
record. A proposing job that was not clean is sent to the gate even when it proposed nothing new,
so the rejection is on record. Imports ``rsilab.box`` lazily.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import SimpleNamespace


@dataclass(frozen=True)
class GateDecision:
    adopted: bool
    reason: str
    proposal_id: int | None = None


def policy_for(rounds: int, job_seconds: float):
    """One policy per run: room for every round's two proposals, CPU bounded by the jobs' limits."""
    from rsilab.box import Policy

    return Policy(max_proposals_per_hour=max(30, 4 * (rounds + 1)),
                  budget_cpu_seconds=4.0 * (rounds + 1) * job_seconds)


def _tampered(job) -> float:
    return 0.0 if job is None else float(job.values.get("stats.tamper_events", 0.0))


def _criteria(incumbent_score: float, proposal_job, scoring_job) -> tuple[bool, str]:
    for name, job in (("proposing", proposal_job), ("scoring", scoring_job)):
        if job is None:
            return False, f"no {name} job"
        if job.status != "ok" or not job.values:
            return False, f"{name} job ended {job.status} without a result"
        if _tampered(job):
            return False, f"{name} job counted {_tampered(job):g} tamper event(s)"
    score = float(scoring_job.values["selection.mean"])
    if score <= incumbent_score:
        return False, f"not better: {score:.4f} <= incumbent {incumbent_score:.4f}"
    return True, f"better: {score:.4f} > incumbent {incumbent_score:.4f}"


def decide(*, gate, incumbent_score: float, proposal: str, incumbent: str, proposal_job, scoring_job,
           round_index: int, arm: str) -> GateDecision:
    dirty = not proposal_job.ok or bool(_tampered(proposal_job))
    if proposal == incumbent and not dirty:
        return GateDecision(False, "no new program proposed")
    jobs = [j for j in (proposal_job, scoring_job) if j is not None]
    outcome = SimpleNamespace(canaries_touched=[c for j in jobs for c in j.canaries_touched],
                              violations=[v for j in jobs for v in j.violations])
    diff = "".join(difflib.unified_diff(incumbent.splitlines(True), proposal.splitlines(True), "incumbent", "proposal"))
    p = gate.propose("code", diff or "(no change)", candidate_source=proposal,
                     summary=f"round {round_index}, arm {arm}",
                     tests=lambda: _criteria(incumbent_score, proposal_job, scoring_job), outcome=outcome,
                     extra={"round": round_index, "arm": arm,
                            "audit_ids": [j.audit_id for j in jobs],
                            "tamper_events": sum(_tampered(j) for j in jobs)})
    if p.status == "approved":
        score = float(scoring_job.values["selection.mean"])
        gate.record_outcome(p.id, adopted=True, details={"selection_meta_utility": score}, candidate_source=proposal)
        return GateDecision(True, f"approved: better, {score:.4f} > {incumbent_score:.4f}", p.id)
    if p.status == "pending":
        return GateDecision(False, "waiting for a person (rsilab approve); not adopted this round", p.id)
    failed = [f"{name}: {c['detail']}" for name, c in p.checks.items() if not c["passed"]]
    return GateDecision(False, "rejected: " + "; ".join(failed), p.id)
