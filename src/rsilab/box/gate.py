"""The gate: every proposed self-modification passes an approval policy before it is adopted.

A proposal (kind, diff, new source) first meets automatic checks - schema (the kind is known,
the source parses as Python), size, tests (a callable the caller supplies, typically scoring a
boxed trial run outside the box), forbidden capabilities (imports, calls and strings a candidate
has no business with), canaries untouched and no violations in the trial run - then rate and
budget limits. A failed check rejects it at once. Otherwise it is approved automatically,
unless a person must decide: always for changes to the evaluator, the box's settings, the
budgets or the policy itself, and for every kind the policy lists. People decide with
``rsilab approve``. Every step is an audit record; the ``box_proposals`` row is only working
state and is cross-checked against its audit record before a decision.

The gate binds the candidate's full source, not only the diff: the proposal's audit record holds
the source and its sha256; a person's decision is refused when the source there no longer
hashes to what was proposed, and ``rsilab approve`` shows that stored source (the diff is the
proposer's own text, shown for orientation). ``record_outcome(..., adopted=True)`` must be given
the source being adopted and refuses any source other than the approved one.

Its rows are read and written by ``rsilab.store.gate``; no SQL here. Imports ``rsilab.box.audit``,
``rsilab.store`` and ``rsilab.errors``.
"""
from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from rsilab.box.audit import AuditLog, canonical
from rsilab.errors import BoxError, ConfigError, StoreError
from rsilab.store import Store
from rsilab.store.gate import (count_proposals_since, insert_proposal, pending_proposal_rows, policy_json,
                               proposal_row, put_policy, record_proposal_decision, set_proposal_status)

KINDS = ("code", "evaluator", "box_settings", "budget", "policy")
ALWAYS_HUMAN = frozenset({"evaluator", "box_settings", "budget", "policy"})
STATUSES = ("pending", "approved", "rejected", "adopted", "abandoned")

DEFAULT_FORBIDDEN_IMPORTS = ("socket", "ctypes", "cffi", "subprocess", "multiprocessing", "pty",
                             "signal", "resource", "mmap", "fcntl", "urllib", "http", "ftplib",
                             "smtplib", "ssl", "asyncio", "importlib", "sqlite3", "rsilab")
DEFAULT_FORBIDDEN_CALLS = ("os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg",
                           "os.execv", "os.execve", "os.execl", "os.execvp", "os.spawnv", "os.setsid",
                           "os.chmod", "os.symlink", "os.link", "os.posix_spawn", "eval", "exec",
                           "compile", "__import__", "breakpoint")
DEFAULT_FORBIDDEN_STRINGS = ("disable_sandbox", "/box/control", "/box/bin", "RSILAB_BUDGET",
                             "/proc/", "audit", "box_audit", ".sqlite")


