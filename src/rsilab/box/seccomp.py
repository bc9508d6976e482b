"""The seccomp filter of the box's candidate, written as classic BPF, and the names of its calls.

The candidate installs the filter on itself before its first line (``rsilab.box.supervisor``)
and every process it starts inherits it, across ``fork`` and ``exec``: children, shells, curl,
compiled programs. Each system call gets one of three answers:

* **notify** (``SECCOMP_RET_USER_NOTIF``): a forbidden call. The kernel holds the calling thread
  and asks the supervisor (the box's PID 1, the holder of the filter's listener), which records
  the call with its arguments, the process's pid and command line, then kills that process
  before the call runs. Forbidden: internet and other non-Unix sockets; ptrace and cross-process
  memory or descriptor access; mounts, the new mount API (fsopen, fsconfig, fsmount, fspick,
  open_tree, open_tree_attr, move_mount, mount_setattr), chroot, pivot_root; namespaces
  (setns, and unshare or clone with a namespace flag; clone3, whose flags a filter cannot read,
  goes to the supervisor, which reads them); kernel modules, kexec, bpf, perf, keyrings,
  io_uring, userfaultfd, fanotify, handle-based opens, reboot, swap, acct; ``pidfd_send_signal``
  (its target is a descriptor no filter can inspect); and calls aimed at PID 1 or at every
  process (-1): kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open, prlimit64,
  the sched_set* calls, setpriority, ioprio_set, migrate_pages, move_pages, get_robust_list, and
  fcntl's F_SETOWN (which would send I/O signals there).
  A call through another ABI (x32, i386) is forbidden too.
* **refuse** (``SECCOMP_RET_ERRNO``, EPERM, not recorded): memory that no per-process limit
  counts: ``memfd_create``, ``memfd_secret`` and System V shared memory, message queues and
  semaphores. Nothing escapes through them, so they fail quietly, as on a host without them.
* **allow**: everything else.

Only x86_64 and aarch64 are known; elsewhere ``build_filter`` returns ``None`` and the sandbox
records that the filter is absent. Imports nothing of ours.
"""
from __future__ import annotations

import functools
import platform
import struct

AF_UNIX = 1
F_SETOWN = 8
EPERM, ENOSYS = 1, 38
RET_USER_NOTIF = 0x7FC00000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
X32_SYSCALL_BIT = 0x40000000
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET; clone's low byte is the
# exit signal, so CLONE_NEWTIME (0x80) counts only for unshare and clone3.
NAMESPACE_FLAGS = 0x7E020000
CLONE_NEWTIME = 0x00000080
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06

# The calls that differ between the two architectures; the rest share asm-generic's numbers.
_ARCH_CALLS: dict[str, dict[str, int]] = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "setns": 308,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
        "request_key": 249, "userfaultfd": 323, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163, "fanotify_init": 300,
        # refused
        "memfd_create": 319, "shmget": 29, "msgget": 68, "semget": 64,
        # judged by an argument
        "socket": 41, "clone": 56, "unshare": 272,
        "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
        "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144, "sched_setparam": 142,
        "sched_setattr": 314, "migrate_pages": 256, "move_pages": 279, "get_robust_list": 274,
        "setpriority": 141, "ioprio_set": 251, "fcntl": 72,
        # what the supervisor calls in the candidate (see rsilab.box.supervisor)
        "seccomp": 317, "rt_sigprocmask": 14, "exit": 60,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "setns": 268,
        "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217,
        "request_key": 218, "userfaultfd": 282, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "reboot": 142, "swapon": 224, "swapoff": 225, "acct": 89, "fanotify_init": 262,
        "memfd_create": 279, "shmget": 194, "msgget": 186, "semget": 190,
        "socket": 198, "clone": 220, "unshare": 97,
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "prlimit64": 261, "sched_setaffinity": 122, "sched_setscheduler": 119, "sched_setparam": 118,
        "sched_setattr": 274, "migrate_pages": 238, "move_pages": 239, "get_robust_list": 100,
        "setpriority": 140, "ioprio_set": 30, "fcntl": 25,
        "seccomp": 277, "rt_sigprocmask": 135, "exit": 93,
    },
}
_GENERIC_CALLS = {
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_open": 434, "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    "memfd_secret": 447, "open_tree_attr": 467,
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# Forbidden whatever their arguments.
FORBIDDEN = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "mount", "umount2", "pivot_root", "chroot", "setns", "open_tree", "open_tree_attr", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
    "request_key", "userfaultfd", "open_by_handle_at", "name_to_handle_at", "reboot", "swapon",
    "swapoff", "acct", "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "pidfd_send_signal", "clone3",
)
REFUSED = ("memfd_create", "memfd_secret", "shmget", "msgget", "semget")
# Forbidden when the argument at this index (a pid, or "who") is 1 (the supervisor) or -1 (all).
AIMED_AT_PID = {
    "kill": 0, "tkill": 0, "tgkill": 0, "rt_sigqueueinfo": 0, "rt_tgsigqueueinfo": 0, "pidfd_open": 0,
    "prlimit64": 0, "sched_setaffinity": 0, "sched_setscheduler": 0, "sched_setparam": 0,
    "sched_setattr": 0, "migrate_pages": 0, "move_pages": 0, "get_robust_list": 0,
    "setpriority": 1, "ioprio_set": 1,
}


