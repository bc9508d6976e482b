"""Hashes of the evaluator's own code and data, taken before and after every boxed round.

A candidate must not be able to change what scores it. The box never shows these files to the
candidate, and this module checks that promise from the outside: ``snapshot`` hashes every file
under the given paths (the box's own package is always included), ``changed`` lists what differs.
Imports nothing of ours.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

BOX_PACKAGE_DIR = Path(__file__).resolve().parent


def snapshot(paths: Iterable[os.PathLike[str] | str] = ()) -> dict[str, str]:
    """``{file path: sha256}`` of every regular file under ``paths`` plus the box's own code.

    A missing path is recorded as ``"missing"`` so that its later appearance is a change too.
    Symbolic links are hashed as their target text, never followed.
    """
    digests: dict[str, str] = {}
    for root in [BOX_PACKAGE_DIR, *map(Path, paths)]:
        root = Path(os.path.abspath(root))
        if root.is_symlink():
            digests[str(root)] = "link:" + os.readlink(root)
        elif root.is_file():
            digests[str(root)] = _hash_file(root)
        elif root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    digests[str(path)] = ("link:" + os.readlink(path)) if path.is_symlink() else _hash_file(path)
        else:
            digests[str(root)] = "missing"
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths added, removed or altered between two snapshots, sorted."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def digest(snap: dict[str, str]) -> str:
    """One hash standing for a whole snapshot (recorded in the audit log)."""
    h = hashlib.sha256()
    for path in sorted(snap):
        h.update(f"{path}\0{snap[path]}\n".encode())
    return h.hexdigest()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    return h.hexdigest()
