"""The box's supervisor: the trusted init (PID 1) that starts the candidate and watches its tree.

This file is a program, not a library: ``rsilab.box.sandbox`` sends its text with a ``main(cfg)``
call through a descriptor, and the box's Python runs it as bubblewrap's command. rsilab is not
installed in the box, so it imports only the standard library, and it must run on any Python 3.9
or later. Importing it on the host runs nothing.

``main`` does, in this order:

1. makes itself non-dumpable, before anything else and long before the candidate exists, so no
   process in the box can open its ``/proc/1/mem``, ``/proc/1/fd`` or take its descriptors;
2. blocks every signal it can (real-time signals and glibc's reserved two included) and reads
   them from a signalfd instead: a signal a box process sends it is recorded with its sender,
   never acted on;
3. forks the candidate, which (as its own first steps, before its code exists) closes every
   descriptor of the supervisor's, takes its own user id where the box maps two (``cfg["uid"]``:
   the supervisor then runs under another user id, out of reach of ``kill``, ``prlimit`` and
   ``ptrace`` by the kernel's own rules), starts its own session, applies the limits, installs
   the seccomp filter (``rsilab.box.seccomp``) with a new listener and passes the listener to the
   supervisor over a socketpair, then installs the audit hook and runs the candidate's code;
4. serves the listener: each forbidden call from any process of the tree is recorded with the
   call, its arguments, the process's pid, executable and command line, and that process is
   killed before the call runs (clone3's flags, which the filter cannot see, are read from the
   caller's memory: with a namespace flag it is forbidden, otherwise it fails with ENOSYS so
   that the C library falls back to clone, which the filter judges);
5. reaps every process; when the candidate's main process ends it lists the processes still
   alive (a process whose main thread exited while another thread runs counts), kills them,
   writes ``end`` and exits with the candidate's status (128 + N for signal N), which ends the
   PID namespace and with it everything in the box.

Its report goes line by line, as things happen, to a descriptor the candidate never holds::

    start <TAB> pid of the candidate
    setup <TAB> why the candidate could not be started (nothing of it ran)
    signal <TAB> signo <TAB> si_code <TAB> sender pid <TAB> sender uid
    syscall <TAB> name <TAB> pid <TAB> executable <TAB> command line <TAB> arguments
    leftover <TAB> pid <TAB> command line
    more <TAB> kind <TAB> how many lines of that kind were left out
    end <TAB> exit status <TAB> 1 if the box killed the main process for a forbidden call
"""
import os
import sys

PR_SET_DUMPABLE = 4
SIG_BLOCK, SIG_SETMASK = 0, 2
SFD_NONBLOCK, SFD_CLOEXEC = 0o4000, 0o2000000
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER = 1, 8
NOTIF_RECV, NOTIF_SEND, NOTIF_ID_VALID, NOTIF_ID_VALID_OLD = 0xC0502100, 0xC0182101, 0x40082102, 0x80082102
NOTIF_SIZE = 80
SIGINFO_SIZE = 128
MAX_LINES = {"signal": 50, "syscall": 200, "leftover": 50}
SIGKILL, SIGSTOP, SIGCHLD = 9, 19, 17
FAMILIES = {2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 3: "AF_AX25", 4: "AF_IPX",
            5: "AF_APPLETALK", 9: "AF_X25", 15: "AF_KEY", 29: "AF_CAN", 38: "AF_ALG", 40: "AF_VSOCK",
            44: "AF_XDP"}


def _clean(text):
    return str(text).replace("\t", " ").replace("\n", " ").replace("\r", " ")[:300]


class Report:
    """Lines to the report descriptor, each kind capped; written at once so a crash loses none."""

    def __init__(self, fd):
        self.fd, self.counts = fd, {}

    def line(self, kind, *fields):
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n > MAX_LINES.get(kind, 1 << 30):
            return
        self._write("\t".join([kind] + [_clean(f) for f in fields]))

    def close(self, *fields):
        for kind, n in sorted(self.counts.items()):
            if n > MAX_LINES.get(kind, 1 << 30):
                self._write("more\t%s\t%d" % (kind, n - MAX_LINES[kind]))
        self._write("\t".join(["end"] + [str(f) for f in fields]))

    def _write(self, text):
        try:
            os.write(self.fd, (text + "\n").encode("utf-8", "replace"))
        except OSError:
            pass


