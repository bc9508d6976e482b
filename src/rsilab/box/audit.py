"""The append-only, hash-chained audit log of everything the box and its gate did.

Each record is ``(seq, experiment, kind, created_at, body)`` plus ``prev_hash`` and ``hash``, where
``hash = sha256(prev_hash + canonical_json(seq, experiment, kind, created_at, body))`` and the
first record's ``prev_hash`` is 64 zeros. ``verify`` recomputes the chain and names the first bad
record: an edited record breaks its own hash, a deleted or reordered one breaks the sequence or
the link. Removing records from the *end* leaves a valid shorter chain, so every append also
writes the head (seq, hash) to a witness file beside the store (``<store>.audit-head``), and
``verify`` checks the chain reaches it; ``rsilab audit verify --expect-head HASH`` checks against a
head noted elsewhere. Someone who can rewrite both the store and the witness can rewrite history;
the log makes that visible only against a head kept outside their reach.

Imports ``rsilab.store`` and ``rsilab.errors`` only.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rsilab.errors import StoreError
from rsilab.store import Store
from rsilab.store.audit import (append_audit_row, audit_hashes, audit_row, audit_rows,
                                 audit_rows_as_inserted)

GENESIS = "0" * 64
KINDS = ("run", "refusal", "proposal", "decision", "outcome", "policy")


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    experiment: str
    kind: str
    created_at: float
    body: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"ok: {self.records} records, chain intact, head {self.head_hash}"
        return f"BAD at record {self.first_bad_seq}: {self.problem}"


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def record_hash(prev_hash: str, seq: int, experiment: str, kind: str, created_at: float,
                body: dict[str, Any]) -> str:
    payload = canonical({"seq": seq, "experiment": experiment, "kind": kind,
                         "created_at": repr(float(created_at)), "body": body})
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def head_file(store: Store) -> Path | None:
    if str(store.path) == ":memory:":
        return None
    return Path(str(store.path) + ".audit-head")


class AuditLog:
    """The audit log of one store; its rows are read and written by ``rsilab.store.audit``."""

    def __init__(self, store: Store):
        self.store = store

    def append(self, experiment: str, kind: str, body: dict[str, Any]) -> AuditRecord:
        if kind not in KINDS:
            raise StoreError(f"audit record kind {kind!r} is unknown; known: {', '.join(KINDS)}")
        body = json.loads(canonical(body))  # what is hashed is exactly what is stored
        row = append_audit_row(self.store, experiment, kind, canonical(body), GENESIS,
                               lambda prev, seq, at: record_hash(prev, seq, experiment, kind, at, body))
        self._write_head(row["seq"], row["hash"])
        return AuditRecord(row["seq"], experiment, kind, row["created_at"], body, row["prev_hash"], row["hash"])

    def _write_head(self, seq: int, digest: str) -> None:
        path = head_file(self.store)
        if path is None:
            return
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(f"{seq} {digest}\n")
        os.replace(tmp, path)

    def records(self, experiment: str | None = None, kind: str | None = None) -> Iterator[AuditRecord]:
        for row in audit_rows(self.store, experiment, kind):
            yield _record(row)

    def get(self, seq: int) -> AuditRecord:
        row = audit_row(self.store, seq)
        if row is None:
            raise StoreError(f"audit record {seq} is not in store {self.store.path}")
        return _record(row)

    def verify(self, expect_head: str | None = None) -> VerifyReport:
        """Recompute the chain; the report names the first bad record, if any."""
        prev, count, expected_seq = GENESIS, 0, 1
        # rowid order is insertion order; a reordering shows up as a sequence break
        for row in audit_rows_as_inserted(self.store):
            seq = row["seq"]
            if seq != expected_seq:
                what = "missing (deleted)" if seq > expected_seq else "out of order"
                return VerifyReport(False, count, prev, expected_seq,
                                    f"record {expected_seq} is {what}; found record {seq} in its place")
            try:
                body = json.loads(row["body_json"])
                digest = record_hash(prev, seq, row["experiment"], row["kind"], row["created_at"], body)
            except (ValueError, TypeError) as exc:
                return VerifyReport(False, count, prev, seq, f"record body is unreadable ({exc})")
            if row["prev_hash"] != prev:
                return VerifyReport(False, count, prev, seq, "its link to the previous record is broken")
            if row["hash"] != digest:
                return VerifyReport(False, count, prev, seq, "its contents do not match its hash (edited)")
            prev, count, expected_seq = digest, count + 1, expected_seq + 1
        witness = self._read_head()
        if witness is not None:
            w_seq, w_hash = witness
            if w_seq > count:
                return VerifyReport(False, count, prev, count + 1,
                                    f"log truncated: the head witness says {w_seq} records, the log ends at {count}")
            if w_seq >= 1 and self._hash_at(w_seq) != w_hash:
                return VerifyReport(False, count, prev, w_seq, "it differs from the head witness (rewritten)")
        if expect_head is not None and expect_head not in {prev} | self._all_hashes():
            return VerifyReport(False, count, prev, count + 1,
                                f"the expected head {expect_head[:16]}... is not in the log (truncated or rewritten)")
        return VerifyReport(True, count, prev)

    def _read_head(self) -> tuple[int, str] | None:
        path = head_file(self.store)
        if path is None or not path.exists():
            return None
        try:
            seq_text, digest = path.read_text().split()
            return int(seq_text), digest
        except (OSError, ValueError):
            return (10**18, "unreadable witness")

    def _hash_at(self, seq: int) -> str | None:
        row = audit_row(self.store, seq)
        return None if row is None else row["hash"]

    def _all_hashes(self) -> set[str]:
        return audit_hashes(self.store)

    def canary_touches(self, experiment: str) -> int:
        """Decoys touched across every boxed run of ``experiment`` (each touch counts once)."""
        return sum(len(r.body.get("canaries_touched", [])) for r in self.records(experiment, "run"))


def _record(row: dict[str, Any]) -> AuditRecord:
    return AuditRecord(row["seq"], row["experiment"], row["kind"], row["created_at"],
                       json.loads(row["body_json"]), row["prev_hash"], row["hash"])
