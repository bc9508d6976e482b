"""What one boxed run produced: ``BoxStatus`` and ``Outcome``.

``BoxStatus`` is a ``str`` enum whose values are the strings the box always stored, so audit
records, JSON and comparisons with ``"ok"`` read the same as before. Imports only
``rsilab.box.limits``.
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from rsilab.box.limits import Limits, memory_bound


class BoxStatus(enum.StrEnum):
    """How a run ended, in order of precedence: any violation first, then a timeout, a limit,
    another non-zero exit, and only then ``ok``."""

    OK = "ok"
    TIMEOUT = "timeout"
    LIMIT = "limit"
    VIOLATION = "violation"
    ERROR = "error"


STATUSES = tuple(s.value for s in BoxStatus)


@dataclass
class Outcome:
    """What happened to one candidate run. Only ``result`` came from the candidate, and only
    through the strict result channel; ``stdout_tail``/``stderr_tail`` are untrusted text kept
    for people to read and never parsed."""

    status: BoxStatus
    result: dict[str, Any] | None
    violations: list[str]
    canaries_touched: list[str]
    resources: dict[str, float]
    weak_mode: bool
    exit_code: int | None
    signal: str | None
    candidate_sha256: str
    experiment: str
    limits: Limits
    audit_id: int | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    attempts: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is BoxStatus.OK

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        out["limits"] = {**self.limits.to_dict(), **memory_bound(self.limits)}
        return out