def _read_proc(pid, name, limit=300):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as fh:
            return fh.read(limit)
    except OSError:
        return b""


def _cmdline(pid):
    raw = _read_proc(pid, "cmdline", 600)
    if not raw:   # a leader that exited while its threads run: ask a thread
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            tasks = []
        for task in tasks:
            raw = _read_proc(pid, "task/%s/cmdline" % task, 600)
            if raw:
                break
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() or "?"


def _exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return "?"


def _state(pid, task=None):
    raw = _read_proc(pid, "stat" if task is None else "task/%s/stat" % task, 1024)
    end = raw.rfind(b")")
    return raw[end + 2:end + 3].decode() if end > 0 else ""


def process_alive(pid):
    """A process lives while any of its threads does; its leader alone may be a zombie (the
    host's sweep of a weak box asks this too)."""
    if _state(pid) not in ("Z", "X", ""):
        return True
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return False
    return any(_state(pid, t) not in ("Z", "X", "") for t in tasks)


def _sigset(signals):
    mask = 0
    for s in signals:
        mask |= 1 << (s - 1)
    return mask


def _set_mask(libc, ctypes, cfg, how, mask):
    """rt_sigprocmask itself: the C library's wrapper silently keeps its two reserved signals
    unblocked, and a signal left unblocked could reach PID 1 unrecorded. Returns the old mask."""
    old = ctypes.c_uint64(0)
    number = cfg["numbers"].get("rt_sigprocmask")
    if number is None:   # an architecture without tables: the wrapper, reserved signals aside
        import _signal

        kept = _signal.pthread_sigmask(how, [s for s in range(1, 65) if mask.value >> (s - 1) & 1
                                             and s in _signal.valid_signals()])
        return ctypes.c_uint64(_sigset(kept))
    if libc.syscall(ctypes.c_long(number), how, ctypes.byref(mask), ctypes.byref(old), 8) != 0:
        raise OSError(ctypes.get_errno(), "rt_sigprocmask")
    return old


def main(cfg):
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    import fcntl
    import select
    import struct
    import _socket

    libc.syscall.restype = ctypes.c_long
    report = Report(cfg["report_fd"])

    # 2. every signal but the two that cannot be blocked, read from a signalfd. (A fault of the
    # supervisor's own still kills it: the kernel unblocks a synchronous signal it must deliver.)
    watched = [s for s in range(1, 65) if s not in (SIGKILL, SIGSTOP)]
    mask = ctypes.c_uint64(_sigset(watched))
    old = _set_mask(libc, ctypes, cfg, SIG_BLOCK, mask)
    sigfd = libc.signalfd(-1, ctypes.byref(mask), SFD_NONBLOCK | SFD_CLOEXEC)
    if sigfd < 0:
        raise OSError(ctypes.get_errno(), "signalfd")

    channel = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM) if cfg["filter"] else None
    child = os.fork()
    if child == 0:
        _become_candidate(cfg, libc, ctypes, old, channel)
    # -- the supervisor -----------------------------------------------------------------------------
    listener = None
    if channel is not None:
        channel[1].close()
        try:
            _, fds, _, _ = channel[0].recvmsg(1, _socket.CMSG_SPACE(4))
            for level, kind, data in fds:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
                    listener = struct.unpack("i", data[:4])[0]
        except OSError:
            pass
        channel[0].close()
    report.line("start", child)
    poller = select.poll()
    poller.register(sigfd, select.POLLIN)
    if listener is not None:
        poller.register(listener, select.POLLIN)
    state = {"code": None, "killed": set(), "read_memory": _memory_reader(libc, ctypes)}
    while state["code"] is None:
        for fd, events in poller.poll():
            if fd == sigfd:
                _on_signals(sigfd, child, state, report)
            elif events & select.POLLIN:
                _on_notification(listener, cfg, state, report, fcntl, struct)
            elif events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                poller.unregister(fd)   # every filtered process has exited
    left = []
    if cfg["pid1"]:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and entry != "1" and process_alive(int(entry)):
                left.append(int(entry))
                report.line("leftover", entry, _cmdline(int(entry)))
        for _ in range(256):   # the forbidden calls the leftovers made meanwhile
            if listener is None or not any(fd == listener and ev & select.POLLIN for fd, ev in poller.poll(0)):
                break
            _on_notification(listener, cfg, state, report, fcntl, struct)
    for pid in left:
        try:
            os.kill(pid, SIGKILL)
        except OSError:
            pass
    code = state["code"]
    report.close(code, 1 if child in state["killed"] else 0)
    os._exit(128 - code if code < 0 else code)


