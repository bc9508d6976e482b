"""Running the self-improver's jobs inside ``rsilab.box``: the bundle and the call.

Inside the box rsilab is not installed and the evaluator's files are out of sight, so each job
is sent as one self-contained program: the source of ``tasks``, ``transforms``, ``screen`` and
``inbox`` embedded as text, registered as modules, then ``inbox.main(job)`` on the job read from
``/box/input/job.json``; its values go out through the box's strict result channel
(``$RSILAB_RESULT``). The host never executes an improver's code itself.

Imports ``rsilab.box`` (lazily, at call time) and the sibling modules as *text* only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

PACKAGE = "rsilab.experiments.self_improver"
BUNDLED = ("screen", "tasks", "transforms", "inbox")

_PRELUDE = '''\
import json, os, sys, types
for _pkg in ("rsilab", "rsilab.experiments", "rsilab.experiments.self_improver"):
    _m = types.ModuleType(_pkg)
    _m.__path__ = []
    sys.modules[_pkg] = _m
_SOURCES = {sources}
for _name, _src in _SOURCES.items():
    _full = "rsilab.experiments.self_improver." + _name
    _m = types.ModuleType(_full)
    sys.modules[_full] = _m
    exec(compile(_src, _full, "exec"), _m.__dict__)
    setattr(sys.modules["rsilab.experiments.self_improver"], _name, _m)
with open(os.path.join(os.environ.get("RSILAB_INPUT_DIR", "/box/input"), "job.json")) as _fh:
    _job = json.load(_fh)
_values = sys.modules["rsilab.experiments.self_improver.inbox"].main(_job)
with open(os.environ["RSILAB_RESULT"], "w") as _fh:
    json.dump({{"version": 1, "values": _values}}, _fh)
'''


def bundle_source() -> str:
    """The program text the box runs for every self-improver job."""
    sources = {name: resources.files(PACKAGE).joinpath(f"{name}.py").read_text(encoding="utf-8")
               for name in BUNDLED}
    return _PRELUDE.format(sources=repr(sources))


@dataclass
class JobOutcome:
    """What the host learned from one boxed job."""

    ok: bool
    values: dict[str, Any]
    status: str
    violations: list[str] = field(default_factory=list)
    canaries_touched: list[str] = field(default_factory=list)
    audit_id: int | None = None
    seconds: float = 0.0


def run_job(job: dict[str, Any], *, store: Any, experiment: str, wall_seconds: float,
            program: str | None = None) -> JobOutcome:
    """Run one job in the box. ``program`` replaces the bundle (tests use it to plant a tamperer)."""
    import time

    from rsilab.box import Limits, run_candidate

    limits = Limits(cpu_seconds=wall_seconds, wall_seconds=wall_seconds * 1.5 + 2.0,
                    memory_bytes=1024 * 1024 * 1024, result_max_bytes=1024 * 1024)
    t0 = time.perf_counter()
    outcome = run_candidate(program if program is not None else bundle_source(),
                            inputs={"job.json": json.dumps(job)}, limits=limits, experiment=experiment,
                            store=store, protect=[str(resources.files(PACKAGE))])
    seconds = time.perf_counter() - t0
    values = outcome.result or {}
    clean = outcome.ok and not outcome.violations and not outcome.canaries_touched
    return JobOutcome(ok=clean, values=values, status=outcome.status, violations=list(outcome.violations),
                      canaries_touched=list(outcome.canaries_touched), audit_id=outcome.audit_id, seconds=seconds)
