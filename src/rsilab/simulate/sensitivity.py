"""Global sensitivity: first- and total-order Sobol indices (Saltelli design, SALib's estimator).

The design is drawn on the unit hypercube and mapped through each parameter's own prior
(inverse CDF), so every prior shape is respected. Sobol indices assume independent inputs:
correlations in the scenario are not applied here, and the result says so.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from rsilab.errors import ConfigError
from rsilab.simulate.montecarlo import Ensemble, run_scenario
from rsilab.simulate.regimes import Regime
from rsilab.simulate.scenario import Scenario

OUTPUTS = ("p_explosion", "p_combustion", "p_fizzle", "p_ceiling", "log_growth")


def outcome(ensemble: Ensemble, output: str) -> np.ndarray:
    """Per-sample values of ``output``: regime indicators, log10 growth, or time to a multiple
    (censored at twice the horizon where not reached, so it stays finite)."""
    if output.startswith("p_") and output[2:].upper() in Regime.__members__:
        return (ensemble.regime == Regime[output[2:].upper()]).astype(float)
    if output == "log_growth":
        cap = np.log(ensemble.scenario.simulation["cap_multiple"])
        return np.minimum(ensemble.ln_growth, cap) / np.log(10.0)
    if output.startswith("t_"):
        try:
            m = float(output[2:])
        except ValueError:
            m = None
        if m in ensemble.scenario.capability_multiples:
            times = ensemble.threshold_times[ensemble.scenario.capability_multiples.index(m)]
            return np.where(np.isfinite(times), times, 2.0 * ensemble.scenario.horizon_years)
        allowed = ", ".join(f"t_{x:g}" for x in ensemble.scenario.capability_multiples)
        raise ConfigError("--output", output, f"one of {', '.join(OUTPUTS)}, {allowed}")
    raise ConfigError("--output", output, f"one of {', '.join(OUTPUTS)} or t_<multiple>")


def sobol_indices(scenario: Scenario, *, output: str = "p_explosion", base_samples: int = 1024) -> dict[str, Any]:
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    if base_samples < 16 or base_samples & (base_samples - 1):
        raise ConfigError("--base-samples", base_samples, "a power of two, at least 16 (Sobol sequences need it)")
    free = [k for k, pr in scenario.priors.items() if not pr.is_fixed]
    if not free:
        raise ConfigError("params", "all fixed", "at least one parameter with a non-fixed prior")
    t0 = time.perf_counter()
    problem = {"num_vars": len(free), "names": free, "bounds": [[0.0, 1.0]] * len(free)}
    unit = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=scenario.seed)
    unit = np.clip(unit, 1e-12, 1 - 1e-12)
    n = unit.shape[0]
    params = {}
    for name, prior in scenario.priors.items():
        params[name] = prior.ppf(unit[:, free.index(name)]) if name in free else np.full(n, prior.support[0])
    ensemble = run_scenario(scenario.with_simulation(n_samples=n), params=params)
    y = outcome(ensemble, output)
    if np.ptp(y) == 0:
        raise ConfigError("--output", output, f"an outcome that varies across samples (it is {y[0]:g} everywhere)")
    res = sobol.analyze(problem, y, calc_second_order=False, seed=scenario.seed)
    rows = [{"parameter": name, "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
             "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])} for i, name in enumerate(free)]
    rows.sort(key=lambda r: -r["ST"])
    return {"scenario": scenario.name, "model": scenario.model.name, "output": output, "base_samples": base_samples,
            "n_evaluations": n, "seed": scenario.seed, "indices": rows, "mean_output": float(np.mean(y)),
            "correlations_ignored": bool(scenario.correlations), "seconds": time.perf_counter() - t0}