def _on_signals(sigfd, child, state, report):
    import struct

    while True:
        try:
            data = os.read(sigfd, SIGINFO_SIZE * 16)
        except BlockingIOError:
            break
        if not data:
            break
        for off in range(0, len(data) - SIGINFO_SIZE + 1, SIGINFO_SIZE):
            signo, _errno, code, pid, uid = struct.unpack_from("IiiII", data, off)
            # A child's exit is the kernel's SIGCHLD: si_code > 0 (user-sent signals have <= 0,
            # which no process can forge for another) and the child's pid (an I/O signal the
            # kernel sends has none).
            if not (signo == SIGCHLD and code > 0 and pid > 0):
                report.line("signal", signo, code, pid, uid)
    # Reap on every wake-up: a real SIGCHLD can merge into another one already pending.
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid == child:
            state["code"] = os.waitstatus_to_exitcode(status)


def _on_notification(listener, cfg, state, report, fcntl, struct):
    buf = bytearray(NOTIF_SIZE)
    try:
        fcntl.ioctl(listener, NOTIF_RECV, buf, True)
    except OSError:
        return  # the caller died before it was read
    nid, pid, _flags, number, arch = struct.unpack_from("QIIiI", buf, 0)
    args = struct.unpack_from("6Q", buf, 32)
    names = cfg["names"]
    if arch != cfg["audit_arch"] or number & 0x40000000:
        name, detail = "another ABI", "arch %#x, call %d" % (arch, number & 0xFFFFFFFF)
    else:
        name = names.get(number, "syscall %d" % number)
        if name == "clone3":
            flags = _read_u64(state["read_memory"], pid, args[0])
            if flags is None or not flags & cfg["clone3_forbidden"]:
                _respond(listener, nid, cfg["enosys"], fcntl, struct)  # the C library falls back to clone
                return
            detail = "flags %#x" % flags
        else:
            detail = _describe(name, args)
    exe, cmdline = _exe(pid), _cmdline(pid)
    report.line("syscall", name, pid, exe, cmdline, detail)
    if _valid(listener, nid, fcntl, struct):
        try:
            os.kill(pid, SIGKILL)   # the whole process, before the call returns
            state["killed"].add(pid)
        except OSError:
            pass
    _respond(listener, nid, cfg["eperm"], fcntl, struct)


def _describe(name, args):
    a = [x if x < (1 << 63) else x - (1 << 64) for x in args]
    if name == "socket":
        return "%s, type %d" % (FAMILIES.get(a[0] & 0xFFFF, "family %d" % (a[0] & 0xFFFF)), a[1] & 0xFFFF)
    if name in ("clone", "unshare"):
        return "flags %#x" % (a[0] & 0xFFFFFFFF)
    if name in ("kill", "tkill", "pidfd_open", "prlimit64", "sched_setaffinity", "sched_setscheduler",
                "sched_setparam", "sched_setattr", "migrate_pages", "move_pages", "get_robust_list"):
        return "pid %d, %d" % (_int32(a[0]), a[1])
    if name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        return "pid %d, %d, %d" % (_int32(a[0]), a[1], a[2])
    if name in ("setpriority", "ioprio_set"):
        return "which %d, who %d" % (a[0], _int32(a[1]))
    if name == "fcntl":
        return "fd %d, command %d, %d" % (a[0], a[1], _int32(a[2]))
    return ", ".join("%#x" % (x & 0xFFFFFFFFFFFFFFFF) for x in args[:3])


def _int32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= (1 << 31) else x


