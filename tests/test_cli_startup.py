"""`rsilab --help` and `rsilab simulate` stay light: no torch, no numba, no matplotlib."""
import json
import subprocess
import sys

PROBE = """
import sys
from rsilab.cli import cli
try:
    cli({args!r}, prog_name="rsilab", standalone_mode=False)
except SystemExit:
    pass
print("MODULES", {{m: m in sys.modules for m in ("torch", "numba", "matplotlib")}})
"""


def _modules(args, tmp_path):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True,
                          env={"RSILAB_STORE": str(tmp_path / "s.sqlite"), "PATH": "/usr/bin:/bin"}, check=True)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("MODULES"))
    return eval(line.split(" ", 1)[1]), proc.stdout


def test_help_imports_nothing_heavy(tmp_path):
    modules, _ = _modules(["--help"], tmp_path)
    assert modules == {"torch": False, "numba": False, "matplotlib": False}


def test_simulate_imports_no_torch_or_matplotlib(tmp_path):
    modules, out = _modules(["simulate", "--preset", "criticality-continuous", "--samples", "200", "--json"], tmp_path)
    assert not modules["torch"] and not modules["matplotlib"]
    assert json.loads(out[: out.index("MODULES")])["n_samples"] == 200
