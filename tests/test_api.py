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
    from_cli = json.loads(res.stdout)
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
    est = rsilab.fit_rounds(df)
    # exact geometric gains: the interval holds 1.3 and is narrow (the estimated noise collapses)
    lo, hi = est.k_interval_
    assert lo <= 1.3 <= hi and hi - lo < 0.01 and est.k_ == est.result_dict()["k"]
    csv = tmp_path / "r.csv"
    df.to_csv(csv, index=False)
    assert rsilab.fit_rounds(csv).result_dict()["k"] == est.k_          # the same numbers from a file
    assert rsilab.fit_rounds(list(caps)).k_ == est.k_                   # and from a plain list
    assert "RoundsFit(k=1.3" in repr(est)


def test_fit_rounds_transform_matches_the_cli(tmp_path):
    acc = [20.0, 31.0, 40.0, 47.5, 53.0, 57.0, 60.0]  # accuracy (%) per round, gains shrinking
    csv = tmp_path / "r.csv"
    csv.write_text("round,capability\n" + "".join(f"{i},{a}\n" for i, a in enumerate(acc)))
    res = CliRunner().invoke(cli, ["fit", "rounds", str(csv), "--transform", "logit", "--json",
                                   "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    from_cli = json.loads(res.output)["k"]
    est = rsilab.fit_rounds({"capability": acc, "round": list(range(7))}, transform="logit")
    assert est.result_dict()["k"] == pytest.approx(from_cli, rel=1e-12)
    assert est.result_dict()["k"] != pytest.approx(rsilab.fit_rounds({"capability": acc}).result_dict()["k"])


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
    cli_rows = json.loads(res.stdout)["indices"]
    api_rows = rsilab.sensitivity(PRESET, base_samples=32, seed=1)["indices"]
    assert api_rows == cli_rows
    res = CliRunner().invoke(cli, ["sensitivity", "--preset", PRESET, "--base-samples", "20", "--seed", "1", "--method",
                                   "shapley", "--json", "--store", str(tmp_path / "s.sqlite")], catch_exceptions=False)
    api = rsilab.sensitivity(PRESET, base_samples=20, seed=1, method="shapley")
    assert api["method"] == "shapley" and api["indices"] == json.loads(res.stdout)["indices"]


def test_readme_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README lacks the API example block"
    monkeypatch.chdir(tmp_path)
    exec(compile(m.group(1), "README.md", "exec"), {})


def test_print_of_a_forecast_is_a_short_summary():
    ens = rsilab.simulate(PRESET, n_samples=2000, seed=1)
    text = repr(ens)
    s = ens.summary()
    lines = text.splitlines()
    # a summary a person reads at once, not the arrays: at most 15 lines (the SIE's four
    # compression figures included), none of them an array's repr
    assert len(lines) <= 15 and "array(" not in text and "Ensemble(" not in text, text
    assert lines[0].startswith(f"Forecast of {PRESET!r}") and "2,000 samples" in lines[0] and "(not recorded)" in lines[0]
    assert lines[1].split() == ["P(explosive", "at", "some", "point)", f"{s['takeoff']['p_explosive']:.3f}", "±",
                                f"{s['takeoff']['p_explosive_se']:.4f}"]
    # criticality-continuous blows up in some samples: the status is said with what it means
    from rsilab.core.solution import Status

    assert s["status_counts"]["blowup"] > 0 and Status.BLOWUP.message in text


def test_forecast_is_the_call_behind_the_cli(tmp_path):
    """`rsilab forecast` is api.forecast recorded: same summary, same stored run."""
    from rsilab.store import Store

    store = tmp_path / "s.sqlite"
    res = CliRunner().invoke(cli, ["forecast", "--preset", PRESET, "--samples", "1500", "--seed", "3", "--json",
                                   "--store", str(store)], catch_exceptions=False)
    from_cli = json.loads(res.stdout)
    fc = rsilab.forecast(PRESET, overrides={"n_samples": 1500, "seed": 3}, record=True, store=store)
    assert fc.run_id == from_cli["run_id"] + 1
    from_api = json.loads(json.dumps(fc.summary()))
    for key in VARIES:
        from_cli.pop(key, None)
        from_api.pop(key, None)
    assert from_api == from_cli
    with Store(store) as st:
        a, b = st.get_run(fc.run_id), st.get_run(fc.run_id - 1)
        assert (a.kind, b.kind) == ("forecast", "forecast") and a.config == b.config
        assert st.run_arrays(fc.run_id) is not None   # the report's arrays are kept by the same call


def test_an_override_error_names_what_was_given():
    with pytest.raises(rsilab.ConfigError) as err:
        rsilab.forecast(PRESET, overrides={"horizon_years": -1})
    assert err.value.field == "horizon_years"
    with pytest.raises(rsilab.ConfigError, match="returns_prior"):
        rsilab.forecast(PRESET, returns_prior=3.5)
    with pytest.raises(rsilab.RsilabError, match="run 3 is not in store"):  # an int is a stored fit's run
        rsilab.forecast(PRESET, returns_prior=3)


def test_a_fits_prior_feeds_the_forecast_from_python(tmp_path):
    caps = np.cumsum(1.15 ** np.arange(10))   # every gain 1.15 times the last: k = 1.15
    fit = rsilab.fit_rounds({"capability": caps}, n_bootstrap=200)
    fc = rsilab.forecast(returns_prior=fit.to_prior(), overrides={"n_samples": 500})
    s = fc.summary()
    # no scenario named: the one built for a fit of k, with k drawn from the fit
    assert s["model"] == "criticality" and s["returns_prior"]["parameter"] == "k"
    assert s["regime_probabilities"]["explosion"] == 1.0


def test_sensitivity_is_an_object_with_a_table_and_dict_access(tmp_path):
    res = rsilab.sensitivity(PRESET, base_samples=32, seed=1, record=True, store=tmp_path / "s.sqlite")
    assert isinstance(res, rsilab.Sensitivity) and res.run_id == 1
    assert res["indices"] == res.indices and res["output"] == "p_explosion" and "seed" in res
    assert dict(res)["run_id"] == 1 and json.loads(json.dumps(res.summary()))["indices"] == res.indices
    df = res.to_pandas()
    assert list(df.index) == [r["parameter"] for r in res.indices]
    assert list(df.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert df.loc["p", "ST"] == res.indices[0]["ST"]
    text = repr(res)
    assert text.splitlines()[0].startswith("Sobol indices of p_explosion") and "run 1" in text.splitlines()[0]
    assert len(text.splitlines()) <= 5 + len(res.indices)
    from rsilab.store import Store

    with Store(tmp_path / "s.sqlite") as st:
        stored = st.get_run(1)
    assert stored.kind == "sensitivity" and stored.summary["indices"] == res.indices
    shapley = rsilab.sensitivity(PRESET, base_samples=16, seed=1, method="shapley")
    assert shapley.method == "shapley" and shapley.run_id is None
    assert list(shapley.to_pandas().columns) == ["shapley", "shapley_se", "shapley_conf", "S1", "S1_conf", "ST", "ST_conf"]
    first = repr(shapley).splitlines()
    assert first[0].startswith("Shapley effects (exact estimator) of p_explosion") and "(not recorded)" in first[0]
    assert first[1].split()[:2] == ["parameter", "Shapley"]


def test_to_pandas_and_the_results_csv_are_one_table(tmp_path):
    """One builder (rsilab.report.samples): the page's CSV, read from the stored arrays, has the
    to_pandas columns in the same order, less the fixed parameters (the config holds them) and
    the effective returns (not kept per sample), with the stored precision."""
    import io

    import pandas as pd

    from rsilab.store import Store
    from rsilab.web.app import results_csv

    fc = rsilab.simulate("controlled", n_samples=300, seed=2, record=True, store=tmp_path / "s.sqlite")
    df = fc.to_pandas()
    with Store(tmp_path / "s.sqlite") as st:
        csv = pd.read_csv(io.StringIO(results_csv(st, fc.run_id)))
    fixed = [k for k, p in fc.scenario.priors.items() if p.is_fixed]
    assert fixed and list(csv.columns) == [c for c in df.columns if c not in fixed and c != "effective_returns"]
    for col in ("regime_late", "regime_early", "status"):
        assert list(csv[col]) == list(df[col].astype(str))
    # float32 drawn values: 7 significant digits kept
    np.testing.assert_allclose(csv["c"], df["c"], rtol=1e-6)
