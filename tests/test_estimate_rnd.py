"""Returns to R&D (Jones law of motion, r = lambda / beta) on Erdil, Besiroglu & Ho's data.

Published figures are read from ../shared/data/PROVENANCE.md: the growth ratio r = g_A / g_I per
domain (golden, to 1e-4) and the posterior percentiles of r, which the project's posterior is
compared with (it differs by design; see test_posterior_against_the_published_one).
"""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from published import matching_digits, rnd_growth_ratio, rnd_posterior
from rsilab.estimate.io import load_rnd_endpoints, load_rnd_inputs
from rsilab.estimate.rnd_returns import RnDReturnsFit, bayesian_series


def _fit(shared_data, n_draws=2000, seed=0):
    return RnDReturnsFit(n_draws=n_draws, seed=seed).fit(load_rnd_inputs(shared_data / "software_rnd_inputs.csv"),
                                                         load_rnd_endpoints(shared_data / "software_rnd_endpoints.csv"))


def _by_hand(shared_data, domain):
    """The published definition from the CSV rows: T = t1 - t0 years, the first T inputs."""
    with open(shared_data / "software_rnd_inputs.csv", newline="") as fh:
        inputs = [float(r["research_input"]) for r in csv.DictReader(fh) if r["domain"] == domain]
    with open(shared_data / "software_rnd_endpoints.csv", newline="") as fh:
        end = next(r for r in csv.DictReader(fh) if r["domain"] == domain)
    T = int(float(end["t1"]) - float(end["t0"]))
    g_a = math.log(float(end["efficiency_t1"]) / float(end["efficiency_t0"])) / T
    g_i = math.log(inputs[T - 1] / inputs[0]) / (T - 1)
    return g_a / g_i


def test_transcription(shared_data):
    inputs = load_rnd_inputs(shared_data / "software_rnd_inputs.csv")
    ends = load_rnd_endpoints(shared_data / "software_rnd_endpoints.csv")
    assert list(ends) == ["CV + DL", "SAT"]
    assert len(inputs["CV + DL"][0]) == 10 and len(inputs["SAT"][0]) == 22
    assert ends["SAT"] == (0.0, 21.0, 1.0, pytest.approx(1448.1546878700494))


@pytest.mark.parametrize("domain", ["CV + DL", "SAT"])
def test_growth_ratio_reproduces_the_published_value(shared_data, domain):
    # Tolerance 1e-4 absolute: the published figures are printed to 4 decimals (rounding alone
    # is up to 5e-5), and the definition is closed form, so nothing else may differ.
    published = rnd_growth_ratio()[domain]
    fit = _fit(shared_data)
    found = fit.domains_[domain]["r_growth_ratio"]
    msg = (f"{domain}: found {found:.6f}, published {published}, "
           f"matching digits {matching_digits(found, published):.1f}")
    assert found == pytest.approx(float(published), abs=1e-4), msg
    assert found == pytest.approx(_by_hand(shared_data, domain), rel=1e-12), msg
    assert fit.guess(load_rnd_inputs(shared_data / "software_rnd_inputs.csv"),
                     load_rnd_endpoints(shared_data / "software_rnd_endpoints.csv"))[domain] == found


def test_only_the_windows_first_T_inputs_are_used(shared_data):
    fit = _fit(shared_data, n_draws=500)
    # SAT's input series has 22 values (years 0-21) for a 21-year window: year 21 is not used
    assert fit.domains_["SAT"]["input_years_used"] == [0.0, 20.0]
    assert fit.domains_["CV + DL"]["input_years_used"] == [0.0, 9.0]


def test_posterior_against_the_published_one(shared_data):
    """The project's posterior differs from the published one by design, and says so.

    Published (Erdil, Besiroglu & Ho): A follows a stochastic differential equation (a Feller
    diffusion) observed once over the window, with half-Cauchy priors on lambda, beta, the noise
    scale and the growth term, sampled by MCMC. Here: A's growth over the window is taken as
    exact and the only uncertainty is the research-input trend (flat prior, Student-t slope).
    What follows from that, and is asserted (structure, not a tuned tolerance):
    - both posteriors are centred on the same data: our median lies inside the published 90%
      interval;
    - ours carries less uncertainty: our 90% interval lies inside the published one.
    The figures are printed side by side whatever the outcome.
    """
    fit = _fit(shared_data, n_draws=20_000)
    lines = []
    for dom, pub in rnd_posterior().items():
        p = fit.domains_[dom]["r_posterior_percentiles"]
        lines.append(f"  {dom:8s} found {p['50']:.3f} ({p['5']:.3f}-{p['95']:.3f})  "
                     f"published {pub['50']} ({pub['5']}-{pub['95']})")
    msg = "posterior of r, median (5th-95th percentile):\n" + "\n".join(lines)
    print(msg)
    for dom, pub in rnd_posterior().items():
        p = fit.domains_[dom]["r_posterior_percentiles"]
        assert float(pub["5"]) < p["50"] < float(pub["95"]), msg
        assert float(pub["5"]) < p["5"] and p["95"] < float(pub["95"]), msg


def test_posterior_is_tight_when_inputs_grow_exactly_exponentially():
    years = np.arange(12.0)
    inputs = 100 * np.exp(0.3 * years) * np.exp(np.random.default_rng(0).normal(0, 1e-6, 12))
    fit = RnDReturnsFit(n_draws=5000).fit({"x": (years, inputs)}, {"x": (0.0, 11.0, 1.0, math.exp(0.45 * 11))})
    p = fit.domains_["x"]["r_posterior_percentiles"]
    assert fit.domains_["x"]["r_growth_ratio"] == pytest.approx(1.5, rel=1e-4)
    assert p["5"] == pytest.approx(1.5, rel=1e-3) and p["95"] == pytest.approx(1.5, rel=1e-3)


def test_series_regression_recovers_r():
    """Data from the log-linear discrete law d ln A_t = c - beta ln A_t + lambda ln I_t + noise."""
    rng = np.random.default_rng(2)
    beta, lam, c = 0.05, 0.06, -0.2
    years = np.arange(60.0)
    inputs = 50 * np.exp(0.1 * years + rng.normal(0, 0.3, 60))   # wiggles identify lambda apart from the trend
    lnA = [0.0]
    for t in range(59):
        lnA.append(lnA[-1] + c - beta * lnA[-1] + lam * np.log(inputs[t]) + rng.normal(0, 1e-3))
    post = bayesian_series(years, np.exp(lnA), years, inputs, n_draws=4000, rng=1)
    assert post["r_point"] == pytest.approx(lam / beta, rel=0.05)
    assert np.percentile(post["draws"], 5) < lam / beta < np.percentile(post["draws"], 95)


def test_prior_is_first_domain_unless_one_is_named(shared_data):
    fit = _fit(shared_data, n_draws=500)
    prior = fit.to_prior()
    assert prior["quantity"] == "r" and "CV + DL" in prior["source"]
    assert prior["spec"]["dist"] == "empirical" and len(prior["spec"]["samples"]) == 500
    sat = fit.to_prior("SAT")
    assert sat["quantity"] == "r" and sorted(sat["spec"]["samples"]) == sorted(fit.estimates_["r[SAT]"].draws.tolist())
