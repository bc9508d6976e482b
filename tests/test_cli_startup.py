"""`rsilab --help` and `rsilab simulate` stay light: no torch, no numba, no matplotlib; and
`simulate --json` of a scenario without normal priors or correlations loads neither
scipy.special nor rich's progress bar (each costs start-up that such a run does not use)."""
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"   # the tree under test, not the installed copy

PROBE = """
import sys
from rsilab.cli import cli
try:
    cli({args!r}, prog_name="rsilab", standalone_mode=False)
except SystemExit:
    pass
print("MODULES", {{m: m in sys.modules for m in {names!r}}})
"""


def _modules(args, tmp_path, names=("torch", "numba", "matplotlib")):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(args=args, names=names)], capture_output=True, text=True,
                          env={"RSILAB_STORE": str(tmp_path / "s.sqlite"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC)}, check=True)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("MODULES"))
    return eval(line.split(" ", 1)[1]), proc.stdout


def test_help_imports_nothing_heavy(tmp_path):
    modules, _ = _modules(["--help"], tmp_path)
    assert modules == {"torch": False, "numba": False, "matplotlib": False}


def test_simulate_imports_no_torch_or_matplotlib(tmp_path):
    modules, out = _modules(["simulate", "--preset", "criticality-continuous", "--samples", "200", "--json"], tmp_path)
    assert not modules["torch"] and not modules["matplotlib"]
    assert json.loads(out[: out.index("MODULES")])["n_samples"] == 200


def test_simulate_json_of_sie_loads_no_scipy_special_or_progress_bar(tmp_path):
    modules, out = _modules(["simulate", "--preset", "sie", "--samples", "200", "--json"], tmp_path,
                            names=("scipy.special", "rich.progress", "numba"))
    assert modules == {"scipy.special": False, "rich.progress": False, "numba": True}, modules
    assert json.loads(out[: out.index("MODULES")])["n_samples"] == 200
