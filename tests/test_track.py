"""``rsilab.track``: a user's own loop recorded like the built-in experiments, without torch,
from several processes at once, and through a crash."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.store import Store

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, store: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, RSILAB_STORE=str(store), PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- track-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lacks the rsilab.track example (marked <!-- track-example -->)"
    return textwrap.dedent(match.group(1))  # the block is indented under its list item


def test_the_readme_example_runs_as_written_without_torch(tmp_path):
    store = tmp_path / "s.sqlite"
    code = readme_example() + "\nimport sys\nassert 'torch' not in sys.modules, 'rsilab.track imported torch'\n"
    _python(code, store)
    with Store(store) as st:
        (run,) = st.list_runs(kind="experiment:track")
        rounds = st.rounds(run.id)
    assert run.name == "my-rest-run" and run.status == "finished"
    assert run.config["config"] == {"method": "ReST", "model_params": 7e9, "metric": "MATH accuracy (%)"}
    assert [r["round"] for r in rounds] == list(range(len(rounds))) and len(rounds) >= 3
    assert all(r["compute_flop"] > 0 for r in rounds)
    # the run joins the pooled evidence, on the logit scale (a percentage)
    result = CliRunner().invoke(cli, ["evidence", "fit", "--json", "--add-run", str(run.id), "--store", str(store),
                                      "--plot", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    name = f"run{run.id}:my-rest-run"
    assert out["series_transforms"][name] == "logit"
    assert name in {s["name"] for s in out["fits"]["pure_self"]["series"]}
    # and shows like an experiment's run
    result = CliRunner().invoke(cli, ["experiment", "show", str(run.id), "--store", str(store)])
    assert result.exit_code == 0, result.output


CRASHING = """
import os, rsilab
with rsilab.track("crashy", method="STaR", metric="accuracy (%)") as run:
    for acc in (10.0, 20.0, 25.0):
        run.log_round(capability=acc)
    os._exit(9)  # killed mid-run: no cleanup runs
"""

RESUMING = """
import rsilab
with rsilab.track("crashy", method="STaR", metric="accuracy (%)", resume=True) as run:
    print(run.next_round)
    run.log_round(capability=27.0)
    run.log_round(capability=28.0)
"""


def test_a_crash_keeps_the_logged_rounds_and_a_resumed_run_continues(tmp_path):
    store = tmp_path / "s.sqlite"
    assert _python(CRASHING, store, check=False).returncode == 9
    with Store(store) as st:
        (run,) = st.list_runs(kind="experiment:track")
        assert run.status == "running"
        assert [r["capability"] for r in st.rounds(run.id)] == [10.0, 20.0, 25.0]
    assert _python(RESUMING, store).stdout.strip() == "3"
    with Store(store) as st:
        (again,) = st.list_runs(kind="experiment:track")
        assert again.id == run.id and again.status == "finished"
        assert [(r["round"], r["capability"]) for r in st.rounds(run.id)] == [
            (0, 10.0), (1, 20.0), (2, 25.0), (3, 27.0), (4, 28.0)]


WORKER = """
import rsilab, sys
with rsilab.track("shared", method="ReST", metric="accuracy (%)", resume=int(sys.argv[1])) as run:
    for i in range(10):
        run.log_round(capability=float(i + 1))
"""


def test_several_processes_log_into_one_run_without_losing_or_repeating_a_round(tmp_path):
    store = tmp_path / "s.sqlite"
    run_id = int(_python("import rsilab\nwith rsilab.track('shared', method='ReST', metric='accuracy (%)') as r:\n"
                         "    print(r.run_id)\n", store).stdout)
    env = dict(os.environ, RSILAB_STORE=str(store), PYTHONPATH=str(ROOT / "src"))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(run_id)], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(store) as st:
        rounds = st.rounds(run_id)
    assert [r["round"] for r in rounds] == list(range(40))  # every round kept once, numbered without gaps
    assert sorted(r["capability"] for r in rounds) == sorted([float(i + 1) for i in range(10)] * 4)


def test_bad_arguments_are_clear_errors(tmp_path):
    import pytest

    import rsilab
    from rsilab.errors import ConfigError

    with pytest.raises(ConfigError, match="capability"):
        with rsilab.track("x", method="ReST", store=tmp_path / "s.sqlite") as run:
            run.log_round(capability="high")
    with Store(tmp_path / "s.sqlite") as st:
        assert st.list_runs(kind="experiment:track")[0].status == "failed"
    with pytest.raises(ConfigError, match="method"):
        with rsilab.track("x", method="", store=tmp_path / "s.sqlite"):
            pass


def test_the_noise_a_loop_logs_reaches_the_estimators(tmp_path):
    import json

    import pytest
    from click.testing import CliRunner

    import rsilab
    from rsilab.cli import cli
    from rsilab.errors import ConfigError

    path = tmp_path / "s.sqlite"
    with rsilab.track("noisy", method="ReST", metric="MATH accuracy (%)", store=path) as run:
        for r in range(5):
            run.log_round(capability=20.0 + 10.0 * (1 - 0.7 ** r), n_items=5000)
    res = CliRunner().invoke(cli, ["fit", "rounds", "--run", str(run.run_id), "--transform", "logit", "--json",
                                   "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["noise"] == "binomial"
    with pytest.raises(ConfigError, match="capability_se"):
        with rsilab.track("both", method="ReST", store=path) as run:
            run.log_round(capability=1.0, capability_se=0.1, n_items=100)