def known(machine: str | None = None) -> bool:
    return (machine or platform.machine()) in _ARCH_CALLS


def numbers(machine: str | None = None) -> dict[str, int]:
    """``{call name: number}`` on ``machine`` (empty where unknown)."""
    machine = machine or platform.machine()
    if machine not in _ARCH_CALLS:
        return {}
    return {**_GENERIC_CALLS, **_ARCH_CALLS[machine]}


def audit_arch(machine: str | None = None) -> int | None:
    return _AUDIT_ARCH.get(machine or platform.machine())


def forbidden_syscalls(machine: str | None = None) -> list[str]:
    """Every forbidden call, as people read it (docs, tests)."""
    if not known(machine):
        return []
    return sorted(FORBIDDEN) + ["socket (any family but AF_UNIX)", "clone or unshare with a namespace flag",
                                "fcntl F_SETOWN aimed at pid 1 or -1", "any call through another ABI"] + [
        f"{name} aimed at pid 1 or -1" for name in sorted(AIMED_AT_PID)]


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _arg_low(index: int) -> bytes:
    """Load the low 32 bits of argument ``index`` (seccomp_data.args, little-endian)."""
    return _op(_LD_W_ABS, 16 + 8 * index)


@functools.lru_cache(maxsize=8)
def build_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter (``struct sock_filter[]``) for ``machine``, or ``None`` if unknown."""
    machine = machine or platform.machine()
    if not known(machine):
        return None
    nr = numbers(machine)
    notify, refuse, allow = RET_USER_NOTIF, RET_ERRNO | EPERM, RET_ALLOW
    prog = [
        _op(_LD_W_ABS, 4),                          # seccomp_data.arch
        _op(_JEQ_K, _AUDIT_ARCH[machine], jt=1, jf=0),
        _op(_RET_K, notify),                        # another ABI (i386 through int 0x80)
        _op(_LD_W_ABS, 0),                          # seccomp_data.nr
    ]
    if machine == "x86_64":                         # the x32 ABI aliases every call
        prog += [_op(_JGE_K, X32_SYSCALL_BIT, jt=0, jf=1), _op(_RET_K, notify)]
    for name in FORBIDDEN:
        prog += [_op(_JEQ_K, nr[name], jt=0, jf=1), _op(_RET_K, notify)]
    for name in REFUSED:
        prog += [_op(_JEQ_K, nr[name], jt=0, jf=1), _op(_RET_K, refuse)]
    for name, index in AIMED_AT_PID.items():
        prog += [
            _op(_JEQ_K, nr[name], jt=0, jf=5),      # another call: skip this block
            _arg_low(index),
            _op(_JEQ_K, 1, jt=2, jf=0),
            _op(_JEQ_K, 0xFFFFFFFF, jt=1, jf=0),
            _op(_RET_K, allow),
            _op(_RET_K, notify),
        ]
    prog += [
        _op(_JEQ_K, nr["socket"], jt=0, jf=4),
        _arg_low(0),                                # the address family
        _op(_JEQ_K, AF_UNIX, jt=0, jf=1),
        _op(_RET_K, allow),
        _op(_RET_K, notify),
    ]
    prog += [                                   # fcntl(fd, F_SETOWN, 1 or -1): I/O signals to PID 1
        _op(_JEQ_K, nr["fcntl"], jt=0, jf=7),
        _arg_low(1),
        _op(_JEQ_K, F_SETOWN, jt=0, jf=3),
        _arg_low(2),
        _op(_JEQ_K, 1, jt=2, jf=0),
        _op(_JEQ_K, 0xFFFFFFFF, jt=1, jf=0),
        _op(_RET_K, allow),
        _op(_RET_K, notify),
    ]
    for name, flags in (("clone", NAMESPACE_FLAGS), ("unshare", NAMESPACE_FLAGS | CLONE_NEWTIME)):
        prog += [
            _op(_JEQ_K, nr[name], jt=0, jf=4),
            _arg_low(0),                            # the flags
            _op(_JSET_K, flags, jt=0, jf=1),
            _op(_RET_K, notify),
            _op(_RET_K, allow),
        ]
    prog.append(_op(_RET_K, allow))
    return b"".join(prog)
