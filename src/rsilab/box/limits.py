"""Resource limits for one boxed candidate run: the frozen ``Limits`` value and its rlimit table.

Owns validation of limits (a bad value is a ``ConfigError`` naming the field, never clipped) and
the translation into ``setrlimit`` pairs that the in-box bootstrap applies before the candidate's
first line runs. Imports only ``rsilab.errors``.
"""
from __future__ import annotations

import dataclasses
import resource
from dataclasses import dataclass
from typing import Any

from rsilab.errors import ConfigError

MiB = 1024 * 1024

# (field, smallest allowed, largest allowed, what it bounds)
_BOUNDS: dict[str, tuple[float, float, str]] = {
    "cpu_seconds": (0.1, 86_400, "CPU seconds (user+system) before SIGXCPU/SIGKILL"),
    "wall_seconds": (0.2, 86_400, "wall-clock seconds before the whole process tree is killed"),
    "memory_bytes": (48 * MiB, 1 << 40, "address space (RLIMIT_AS) of each process"),
    "file_size_bytes": (4096, 1 << 36, "largest file a process may write (RLIMIT_FSIZE)"),
    "scratch_bytes": (64 * 1024, 1 << 36, "size of the private scratch tmpfs (/scratch, /tmp)"),
    "max_processes": (1, 4096, "processes the candidate may have at once, itself included"),
    "max_open_files": (16, 65_536, "open file descriptors per process (RLIMIT_NOFILE)"),
    "result_max_bytes": (64, 16 * MiB, "size cap of the result file the evaluator reads"),
}


@dataclass(frozen=True)
class Limits:
    """What one candidate run may use. Defaults suit a small Python program; all are validated."""

    cpu_seconds: float = 10.0
    wall_seconds: float = 20.0
    memory_bytes: int = 512 * MiB
    file_size_bytes: int = 16 * MiB
    scratch_bytes: int = 64 * MiB
    max_processes: int = 8
    max_open_files: int = 64
    result_max_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for field, (low, high, meaning) in _BOUNDS.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"limits.{field}", value, f"a number ({meaning})")
            if field not in ("cpu_seconds", "wall_seconds") and not float(value).is_integer():
                raise ConfigError(f"limits.{field}", value, f"a whole number ({meaning})")
            if not low <= value <= high:
                raise ConfigError(f"limits.{field}", value, f"between {low:g} and {high:g} ({meaning})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Limits":
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError("limits", sorted(unknown), f"known fields: {', '.join(_BOUNDS)}")
        return cls(**data)

    def replace(self, **changes: Any) -> "Limits":
        return dataclasses.replace(self, **changes)


SHM_CAP_BYTES = 16 * MiB  # /dev/shm in the box: min(scratch_bytes, this)


def memory_bound(limits: Limits) -> dict[str, Any]:
    """What bounds the memory of one run, and its worst case. Memory is capped per process
    (RLIMIT_AS): the box puts no candidate in a cgroup (see docs/box.md), so a candidate that
    forks up to ``max_processes`` can hold that many times ``memory_bytes``, plus both tmpfs.
    Memory outside every address space is refused (memfd, System V shared memory, queues and
    semaphores: the seccomp filter; POSIX message queues: RLIMIT_MSGQUEUE 0), so that sum holds."""
    shm = min(int(limits.scratch_bytes), SHM_CAP_BYTES)
    worst = int(limits.max_processes) * int(limits.memory_bytes) + int(limits.scratch_bytes) + shm
    return {"memory_scope": "per process (RLIMIT_AS); memfd, System V and POSIX IPC memory refused; no cgroup",
            "worst_case_memory_bytes": worst,
            "worst_case_memory": f"max_processes x memory_bytes + scratch_bytes + /dev/shm = "
                                 f"{limits.max_processes} x {limits.memory_bytes} + {limits.scratch_bytes} + {shm}"}


def rlimits(limits: Limits, *, process_headroom: int = 0) -> list[tuple[int, int, int]]:
    """``(RLIMIT_*, soft, hard)`` triples for the candidate process.

    RLIMIT_NPROC counts the tasks (threads too) of the candidate's user id in its user
    namespace; ``process_headroom`` adds the tasks of that id that are not the candidate's (the
    supervisor, where it shares the id; the user's other tasks in the limits-only mode), so that
    the candidate gets exactly ``max_processes``. The CPU hard limit sits one second above the
    soft one: SIGXCPU first, SIGKILL if ignored.
    """
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    nproc = int(limits.max_processes) + int(process_headroom)
    return [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, int(limits.memory_bytes), int(limits.memory_bytes)),
        (resource.RLIMIT_FSIZE, int(limits.file_size_bytes), int(limits.file_size_bytes)),
        (resource.RLIMIT_NPROC, nproc, nproc),
        (resource.RLIMIT_NOFILE, int(limits.max_open_files), int(limits.max_open_files)),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    ]


def parse_limit_options(items: tuple[str, ...] | list[str], base: Limits | None = None) -> Limits:
    """``["cpu_seconds=2", "memory_bytes=256MiB"]`` (the CLI's ``--limits``) over ``base``."""
    changes: dict[str, Any] = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, raw = part.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in _BOUNDS:
                raise ConfigError("--limits", part, f"NAME=VALUE with NAME one of {', '.join(_BOUNDS)}")
            changes[key] = _parse_amount(key, raw.strip())
    return (base or Limits()).replace(**changes)


_SUFFIX = {"kib": 1024, "k": 1024, "mib": MiB, "m": MiB, "gib": 1024 * MiB, "g": 1024 * MiB}


def _parse_amount(key: str, raw: str) -> float | int:
    text = raw.lower()
    factor = 1
    for suffix, mult in _SUFFIX.items():
        if text.endswith(suffix) and key.endswith("_bytes"):
            text, factor = text[: -len(suffix)], mult
            break
    try:
        value = float(text) * factor
    except ValueError:
        raise ConfigError(f"limits.{key}", raw, "a number (bytes may end in KiB, MiB or GiB)") from None
    return value if key in ("cpu_seconds", "wall_seconds") else int(value) if value.is_integer() else value
