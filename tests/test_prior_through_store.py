"""A measured prior travels through the store: a stored run's rounds are fitted with
``fit rounds --run``, the fit is kept with its prior, and ``forecast --returns-from RUN`` reads
it there. The same rounds through a CSV file give the same fit and the same forecast."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.store import Store
from rsilab.store.priors import prior_of
from rsilab.store.rounds import rounds_of

CAPABILITY = [20.0, 31.0, 40.0, 47.5, 53.0, 57.0, 59.5]


def _invoke(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.output


def _error(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert line.startswith("error: ") and "\n" not in line and "Traceback" not in res.output, res.output
    return line


@pytest.fixture
def tracked(tmp_path):
    """A store with one rsilab.track-style run (with compute and a schedule) and one forecast run."""
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        run = st.add_run("experiment:track", "mine", config={"config": {"method": "ReST"}}, seed=None)
        for i, c in enumerate(CAPABILITY):
            st.add_round(run, i, {"capability": c, "compute_flop": 1e15 * (i + 1), "seconds": 0.5 + i,
                                  "schedule": "one-up", "detail": {"nested": [1, 2]}})
        other = st.add_run("forecast", "default", config={}, seed=1)
    return str(path), run, other


def test_a_stored_run_fits_as_its_exported_csv_does(tracked, tmp_path):
    store, run, _ = tracked
    by_run = json.loads(_invoke("fit", "rounds", "--run", str(run), "--bootstrap", "300", "--json", "--store", store))
    csv = tmp_path / "r.csv"
    _invoke("experiment", "export", str(run), "--rounds", str(csv), "--store", store)
    by_file = json.loads(_invoke("fit", "rounds", str(csv), "--bootstrap", "300", "--json", "--store", store))
    for key in ("k", "k_interval", "p_k_gt_1", "regime", "k_per_compute", "schedule", "caveat"):
        assert by_run[key] == by_file[key], key
    assert by_run["prior"]["spec"] == by_file["prior"]["spec"]
    assert by_run["run"] == run and by_run["caveat"]  # the one-up schedule is read from the run as from the file
    with Store(store) as st:
        # each fit is kept with its prior, exactly as --json printed it
        assert prior_of(st, by_run["run_id"]) == by_run["prior"]
        assert prior_of(st, by_file["run_id"]) == by_file["prior"]
        assert "prior" not in st.get_run(by_run["run_id"]).summary


def test_forecast_reads_the_prior_from_the_fit_run_as_from_its_file(tracked, tmp_path):
    store, run, _ = tracked
    text = _invoke("fit", "rounds", "--run", str(run), "--bootstrap", "300", "--json", "--store", store)
    fit = json.loads(text)
    saved = tmp_path / "fit.json"
    saved.write_text(text)
    common = ("--samples", "2000", "--seed", "3", "--json", "--store", store)
    by_run = json.loads(_invoke("forecast", "--returns-from", str(fit["run_id"]), *common))
    by_file = json.loads(_invoke("forecast", "--returns-from", str(saved), *common))
    assert by_run["returns_prior"]["run"] == fit["run_id"] and by_file["returns_prior"]["file"] == str(saved)
    assert by_run["returns_prior"]["parameter"] == by_file["returns_prior"]["parameter"] == "k"
    assert by_run["regime_probabilities"] == by_file["regime_probabilities"]
    assert by_run["takeoff"]["p_explosive"] == by_file["takeoff"]["p_explosive"]
    # and from Python: the library call the CLI makes takes the run id as well
    import rsilab

    fc = rsilab.forecast(returns_prior=fit["run_id"], store=store, overrides={"n_samples": 2000, "seed": 3})
    assert fc.summary()["returns_prior"]["run"] == fit["run_id"]
    assert fc.summary()["regime_probabilities"] == by_run["regime_probabilities"]


def test_every_fit_command_keeps_its_prior(tmp_path):
    from rsilab.estimate.evidence import load_registry

    store = str(tmp_path / "s.sqlite")
    csv = tmp_path / "r.csv"
    csv.write_text("round,capability\n" + "".join(f"{i},{c}\n" for i, c in enumerate(CAPABILITY)))
    out = json.loads(_invoke("fit", "rounds", str(csv), "--bootstrap", "200", "--json", "--store", store))
    assert load_registry()  # the evidence fit below pools the shipped registry
    ev = json.loads(_invoke("evidence", "fit", "--json", "--store", store))
    with Store(store) as st:
        assert prior_of(st, out["run_id"])["quantity"] == "k"
        assert prior_of(st, ev["run_id"]) == json.loads(json.dumps(ev["prior"]))
        assert st.get_run(ev["run_id"]).kind == "fit:evidence"
    summary = json.loads(_invoke("forecast", "--returns-from", str(ev["run_id"]), "--samples", "2000", "--json",
                                 "--store", store))
    assert summary["returns_prior"]["parameter"] == "k" and summary["returns_prior"]["run"] == ev["run_id"]


def test_rounds_of_reads_experiment_runs_and_refuses_others(tracked):
    store, run, other = tracked
    with Store(store) as st:
        found = rounds_of(st, run)
        assert found.experiment == "track" and found.column("capability") == CAPABILITY
        assert found.label == "run 1 (track 'mine')"
        header, rows = found.table()
        assert header == ["round", "capability", "compute_flop", "seconds", "schedule"]
        assert [float(r["capability"]) for r in rows] == CAPABILITY
        with pytest.raises(Exception, match="records no rounds"):
            rounds_of(st, other)
        with pytest.raises(Exception, match="at least 8 needed"):
            rounds_of(st, run, min_rounds=8)


def test_one_noise_rule_for_export_sweeps_and_evidence(tmp_path):
    """A run whose every round recorded both noise columns gives se (export, sweeps and
    ``evidence --add-run`` read the same ``noise``); a column some round lacks gives nothing."""
    with Store(tmp_path / "s.sqlite") as st:
        both = st.add_run("experiment:track", "both", config={}, seed=None)
        part = st.add_run("experiment:track", "part", config={}, seed=None)
        for i, c in enumerate(CAPABILITY):
            st.add_round(both, i, {"capability": c, "capability_se": 0.5, "n_items": 500})
            st.add_round(part, i, {"capability": c, **({"capability_se": 0.5} if i else {})})
        assert rounds_of(st, both).noise() == {"se": [0.5] * len(CAPABILITY)}
        assert rounds_of(st, both).table()[0][-1] == "se"
        assert rounds_of(st, part).noise() == {}
    out = json.loads(_invoke("evidence", "fit", "--method", "grid", "--json", "--add-run", str(both),
                             "--store", str(tmp_path / "s.sqlite")))
    assert f"run{both}:both" in {s["name"] for s in out["fits"]["pure_self"]["series"]}


@pytest.mark.parametrize("args, names", [
    (("fit", "rounds"), ["missing argument 'ROUNDS.csv'", "--run ID"]),
    (("fit", "rounds", "x.csv", "--run", "1"), ["both ROUNDS.csv and --run ID", "give one of them"]),
    (("fit", "rounds", "--run", "2"), ["run 2", "'forecast'", "records no rounds"]),
    (("fit", "rounds", "--run", "99"), ["run 99", "not in store"]),
    (("forecast", "--returns-from", "1"), ["--returns-from = 1", "'experiment:track'", "has none"]),
    (("forecast", "--returns-from", "99"), ["run 99", "not in store"]),
    (("forecast", "--returns-from", "no-such.json"), ["no-such.json", "file not found"]),
])
def test_bad_sources_get_one_line(tracked, args, names):
    store, _, _ = tracked
    line = _error(*args, "--store", store)
    for name in names:
        assert name in line, f"{name!r} not in: {line}"


def test_too_few_rounds_in_a_run_is_one_line(tracked):
    store, _, _ = tracked
    with Store(store) as st:
        short = st.add_run("experiment:track", "short", config={}, seed=None)
        for i, c in enumerate(CAPABILITY[:3]):
            st.add_round(short, i, {"capability": c})
    line = _error("fit", "rounds", "--run", str(short), "--store", store)
    assert f"run {short}" in line and "too few rounds: 3; at least 4" in line