def _read_u64(reader, pid, address):
    """8 bytes of another process's memory (process_vm_readv: a ptrace-level check, no file)."""
    try:
        data = reader(pid, address, 8)
    except (OSError, OverflowError):
        return None
    return int.from_bytes(data, sys.byteorder) if len(data) == 8 else None


def _memory_reader(libc, ctypes):
    class Iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    libc.process_vm_readv.restype = ctypes.c_ssize_t

    def read(pid, address, size):
        local = ctypes.create_string_buffer(size)
        mine, theirs = Iovec(ctypes.addressof(local), size), Iovec(address, size)
        got = libc.process_vm_readv(pid, ctypes.byref(mine), 1, ctypes.byref(theirs), 1, 0)
        if got < 0:
            raise OSError(ctypes.get_errno(), "process_vm_readv")
        return local.raw[:got]

    return read


def _valid(listener, nid, fcntl, struct):
    """Is the notification (and so its caller) still there? Linux before 5.17 knows this ioctl
    only by its first, mis-encoded number."""
    for number in (NOTIF_ID_VALID, NOTIF_ID_VALID_OLD):
        try:
            fcntl.ioctl(listener, number, struct.pack("Q", nid))
            return True
        except OSError as exc:
            if exc.errno not in (22, 25):   # EINVAL, ENOTTY: the other number
                return False
    return False


def _respond(listener, nid, errno, fcntl, struct):
    try:
        fcntl.ioctl(listener, NOTIF_SEND, struct.pack("QqiI", nid, 0, -errno, 0))
    except OSError:
        pass  # the caller is gone (killed, or died meanwhile)


# -- the candidate's side of the fork --------------------------------------------------------------
def _become_candidate(cfg, libc, ctypes, old_mask, channel):
    try:
        keep = {0, 1, 2, cfg["report_fd"], cfg["hook"]["fd"] if cfg["hook"] else -1}
        if channel is not None:
            channel[0].close()
            keep.add(channel[1].fileno())
        for fd in _open_fds():
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if cfg["uid"] is not None:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])   # from uid 0: every capability goes
        if cfg["pid1"]:
            os.setsid()
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)   # its own processes are ordinary ones
        import resource

        for n, soft, hard in cfg["limits"]:
            resource.setrlimit(n, (soft, hard))
        _set_mask(libc, ctypes, cfg, SIG_SETMASK, old_mask)
        if channel is not None:
            _install_filter(cfg, libc, ctypes, channel[1])
        import _signal

        _signal.signal(cfg["sigxfsz"], _signal.SIG_DFL)
    except BaseException as exc:  # never run the candidate half set up; the host raises BoxError
        Report(cfg["report_fd"]).line("setup", repr(exc))
        os._exit(1)
    os.close(cfg["report_fd"])
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]   # the candidate's own `import ctypes` must raise its audit event
    main_dict = sys.modules["__main__"].__dict__
    for name in [k for k in main_dict if k not in ("__name__", "__doc__", "__package__", "__loader__",
                                                   "__spec__", "__annotations__", "__builtins__")]:
        del main_dict[name]
    sys.argv = sys.argv[1:]
    main_dict["__file__"] = sys.argv[0]
    with open(sys.argv[0], "rb") as fh:
        code = compile(fh.read(), sys.argv[0], "exec")
    if cfg["hook"] is not None:
        hook = {"__name__": "rsilab_box_hook"}
        exec(cfg["hook_source"], hook)
        hook["install"](cfg["hook"])
    try:
        exec(code, main_dict)
    except MemoryError:
        os._exit(cfg["memory_exit"])
    sys.exit(0)   # an exception the candidate left uncaught ends it as Python would: traceback, 1


def _open_fds():
    try:
        return [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 1024))


def _install_filter(cfg, libc, ctypes, sock):
    import _socket
    import struct

    prog = cfg["filter"]

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    fprog = Fprog(len(prog) // 8, prog)
    listener = libc.syscall(ctypes.c_long(cfg["numbers"]["seccomp"]), SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(fprog))
    if listener < 0:
        raise OSError(ctypes.get_errno(), "seccomp")
    sock.sendmsg([b"L"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", listener))])
    os.close(listener)
    sock.close()


def source():
    """This file's text, as the box runs it."""
    with open(__file__, encoding="utf-8") as fh:
        return fh.read()
