"""A small seccomp filter, written as classic BPF, that bubblewrap loads for the candidate.

The namespaces already contain these actions (no network, no view of the host's processes); the
filter adds a second layer and, more usefully, makes an *attempt* visible: a forbidden system
call kills the whole candidate process with SIGSYS, which the sandbox records as a violation.
Forbidden: internet and other non-Unix sockets, ptrace and cross-process memory access, mounts,
namespaces, kernel modules, kexec, bpf, perf, keyrings, io_uring, userfaultfd, handle-based
opens, reboot, swap, acct, and signals to PID 1 (the box's supervisor) or to every process
(``kill(-1, ...)``). Only x86_64 and aarch64 are known; elsewhere ``build_filter``
returns ``None`` and the sandbox records that the filter is absent. Imports nothing of ours.
"""
from __future__ import annotations

import functools
import platform
import struct

AF_UNIX = 1
_RET_KILL_PROCESS = 0x80000000
_RET_ALLOW = 0x7FFF0000
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_X32_SYSCALL_BIT = 0x40000000

# Calls whose first argument is a pid: with pid 1 (the box's supervisor) or -1 (every process
# the caller may signal) they kill the caller. The namespace already protects what lies outside;
# this turns the attempt into an unforgeable record (SIGSYS) even from native code.
_PID_CALLS: dict[str, dict[str, int]] = {
    "x86_64": {"kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
               "pidfd_open": 434},
    "aarch64": {"kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
                "pidfd_open": 434},
}

# arch -> (AUDIT_ARCH value, socket syscall number, {name: number} of forbidden syscalls)
_TABLES: dict[str, tuple[int, int, dict[str, int]]] = {
    "x86_64": (0xC000003E, 41, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
        "setns": 308, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298,
        "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "reboot": 169, "swapon": 167,
        "swapoff": 168, "acct": 163, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "fanotify_init": 300,
    }),
    "aarch64": (0xC00000B7, 198, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97,
        "setns": 268, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "bpf": 280, "perf_event_open": 241,
        "keyctl": 219, "add_key": 217, "request_key": 218, "userfaultfd": 282,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "reboot": 142, "swapon": 224,
        "swapoff": 225, "acct": 89, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "fanotify_init": 262,
    }),
}


def forbidden_syscalls(machine: str | None = None) -> list[str]:
    table = _TABLES.get(machine or platform.machine())
    if table is None:
        return []
    machine = machine or platform.machine()
    return sorted(table[2]) + ["socket (any family but AF_UNIX)"] + [
        f"{name} with pid 1 or -1" for name in sorted(_PID_CALLS[machine])]


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


@functools.lru_cache(maxsize=8)
def build_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter (``struct sock_filter[]``) for ``machine``, or ``None`` if unknown."""
    machine = machine or platform.machine()
    table = _TABLES.get(machine)
    if table is None:
        return None
    audit_arch, socket_nr, forbidden = table
    prog = [
        _op(_LD_W_ABS, 4),                      # seccomp_data.arch
        _op(_JEQ_K, audit_arch, jt=1, jf=0),    # another ABI (e.g. i386 via int 0x80): kill
        _op(_RET_K, _RET_KILL_PROCESS),
        _op(_LD_W_ABS, 0),                      # seccomp_data.nr
    ]
    if machine == "x86_64":                     # the x32 ABI aliases every call: refuse it
        prog += [_op(_JGE_K, _X32_SYSCALL_BIT, jt=0, jf=1), _op(_RET_K, _RET_KILL_PROCESS)]
    for number in sorted(forbidden.values()):
        prog += [_op(_JEQ_K, number, jt=0, jf=1), _op(_RET_K, _RET_KILL_PROCESS)]
    for number in sorted(_PID_CALLS[machine].values()):
        prog += [
            _op(_JEQ_K, number, jt=0, jf=5),    # another call: skip this block
            _op(_LD_W_ABS, 16),                 # low 32 bits of args[0]: the pid
            _op(_JEQ_K, 1, jt=2, jf=0),
            _op(_JEQ_K, 0xFFFFFFFF, jt=1, jf=0),
            _op(_RET_K, _RET_ALLOW),
            _op(_RET_K, _RET_KILL_PROCESS),
        ]
    prog += [
        _op(_JEQ_K, socket_nr, jt=0, jf=3),
        _op(_LD_W_ABS, 16),                     # low 32 bits of args[0]: the address family
        _op(_JEQ_K, AF_UNIX, jt=1, jf=0),
        _op(_RET_K, _RET_KILL_PROCESS),
        _op(_RET_K, _RET_ALLOW),
    ]
    return b"".join(prog)
