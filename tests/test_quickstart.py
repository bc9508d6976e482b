"""The README's quickstart (measure, fit, forecast) runs as written, in a fresh store, without
torch, and its three steps hand each other their results through the store."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# hides torch from the process (a finder that refuses it), as the base install would not have it
NO_TORCH = ("import sys\n"
            "class _Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.partition('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, _Hide())\n")


def quickstart_lines() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- quickstart -->\s*```sh\n(.*?)```", text, re.S)
    assert match, "README.md lacks the quickstart block (marked <!-- quickstart -->)"
    lines = [line.split("#", 1)[0].strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line]


def test_the_block_is_found_and_is_measure_fit_forecast():
    lines = quickstart_lines()
    assert [shlex.split(x)[:3] for x in lines] == [["rsilab", "experiment", "run"], ["rsilab", "fit", "rounds"],
                                                  ["rsilab", "forecast", "--returns-from"]]


@pytest.mark.slow
def test_the_quickstart_runs_as_written_without_torch(tmp_path):
    env = dict(os.environ, RSILAB_STORE=str(tmp_path / "fresh.sqlite"), PYTHONPATH=str(ROOT / "src"),
               COLUMNS="100")
    code = NO_TORCH + "from rsilab.cli import main\nsys.argv = ['rsilab'] + sys.argv[1:]\nmain()\n"
    outputs = []
    for line in quickstart_lines():
        args = shlex.split(line)
        assert args[0] == "rsilab", line
        out = subprocess.run([sys.executable, "-c", code, *args[1:]], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=600)
        assert out.returncode == 0, f"{line}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        outputs.append(out.stdout)
    measure, fit, forecast = outputs
    assert "recorded as run 1" in measure
    assert "rounds of run 1 (learned-optimizer)" in fit and "(90%), P(k > 1) = " in fit
    assert any(f": {word} (" in fit for word in ("fizzle", "combustion", "explosion", "undetermined")), fit
    assert "recorded as run 2 with its prior" in fit
    assert "measured returns: k from run 2" in forecast and "recorded as run 3" in forecast
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("fresh.sqlite")) == []  # no file written
