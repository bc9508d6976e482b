"""Audit log tamper detection, the approval gate, and the CLI commands box run / approve / audit."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsilab.box import AuditLog, Gate, Policy
from rsilab.box.gate import decide_proposal, forbidden_capabilities, pending_proposals
from rsilab.cli import cli
from rsilab.errors import BoxError, ConfigError


def filled_log(store, n=6) -> AuditLog:
    log = AuditLog(store)
    for i in range(n):
        log.append("exp", "run", {"status": "ok", "i": i, "resources": {"cpu_seconds": 0.5}})
    return log


# -- audit log ----------------------------------------------------------------------------------
def test_untouched_chain_verifies(store):
    log = filled_log(store)
    report = log.verify()
    assert report.ok and report.records == 6 and report.head_hash == log.get(6).hash


def test_edit_is_detected_at_the_edited_record(store):
    log = filled_log(store)
    store.conn.execute("UPDATE box_audit SET body_json = ? WHERE seq = 3",
                       (json.dumps({"status": "ok", "i": 99, "resources": {"cpu_seconds": 0.5}}),))
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3 and "edited" in report.problem


def test_edit_with_recomputed_hash_breaks_the_next_link(store):
    from rsilab.box.audit import canonical, record_hash

    log = filled_log(store)
    rec = log.get(2)
    body = dict(rec.body, status="violation")
    new_hash = record_hash(rec.prev_hash, 2, rec.experiment, rec.kind, rec.created_at, body)
    store.conn.execute("UPDATE box_audit SET body_json = ?, hash = ? WHERE seq = 2", (canonical(body), new_hash))
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3 and "link" in report.problem


def test_deletion_is_detected_and_named(store):
    log = filled_log(store)
    store.conn.execute("DELETE FROM box_audit WHERE seq = 4")
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 4 and "deleted" in report.problem


def test_reordering_is_detected(store):
    log = filled_log(store)
    a, b = log.get(2), log.get(5)
    for seq, src in ((2, b), (5, a)):
        store.conn.execute("UPDATE box_audit SET body_json = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (json.dumps(src.body), src.prev_hash, src.hash, seq))
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 2


def test_truncation_is_detected_by_the_head_witness(store):
    log = filled_log(store)
    store.conn.execute("DELETE FROM box_audit WHERE seq >= 5")
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 5 and "truncated" in report.problem


def test_truncation_is_detected_against_a_head_noted_elsewhere(store, tmp_path):
    log = filled_log(store)
    noted = log.verify().head_hash
    store.conn.execute("DELETE FROM box_audit WHERE seq = 6")
    store.conn.commit()
    (tmp_path / "test-store.sqlite.audit-head").unlink()  # the attacker also removed the witness
    assert log.verify().ok  # without any witness a shorter chain is self-consistent...
    report = log.verify(expect_head=noted)  # ...but not against the head a person kept
    assert not report.ok and "expected head" in report.problem


def test_forged_record_appended_by_hand_is_detected(store):
    log = filled_log(store, 3)
    store.conn.execute("INSERT INTO box_audit VALUES (4, 'exp', 'decision', 0, '{}', ?, ?)",
                       (log.get(3).hash, "f" * 64))
    store.conn.commit()
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 4


# -- gate -----------------------------------------------------------------------------------------
GOOD = "def improve(x):\n    return x + 1\n"


def test_clean_code_change_is_approved_automatically_and_adopted(store):
    gate = Gate(Policy(), store, "g1")
    p = gate.propose("code", "+    return x + 1", GOOD, summary="v1 -> v2", tests=lambda: (True, "score 0.7 >= 0.6"))
    assert p.status == "approved" and p.decided_by == "gate" and all(c["passed"] for c in p.checks.values())
    p = gate.record_outcome(p.id, adopted=True, details={"score": 0.7}, candidate_source=GOOD)
    assert p.status == "adopted"
    kinds = [r.kind for r in AuditLog(store).records("g1")]
    assert kinds == ["policy", "proposal", "decision", "outcome"]


@pytest.mark.parametrize("kind", ["evaluator", "box_settings", "budget", "policy"])
def test_evaluator_box_and_budget_changes_always_need_a_person(store, kind):
    gate = Gate(Policy(human_for_all=False), store, "g2")
    p = gate.propose(kind, "edit", GOOD)
    assert p.status == "pending" and p.needs_human
    with pytest.raises(BoxError, match="only an approved"):
        gate.record_outcome(p.id, adopted=True)
    with pytest.raises(ConfigError, match="reason"):
        gate.decide(p.id, approve=True, reason=" ", by="alice")
    p = gate.decide(p.id, approve=False, reason="touches the scorer", by="alice")
    assert p.status == "rejected" and p.reason == "touches the scorer"
    with pytest.raises(BoxError, match="already rejected"):
        gate.decide(p.id, approve=True, reason="changed my mind", by="alice")


@pytest.mark.parametrize("source,found", [
    ("import socket\n", "import socket"),
    ("from ctypes import CDLL\n", "import ctypes"),
    ("import os\nos.system('rm -rf /')\n", "call os.system"),
    ("open('/box/control/disable_sandbox', 'w')\n", "disable_sandbox"),
    ("exec('print(1)')\n", "call exec"),
    ("import rsilab.box\n", "import rsilab.box"),
])
def test_forbidden_capabilities_reject_the_proposal(store, source, found):
    assert any(found in f for f in forbidden_capabilities(source))
    p = Gate(None, store, "g3").propose("code", "d", source)
    assert p.status == "rejected" and not p.checks["forbidden"]["passed"]


def test_failed_checks_reject(store):
    gate = Gate(Policy(max_source_bytes=100), store, "g4")
    assert gate.propose("code", "d", "def (:\n").checks["schema"]["passed"] is False
    assert gate.propose("code", "d", "x = 1\n" * 50).checks["size"]["passed"] is False
    assert gate.propose("code", "d", GOOD, tests=lambda: (False, "score fell")).status == "rejected"
    crashed = gate.propose("code", "d", GOOD, tests=lambda: 1 / 0)
    assert crashed.status == "rejected" and "ZeroDivisionError" in crashed.checks["tests"]["detail"]
    assert gate.propose("refactor", "d", GOOD).checks["schema"]["passed"] is False

    class TrialRun:
        canaries_touched = ["budget"]
        violations = ["canary touched: budget (/box/control/budget.json)"]

    hacked = gate.propose("code", "d", GOOD, outcome=TrialRun())
    assert hacked.status == "rejected" and not hacked.checks["canaries"]["passed"]


def test_rate_limit(store):
    gate = Gate(Policy(max_proposals_per_hour=3), store, "g5")
    statuses = [gate.propose("code", f"d{i}", GOOD).status for i in range(5)]
    assert statuses == ["approved"] * 3 + ["rejected"] * 2


def test_budget_limit_counts_box_cpu_of_the_experiment(store):
    gate = Gate(Policy(budget_cpu_seconds=2.0), store, "exp")
    assert gate.propose("code", "d", GOOD).status == "approved"
    filled_log(store, 5)  # five runs of 0.5 CPU s in experiment 'exp'
    p = gate.propose("code", "d2", GOOD)
    assert p.status == "rejected" and "2.50 of 2" in p.checks["budget"]["detail"]


def test_policy_is_fixed_per_experiment_and_changes_need_a_person(store):
    Gate(Policy(max_proposals_per_hour=5), store, "g6")
    with pytest.raises(BoxError, match="needs a person"):
        Gate(Policy(max_proposals_per_hour=500), store, "g6")
    gate = Gate(None, store, "g6")
    assert gate.policy.max_proposals_per_hour == 5
    p = gate.propose_policy(Policy(max_proposals_per_hour=500))
    assert p.status == "pending" and "max_proposals_per_hour" in p.diff
    decide_proposal(store, p.id, approve=True, reason="more throughput approved", by="bob")
    assert Gate(None, store, "g6").policy.max_proposals_per_hour == 500
    assert Gate(Policy(max_proposals_per_hour=500), store, "g6") is not None


def test_decision_refused_when_proposal_row_no_longer_matches_its_audit_record(store):
    gate = Gate(None, store, "g7")
    p = gate.propose("evaluator", "harmless", GOOD)
    store.conn.execute("UPDATE box_proposals SET diff = 'swapped for something else' WHERE id = ?", (p.id,))
    store.conn.commit()
    with pytest.raises(BoxError, match="no longer matches"):
        gate.decide(p.id, approve=True, reason="ok", by="alice")


def test_the_proposal_record_holds_the_full_source_and_the_decision_its_hash(store):
    import hashlib

    from rsilab.box.gate import proposal_source

    gate = Gate(Policy(human_for_all=True), store, "src")
    p = gate.propose("code", "+ return x + 1", GOOD)
    assert proposal_source(store, p) == GOOD
    assert AuditLog(store).get(p.audit_seq).body["candidate_source"] == GOOD
    decide_proposal(store, p.id, approve=True, reason="read the source", by="alice")
    decision = [r for r in AuditLog(store).records("src", "decision")][-1]
    assert decision.body["candidate_sha256"] == hashlib.sha256(GOOD.encode()).hexdigest() == p.candidate_sha256
    assert gate.record_outcome(p.id, adopted=True, candidate_source=GOOD).status == "adopted"
    outcome = [r for r in AuditLog(store).records("src", "outcome")][-1]
    assert outcome.body["candidate_sha256"] == p.candidate_sha256


def test_a_proposal_whose_source_no_longer_matches_cannot_be_decided(store):
    gate = Gate(Policy(human_for_all=True), store, "swapped")
    p = gate.propose("code", "+ return x + 1", GOOD)
    store.conn.execute("UPDATE box_proposals SET candidate_sha256 = ? WHERE id = ?", ("0" * 64, p.id))
    store.conn.commit()
    with pytest.raises(BoxError, match="no longer matches the sha256"):
        decide_proposal(store, p.id, approve=True, reason="looks fine", by="alice")


def test_a_proposal_recorded_without_its_source_must_be_proposed_again(store):
    """Records written before the gate stored sources: nothing binds them, so no decision."""
    from rsilab.box.audit import canonical, record_hash

    gate = Gate(Policy(human_for_all=True), store, "legacy")
    p = gate.propose("code", "+ return x + 1", GOOD)
    rec = AuditLog(store).get(p.audit_seq)
    body = {k: v for k, v in rec.body.items() if k != "candidate_source"}
    new_hash = record_hash(rec.prev_hash, rec.seq, rec.experiment, rec.kind, rec.created_at, body)
    store.conn.execute("UPDATE box_audit SET body_json = ?, hash = ? WHERE seq = ?", (canonical(body), new_hash, rec.seq))
    store.conn.commit()
    with pytest.raises(BoxError, match="without its source"):
        decide_proposal(store, p.id, approve=True, reason="looks fine", by="alice")


# -- CLI ------------------------------------------------------------------------------------------
def test_cli_approve_lists_and_decides(store):
    gate = Gate(None, store, "cli")
    p = gate.propose("evaluator", "--- scorer.py\n+++ scorer.py\n-old\n+new", GOOD, summary="new scorer")
    runner = CliRunner()
    args = ["--store", str(store.path)]
    out = runner.invoke(cli, ["approve", *args])
    assert out.exit_code == 0 and "new scorer" in out.output and "+new" in out.output
    out = runner.invoke(cli, ["approve", str(p.id), "--accept", *args])
    assert out.exit_code == 2 and "reason" in out.output and "Traceback" not in out.output
    out = runner.invoke(cli, ["approve", str(p.id), "--reject", "-r", "not now", "--by", "carol", *args])
    assert out.exit_code == 0 and "rejected by carol" in out.output
    assert pending_proposals(store) == []
    assert runner.invoke(cli, ["approve", "999", "--accept", "-r", "x", *args]).exit_code == 2


def test_cli_audit_show_and_verify(store):
    filled_log(store, 3)
    runner = CliRunner()
    args = ["--store", str(store.path)]
    out = runner.invoke(cli, ["audit", "show", *args])
    assert out.exit_code == 0 and "#3" in out.output
    out = runner.invoke(cli, ["audit", "verify", *args])
    assert out.exit_code == 0 and out.output.startswith("ok: 3 records")
    store.conn.execute("UPDATE box_audit SET experiment = 'other' WHERE seq = 2")
    store.conn.commit()
    out = runner.invoke(cli, ["audit", "verify", *args])
    assert out.exit_code == 1 and "BAD at record 2" in out.output


@pytest.mark.bwrap
def test_cli_box_run_json_and_exit_codes(store, tmp_path):
    good = tmp_path / "good.py"
    good.write_text("import json, os\njson.dump({'version': 1, 'values': {'n': len(open('/box/input/in.txt').read())}},"
                    " open(os.environ['RSILAB_RESULT'], 'w'))\n")
    data = tmp_path / "in.txt"
    data.write_text("hello")
    bad = tmp_path / "bad.py"
    bad.write_text("open('/box/control/disable_sandbox', 'w').write('1')\n")
    runner = CliRunner()
    args = ["--store", str(store.path), "--limits", "cpu_seconds=2,wall_seconds=8,memory_bytes=192MiB"]
    out = runner.invoke(cli, ["box", "run", str(good), "--input", str(data), "--json", *args])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["status"] == "ok" and doc["violations"] == [] and doc["result"] == {"n": 5}
    assert {"cpu_seconds", "wall_seconds", "max_rss_bytes"} <= set(doc["resources"])
    out = runner.invoke(cli, ["box", "run", str(bad), *args])
    assert out.exit_code == 1 and "violation" in out.output and "disable_sandbox" in out.output
    out = runner.invoke(cli, ["box", "run", str(good), "--limits", "cpu_seconds=-1", "--store", str(store.path)])
    assert out.exit_code == 2 and "limits.cpu_seconds" in out.output
    assert AuditLog(store).verify().records == 2
