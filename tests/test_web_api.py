"""The playground's JSON API against a real `rsilab serve` process: validation by the engine,
400 with the message for bad requests, permalinks and TOML that reproduce the CLI's numbers,
bounded fuzzing (no traceback, no crash), and a clean stop on Ctrl-C."""
from __future__ import annotations

import json
import random
import tomllib

import pytest

from rsilab.errors import ConfigError
from rsilab.simulate.scenario import load_preset, parse_scenario
from web_server import VARIES, cli_simulate_json, start_server, stop_cleanly

PRESET = "criticality-continuous"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory)
    yield srv
    stop_cleanly(srv)


def body(n_samples=1000, seed=3, **params):
    sc = {"model": {"name": "criticality", "form": "continuous"},
          "params": {"c": {"dist": "loguniform", "low": 0.1, "high": 1.0}, "p": {"dist": "uniform", "low": 0.5, "high": 1.5}},
          "simulation": {"n_samples": n_samples, "horizon_years": 20, "seed": seed},
          "thresholds": {"capability_multiples": [10, 1000]}}
    sc["params"].update(params)
    return {"name": "web-test", "scenario": sc}



def test_out_of_range_gets_the_engines_message(server):
    bad = body(p={"dist": "uniform", "low": -20, "high": 1})
    status, reply = server.json("/api/validate", bad)
    with pytest.raises(ConfigError) as engine:
        parse_scenario(bad["scenario"], name="web-test")
    assert status == 400 and reply == {"error": str(engine.value), "field": "params.p.low"}
    status, runs_before = server.json("/api/runs")
    status, reply = server.json("/api/run", bad)
    assert status == 400 and reply["field"] == "params.p.low"
    assert server.json("/api/runs")[1] == runs_before  # nothing ran, nothing recorded


def test_page_run_is_recorded_and_equals_the_cli(server, tmp_path):
    status, data = server.json("/api/run", body(n_samples=1500, seed=11))
    assert status == 200
    run_id = data["run"]["id"]
    status, runs = server.json("/api/runs")
    assert runs[0]["id"] == run_id and runs[0]["kind"] == "simulate"
    # the TOML the page offers runs unchanged with the CLI and gives the same numbers
    link = data["permalink"]
    status, toml_bytes = server.request(f"/api/scenario.toml?v={link['v']}&s={link['s']}")
    assert status == 200
    path = tmp_path / "web-test.toml"
    path.write_bytes(toml_bytes)
    tomllib.loads(toml_bytes.decode())
    from_cli = cli_simulate_json(str(path), "--store", str(tmp_path / "cli.sqlite"))
    page = {k: v for k, v in data["summary"].items() if k not in VARIES}
    assert page == json.loads(json.dumps(from_cli))
    # results downloads: JSON is the stored summary, CSV one row per sample
    status, raw = server.request(f"/api/runs/{run_id}/results.json")
    assert status == 200 and json.loads(raw)["summary"] == data["summary"]
    status, raw = server.request(f"/api/runs/{run_id}/results.csv")
    lines = raw.decode().splitlines()
    assert status == 200 and len(lines) == 1 + 1500 and lines[0].startswith("c,p,regime_late,regime_early,status")
    status, page_html = server.request(f"/api/runs/{run_id}/report")
    assert status == 200 and b'id="rsilab-data"' in page_html


def test_preset_permalink_round_trip(server):
    status, desc = server.json(f"/api/presets/{PRESET}")
    assert status == 200
    link = desc["permalink"]
    status, back = server.json(f"/api/permalink?v={link['v']}&s={link['s']}")
    assert status == 200 and back["scenario"] == desc["scenario"] and back["name"] == PRESET
    assert load_preset(PRESET).to_dict()["params"]["p"] == desc["scenario"]["params"]["p"]
    for query, field in (("v=2&s=" + link["s"], "v"), ("v=1&s=not-a-link", "s"), ("v=1", "s")):
        status, reply = server.json(f"/api/permalink?{query}")
        assert status == 400 and reply["field"] == field, (query, reply)


