"""The one narrow channel out of the box: a size-capped result file of fixed schema.

The candidate writes JSON to the path in ``$RSILAB_RESULT`` (``/box/result.json`` inside the
sandbox; it cannot choose another). The evaluator reads it here and nowhere else: opened without
following links, only if it is a regular file whose mode the candidate left as the evaluator
made it (a set-id bit or an executable result is tampering), at most ``max_bytes`` read, parsed
strictly.
Anything else the candidate says (stdout, stderr, logs, claims of success) is never parsed.

Schema (version 1)::

    {"version": 1, "values": {NAME: VALUE, ...}}

with at most ``MAX_VALUES`` names matching ``NAME_PATTERN`` and each VALUE a finite number,
a bool, null, a string, or a flat list of those (at most ``MAX_LIST`` items). No other top-level
keys, no duplicate keys, no NaN or Infinity. A breach is a *violation*, not a warning.
Imports nothing of ours.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
MAX_VALUES = 256
MAX_LIST = 100_000
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


class ResultRejected(ValueError):
    """The result file breaks the channel's rules; the message says which rule."""


def read_result(path: Path, max_bytes: int, mode: int | None = None) -> dict[str, Any] | None:
    """The parsed ``values`` dict, ``None`` when the candidate wrote nothing, else ``ResultRejected``.
    ``mode``: the permission bits the file was created with; any other mode is rejected."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink planted where the result belongs
        raise ResultRejected(f"result path is not a plain file ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ResultRejected("result path is not a regular file")
        if mode is not None and stat.S_IMODE(info.st_mode) != mode:
            raise ResultRejected(f"result file mode changed to {stat.S_IMODE(info.st_mode):04o} "
                                 f"(it was {mode:04o})")
        if info.st_size > max_bytes:
            raise ResultRejected(f"result file is {info.st_size} bytes, over the cap of {max_bytes}")
        chunks, total = [], 0
        while True:  # never trust st_size alone: the file could grow after fstat
            chunk = os.read(fd, min(65536, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ResultRejected(f"result file is over the cap of {max_bytes} bytes")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if not data.strip():
        return None
    return parse_result(data)


def parse_result(data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8", errors="strict")
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise ResultRejected("result file is not UTF-8") from None
    except ResultRejected:
        raise
    except (ValueError, RecursionError) as exc:  # bad JSON, or an int with too many digits
        raise ResultRejected(f"result file is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(doc, dict):
        raise ResultRejected("result must be a JSON object")
    extra = set(doc) - {"version", "values"}
    if extra:
        raise ResultRejected(f"result has keys outside the schema: {sorted(extra)[:5]}")
    if doc.get("version") != SCHEMA_VERSION or isinstance(doc.get("version"), bool):
        raise ResultRejected(f"result version must be {SCHEMA_VERSION}, got {doc.get('version')!r}")
    values = doc.get("values")
    if not isinstance(values, dict):
        raise ResultRejected("result 'values' must be an object")
    if len(values) > MAX_VALUES:
        raise ResultRejected(f"result has {len(values)} values, more than {MAX_VALUES}")
    for name, value in values.items():
        if not NAME_PATTERN.match(name):
            raise ResultRejected(f"result value name {name[:40]!r} does not match {NAME_PATTERN.pattern}")
        if isinstance(value, list):
            if len(value) > MAX_LIST:
                raise ResultRejected(f"result value {name!r} has more than {MAX_LIST} items")
            for item in value:
                _check_scalar(name, item)
        else:
            _check_scalar(name, value)
    return values


def _check_scalar(name: str, value: Any) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):  # 1e999 parses to inf
            raise ResultRejected(f"result value {name!r} is not finite")
        return
    raise ResultRejected(f"result value {name!r} holds a {type(value).__name__}; only flat scalars allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ResultRejected(f"result repeats the key {key[:40]!r}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ResultRejected(f"result holds {name}; only finite numbers are allowed")
