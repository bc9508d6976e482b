"""The box's parts on their own: limits, the result channel, seccomp filter, refusal and weak mode."""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsilab.box import AuditLog, Limits, run_candidate
from rsilab.box.limits import parse_limit_options, rlimits
from rsilab.box.result import ResultRejected, parse_result, read_result
from rsilab.box.seccomp import build_filter, forbidden_syscalls
from rsilab.errors import BoxError, ConfigError

QUICK = Limits(cpu_seconds=2, wall_seconds=8, memory_bytes=192 * 2**20, max_processes=6,
               scratch_bytes=2 * 2**20, result_max_bytes=4096)
OK_PROGRAM = """
import json, os
json.dump({"version": 1, "values": {"x": 2 + 2}}, open(os.environ["RSILAB_RESULT"], "w"))
"""


# -- limits ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [("cpu_seconds", 0), ("wall_seconds", -1), ("memory_bytes", 1024),
                                         ("max_processes", 0), ("max_open_files", 3), ("cpu_seconds", True),
                                         ("result_max_bytes", 10), ("file_size_bytes", 1.5e6 + 0.5)])
def test_bad_limits_are_config_errors_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"limits.{field}"):
        Limits(**{field: value})


def test_limit_options_parse_units_and_reject_unknown_names():
    lim = parse_limit_options(["cpu_seconds=1.5,memory_bytes=256MiB", "wall-seconds=3"])
    assert (lim.cpu_seconds, lim.memory_bytes, lim.wall_seconds) == (1.5, 256 * 2**20, 3.0)
    with pytest.raises(ConfigError, match="--limits"):
        parse_limit_options(["gpu_hours=3"])
    with pytest.raises(ConfigError, match="limits.memory_bytes"):
        parse_limit_options(["memory_bytes=lots"])


def test_rlimits_put_cpu_hard_limit_above_soft_and_add_process_headroom():
    import resource

    table = {n: (s, h) for n, s, h in rlimits(Limits(cpu_seconds=2.2, max_processes=5), process_headroom=3)}
    assert table[resource.RLIMIT_CPU] == (3, 4)
    assert table[resource.RLIMIT_NPROC] == (8, 8)
    assert table[resource.RLIMIT_CORE] == (0, 0)
    assert table[resource.RLIMIT_MSGQUEUE] == (0, 0)  # POSIX message queues hold memory no process counts


# -- the result channel ---------------------------------------------------------------------------
def test_result_schema_accepts_flat_values():
    doc = {"version": 1, "values": {"a": 1, "b.c": -2.5, "s": "text", "n": None, "t": True, "l": [1, "x", None]}}
    assert parse_result(json.dumps(doc).encode()) == doc["values"]


@pytest.mark.parametrize("raw,why", [
    (b'[1, 2]', "object"),
    (b'{"version": 2, "values": {}}', "version"),
    (b'{"version": true, "values": {}}', "version"),
    (b'{"version": 1}', "values"),
    (b'{"version": 1, "values": {}, "score": 1}', "outside the schema"),
    (b'{"version": 1, "values": {"a": NaN}}', "NaN"),
    (b'{"version": 1, "values": {"a": 1e999}}', "not finite"),
    (b'{"version": 1, "values": {"a": {"b": 1}}}', "flat"),
    (b'{"version": 1, "values": {"a": [[1]]}}', "flat"),
    (b'{"version": 1, "values": {"a b": 1}}', "does not match"),
    (b'{"version": 1, "values": {"a": 1, "a": 2}}', "repeats"),
    (b'{"version": 1, "values": {"a": 1}', "not valid JSON"),
    (b'\xff\xfe', "UTF-8"),
    (b'{"version": 1, "values": {"a": ' + b"9" * 5000 + b'}}', "not valid JSON"),
])
def test_result_schema_rejects(raw, why):
    with pytest.raises(ResultRejected, match=why):
        parse_result(raw)


