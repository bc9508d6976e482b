"""The HTML report from the store: its embedded JSON, what it draws, and runs that lack arrays.

The browser half (file://, no network) is in test_web_browser.py; these read the JSON block."""
from __future__ import annotations

import json
import re
import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from rsilab.cli import cli

PRESET = "criticality-continuous"  # an ODE model that runs 2,000 samples in well under a second


def embedded(path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="rsilab-data">(.*?)</script>', text, re.S)
    assert m, "no JSON block in the report"
    return json.loads(m.group(1))


def run_cli(*args):
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res


def test_simulate_report_embeds_the_stored_summary(tmp_path):
    store_path, out = tmp_path / "s.sqlite", tmp_path / "r.html"
    res = run_cli("simulate", "--preset", PRESET, "--samples", "2000", "--seed", "4", "--json",
                  "--report", str(out), "--store", str(store_path))
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    data = embedded(out)
    from rsilab.store import Store

    with Store(store_path) as st:
        stored = st.get_run(printed["run_id"])
    assert data["summary"] == stored.summary
    assert data["config"] == stored.config
    assert data["kind"] == "forecast" and data["run"]["id"] == printed["run_id"]
    # the charts are drawn from the stored per-sample arrays; they must agree with the summary
    # computed from the full arrays in the run (same samples, so equal to float rounding)
    late = data["charts"]["regimes_by_phase"]["late"]
    for regime, p in stored.summary["regime_probabilities"].items():
        assert late[regime]["p"] == pytest.approx(p, abs=1e-12)
    cdf = data["charts"]["threshold_cdfs"]["10x"]
    assert cdf["F"][-1] == pytest.approx(stored.summary["threshold_times"]["10x"]["fraction_reached"], abs=1e-12)
    assert {q for q in data["charts"]["fan"]["quantiles"]} == {"5", "10", "25", "50", "75", "90", "95"}
    params = {p["name"]: p for p in data["parameters"]}
    assert params["p"]["prior"]["dist"] == "uniform" and params["p"]["unit"] and params["p"]["meaning"]
    prov = data["provenance"]
    assert prov["seed"] == 4 and prov["n_samples"] == 2000 and len(prov["config_sha256"]) == 64
    assert prov["version"] and "solving" in prov["timings_seconds"]
    # self-contained: plotly.js is inside, and nothing is loaded from anywhere
    text = out.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text


def test_report_command_writes_the_same_page_again(tmp_path):
    store_path = tmp_path / "s.sqlite"
    res = run_cli("simulate", "--preset", PRESET, "--samples", "1000", "--json", "--store", str(store_path))
    run_id = json.loads(res.stdout)["run_id"]
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    assert run_cli("report", str(run_id), "--out", str(a), "--store", str(store_path)).exit_code == 0
    assert run_cli("report", str(run_id), "--out", str(b), "--store", str(store_path)).exit_code == 0
    assert embedded(a) == embedded(b)


def test_model_outputs_over_time_are_in_the_report(tmp_path):
    out = tmp_path / "c.html"
    res = run_cli("simulate", "--preset", "controlled", "--samples", "500", "--json", "--report", str(out),
                  "--store", str(tmp_path / "s.sqlite"))
    assert res.exit_code == 0, res.output
    series = embedded(out)["charts"]["grid_outputs"]["series"]
    assert series, "the controlled model's own series (P(safe so far), ...) are missing"
    assert all(len(v) == len(embedded(out)["charts"]["grid_outputs"]["t"]) for v in series.values())


def test_a_run_recorded_without_arrays_gets_a_message_not_a_crash(tmp_path):
    store_path = tmp_path / "s.sqlite"
    res = run_cli("simulate", "--preset", PRESET, "--samples", "500", "--json", "--store", str(store_path))
    run_id = json.loads(res.stdout)["run_id"]
    # a run as recorded before runs kept arrays: the row in runs, nothing in run_arrays
    with sqlite3.connect(store_path) as conn:
        conn.execute("DELETE FROM run_arrays WHERE run_id = ?", (run_id,))
    out = tmp_path / "old.html"
    res = CliRunner().invoke(cli, ["report", str(run_id), "--out", str(out), "--store", str(store_path)])
    assert res.exit_code == 2
    assert "per-sample outcomes or quantile bands" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_unknown_run_and_unwritable_out(tmp_path):
    store_path = tmp_path / "s.sqlite"
    res = CliRunner().invoke(cli, ["report", "99", "--out", str(tmp_path / "x.html"), "--store", str(store_path)])
    assert res.exit_code == 2 and "run 99 is not in store" in res.output
    run_cli("simulate", "--preset", PRESET, "--samples", "300", "--json", "--store", str(store_path))
    res = CliRunner().invoke(cli, ["report", "1", "--out", str(tmp_path / "no" / "x.html"), "--store", str(store_path)])
    assert res.exit_code == 2 and "--out" in res.output and "Traceback" not in res.output


def test_sensitivity_report_shows_sobol_indices(tmp_path):
    store_path, out = tmp_path / "s.sqlite", tmp_path / "sens.html"
    res = run_cli("sensitivity", "--preset", PRESET, "--base-samples", "64", "--json", "--store", str(store_path))
    assert res.exit_code == 0, res.output
    assert run_cli("report", "1", "--out", str(out), "--store", str(store_path)).exit_code == 0
    data = embedded(out)
    assert data["kind"] == "sensitivity"
    assert [r["parameter"] for r in data["charts"]["sobol"]] == [r["parameter"] for r in json.loads(res.stdout)["indices"]]


def test_experiment_report_from_rounds(store, tmp_path):
    run_id = store.add_run("experiment:self-training", "t", config={"config": {}}, seed=0)
    for r in range(3):
        store.add_round(run_id, r, {"capability": float(r + 1), "accuracy": [1.0, 0.5 + 0.1 * r, 0.1],
                                    "label_precision": None if r == 0 else 0.9,
                                    "detail": {"difficulties": [1, 2, 3]}})
    from rsilab.report.html import write_run_report

    data = embedded(write_run_report(store, run_id, tmp_path / "e.html"))
    c = data["charts"]
    assert c["capability"] == [1.0, 2.0, 3.0] and c["label_precision"] == [None, 0.9, 0.9]
    assert c["accuracy_by_difficulty"][2] == {"round": 2, "difficulty": [1, 2, 3], "accuracy": [1.0, 0.7, 0.1]}


def test_fit_rounds_report_has_data_fit_and_band(tmp_path):
    csv = tmp_path / "rounds.csv"
    caps = np.cumsum(0.5 * 1.2 ** np.arange(8)) + 1.0
    csv.write_text("round,capability\n" + "".join(f"{i},{c}\n" for i, c in enumerate(caps)))
    store_path = tmp_path / "s.sqlite"
    res = run_cli("fit", "rounds", str(csv), "--json", "--store", str(store_path))
    assert res.exit_code == 0, res.output
    run_id = json.loads(res.stdout)["run_id"]
    out = tmp_path / "f.html"
    assert run_cli("report", str(run_id), "--out", str(out), "--store", str(store_path)).exit_code == 0
    lv = embedded(out)["charts"]["levels"]
    assert lv["data"] == pytest.approx(caps.tolist())
    # an exact geometric series: the fitted path passes through every level (to the noise the
    # estimate settles at, a millionth of the levels' range)
    assert lv["fit"] == pytest.approx(lv["data"], abs=1e-4 * np.ptp(caps))
    assert all(lo <= f <= hi for lo, f, hi in zip(lv["band"][0], lv["fit"], lv["band"][1]))


def test_the_report_ships_the_basic_plotly_bundle_and_stays_small(tmp_path):
    """The report inlines the basic plotly.js bundle, byte for byte as npm ships it (the file's
    sha256 is recorded beside it), and weighs at most 1.5 MB (the target set for it; the full
    bundle alone was 4.8 MB); the page's own code names no cloud service."""
    import hashlib
    from importlib import resources

    vendor = resources.files("rsilab.report").joinpath("vendor")
    meta = json.loads(vendor.joinpath("plotly.json").read_text())
    bundle = vendor.joinpath(meta["file"]).read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == meta["sha256"]
    assert meta["package"] == "plotly.js-basic-dist-min" and f"v{meta['version']}" in bundle[:200].decode()
    assert "MIT License" in vendor.joinpath(meta["license_file"]).read_text()
    sizes = {}
    for args in (["simulate", "--preset", "controlled", "--samples", "2000"],
                 ["forecast", "--preset", "default", "--samples", "2000"],
                 ["sensitivity", "--preset", PRESET, "--base-samples", "32"]):
        store, out = tmp_path / f"{args[2]}.sqlite", tmp_path / f"{args[2]}.html"
        run_id = json.loads(run_cli(*args, "--json", "--store", str(store)).stdout)["run_id"]
        assert run_cli("report", str(run_id), "--out", str(out), "--store", str(store)).exit_code == 0
        text = out.read_text(encoding="utf-8")
        sizes[args[2]] = out.stat().st_size
        # as render_html inlines it: read as text (line ends as \n), "</script" escaped
        inlined = vendor.joinpath(meta["file"]).read_text(encoding="utf-8").replace("</script", "<\\/script")
        assert inlined in text
        # everything but the bundle: the page's own code, its data and the drawing code
        own = text.replace(inlined, "")
        # the only mention of a cloud is the setting that turns its button off
        assert "showSendToCloud: false" in own and 'plotlyServerURL: ""' in own
        assert "cloud" not in own.replace("showSendToCloud: false", "").lower() and "plotly.com" not in own
    assert max(sizes.values()) <= 1_500_000, sizes
