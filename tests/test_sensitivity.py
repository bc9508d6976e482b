"""Sobol indices on outcomes whose dependence on the parameters is known exactly."""
import pytest

from rsilab.simulate.scenario import parse_scenario
from rsilab.simulate.sensitivity import sobol_indices


def test_exponential_growth_depends_on_its_rate_alone():
    # dI/dt = c I (p = 1): log10 growth = c T / ln 10, a function of c only, whatever I0 is
    sc = parse_scenario({"model": {"name": "criticality"},
                         "params": {"c": {"dist": "uniform", "low": 0.1, "high": 1.0},
                                    "I0": {"dist": "loguniform", "low": 0.5, "high": 2.0}},
                         "simulation": {"horizon_years": 5.0, "seed": 3, "n_grid": 11, "cap_multiple": 1e300}})
    result = sobol_indices(sc, output="log_growth", base_samples=512)
    idx = {row["parameter"]: row for row in result["indices"]}
    assert idx["c"]["S1"] == pytest.approx(1.0, abs=0.05) and idx["c"]["ST"] == pytest.approx(1.0, abs=0.05)
    assert abs(idx["I0"]["S1"]) < 0.02 and idx["I0"]["ST"] < 0.02
    assert result["indices"][0]["parameter"] == "c"  # ranked by total order


def test_regime_depends_on_the_exponent_and_bad_requests_are_clear():
    from rsilab.errors import ConfigError
    from rsilab.simulate.scenario import load_preset

    sc = load_preset("criticality-continuous")
    result = sobol_indices(sc, output="p_explosion", base_samples=256)
    assert result["indices"][0]["parameter"] == "p" and result["indices"][0]["ST"] > 0.9
    with pytest.raises(ConfigError, match="a power of two"):
        sobol_indices(sc, base_samples=1000)
    with pytest.raises(ConfigError, match="--output"):
        sobol_indices(sc, output="t_7", base_samples=64)


def test_cli_ranks_parameters_and_reads_the_requested_phase(tmp_path):
    import json

    from click.testing import CliRunner

    from rsilab.cli import cli

    args = ["sensitivity", "--preset", "default", "--output", "p_explosion", "--base-samples", "128", "--json",
            "--store", str(tmp_path / "s.sqlite")]
    late = CliRunner().invoke(cli, args)
    assert late.exit_code == 2 and "0 everywhere" in late.output  # every default path fizzles late
    early = CliRunner().invoke(cli, args + ["--phase", "early"])
    assert early.exit_code == 0, early.output
    assert json.loads(early.stdout)["indices"][0]["parameter"] == "r"
