"""The Python API: same numbers as the CLI, one row per sample, lazy imports, the README example."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rsilab
from rsilab.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PRESET = "criticality-continuous"
VARIES = ("timings_seconds", "run_id")  # the only keys that differ between two identical runs


def test_import_rsilab_is_light():
    probe = ("import sys, rsilab; print(sorted(m for m in ('numpy', 'scipy', 'torch', 'numba', 'matplotlib', "
             "'pandas', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_simulate_summary_equals_cli_json(tmp_path):
    res = CliRunner().invoke(cli, ["simulate", "--preset", PRESET, "--samples", "3000", "--seed", "7", "--json",
                                   "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    from_cli = json.loads(res.output)
    ens = rsilab.simulate(PRESET, n_samples=3000, seed=7)
    from_api = json.loads(json.dumps(ens.summary()))  # the CLI's dict went through JSON too
    for key in VARIES:
        from_cli.pop(key, None)
        from_api.pop(key, None)
    assert from_api == from_cli


def test_scenario_object_and_path_give_the_same_run(tmp_path):
    sc = rsilab.load_scenario(PRESET)
    from rsilab.simulate.scenario import preset_names  # noqa: F401 - the subpackage stays importable
    path = ROOT / "src" / "rsilab" / "presets" / f"{PRESET}.toml"
    a = rsilab.simulate(sc, n_samples=500, seed=2).summary()
    b = rsilab.simulate(path, n_samples=500, seed=2).summary()
    assert a["regime_probabilities"] == b["regime_probabilities"]
    assert a["threshold_times"] == b["threshold_times"]


def test_to_pandas_one_row_per_sample():
    ens = rsilab.simulate("controlled", n_samples=400, seed=1)
    df = ens.to_pandas()
    s = ens.summary()
    assert len(df) == 400
    for p in ("c", "p", "align_rate"):
        assert p in df.columns
    # the rows reproduce the summary's numbers
    late = df["regime_late"].value_counts(normalize=True)
    for regime, p in s["regime_probabilities"].items():
        assert late.get(regime, 0.0) == pytest.approx(p, abs=1e-12)
    assert df["status"].value_counts().to_dict() == {k: v for k, v in s["status_counts"].items() if v} | {
        k: 0 for k, v in s["status_counts"].items() if not v}
    reached = df["years_to_10x"].notna().mean()
    assert reached == pytest.approx(s["threshold_times"]["10x"]["fraction_reached"], abs=1e-12)
    assert df["p_margin_crossed"].mean() == pytest.approx(s["p_margin_crossed"], abs=1e-12)


def test_report_from_the_api(tmp_path):
    ens = rsilab.simulate(PRESET, n_samples=500, seed=3)
    path = ens.report(tmp_path / "x.html")
    text = path.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="rsilab-data">(.*?)</script>', text, re.S).group(1))
    assert data["summary"]["regime_probabilities"] == ens.summary()["regime_probabilities"]


def test_recorded_run_is_in_the_store_and_reports(tmp_path):
    store = tmp_path / "s.sqlite"
    ens = rsilab.simulate(PRESET, n_samples=300, seed=3, record=True, store=store)
    assert ens.summary()["run_id"] == ens.run_id
    out = rsilab.report_run(ens.run_id, tmp_path / "r.html", store=store)
    assert out.exists()


def test_fit_rounds_from_a_dataframe_and_a_csv(tmp_path):
    import pandas as pd

    caps = np.cumsum(1.3 ** np.arange(7))
    df = pd.DataFrame({"round": range(7), "capability": caps})
    est = rsilab.fit_rounds(df, n_bootstrap=200)
    assert est.result_dict()["k"] == pytest.approx(1.3, rel=1e-12)  # exact geometric gains
    csv = tmp_path / "r.csv"
    df.to_csv(csv, index=False)
    assert rsilab.fit_rounds(csv, n_bootstrap=200).result_dict()["k"] == pytest.approx(1.3, rel=1e-12)


def test_fit_rounds_transform_matches_the_cli(tmp_path):
    acc = [20.0, 31.0, 40.0, 47.5, 53.0, 57.0, 60.0]  # accuracy (%) per round, gains shrinking
    csv = tmp_path / "r.csv"
    csv.write_text("round,capability\n" + "".join(f"{i},{a}\n" for i, a in enumerate(acc)))
    res = CliRunner().invoke(cli, ["fit", "rounds", str(csv), "--transform", "logit", "--bootstrap", "200", "--json",
                                   "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    from_cli = json.loads(res.output)["k"]
    est = rsilab.fit_rounds({"capability": acc, "round": list(range(7))}, transform="logit", n_bootstrap=200)
    assert est.result_dict()["k"] == pytest.approx(from_cli, rel=1e-12)
    assert est.result_dict()["k"] != pytest.approx(rsilab.fit_rounds({"capability": acc}, n_bootstrap=200).result_dict()["k"])


def test_bad_input_is_a_config_error():
    with pytest.raises(rsilab.ConfigError, match="preset"):
        rsilab.simulate("no-such-preset")
    with pytest.raises(rsilab.ConfigError, match="n_samples"):
        rsilab.simulate(PRESET, n_samples=0)
    with pytest.raises(rsilab.ConfigError, match="capability"):
        rsilab.fit_rounds({"x": [1, 2]})


def test_sensitivity_matches_the_cli(tmp_path):
    res = CliRunner().invoke(cli, ["sensitivity", "--preset", PRESET, "--base-samples", "32", "--seed", "1", "--json",
                                   "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    cli_rows = json.loads(res.output)["indices"]
    api_rows = rsilab.sensitivity(PRESET, base_samples=32, seed=1)["indices"]
    assert api_rows == cli_rows
    res = CliRunner().invoke(cli, ["sensitivity", "--preset", PRESET, "--base-samples", "20", "--seed", "1", "--method",
                                   "shapley", "--json", "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    api = rsilab.sensitivity(PRESET, base_samples=20, seed=1, method="shapley")
    assert api["method"] == "shapley" and api["indices"] == json.loads(res.output)["indices"]


def test_readme_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README lacks the API example block"
    monkeypatch.chdir(tmp_path)
    exec(compile(m.group(1), "README.md", "exec"), {})