def test_oversized_and_malformed_requests_get_400(server):
    status, raw = server.request("/api/validate", b"{" * 10, headers={"Content-Type": "application/json"})
    assert status == 400 and b"a JSON object" in raw
    # a declared length over the limit is refused before the body is read
    status, raw = raw_request(server, "POST", "/api/validate", {"Content-Length": "2000000"}, b"")
    assert status == 400 and b"at most 1,048,576 bytes" in raw
    # so is a streamed body without a length, once it passes the limit
    chunk = b"[" + b"1.0," * 100_000
    status, raw = raw_request(server, "POST", "/api/validate", {"Transfer-Encoding": "chunked"},
                              b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)), wait_for_body=False)
    assert status == 400 and b"at most 1,048,576 bytes" in raw
    status, reply = server.json("/api/run", body(n_samples=3_000_000))
    assert status == 400 and reply["field"] == "simulation.n_samples" and "rsilab simulate" in reply["error"]
    nested = ("[" * 100_000 + "]" * 100_000).encode()
    status, raw = server.request("/api/run", nested, headers={"Content-Type": "application/json"})
    assert status == 400


def raw_request(server, method, path, headers, payload, wait_for_body=True):
    """One request on a plain socket: the server may answer before reading the whole body."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.putrequest(method, path)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    try:
        conn.send(payload)
    except OSError:
        pass  # the server answered and closed while the body was still being sent
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def _mutations(rng: random.Random):
    """Bounded, seeded: each yields (path, raw body) from a valid scenario with one thing broken."""
    junk = [None, True, -1, 0, 1e308, -1e308, "x", "", [], {}, [1, 2], {"dist": "nope"}, 2**70, "\u0000", "1e999", 10**400, {"a": 1}]
    for _ in range(120):
        b = body(n_samples=200)
        sc = b["scenario"]
        where = rng.choice(["params", "simulation", "model", "thresholds", "top", "correlations", "name"])
        value = rng.choice(junk)
        if where == "params":
            spec = sc["params"][rng.choice(["c", "p"])]
            spec[rng.choice(["low", "high", "dist", "mode", "sd", "extra"])] = value
        elif where == "simulation":
            sc["simulation"][rng.choice(["n_samples", "seed", "horizon_years", "n_grid", "rtol", "bogus"])] = value
        elif where == "model":
            sc["model"][rng.choice(["name", "form", "other"])] = value
        elif where == "thresholds":
            sc["thresholds"]["capability_multiples"] = value
        elif where == "correlations":
            sc["correlations"] = [{"params": ["c", "p"], "rho": value}]
        elif where == "name":
            b["name"] = value
        else:
            b[rng.choice(["scenario", "extra"])] = value
        yield rng.choice(["/api/validate", "/api/validate", "/api/run"]), json.dumps(b).encode()
    for _ in range(40):
        yield rng.choice(["/api/validate", "/api/run"]), bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))


def test_fuzzing_never_crashes_or_leaks_a_traceback(server):
    rng = random.Random(12)  # fixed seed: the same 160 requests every run
    statuses = []
    for path, raw in _mutations(rng):
        status, reply = server.request(path, raw, headers={"Content-Type": "application/json"})
        statuses.append(status)
        assert status in (200, 400), (path, raw[:200], status, reply[:300])
        assert b"Traceback" not in reply and b'File "' not in reply
        if status == 400:
            msg = json.loads(reply)
            assert msg["error"] and "\n" not in msg["error"]
    for path in ("/api/runs/xyz/report", "/api/runs/999999/results.csv", "/api/presets/nope", "/nope", "/static/../x"):
        status, reply = server.request(path)
        assert status in (400, 404) and b"Traceback" not in reply, (path, status, reply[:200])
    status, _ = server.request("/api/run", method="GET")
    assert status == 405
    assert statuses.count(400) > 100  # the fuzzing did reach the validation, mostly
    assert server.request("/api/presets")[0] == 200  # still alive


def test_browser_tests_fail_rather_than_skip_under_ci(monkeypatch, tmp_path):
    from web_server import need_browser

    absent = str(tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        need_browser(absent)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        need_browser(absent)


def test_an_edited_preset_is_named_for_its_edit_in_the_runs_the_toml_and_the_cli(server, tmp_path):
    import subprocess
    import sys

    status, desc = server.json(f"/api/presets/{PRESET}")
    assert desc["label"] == PRESET and desc["file_name"] == PRESET   # unedited: the preset's own name
    scenario = desc["scenario"]
    scenario["params"]["p"] = {"dist": "uniform", "low": 0.9, "high": 1.4}
    scenario["simulation"].update(n_samples=800, seed=4)   # samples and seed are not edits of the scenario
    status, data = server.json("/api/run", {"name": PRESET, "scenario": scenario})
    assert status == 200 and data["run"]["name"] == f"{PRESET}, p edited"
    assert data["summary"]["scenario"] == f"{PRESET}, p edited"
    assert server.json("/api/runs")[1][0]["name"] == f"{PRESET}, p edited"
    link = data["permalink"]
    status, raw = server.request(f"/api/scenario.toml?v={link['v']}&s={link['s']}")
    assert status == 200 and tomllib.loads(raw.decode())["meta"]["name"] == f"{PRESET}, p edited"
    path = tmp_path / f"{PRESET}-p-edited.toml"   # the name the download offers (below)
    path.write_bytes(raw)
    store = tmp_path / "cli.sqlite"
    from_cli = cli_simulate_json(str(path), "--store", str(store))
    assert from_cli["scenario"] == f"{PRESET}, p edited"
    assert {k: v for k, v in data["summary"].items() if k not in VARIES} == json.loads(json.dumps(from_cli))
    listed = json.loads(subprocess.run([sys.executable, "-m", "rsilab.cli", "runs", "--json", "--store", str(store)],
                                       capture_output=True, text=True, check=True).stdout)
    assert listed[0]["name"] == f"{PRESET}, p edited"


def test_the_toml_download_is_named_after_the_edit(server):
    import urllib.request

    status, desc = server.json(f"/api/presets/{PRESET}")
    scenario = desc["scenario"]
    scenario["params"]["c"] = {"dist": "uniform", "low": 0.2, "high": 0.9}
    scenario["simulation"]["horizon_years"] = 7
    status, checked = server.json("/api/validate", {"name": PRESET, "scenario": scenario})
    assert checked["label"] == f"{PRESET}, c and horizon edited" and checked["file_name"] == f"{PRESET}-c-and-horizon-edited"
    link = checked["permalink"]
    req = urllib.request.Request(f"{server.url}/api/scenario.toml?v={link['v']}&s={link['s']}")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=60) as r:
        assert r.headers["Content-Disposition"] == f'attachment; filename="{PRESET}-c-and-horizon-edited.toml"'


def test_a_permalink_opened_again_shows_the_stored_run(server):
    request = body(n_samples=700, seed=21)
    before = len(server.json("/api/runs")[1])
    status, first = server.json("/api/run?reuse=1", request)      # never run: runs and records it
    assert status == 200 and first["reused"] is False
    status, again = server.json("/api/run?reuse=1", request)      # the same scenario: the stored run
    assert status == 200 and again["reused"] is True and again["run"]["id"] == first["run"]["id"]
    assert again["summary"] == first["summary"]
    assert len(server.json("/api/runs")[1]) == before + 1
    status, fresh = server.json("/api/run", request)              # Run on the page always runs
    assert fresh["run"]["id"] == first["run"]["id"] + 1 and fresh["reused"] is False
    other = body(n_samples=700, seed=22)                          # another seed is another run
    status, third = server.json("/api/run?reuse=1", other)
    assert third["reused"] is False and third["run"]["id"] == fresh["run"]["id"] + 1


def test_edited_names_say_what_changed():
    from dataclasses import replace

    from rsilab.web.scenarios import edited_name, file_name

    sc = load_preset("default")
    assert edited_name(sc) == "default" and edited_name(sc.with_simulation(n_samples=10, seed=9)) == "default"
    one = sc.with_prior("r", {"dist": "uniform", "low": 0.5, "high": 2.0}, origin="x")
    assert edited_name(one) == "default, r edited" and file_name(one) == "default-r-edited"
    two = one.with_simulation(horizon_years=7)
    assert edited_name(two) == "default, r and horizon edited"
    many = two.with_prior("c", 0.5, origin="x").with_prior("beta", 0.3, origin="x")
    assert edited_name(many) == "default, c, r and 2 more edited"
    assert edited_name(replace(many, name="mine")) == "mine"   # not a preset: its own name


def test_a_scenario_file_may_name_its_scenario(tmp_path):
    from rsilab.simulate.scenario import load_scenario

    path = tmp_path / "file-name.toml"
    path.write_text('[meta]\nname = "default, r edited"\n[model]\nname = "criticality"\nform = "continuous"\n')
    assert load_scenario(path).name == "default, r edited"
    path.write_text('[model]\nname = "criticality"\nform = "continuous"\n')
    assert load_scenario(path).name == "file-name"
    for bad in ('""', "3", '"' + "x" * 81 + '"'):
        path.write_text(f'[meta]\nname = {bad}\n[model]\nname = "criticality"\nform = "continuous"\n')
        with pytest.raises(ConfigError, match="meta.name"):
            load_scenario(path)


def test_an_outcome_preset_runs_and_its_results_are_the_clis(server, tmp_path):
    # ai2027-takeoff: no paths, no regimes; the page gets its declared metrics, the CDF of each
    # milestone and the multiplier's bands, and the CSV one row per sample with every metric
    status, desc = server.json("/api/presets/ai2027-takeoff")
    assert status == 200 and {p["name"] for p in desc["parameters"]} >= {"amr_sar_years", "siar_asi_jumps"}
    scenario = dict(desc["scenario"], simulation=dict(desc["scenario"]["simulation"], n_samples=3000))
    status, data = server.json("/api/run", {"name": "ai2027-takeoff", "scenario": scenario})
    assert status == 200, data
    assert data["kind"] == "outcome"
    assert [c["name"] for c in data["charts"]["metric_cdfs"]] == ["SAR", "SIAR", "ASI"]
    assert set(data["charts"]["series"]["by_name"]) == {"progress_multiplier"}
    path = tmp_path / "ai.toml"
    link = data["permalink"]
    path.write_bytes(server.request(f"/api/scenario.toml?v={link['v']}&s={link['s']}")[1])
    from_cli = cli_simulate_json(str(path), "--store", str(tmp_path / "cli.sqlite"))
    page = {k: v for k, v in data["summary"].items() if k not in VARIES}
    page.pop("scenario")
    from_cli.pop("scenario")
    assert page == from_cli
    status, text = server.request(f"/api/runs/{data['run']['id']}/results.csv")
    rows = text.decode().splitlines()
    assert len(rows) == 1 + 3000
    assert {"SAR", "SIAR", "ASI", "amr_sar_years"} <= set(rows[0].split(","))
    status, runs = server.json("/api/runs")
    assert runs[0]["headline"].startswith("median years_after_sc: SAR")


def test_an_ftm_preset_and_an_edited_prior_run_in_the_playground(server, tmp_path):
    # the compute-centric model: its metrics under their own names, calendar years on the charts,
    # the series in the model's order; a prior edited on the page changes the run as the CLI's
    status, desc = server.json("/api/presets/ftm-best-guess")
    assert status == 200 and {p["name"] for p in desc["parameters"]} >= {"software_returns", "flop_gap_training"}
    status, data = server.json("/api/run", {"name": "ftm-best-guess", "scenario": desc["scenario"]})
    assert status == 200, data
    assert data["kind"] == "outcome" and data["charts"]["calendar"] is True
    assert data["charts"]["series"]["t"][0] == 2022.0
    assert data["charts"]["series"]["order"][:2] == ["frac_tasks_automated_goods", "frac_tasks_automated_rnd"]
    # the website's best guess, as the peer's code gives it (tests/reference/ftm_presets.json)
    assert data["summary"]["timeline_metrics"]["automation_gns_100%"]["year"]["median"] == pytest.approx(2040.0, abs=0.1)
    scenario = dict(desc["scenario"], params=dict(desc["scenario"]["params"],
                                                  software_returns={"dist": "uniform", "low": 1.0, "high": 3.0}),
                    simulation=dict(desc["scenario"]["simulation"], n_samples=40))
    status, edited = server.json("/api/run", {"name": "ftm-best-guess", "scenario": scenario})
    assert status == 200, edited
    path = tmp_path / "ftm.toml"
    link = edited["permalink"]
    path.write_bytes(server.request(f"/api/scenario.toml?v={link['v']}&s={link['s']}")[1])
    from_cli = cli_simulate_json(str(path), "--store", str(tmp_path / "cli.sqlite"))
    page = {k: v for k, v in edited["summary"].items() if k not in VARIES}
    page.pop("scenario")
    from_cli.pop("scenario")
    assert page == from_cli
