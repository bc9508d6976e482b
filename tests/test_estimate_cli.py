"""``rsilab fit ...``: tables, --json contracts, --plot, and bad input without tracebacks."""
from __future__ import annotations

import json

import numpy as np

import pytest
from click.testing import CliRunner

from rsilab.cli import cli
from rsilab.estimate.bridge import load_prior


def _run(*args):
    return CliRunner().invoke(cli, ["fit", *map(str, args)])


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


ROUNDS = "round,capability,compute_flop,seconds\n" + "".join(
    f"{i},{sum(1.2 ** j for j in range(i)):.6f},1e15,10\n" for i in range(8))


def test_rounds_json_contract_and_prior_file(tmp_path):
    r = _run("rounds", _write(tmp_path, "r.csv", ROUNDS), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    for key in ("k", "k_interval", "p_k_gt_1", "regime", "prior", "k_per_compute", "by_start", "saturation",
                "noise", "noise_source", "method", "headline_from_round"):
        assert key in out
    # an exact geometric series (levels printed to 6 decimals): k within the print's resolution
    assert out["k"] == pytest.approx(1.2, rel=1e-3) and out["regime"] == "explosion" and out["method"] == "levels"
    assert out["noise"] == "estimated" and out["by_start"]["from round 1"]["headline"] is False
    saved = _write(tmp_path, "fit.json", r.output)
    assert load_prior(saved)["quantity"] == "k"


def test_rounds_table_plot_and_the_ratio_method(tmp_path):
    png = tmp_path / "r.png"
    r = _run("rounds", _write(tmp_path, "r.csv", ROUNDS), "--plot", png)
    assert r.exit_code == 0, r.output
    assert ": explosion (the 90% interval lies above 1 + tol)" in r.output and png.stat().st_size > 1000
    assert "from round 1 (beside the headline)" in r.output and "noise: estimated" in r.output
    r = _run("rounds", _write(tmp_path, "r.csv", ROUNDS), "--method", "ratio", "--bootstrap", "200")
    assert r.exit_code == 0 and "for comparison only" in r.output, r.output


def test_rounds_with_se_or_n_items_columns(tmp_path):
    rows = "".join(f"{i},{20 + 10 * (1 - 0.7 ** i):.4f},500\n" for i in range(6))
    r = _run("rounds", _write(tmp_path, "n.csv", "round,capability,n_items\n" + rows), "--transform", "logit",
             "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["noise"] == "binomial" and out["noise_source"].startswith("the n_items column")
    rows = "".join(f"{i},{20 + 10 * (1 - 0.7 ** i):.4f},0.5\n" for i in range(6))
    r = _run("rounds", _write(tmp_path, "s.csv", "round,capability,se\n" + rows), "--json")
    assert json.loads(r.output)["noise"] == "known"
    # a 0 % value is data with n_items (binomial), one clear line without
    rows = "".join(f"{i},{v},30\n" for i, v in enumerate([0.0, 3.3, 10.0, 13.3, 20.0]))
    r = _run("rounds", _write(tmp_path, "z.csv", "round,capability,n_items\n" + rows), "--transform", "logit")
    assert r.exit_code == 0, r.output
    r = _run("rounds", _write(tmp_path, "z2.csv", "round,capability\n" + "".join(
        f"{i},{v}\n" for i, v in enumerate([0.0, 3.3, 10.0, 13.3, 20.0]))), "--transform", "logit")
    assert r.exit_code == 2 and "row 1, column 'capability'" in r.output and "give an n_items column" in r.output


def test_rnd_returns_json(shared_data, tmp_path):
    r = _run("rnd-returns", shared_data / "software_rnd_inputs.csv", shared_data / "software_rnd_endpoints.csv",
             "--json", "--draws", "500", "--plot", tmp_path / "rnd.png")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out["domains"]) == {"CV + DL", "SAT"}
    assert "r_growth_ratio" in out["domains"]["SAT"] and out["prior"]["quantity"] == "r"
    assert out["prior_domain"] == "CV + DL"
    assert (tmp_path / "rnd.png").exists()


def test_scaling_bnsl_and_chinchilla(shared_data, tmp_path):
    r = _run("scaling", shared_data / "bnsl_4digit_addition.csv", "--form", "bnsl", "--bootstrap", "20", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["extrapolation"]["rmsle"] < 0.05 and "c0" in out["parameters"]
    r = _run("scaling", shared_data / "chinchilla_epoch_svg_extracted.csv", "--drop-highest-loss", "5",
             "--bootstrap", "0", "--compute", "1e24", "--plot", tmp_path / "c.png")
    assert r.exit_code == 0, r.output
    assert "alpha" in r.output and "tokens per parameter" in r.output and (tmp_path / "c.png").exists()


def test_scaling_column_options(tmp_path):
    text = "size,ce\n" + "".join(f"{x},{1 + 3 * x ** -0.4:.8f}\n" for x in (10, 20, 40, 80, 160, 320, 640))
    r = _run("scaling", _write(tmp_path, "s.csv", text), "--form", "power", "--x-col", "size", "--loss-col", "ce",
             "--bootstrap", "0", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["parameters"]["alpha"]["value"] == pytest.approx(0.4, rel=1e-3)


@pytest.mark.parametrize("name,text,args,words", [
    ("m.csv", "round,cap\n0,1\n", ["rounds"], "missing column 'capability'"),
    ("d.csv", "round,capability\n0,1\n1,2\n1,3\n2,4\n3,5\n", ["rounds"], "row 3, column 'round': round 1 appears twice"),
    ("n.csv", "round,capability\n0,1\n1,nan\n", ["rounds"], "row 2, column 'capability'"),
    ("f.csv", "round,capability\n0,1\n1,2\n2,3\n", ["rounds"], "too few rounds"),
    ("z.csv", "round,capability\n0,3\n1,3\n2,3\n3,2\n4,2\n", ["rounds"], "no round gained"),
    ("p.csv", "x,loss\n1,2\n2,-1\n3,1\n4,1\n", ["scaling", "--form", "power"], "row 2, column 'loss': -1 must be > 0"),
    ("c.csv", "N,loss\n1,2\n", ["scaling"], "missing column for training tokens"),
    ("t.csv", "x,loss\n1,2\n2,1.5\n", ["scaling", "--form", "power"], "cannot fit: too few points"),
    ("q.csv", "x,loss\n1,abc\n", ["scaling", "--form", "power"], "row 1, column 'loss': 'abc' is not a number"),
])
def test_bad_input_is_one_clear_line(tmp_path, name, text, args, words):
    path = _write(tmp_path, name, text)
    r = _run(*args[:1], path, *args[1:])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert words in r.output, r.output
    if "row" in words or "column" in words:
        assert str(path) in r.output


def test_rnd_bad_endpoints(tmp_path, shared_data):
    ends = _write(tmp_path, "e.csv", "domain,t0,t1,efficiency_t0,efficiency_t1\nSAT,0,21,0,10\n")
    r = _run("rnd-returns", shared_data / "software_rnd_inputs.csv", ends)
    assert r.exit_code == 2 and "row 1, column 'efficiency_t0'" in r.output and "Traceback" not in r.output


def test_bootstrap_count_is_honoured_beyond_1000(tmp_path):
    """--bootstrap has no hidden cap: 1,001 BNSL refits are 1,001 refits, each counted."""
    x = np.geomspace(10, 1e4, 12)
    path = tmp_path / "law.csv"
    path.write_text("x,loss\n" + "".join(f"{a:.17g},{0.3 + 4 * a ** -0.4 * (1 + 0.01 * np.sin(a)):.17g}\n" for a in x))
    r = _run("scaling", path, "--form", "bnsl", "--breaks", "0", "--bootstrap", "1001", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["diagnostics"]["bootstrap"] == 1001
    assert out["parameters"]["c0"]["n_draws"] == 1001 - out["diagnostics"]["bootstrap_failed"]
