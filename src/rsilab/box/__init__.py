"""The box: the only part of rsilab that executes untrusted code (see docs/box.md).

``run_candidate`` runs one candidate inside bubblewrap with resource limits and returns an
``Outcome`` whose ``status`` is a ``BoxStatus``; the candidate speaks only through the strict
result file (``rsilab.box.result``). ``Gate`` decides whether a proposed self-modification may
be adopted; ``AuditLog`` is the hash-chained record of both. Importing this package starts
nothing and imports no torch.
"""
from rsilab.box.audit import AuditLog, AuditRecord, VerifyReport
from rsilab.box.gate import Gate, Policy, Proposal
from rsilab.box.limits import Limits
from rsilab.box.outcome import STATUSES, BoxStatus, Outcome
from rsilab.box.result import ResultRejected, parse_result
from rsilab.box.sandbox import BOX_RESULT_PATH, bwrap_problem, run_candidate

__all__ = [
    "AuditLog", "AuditRecord", "VerifyReport", "Gate", "Policy", "Proposal", "Limits", "ResultRejected", "parse_result",
    "BOX_RESULT_PATH", "STATUSES", "BoxStatus", "Outcome", "bwrap_problem", "run_candidate",
]