@dataclass(frozen=True)
class Policy:
    """What a proposal must pass; fixed per experiment once set (changing it needs a person)."""

    human_for_all: bool = False
    requires_human_for: tuple[str, ...] = ()
    max_proposals_per_hour: int = 30
    budget_cpu_seconds: float | None = None
    max_diff_bytes: int = 200_000
    max_source_bytes: int = 200_000
    forbidden_imports: tuple[str, ...] = DEFAULT_FORBIDDEN_IMPORTS
    forbidden_calls: tuple[str, ...] = DEFAULT_FORBIDDEN_CALLS
    forbidden_strings: tuple[str, ...] = DEFAULT_FORBIDDEN_STRINGS

    def __post_init__(self) -> None:
        for kind in self.requires_human_for:
            if kind not in KINDS:
                raise ConfigError("policy.requires_human_for", kind, f"one of {', '.join(KINDS)}")
        if not 1 <= self.max_proposals_per_hour <= 100_000:
            raise ConfigError("policy.max_proposals_per_hour", self.max_proposals_per_hour, "1 to 100000")
        if self.budget_cpu_seconds is not None and not self.budget_cpu_seconds > 0:
            raise ConfigError("policy.budget_cpu_seconds", self.budget_cpu_seconds, "a positive number or None")
        for name in ("max_diff_bytes", "max_source_bytes"):
            if not 1 <= getattr(self, name) <= 1 << 30:
                raise ConfigError(f"policy.{name}", getattr(self, name), "1 byte to 1 GiB")

    def needs_human(self, kind: str) -> bool:
        return self.human_for_all or kind in ALWAYS_HUMAN or kind in self.requires_human_for

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Policy":
        known = {f.name for f in dataclasses.fields(cls)}
        if set(data) - known:
            raise ConfigError("policy", sorted(set(data) - known), f"known fields: {', '.join(sorted(known))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def sha256(self) -> str:
        return hashlib.sha256(canonical(self.to_dict()).encode()).hexdigest()


@dataclass(frozen=True)
class Proposal:
    id: int
    experiment: str
    kind: str
    status: str
    summary: str
    diff: str
    candidate_sha256: str | None
    checks: dict[str, dict[str, Any]]
    needs_human: bool
    created_at: float
    decided_by: str | None = None
    reason: str | None = None
    audit_seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def approved(self) -> bool:
        return self.status in ("approved", "adopted")


class Gate:
    """The approval gate of one experiment (see the module docstring)."""

    def __init__(self, policy: Policy | None, store: Store, experiment: str):
        if not experiment or not isinstance(experiment, str):
            raise ConfigError("experiment", experiment, "a non-empty name")
        self.store, self.experiment, self.log = store, experiment, AuditLog(store)
        in_force = current_policy(store, experiment)
        if in_force is None:
            self.policy = policy or Policy()
            _set_policy(store, experiment, self.policy, by="initial")
        elif policy is None or policy == in_force:
            self.policy = in_force
        else:
            raise BoxError(
                f"experiment {experiment!r} already has a policy (sha256 {in_force.sha256()[:12]}); "
                "changing it needs a person: Gate(None, store, experiment).propose_policy(new) and "
                "then `rsilab approve`")

    # -- proposing ----------------------------------------------------------------------------
    def propose(self, kind: str, diff: str, candidate_source: str | None = None, *, summary: str = "",
                tests: Callable[[], tuple[bool, str]] | None = None, outcome: Any = None,
                extra: dict[str, Any] | None = None) -> Proposal:
        """Check a proposed change and record it; returns it approved, rejected or pending."""
        checks = {
            "schema": _check_schema(kind, diff, candidate_source, summary),
            "size": _check_size(self.policy, diff, candidate_source),
            "forbidden": _check_forbidden(self.policy, candidate_source),
            "tests": _run_tests(tests),
            "canaries": _check_outcome(outcome),
            "rate": self._check_rate(),
            "budget": self._check_budget(),
        }
        failed = [name for name, c in checks.items() if not c["passed"]]
        needs_human = self.policy.needs_human(kind) if kind in KINDS else True
        if failed:
            status, by, reason = "rejected", "gate", "failed checks: " + ", ".join(failed)
        elif needs_human:
            status, by, reason = "pending", None, None
        else:
            status, by, reason = "approved", "gate", "all automatic checks passed"
        source_sha = None if candidate_source is None else hashlib.sha256(candidate_source.encode()).hexdigest()
        diff_sha = hashlib.sha256(diff.encode()).hexdigest() if isinstance(diff, str) else ""
        record = self.log.append(self.experiment, "proposal", {
            "kind": kind, "summary": summary, "diff": diff if isinstance(diff, str) else repr(diff),
            "diff_sha256": diff_sha, "candidate_sha256": source_sha, "checks": checks,
            "needs_human": needs_human, "status": status, "policy_sha256": self.policy.sha256(),
            "extra": extra or {},
            "candidate_source": candidate_source if isinstance(candidate_source, str) else None,
        })
        now = time.time()
        pid = insert_proposal(self.store, {
            "experiment": self.experiment, "kind": str(kind), "status": status, "created_at": now,
            "summary": summary, "diff": str(diff), "diff_sha256": diff_sha, "candidate_sha256": source_sha,
            "checks_json": json.dumps(checks, sort_keys=True), "needs_human": int(needs_human),
            "decided_at": None if status == "pending" else now, "decided_by": by, "reason": reason,
            "audit_seq": record.seq})
        if status != "pending":
            self.log.append(self.experiment, "decision", {"proposal": pid, "status": status, "by": by,
                                                          "reason": reason})
        return get_proposal(self.store, pid)

    def propose_policy(self, new: Policy, summary: str = "change the approval policy") -> Proposal:
        diff = _policy_diff(self.policy, new)
        return self.propose("policy", diff, None, summary=summary,
                            extra={"new_policy": new.to_dict()})

    def _check_rate(self) -> dict[str, Any]:
        count = count_proposals_since(self.store, self.experiment, time.time() - 3600)
        limit = self.policy.max_proposals_per_hour
        return _check(count < limit, f"{count} proposals in the last hour; the limit is {limit}")

    def _check_budget(self) -> dict[str, Any]:
        budget = self.policy.budget_cpu_seconds
        used = sum(float(r.body.get("resources", {}).get("cpu_seconds", 0.0))
                   for r in self.log.records(self.experiment, "run"))
        if budget is None:
            return _check(True, f"no budget set; {used:.2f} CPU seconds used in the box")
        return _check(used < budget, f"{used:.2f} of {budget:g} CPU seconds used in the box")

    # -- deciding and adopting ------------------------------------------------------------------
    def decide(self, proposal_id: int, approve: bool, reason: str, by: str) -> Proposal:
        return decide_proposal(self.store, proposal_id, approve=approve, reason=reason, by=by,
                               experiment=self.experiment)

    def record_outcome(self, proposal_id: int, adopted: bool, details: dict[str, Any] | None = None, *,
                       candidate_source: str | None = None) -> Proposal:
        """Record whether an approved change was adopted (and what it did: score, resources).
        Adopting a proposal that came with a source needs ``candidate_source``, the source being
        adopted: anything but the approved source is refused."""
        p = get_proposal(self.store, proposal_id)
        if p.experiment != self.experiment:
            raise BoxError(f"proposal {proposal_id} belongs to experiment {p.experiment!r}")
        if adopted and p.status != "approved":
            raise BoxError(f"proposal {proposal_id} is {p.status}; only an approved proposal can be adopted")
        adopted_sha = None
        if adopted and p.candidate_sha256 is not None:
            approved = proposal_source(self.store, p)
            if not isinstance(candidate_source, str):
                raise BoxError(f"proposal {proposal_id} came with a source: adopting it needs the source "
                               "being adopted (candidate_source=...)")
            adopted_sha = hashlib.sha256(candidate_source.encode()).hexdigest()
            if candidate_source != approved:
                raise BoxError(f"proposal {proposal_id}: the source being adopted (sha256 {adopted_sha[:12]}) "
                               f"is not the approved source (sha256 {p.candidate_sha256[:12]}); not adopted")
        status = "adopted" if adopted else "abandoned"
        self.log.append(self.experiment, "outcome", {"proposal": proposal_id, "status": status,
                                                     "details": details or {}, "candidate_sha256": adopted_sha})
        set_proposal_status(self.store, proposal_id, status)
        return get_proposal(self.store, proposal_id)

    def pending(self) -> list[Proposal]:
        return pending_proposals(self.store, self.experiment)


# -- store-level functions (used by the CLI, which does not know the experiment) -------------------
def current_policy(store: Store, experiment: str) -> Policy | None:
    text = policy_json(store, experiment)
    return None if text is None else Policy.from_dict(json.loads(text))


def _set_policy(store: Store, experiment: str, policy: Policy, by: str) -> None:
    AuditLog(store).append(experiment, "policy", {"policy": policy.to_dict(), "policy_sha256": policy.sha256(),
                                                  "set_by": by})
    put_policy(store, experiment, canonical(policy.to_dict()), policy.sha256(), time.time(), by)


def get_proposal(store: Store, proposal_id: int) -> Proposal:
    row = proposal_row(store, proposal_id)
    if row is None:
        raise StoreError(f"proposal {proposal_id} is not in store {store.path}")
    return _proposal(row)


def pending_proposals(store: Store, experiment: str | None = None) -> list[Proposal]:
    return [_proposal(r) for r in pending_proposal_rows(store, experiment)]


def decide_proposal(store: Store, proposal_id: int, *, approve: bool, reason: str, by: str,
                    experiment: str | None = None) -> Proposal:
    """A person's decision on a pending proposal; a reason is required either way."""
    if not reason or not reason.strip():
        raise ConfigError("reason", reason, "a non-empty reason for the decision")
    if not by or not by.strip():
        raise ConfigError("by", by, "the name of the person deciding")
    p = get_proposal(store, proposal_id)
    if experiment is not None and p.experiment != experiment:
        raise BoxError(f"proposal {proposal_id} belongs to experiment {p.experiment!r}, not {experiment!r}")
    if p.status != "pending":
        raise BoxError(f"proposal {proposal_id} is already {p.status} (by {p.decided_by}); only pending ones can be decided")
    log = AuditLog(store)
    # The proposals table is working state; what the person approves must be what was audited.
    audited = log.get(p.audit_seq)
    if audited.kind != "proposal" or audited.body.get("diff_sha256") != hashlib.sha256(p.diff.encode()).hexdigest():
        raise BoxError(f"proposal {proposal_id} no longer matches its audit record {p.audit_seq}; "
                       "run `rsilab audit verify` and do not approve it")
    proposal_source(store, p)  # the source shown and approved must still be the one proposed
    status = "approved" if approve else "rejected"
    log.append(p.experiment, "decision", {"proposal": proposal_id, "status": status, "by": by,
                                          "reason": reason, "human": True,
                                          "candidate_sha256": p.candidate_sha256})
    record_proposal_decision(store, proposal_id, status, time.time(), by, reason)
    if approve and p.kind == "policy":
        new = audited.body.get("extra", {}).get("new_policy")
        if new is not None:
            _set_policy(store, p.experiment, Policy.from_dict(new), by=f"{by} (proposal {proposal_id})")
    return get_proposal(store, proposal_id)


def proposal_source(store: Store, p: Proposal) -> str | None:
    """The candidate source proposed with ``p``, from its audit record, checked against the sha256
    the proposal and its record hold (``BoxError`` when they differ); None when it had none."""
    body = AuditLog(store).get(p.audit_seq).body
    source, recorded = body.get("candidate_source"), body.get("candidate_sha256")
    if p.candidate_sha256 is None and recorded is None and source is None:
        return None
    if "candidate_source" not in body:
        raise BoxError(f"proposal {p.id} was recorded without its source (by an older rsilab): nothing binds "
                       "what would run to what was approved; propose it again")
    if not isinstance(source, str) or recorded != p.candidate_sha256 or \
            hashlib.sha256(source.encode()).hexdigest() != p.candidate_sha256:
        raise BoxError(f"proposal {p.id}: its stored source no longer matches the sha256 it was proposed with "
                       f"(audit record {p.audit_seq}); run `rsilab audit verify` and do not approve or adopt it")
    return source


def _proposal(row: Any) -> Proposal:
    return Proposal(id=row["id"], experiment=row["experiment"], kind=row["kind"], status=row["status"],
                    summary=row["summary"], diff=row["diff"], candidate_sha256=row["candidate_sha256"],
                    checks=json.loads(row["checks_json"]), needs_human=bool(row["needs_human"]),
                    created_at=row["created_at"], decided_by=row["decided_by"], reason=row["reason"],
                    audit_seq=row["audit_seq"])


# -- the automatic checks -------------------------------------------------------------------------
def _check(passed: bool, detail: str) -> dict[str, Any]:
    return {"passed": bool(passed), "detail": detail}


def _check_schema(kind: Any, diff: Any, source: Any, summary: Any) -> dict[str, Any]:
    if kind not in KINDS:
        return _check(False, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(diff, str) or not isinstance(summary, str):
        return _check(False, "diff and summary must be text")
    if source is not None:
        if not isinstance(source, str):
            return _check(False, "candidate source must be text")
        try:
            ast.parse(source)
        except SyntaxError as exc:
            return _check(False, f"candidate source does not parse: line {exc.lineno}: {exc.msg}")
    return _check(True, "kind known, source parses")


def _check_size(policy: Policy, diff: Any, source: Any) -> dict[str, Any]:
    diff_bytes = len(diff.encode()) if isinstance(diff, str) else 0
    source_bytes = len(source.encode()) if isinstance(source, str) else 0
    ok = diff_bytes <= policy.max_diff_bytes and source_bytes <= policy.max_source_bytes
    return _check(ok, f"diff {diff_bytes} B (max {policy.max_diff_bytes}), source {source_bytes} B "
                      f"(max {policy.max_source_bytes})")


def _check_forbidden(policy: Policy, source: Any) -> dict[str, Any]:
    if not isinstance(source, str):
        return _check(True, "no source")
    found = sorted(forbidden_capabilities(source, policy))
    return _check(not found, "none found" if not found else "found: " + ", ".join(found[:10]))


def forbidden_capabilities(source: str, policy: Policy | None = None) -> set[str]:
    """Forbidden imports, calls and strings in ``source`` (a static screen, not a sandbox)."""
    policy = policy or Policy()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"unparseable source"}
    found: set[str] = set()
    imports = set(policy.forbidden_imports)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {f"import {a.name}" for a in node.names if a.name.split(".")[0] in imports}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in imports:
            found.add(f"import {node.module}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in policy.forbidden_calls:
                found.add(f"call {name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {f"string {s!r}" for s in policy.forbidden_strings if s in node.value}
    return found


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _run_tests(tests: Callable[[], tuple[bool, str]] | None) -> dict[str, Any]:
    if tests is None:
        return _check(True, "no tests given")
    try:
        passed, detail = tests()
    except Exception as exc:  # a test that crashes fails; the gate records why
        return _check(False, f"tests raised {type(exc).__name__}: {exc}")
    return _check(bool(passed), str(detail))


def _check_outcome(outcome: Any) -> dict[str, Any]:
    if outcome is None:
        return _check(True, "no trial run given")
    touched = list(getattr(outcome, "canaries_touched", []))
    violations = list(getattr(outcome, "violations", []))
    ok = not touched and not violations
    detail = "canaries untouched, no violations" if ok else "; ".join(violations)[:500]
    return _check(ok, detail)


def _policy_diff(old: Policy, new: Policy) -> str:
    a, b = old.to_dict(), new.to_dict()
    lines = [f"- {k}: {a[k]!r}\n+ {k}: {b[k]!r}" for k in sorted(a) if a[k] != b[k]]
    return "\n".join(lines) or "(no change)"
