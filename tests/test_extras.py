"""Every optional extra, missing: one line naming ``pip install 'rsilab[EXTRA]'``, exit code 2,
nothing recorded. Each case runs the real command in a subprocess where a meta-path finder
refuses the extra's package, as an install without the extra would."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rsilab.core.extras import EXTRAS, missing_extra
from rsilab.store import Store

ROOT = Path(__file__).resolve().parents[1]

HIDE = """import sys
HIDDEN = set(sys.argv.pop(1).split(","))
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
"""
CLI = HIDE + "from rsilab.cli import main\nsys.argv = ['rsilab'] + sys.argv[1:]\nmain()\n"


def _run(tmp_path: Path, hidden: str, code: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RSILAB_STORE=str(tmp_path / "store.sqlite"), PYTHONPATH=str(ROOT / "src"))
    env.pop("RAY_ADDRESS", None)
    return subprocess.run([sys.executable, "-c", code, hidden, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=180)


def _runs(tmp_path: Path) -> int:
    path = tmp_path / "store.sqlite"
    if not path.exists():
        return 0
    with Store(path) as st:
        return len(st.list_runs()) + st.conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0]


def test_the_table_matches_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for module, extra in EXTRAS.items():
        assert extra in extras, f"{module}: no extra {extra!r} in pyproject.toml"
        assert any(req.startswith(module) for req in extras[extra]), f"{module} is not in rsilab[{extra}]"


LO_SWEEP = 'experiment = "learned-optimizer"\nprofile = "mini"\n[grid]\nseed = [0, 1]\n'
ST_SWEEP = 'experiment = "self-training"\nprofile = "mini"\n[grid]\nseed = [0, 1]\n'


@pytest.mark.parametrize("hidden, extra, args", [
    ("torch", "experiments", ["experiment", "run", "self-training", "--profile", "mini"]),
    ("ray", "sweep", ["sweep", "lo.toml"]),
    ("torch", "experiments", ["sweep", "st.toml"]),   # Ray is there, the experiment's torch is not
    ("starlette", "web", ["serve", "--port", "0"]),
    ("uvicorn", "web", ["serve", "--port", "0"]),
    ("pymc", "stats", ["evidence", "fit", "--method", "nuts"]),
], ids=["experiment-torch", "sweep-ray", "sweep-torch", "serve-starlette", "serve-uvicorn", "evidence-pymc"])
def test_a_missing_extra_is_one_line_naming_it(tmp_path, hidden, extra, args):
    if args[0] == "sweep" and hidden != "ray":
        pytest.importorskip("ray", reason="the case where Ray is present needs Ray")
    (tmp_path / "lo.toml").write_text(LO_SWEEP)
    (tmp_path / "st.toml").write_text(ST_SWEEP)
    out = _run(tmp_path, hidden, CLI, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in out.stderr, out.stderr
    assert line.startswith("error: ") and f"pip install 'rsilab[{extra}]'" in line and hidden in line, line
    assert _runs(tmp_path) == 0  # nothing was recorded before the refusal


def test_to_pandas_without_pandas_is_one_line(tmp_path):
    code = HIDE + ("import rsilab\n"
                   "ens = rsilab.simulate('criticality-discrete', n_samples=50, seed=1)\n"
                   "try:\n    ens.to_pandas()\n"
                   "except rsilab.RsilabError as exc:\n    print(exc)\n    sys.exit(exc.exit_code)\n")
    out = _run(tmp_path, "pandas", code)
    assert out.returncode == 2, out.stdout + out.stderr
    line = out.stdout.strip()
    assert "\n" not in line and "pip install 'rsilab[pandas]'" in line and "to_pandas" in line, line


def test_the_learned_optimizer_needs_no_extra(tmp_path):
    code = CLI.replace("main()\n", "try:\n    main()\nfinally:\n    assert 'torch' not in sys.modules\n")
    out = _run(tmp_path, "torch,ray,starlette,uvicorn,pandas", code, "experiment", "run", "learned-optimizer",
               "--profile", "mini")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "recorded as run 1" in out.stdout


def test_an_undeclared_import_of_an_optional_package_is_caught_too():
    # what the CLI's net (rsilab.cli.common.friendly_errors) turns into the same line
    err = missing_extra(ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn"), "rsilab x")
    assert str(err) == "rsilab x needs torch, which is not installed: pip install 'rsilab[experiments]'"
    broken = missing_extra(ImportError("libtorch_cpu.so: cannot open shared object file", name="torch._C"), "rsilab x")
    assert "failed to import" in str(broken) and "libtorch_cpu.so" in str(broken)
    assert missing_extra(ModuleNotFoundError("No module named 'numpy'", name="numpy"), "rsilab x") is None
