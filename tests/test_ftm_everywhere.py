"""The compute-centric model (``ftm``) through the CLI, the Python API and the report: the
model's own metrics under their own names, equal to its authors' code's (tests/reference)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import rsilab
from rsilab.dynamics.ftm.model import DOUBLING_NAMES, SERIES

REFERENCE = json.loads((Path(__file__).parent / "reference" / "ftm_presets.json").read_text())
GRID_STEP = 0.1      # one step of the model's grid: the most a faithful reimplementation may differ by


def test_simulate_json_carries_the_models_metrics_equal_to_the_peers(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "ftm-short-timelines", "--json",
                          "--store", str(tmp_path / "s.sqlite")], capture_output=True, text=True, check=True).stdout
    summary = json.loads(out)
    ref = REFERENCE["presets"]["ftm-short-timelines"]["to_2100"]
    for group, quantity, names in (("timeline_metrics", "year", ref["timeline_metrics"]),
                                   ("takeoff_metrics", "years", ref["takeoff_metrics"])):
        for name, want in names.items():
            found = summary[group][name][quantity]["median"]
            assert abs(found - want) <= GRID_STEP, f"{group}.{name}: found {found}, peer {want}"
    found = [summary["gwp_doubling_times"][d]["years"]["median"] for d in DOUBLING_NAMES]
    assert found == pytest.approx(ref["doubling_times"], abs=GRID_STEP), f"found {found}, peer {ref['doubling_times']}"
    assert summary["model_kind"] == "outcome" and summary["time_origin"] == 2022.0


def test_simulate_prints_a_deterministic_run_as_one_value_per_metric(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "ftm-conservative",
                          "--store", str(tmp_path / "s.sqlite")], capture_output=True, text=True, check=True).stdout
    assert "2038.5" in out                       # the wake-up, as the peer's code gives it
    assert "automation_gns_100%" in out and "beyond horizon" in out   # full automation after 2100


def test_python_api_and_report(tmp_path):
    forecast = rsilab.simulate("ftm-monte-carlo", n_samples=64, seed=5)
    df = forecast.to_pandas()
    assert len(df) == 64 and {"automation_gns_100%", "full_automation_gns", "software_returns"} <= set(df.columns)
    years = df["automation_gns_100%"].dropna()
    assert ((years > 2022) & (years <= 2100)).all()
    page = forecast.report(tmp_path / "ftm.html").read_text()
    data = json.loads(page.split('<script type="application/json" id="rsilab-data">', 1)[1].split("</script>", 1)[0])
    assert data["kind"] == "outcome" and data["charts"]["calendar"] is True
    assert data["charts"]["series"]["order"] == [s[0] for s in SERIES]
    cdfs = {c["name"]: c for c in data["charts"]["metric_cdfs"]}
    assert set(cdfs) == set(REFERENCE["presets"]["ftm-best-guess"]["to_2100"]["timeline_metrics"])
    assert all(2022 <= t <= 2100 for c in cdfs.values() for t in c["t"] if t is not None and not math.isnan(t))


def test_the_charts_written_by_forecast(tmp_path):
    from rsilab.report.charts import write_charts

    forecast = rsilab.simulate("ftm-best-guess")
    paths = write_charts(forecast.ensemble, tmp_path)
    assert [p.name for p in paths] == ["ftm-best-guess-cdf.png", "ftm-best-guess-series.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
