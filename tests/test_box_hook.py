"""The audit hook's path rules on their own (rsilab.box.hook runs in the candidate; its rules are
plain functions, checked here on the host), and the supervisor's report read back."""
from __future__ import annotations

import os

import pytest

from rsilab.box import hook
from rsilab.box.attempts import from_supervisor

RULES = {"read_roots": ("/usr", "/etc", "/proc", "/box/candidate.py", "/box/input"),
         "write_roots": ("/scratch", "/tmp", "/box/result.json"), "decoys": ("/box/bin/score",)}


def kinds(path, writing=False, base="/scratch", pid=7, realpath=os.path.normpath):
    # realpath: lexical here, so the tests do not depend on this host's /proc; in the box the
    # hook resolves links with os.path.realpath
    return [k for k, _ in hook.judge(path, writing, base=base, pid=pid, realpath=realpath, **RULES)]


@pytest.mark.parametrize("path,pid,own", [
    ("/proc/self/fd/3", 7, True), ("/dev/fd/0", 7, True), ("/dev/stdout", 7, True),
    ("/proc/thread-self/fd/12", 7, True), ("/proc/7/fd/3", 7, True), ("/proc/7/task/9/fd/1", 7, True),
    ("/proc/8/fd/3", 7, False),                     # another process's descriptor
    ("/proc/self/fd/../../1/cmdline", 7, False),    # climbs out of the descriptor table
    ("/proc/self/fd/3/x", 7, False), ("/proc/self/fd/./3", 7, False), ("/proc/self/fd", 7, False),
])
def test_only_a_plainly_named_own_descriptor_is_exempt(path, pid, own):
    assert hook.own_descriptor(path, pid) is own


def test_dot_dot_out_of_the_descriptor_table_is_another_process():
    assert kinds("/proc/self/fd/../../1/cmdline") == ["proc_other"]
    assert kinds("/proc/self/fd/1") == []


def test_relative_paths_start_where_the_descriptor_points():
    links = {"/proc/self/fd/5": "/usr/lib", "/proc/self/fd/6": "/scratch/sub"}
    base = hook.base_dir(5, getcwd=lambda: "/scratch", readlink=links.__getitem__)
    assert base == "/usr/lib"
    assert kinds("pwned", writing=True, base=base) == ["write_outside_scratch"]
    # the same name through a descriptor inside scratch is an ordinary write
    assert kinds("pwned", writing=True, base=hook.base_dir(6, lambda: "/", links.__getitem__)) == []
    # no descriptor (Python passes -1, AT_FDCWD is -100), or one that names nothing: the working directory
    for none in (None, -1, -100, 9):
        assert hook.base_dir(none, lambda: "/scratch", links.__getitem__ if none != 9 else _missing) == "/scratch"


def _missing(path):
    raise OSError(9, "bad descriptor")


@pytest.mark.parametrize("path,writing,expected", [
    ("/usr/lib/python3/x.py", False, []),
    ("/home/someone/.ssh/id_rsa", False, ["path_outside"]),
    ("/scratch/../box/bin/score", False, ["canary"]),
    ("../etc/passwd", True, ["write_outside_scratch"]),
    ("/proc/12/environ", False, ["proc_other"]),
    ("/box/result.json", True, []),
])
def test_paths_are_judged_after_normalising(path, writing, expected):
    assert kinds(path, writing) == expected


def test_the_supervisor_report_is_read_with_its_end(tmp_path):
    report = tmp_path / "r"
    report.write_text("start\t2\nsyscall\tsocket\t3\t/usr/bin/curl\tcurl http://x\tAF_INET, type 1\n"
                      "signal\t34\t-1\t0\t1000\nleftover\t4\tsleep 30\n")
    rep = from_supervisor(report)
    assert not rep.complete and rep.main_pid == 2
    assert rep.syscalls == [{"call": "socket", "args": "AF_INET, type 1", "pid": 3, "exe": "/usr/bin/curl",
                             "cmdline": "curl http://x"}]
    assert [a.kind for a in rep.attempts] == ["forbidden_syscall", "signal_other"]
    assert rep.leftovers == [{"pid": 4, "cmdline": "sleep 30"}]
    report.write_text(report.read_text() + "end\t-9\t1\n")
    rep = from_supervisor(report)
    assert rep.complete and rep.main_killed
