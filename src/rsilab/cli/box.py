"""``rsilab box run``, ``rsilab approve`` and ``rsilab audit show|verify``: thin wrappers over rsilab.box.

Nearly everything they print was chosen by a candidate (its output, the paths and calls it
tried, its diff and source) or by whoever wrote the store: every such text goes through
``rsilab.cli.untrusted.safe_text``.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import sys
from pathlib import Path

import click

from rsilab.cli.common import echo_json, friendly_errors, store_option
from rsilab.cli.untrusted import safe_text
from rsilab.errors import BoxError


def _store(store_path: Path | None):
    from rsilab.store import Store

    return Store(store_path)


@click.group(short_help="Run an untrusted candidate inside the box.")
def box() -> None:
    """Run an untrusted candidate inside the box."""


@box.command("run", short_help="Run CANDIDATE.py in the box; exit 1 on a violation.")
@click.argument("candidate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "input_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file the candidate may read at /box/input/<name> (repeatable).")
@click.option("--limits", "limit_items", multiple=True, metavar="NAME=VALUE[,...]",
              help="Override limits, e.g. --limits cpu_seconds=2,memory_bytes=256MiB,wall_seconds=5.")
@click.option("--experiment", default="adhoc", show_default=True, help="Experiment the audit record belongs to.")
@click.option("--allow-weak", is_flag=True, help="Run without namespaces (limits only) where bubblewrap cannot; recorded.")
@click.option("--arg", "entry_args", multiple=True, help="An argument passed to the candidate (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
@store_option
@friendly_errors
def run(candidate: Path, input_files: tuple[Path, ...], limit_items: tuple[str, ...], experiment: str,
        allow_weak: bool, entry_args: tuple[str, ...], as_json: bool, store_path: Path | None) -> None:
    """Run CANDIDATE.py in the box as an experiment would; exit 1 on a violation."""
    from rsilab.box import run_candidate
    from rsilab.box.limits import parse_limit_options
    from rsilab.errors import ConfigError

    limits = parse_limit_options(limit_items)
    inputs = {}
    for f in input_files:
        if f.name in inputs:
            raise ConfigError("--input", str(f), "files with distinct names (each lands at /box/input/<name>)")
        inputs[f.name] = f
    with _store(store_path) as store:
        out = run_candidate(candidate, inputs=inputs, limits=limits, experiment=experiment, store=store,
                            allow_weak=allow_weak, entry_args=entry_args)
    if as_json:
        echo_json(out.to_dict())
    else:
        _print_outcome(out)
    if out.status == "violation":
        sys.exit(1)


def _print_outcome(out) -> None:
    r = out.resources
    mode = "LIMITS-ONLY (weak mode: no namespaces)" if out.weak_mode else "bubblewrap"
    click.echo(f"status      {out.status}")
    click.echo(f"box         {mode}")
    ended = f"signal {out.signal}" if out.signal else f"exit code {out.exit_code}"
    why = out.details.get("limit_hit") or out.details.get("killed_by_box")
    click.echo(f"ended       {ended}" + (f" ({'limit: ' if out.details.get('limit_hit') else 'killed for '}{why})"
                                         if why else ""))
    click.echo(f"resources   cpu {r['cpu_seconds']:.3f} s, wall {r['wall_seconds']:.3f} s, "
               f"max rss {r['max_rss_bytes'] / 2**20:.1f} MiB")
    click.echo("result      " + (safe_text(repr(out.result)) if out.result is not None else "(none)"))
    click.echo("violations  " + ("none" if not out.violations else str(len(out.violations))))
    for line in out.violations:
        click.echo(f"  - {safe_text(line)}")
    click.echo("canaries    " + (", ".join(out.canaries_touched) if out.canaries_touched else "untouched"))
    if out.audit_id is not None:
        click.echo(f"audit       record {out.audit_id} (rsilab audit show --seq {out.audit_id})")
    if out.stderr_tail.strip():
        click.echo("stderr (untrusted, last lines):")
        for line in out.stderr_tail.strip().split("\n")[-8:]:
            click.echo(f"  | {safe_text(line)}")


@click.command(short_help="List, approve or reject pending self-modification proposals.")
@click.argument("proposal_id", type=int, required=False)
@click.option("--accept", "decision", flag_value="accept", help="Approve proposal PROPOSAL_ID.")
@click.option("--reject", "decision", flag_value="reject", help="Reject proposal PROPOSAL_ID.")
@click.option("--reason", "-r", default=None, help="Why (required with --accept or --reject).")
@click.option("--by", default=None, help="Who decides (default: the login name).")
@click.option("--experiment", default=None, help="Only this experiment's proposals.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@store_option
@friendly_errors
def approve(proposal_id: int | None, decision: str | None, reason: str | None, by: str | None,
            experiment: str | None, as_json: bool, store_path: Path | None) -> None:
    """List pending proposals with their diffs and the source that would run, or approve/reject one.

    \b
    rsilab approve                          list what waits for a person
    rsilab approve 7 --accept -r "read it"  approve proposal 7
    rsilab approve 7 --reject -r "edits the scorer"
    """
    from rsilab.box.gate import decide_proposal, get_proposal, pending_proposals
    from rsilab.errors import ConfigError

    with _store(store_path) as store:
        if proposal_id is None:
            if decision is not None:
                raise ConfigError("PROPOSAL_ID", None, "the id of the proposal to decide (see `rsilab approve`)")
            pending = [(p, _source(store, p)) for p in pending_proposals(store, experiment)]
            if as_json:
                echo_json([_proposal_dict(p, source) for p, source in pending])
                return
            if not pending:
                click.echo("no proposals wait for a person")
                return
            for p, source in pending:
                _print_proposal(p, source)
            return
        if decision is None:
            p = get_proposal(store, proposal_id)
            source = _source(store, p)
            echo_json(_proposal_dict(p, source)) if as_json else _print_proposal(p, source)
            return
        p = decide_proposal(store, proposal_id, approve=decision == "accept", reason=reason or "",
                            by=by or _login())
        source = _source(store, p)
    if as_json:
        echo_json(_proposal_dict(p, source))
    else:
        click.echo(safe_text(f"proposal {p.id} {p.status} by {p.decided_by}: {p.reason}"))


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _source(store, p) -> str | BoxError | None:
    """The source that runs if ``p`` is approved, or why it cannot be shown (listed, not raised:
    one tampered proposal must not hide the others)."""
    from rsilab.box.gate import proposal_source

    try:
        return proposal_source(store, p)
    except BoxError as exc:
        return exc


def _proposal_dict(p, source) -> dict:
    if isinstance(source, BoxError):
        return {**_proposal_dict(p, None), "candidate_source_problem": str(source)}
    return {"id": p.id, "experiment": p.experiment, "kind": p.kind, "status": p.status, "summary": p.summary,
            "diff": p.diff, "checks": p.checks, "needs_human": p.needs_human, "decided_by": p.decided_by,
            "reason": p.reason, "audit_seq": p.audit_seq, "candidate_sha256": p.candidate_sha256,
            "candidate_source": source}


def _print_proposal(p, source) -> None:
    when = _dt.datetime.fromtimestamp(p.created_at).strftime("%Y-%m-%d %H:%M:%S")
    click.echo(safe_text(f"== proposal {p.id} [{p.status}] {p.experiment} / {p.kind} ({when}): {p.summary}"))
    for name, c in sorted(p.checks.items()):
        click.echo(safe_text(f"   {'pass' if c['passed'] else 'FAIL'}  {name}: {c['detail']}"))
    click.echo("   diff (as proposed; the source below is what runs):" if isinstance(source, str) else "   diff:")
    for line in p.diff.split("\n")[:200]:
        click.echo(f"   {safe_text(line)}")
    if isinstance(source, BoxError):
        click.echo(f"   SOURCE CANNOT BE SHOWN: {safe_text(source)}")
    elif source is not None:
        lines = source.split("\n")
        click.echo(f"   source that runs if approved: {len(lines)} lines, sha256 {p.candidate_sha256}")
        for number, line in enumerate(lines, 1):
            click.echo(f"   {number:>5} {safe_text(line)}")
    if p.status == "pending":
        click.echo(f"   decide: rsilab approve {p.id} --accept|--reject -r REASON")


@click.group(short_help="Show or verify the hash-chained audit log.")
def audit() -> None:
    """Show or verify the hash-chained audit log."""


@audit.command("show", short_help="Print the audit log readably.")
@click.option("--experiment", default=None, help="Only this experiment.")
@click.option("--kind", default=None, help="Only this kind (run, refusal, proposal, decision, outcome, policy).")
@click.option("--seq", type=int, default=None, help="Only this record, in full.")
@click.option("--last", type=int, default=50, show_default=True, help="Show the last N records.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@store_option
@friendly_errors
def show(experiment: str | None, kind: str | None, seq: int | None, last: int, as_json: bool,
         store_path: Path | None) -> None:
    """Print the audit log readably."""
    from rsilab.box.audit import AuditLog

    with _store(store_path) as store:
        log = AuditLog(store)
        records = [log.get(seq)] if seq is not None else list(log.records(experiment, kind))[-last:]
        touches = {e: log.canary_touches(e) for e in {r.experiment for r in records}}
    if as_json:
        echo_json([{"seq": r.seq, "experiment": r.experiment, "kind": r.kind, "created_at": r.created_at,
                    "body": r.body, "prev_hash": r.prev_hash, "hash": r.hash} for r in records])
        return
    if not records:
        click.echo("the audit log is empty")
        return
    for r in records:
        when = _dt.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(safe_text(f"#{r.seq:<5} {when}  {r.experiment:<16} {r.kind:<9} {_summary(r)}"))
        if seq is not None:
            echo_json(r.body)
            click.echo(f"prev {r.prev_hash}\nhash {r.hash}")
    for e, n in sorted(touches.items()):
        if n:
            click.echo(safe_text(f"canary touches in {e}: {n}"))


def _summary(r) -> str:
    b = r.body
    if r.kind == "run":
        res = b.get("resources", {})
        extra = " WEAK MODE" if b.get("weak_mode") else ""
        viol = f"; violations: {'; '.join(b.get('violations', []))[:160]}" if b.get("violations") else ""
        return (f"{b.get('status')}{extra} candidate {str(b.get('candidate_sha256'))[:12]} "
                f"cpu {res.get('cpu_seconds', 0):.2f}s wall {res.get('wall_seconds', 0):.2f}s{viol}")
    if r.kind == "refusal":
        return f"refused candidate {str(b.get('candidate_sha256'))[:12]}: {b.get('reason')}"
    if r.kind == "proposal":
        failed = [k for k, c in b.get("checks", {}).items() if not c.get("passed")]
        return (f"{b.get('kind')} -> {b.get('status')} '{b.get('summary', '')[:60]}'"
                + (f" failed: {', '.join(failed)}" if failed else ""))
    if r.kind == "decision":
        return f"proposal {b.get('proposal')} {b.get('status')} by {b.get('by')}: {b.get('reason')}"
    if r.kind == "outcome":
        return f"proposal {b.get('proposal')} {b.get('status')}"
    if r.kind == "policy":
        return f"policy {str(b.get('policy_sha256'))[:12]} set by {b.get('set_by')}"
    return ""


@audit.command("verify", short_help="Recompute the hash chain; name the first bad record.")
@click.option("--expect-head", default=None, help="A head hash noted earlier; fail if it is not in the log.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@store_option
@friendly_errors
def verify(expect_head: str | None, as_json: bool, store_path: Path | None) -> None:
    """Recompute the hash chain; name the first bad record. Exit 1 if the log was tampered with."""
    from dataclasses import asdict

    from rsilab.box.audit import AuditLog

    with _store(store_path) as store:
        report = AuditLog(store).verify(expect_head=expect_head)
    if as_json:
        echo_json(asdict(report))
    else:
        click.echo(report.line())
    if not report.ok:
        sys.exit(1)