def test_read_result_caps_size_and_refuses_links_and_fifos(tmp_path):
    import os

    path = tmp_path / "r.json"
    assert read_result(path, 100) is None  # nothing written: no result, no violation
    path.write_text('{"version": 1, "values": {"a": "' + "x" * 200 + '"}}')
    with pytest.raises(ResultRejected, match="over the cap"):
        read_result(path, 100)
    secret = tmp_path / "secret"
    secret.write_text('{"version": 1, "values": {"stolen": 1}}')
    link = tmp_path / "link.json"
    link.symlink_to(secret)
    with pytest.raises(ResultRejected, match="not a plain file"):
        read_result(link, 1000)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ResultRejected, match="regular file"):
        read_result(fifo, 1000)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_either_parse_to_the_schema_or_are_rejected(data):
    try:
        values = parse_result(data)
    except ResultRejected:
        return
    assert isinstance(values, dict)
    for v in values.values():
        assert v is None or isinstance(v, (bool, int, float, str, list))


# -- seccomp --------------------------------------------------------------------------------------
def run_filter(prog: bytes, nr: int, args=(0, 0, 0, 0, 0, 0), arch=0xC000003E) -> int:
    """Evaluate a classic-BPF seccomp program on one call, as the kernel would (only the
    instructions the box's filter uses: load word absolute, jeq, jge, jset, ret)."""
    args = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    ops = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ops[pc]
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):
            hit = acc == k if code == 0x15 else acc >= k if code == 0x35 else bool(acc & k)
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected BPF instruction {code:#x}")


NOTIFY, ALLOW, EPERM = 0x7FC00000, 0x7FFF0000, 0x00050001


@pytest.mark.parametrize("call,args,expected", [
    ("socket", (2, 1, 0), NOTIFY),              # AF_INET
    ("socket", (10, 2, 0), NOTIFY),             # AF_INET6
    ("socket", (1, 1, 0), ALLOW),               # AF_UNIX
    ("kill", (1, 15), NOTIFY),                  # the supervisor
    ("kill", (-1, 9), NOTIFY),                  # every process
    ("kill", (7, 15), ALLOW),
    ("prlimit64", (1, 7, 0, 0), NOTIFY),
    ("prlimit64", (0, 7, 0, 0), ALLOW),         # itself
    ("setpriority", (0, 1, 5), NOTIFY),
    ("pidfd_send_signal", (3, 15, 0, 0), NOTIFY),
    ("clone", (0x40000000 | 17, 0), NOTIFY),    # CLONE_NEWNET
    ("clone", (0x01200011, 0), ALLOW),          # what fork() passes
    ("unshare", (0x00000400,), ALLOW),          # CLONE_FILES
    ("unshare", (0x00000080,), NOTIFY),         # CLONE_NEWTIME
    ("clone3", (0, 88), NOTIFY),                # flags in memory: the supervisor reads them
    ("fsopen", (0, 0), NOTIFY), ("open_tree", (0, 0, 0), NOTIFY), ("move_mount", (0,), NOTIFY),
    ("mount_setattr", (0,), NOTIFY), ("fspick", (0,), NOTIFY), ("open_tree_attr", (0,), NOTIFY),
    ("memfd_create", (0, 0), EPERM), ("shmget", (0, 4096, 0), EPERM), ("msgget", (0, 0), EPERM),
    ("fcntl", (3, 8, 1), NOTIFY),               # F_SETOWN: I/O signals to the supervisor
    ("fcntl", (3, 8, -1), NOTIFY),              # ... or to its process group
    ("fcntl", (3, 8, 42), ALLOW), ("fcntl", (3, 3, 1), ALLOW),   # another owner; F_GETFL
])
def test_seccomp_filter_answers_each_call_as_documented(call, args, expected):
    from rsilab.box.seccomp import numbers

    for machine in ("x86_64", "aarch64"):
        arch = 0xC000003E if machine == "x86_64" else 0xC00000B7
        assert run_filter(build_filter(machine), numbers(machine)[call], args, arch) == expected, (machine, call)


def test_seccomp_filter_notifies_on_other_abis_and_allows_the_rest():
    prog = build_filter("x86_64")
    assert len(prog) % 8 == 0 and len(prog) // 8 < 4096
    assert run_filter(prog, 39) == ALLOW                              # getpid
    assert run_filter(prog, 0x40000000 | 41, (2, 1, 0)) == NOTIFY     # x32 socket
    assert run_filter(prog, 102, arch=0x40000003) == NOTIFY           # i386 through int 0x80
    assert "ptrace" in forbidden_syscalls("aarch64") and "fsopen" in forbidden_syscalls("x86_64")
    assert build_filter("sparc64") is None and forbidden_syscalls("sparc64") == []


# -- refusal and the limits-only mode ----------------------------------------------------------------
def test_refuses_without_namespaces_unless_opted_in(store, tmp_path):
    missing = tmp_path / "no-bwrap-here"
    with pytest.raises(BoxError, match="refusing to run untrusted code"):
        run_candidate(OK_PROGRAM, limits=QUICK, store=store, experiment="weak", bwrap_path=missing)
    refusal = list(AuditLog(store).records("weak"))
    assert [r.kind for r in refusal] == ["refusal"] and "not found" in refusal[0].body["reason"]


def test_fake_bwrap_that_cannot_create_namespaces_is_refused(store, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(BoxError, match="refusing to run untrusted code: bubblewrap"):
        run_candidate(OK_PROGRAM, limits=QUICK, store=store, bwrap_path=fake)


def test_opt_in_weak_mode_runs_and_is_recorded(store, tmp_path):
    out = run_candidate(OK_PROGRAM, limits=QUICK, store=store, experiment="weak",
                        bwrap_path=tmp_path / "no-bwrap-here", allow_weak=True)
    assert out.status == "ok" and out.result == {"x": 4}
    assert out.weak_mode is True and out.details["mode"] == "limits-only"
    rec = AuditLog(store).get(out.audit_id)
    assert rec.body["weak_mode"] is True and "not found" in rec.body["details"]["weak_reason"]


def test_weak_mode_still_enforces_limits_and_canaries(store, tmp_path):
    spin = run_candidate("while True:\n    pass\n", limits=QUICK.replace(cpu_seconds=0.5), store=store,
                         bwrap_path=tmp_path / "none", allow_weak=True)
    assert spin.status in ("limit", "timeout") and spin.resources["cpu_seconds"] < 3
    hack = run_candidate("import os\nopen(os.environ['RSILAB_BUDGET_FILE'], 'w').write('{}')\n", limits=QUICK,
                         store=store, bwrap_path=tmp_path / "none", allow_weak=True)
    assert hack.status == "violation" and hack.canaries_touched == ["budget"]


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="the per-run user id sweep needs root")
def test_weak_mode_kills_and_records_background_processes(store, tmp_path):
    import uuid

    marker = uuid.uuid4().hex
    program = f"""
import os
if os.fork() == 0:
    os.setsid()
    os.execv("/usr/bin/sleep", ["{marker}", "1000"])
"""
    out = run_candidate(program, limits=QUICK, store=store, bwrap_path=tmp_path / "none", allow_weak=True)
    import time

    time.sleep(0.1)
    assert out.status == "violation" and "left 1 process" in out.violations[0]
    from test_box_redteam import no_marker_process

    assert no_marker_process(marker)


# -- the box itself ---------------------------------------------------------------------------------
@pytest.mark.bwrap
def test_honest_candidate_gets_inputs_args_and_answers(store, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("3 4 5")
    program = """
import json, os, sys
nums = [int(x) for x in open(os.path.join(os.environ["RSILAB_INPUT_DIR"], "data.txt")).read().split()]
extra = open("/box/input/blob", "rb").read()
open("/scratch/work.txt", "w").write("scratch is writable")
json.dump({"version": 1, "values": {"sum": sum(nums), "args": sys.argv[1:], "blob": len(extra),
           "cwd": os.getcwd(), "uid0": os.getuid() == 0}}, open(os.environ["RSILAB_RESULT"], "w"))
"""
    out = run_candidate(program, inputs={"data.txt": data, "blob": b"\x00" * 10}, limits=QUICK, store=store,
                        entry_args=["--seed", "3"], experiment="honest")
    assert out.status == "ok", out.stderr_tail
    assert out.result == {"sum": 12, "args": ["--seed", "3"], "blob": 10, "cwd": "/scratch", "uid0": False}
    assert out.violations == [] and out.canaries_touched == [] and not out.weak_mode
    assert out.resources["cpu_seconds"] > 0 and out.resources["max_rss_bytes"] > 1 << 20
    assert AuditLog(store).get(out.audit_id).body["result"] == out.result


@pytest.mark.bwrap
def test_bad_input_names_and_missing_source_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="inputs"):
        run_candidate(OK_PROGRAM, inputs={"../escape": b"x"}, limits=QUICK)
    with pytest.raises(ConfigError, match="source"):
        run_candidate(Path(tmp_path / "missing.py"), limits=QUICK)


@pytest.mark.bwrap
def test_runs_without_a_store_leave_no_record():
    out = run_candidate(OK_PROGRAM, limits=QUICK)
    assert out.status == "ok" and out.audit_id is None


@pytest.mark.bwrap
def test_protected_file_changed_during_the_run_is_a_violation(tmp_path):
    """The integrity check works from the outside: simulate the change through an input path hook."""
    target = tmp_path / "scorer.py"
    target.write_text("x = 1\n")
    # The candidate cannot reach the file; make the evaluator-side change happen during the run by
    # protecting a path that a background host process rewrites while the candidate sleeps.
    import subprocess

    writer = subprocess.Popen(["sh", "-c", f"sleep 0.3; echo changed > {target}"])
    out = run_candidate("import time\ntime.sleep(1)\n", limits=QUICK, protect=[target])
    writer.wait()
    assert out.status == "violation" and any(str(target) in v for v in out.violations)


@pytest.mark.bwrap
def test_json_limits_state_the_worst_case_memory_of_a_forking_candidate():
    # No cgroup: a candidate that forks max_processes - 1 children, each allocating close to the
    # per-process cap, holds more than one cap in total; the outcome's limits say by how much.
    limits = QUICK.replace(max_processes=3, memory_bytes=128 * 2**20)
    program = """
import os, time
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        hog = bytearray(80 * 2**20)
        time.sleep(0.5)
        os._exit(0)
    kids.append(pid)
hog = bytearray(80 * 2**20)
codes = [os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids]
import json
json.dump({"version": 1, "values": {"codes": codes}}, open(os.environ["RSILAB_RESULT"], "w"))
"""
    out = run_candidate(program, limits=limits)
    assert out.status == "ok" and out.result == {"codes": [0, 0]}, (out.status, out.stderr_tail)
    bound = out.to_dict()["limits"]
    assert bound["worst_case_memory_bytes"] == 3 * 128 * 2**20 + limits.scratch_bytes + min(limits.scratch_bytes, 16 * 2**20)
    assert bound["memory_scope"].startswith("per process")


def test_weak_mode_flags_a_signal_to_the_supervisor(store, tmp_path):
    # Without namespaces or seccomp the hook and the supervisor still see the attempt; the
    # supervisor waits with the signal blocked, so it survives and the run ends normally.
    program = """
import json, os, signal
os.kill(os.getppid(), signal.SIGTERM)
json.dump({"version": 1, "values": {"alive": True}}, open(os.environ["RSILAB_RESULT"], "w"))
"""
    out = run_candidate(program, limits=QUICK, store=store, bwrap_path=tmp_path / "none", allow_weak=True)
    assert out.status == "violation" and out.result == {"alive": True}, (out.status, out.stderr_tail)
    evidence = [a["evidence"] for a in out.attempts if a["kind"] == "signal_other"]
    assert any("os.kill" in e for e in evidence), out.attempts        # the audit hook
    assert any("received signal 15" in e for e in evidence), out.attempts  # the supervisor
    assert AuditLog(store).get(out.audit_id).body["attempts"] == out.attempts


# -- round three: the supervisor, the status enum, honest use that must stay unflagged ---------------------
@pytest.mark.bwrap
def test_honest_threads_subprocesses_and_multiprocessing_are_not_flagged():
    """The C library's clone3 is refused (ENOSYS) and it falls back to clone, which the filter
    judges by its flags: threads, a shell and a process pool work and nothing is flagged."""
    program = """
import json, os, subprocess, threading
from multiprocessing import Pool
box = []
t = threading.Thread(target=box.append, args=(1,))
t.start(); t.join()
echo = subprocess.run(["sh", "-c", "echo hi"], capture_output=True, text=True).stdout.strip()
with Pool(2) as pool:
    squares = pool.map(abs, [-1, -2, -3])
json.dump({"version": 1, "values": {"thread": box[0], "echo": echo, "pool": squares}},
          open(os.environ["RSILAB_RESULT"], "w"))
"""
    out = run_candidate(program, limits=QUICK)
    assert out.status == "ok" and out.violations == [], (out.status, out.violations, out.stderr_tail)
    assert out.result == {"thread": 1, "echo": "hi", "pool": [1, 2, 3]}
    assert out.details["supervisor_complete"] is True and out.details["forbidden_calls"] == []


@pytest.mark.bwrap
def test_status_is_an_enum_that_stores_and_prints_as_before(store):
    from rsilab.box import BoxStatus

    out = run_candidate(OK_PROGRAM, limits=QUICK, store=store)
    assert out.status is BoxStatus.OK and out.status == "ok" and f"{out.status}" == "ok"
    assert json.loads(json.dumps(out.to_dict()))["status"] == "ok"
    assert AuditLog(store).get(out.audit_id).body["status"] == "ok"
    assert [s.value for s in BoxStatus] == ["ok", "timeout", "limit", "violation", "error"]


@pytest.mark.bwrap
def test_a_supervisor_that_ends_without_its_report_is_flagged(monkeypatch):
    """Fault injected into the real supervisor: it dies before its closing line. Nothing vouches
    for what happened after its last line, so the run is a violation, never ok."""
    from rsilab.box import supervisor

    text = supervisor.source()
    broken = text.replace("    report.close(code,", "    os._exit(0)\n    report.close(code,", 1)
    assert broken != text
    monkeypatch.setattr(supervisor, "source", lambda: broken)
    out = run_candidate(OK_PROGRAM, limits=QUICK)
    assert out.status == "violation" and out.details["supervisor_complete"] is False
    assert [a["kind"] for a in out.attempts] == ["supervisor_lost"]


@pytest.mark.bwrap
def test_a_candidate_the_box_cannot_set_up_never_runs(monkeypatch, tmp_path):
    """A filter the kernel refuses: the candidate must not run without it; the box raises. The work
    directory is kept for the check: the candidate's first line would have written the result."""
    from rsilab.box import sandbox, seccomp

    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp())   # where the box users can reach it (pytest's tmp_path is private)
    monkeypatch.setattr(seccomp, "build_filter", lambda machine=None: b"\x00" * 8)
    monkeypatch.setattr(sandbox.tempfile, "mkdtemp", lambda: str(work))
    monkeypatch.setattr(sandbox.shutil, "rmtree", lambda path, ignore_errors=False: None)
    try:
        with pytest.raises(BoxError, match="could not start the candidate"):
            run_candidate(OK_PROGRAM, limits=QUICK)
        assert (work / "result.json").read_bytes() == b""
    finally:
        monkeypatch.undo()
        shutil.rmtree(work)


@pytest.mark.bwrap
@pytest.mark.skipif(os.geteuid() != 0, reason="as any other user the box runs as the owner of the private directory")
def test_a_box_that_fails_before_its_supervisor_starts_raises(monkeypatch, tmp_path):
    """bubblewrap cannot reach a work directory (pytest's private tmp_path): an error of the box,
    never an outcome of the candidate."""
    from rsilab.box import sandbox

    work = tmp_path / "private"
    work.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    monkeypatch.setattr(sandbox.tempfile, "mkdtemp", lambda: str(work / "w"))
    (work / "w").mkdir()
    with pytest.raises(BoxError, match="failed before its supervisor started"):
        run_candidate(OK_PROGRAM, limits=QUICK)
