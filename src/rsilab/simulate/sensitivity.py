"""Global sensitivity of a scenario's outcome: which method runs, and its result as a dict.

Two methods. Sobol indices (first and total order; Saltelli design, SALib's estimator): the
design is drawn on the unit hypercube and mapped through each parameter's own prior (inverse
CDF), so every prior shape is respected, but Sobol indices assume independent inputs, so
correlations are not applied (the result says so). Shapley effects (``rsilab.simulate.shapley``)
hold for correlated priors. ``method="auto"`` runs Shapley effects when the scenario has
``[[correlations]]`` and Sobol indices otherwise; the result names the method it ran. Every
simulation goes through ``run_scenario`` with the design's parameter arrays, as few runs as the
memory bound MAX_RUN_SAMPLES allows (one for the default sizes).

An outcome model (no regimes, no capability path) is analysed through its declared metrics:
``--output NAME`` or ``GROUP.NAME`` (e.g. ``ASI`` or ``milestones.ASI``); a by-horizon metric
not reached within the horizon is censored at twice the horizon, as ``t_<multiple>`` is.
"""
from __future__ import annotations

import numbers
import time
from typing import Any, Callable

import numpy as np

from rsilab.errors import ConfigError
from rsilab.simulate.montecarlo import Ensemble, run_scenario
from rsilab.simulate.regimes import Regime
from rsilab.simulate.scenario import Scenario

OUTPUTS = ("p_explosion", "p_combustion", "p_fizzle", "p_ceiling", "log_growth")
METHODS = ("auto", "sobol", "shapley")
# samples per ensemble run: an Ensemble keeps one to two hundred bytes per sample, so however
# many simulations a design needs, a run holds a few hundred MB at most
MAX_RUN_SAMPLES = 1 << 20
Progress = Callable[[int, int], None]


def _metric(scenario: Scenario, output: str):
    """The declared metric an outcome model's ``output`` names (``NAME`` or ``GROUP.NAME``)."""
    metrics = scenario.model.metrics
    group, _, name = output.rpartition(".")
    found = [m for m in metrics if m.name == name and group in ("", m.group)]
    if not found:
        allowed = ", ".join(f"{m.group}.{m.name}" for m in metrics)
        raise ConfigError("--output", output, f"a metric of model {scenario.model.name!r}: {allowed} (or its name alone)")
    return found[0]


def check_output(scenario: Scenario, output: str) -> None:
    """A ConfigError unless ``output`` names an outcome of ``scenario`` (see ``outcome``)."""
    if scenario.model.kind == "outcome":
        _metric(scenario, output)
        return
    if output.startswith("p_") and output[2:].upper() in Regime.__members__:
        return
    if output == "log_growth":
        return
    if output.startswith("t_"):
        try:
            m = float(output[2:])
        except ValueError:
            m = None
        if m in scenario.capability_multiples:
            return
        allowed = ", ".join(f"t_{x:g}" for x in scenario.capability_multiples)
        raise ConfigError("--output", output, f"one of {', '.join(OUTPUTS)}, {allowed}")
    raise ConfigError("--output", output, f"one of {', '.join(OUTPUTS)} or t_<multiple>")


def outcome(ensemble: Ensemble, output: str) -> np.ndarray:
    """Per-sample values of ``output``: regime indicators, log10 growth, or time to a multiple
    (censored at twice the horizon where not reached, so it stays finite); for an outcome
    model, one of its declared metrics (a by-horizon one censored the same way)."""
    check_output(ensemble.scenario, output)
    if ensemble.scenario.model.kind == "outcome":
        m = _metric(ensemble.scenario, output)
        values = ensemble.metrics[m.name]
        return np.where(np.isnan(values), 2.0 * ensemble.scenario.horizon_years, values) if m.by_horizon else values
    if output.startswith("p_"):
        return (ensemble.regime == Regime[output[2:].upper()]).astype(float)
    if output == "log_growth":
        cap = np.log(ensemble.scenario.simulation["cap_multiple"])
        return np.minimum(ensemble.ln_growth, cap) / np.log(10.0)
    times = ensemble.threshold_times[ensemble.scenario.capability_multiples.index(float(output[2:]))]
    return np.where(np.isfinite(times), times, 2.0 * ensemble.scenario.horizon_years)


def sensitivity_indices(scenario: Scenario, *, output: str = "p_explosion", base_samples: int = 1024,
                        method: str = "auto", progress: Progress | None = None) -> dict[str, Any]:
    """The indices ``method`` asks for (auto: Shapley effects when the scenario has correlations,
    Sobol indices otherwise), as the dict ``rsilab sensitivity --json`` prints."""
    chosen = check_request(scenario, output, base_samples, method)  # before any simulation
    run = shapley_indices if chosen == "shapley" else sobol_indices
    result = run(scenario, output=output, base_samples=base_samples, progress=progress)
    return {"method_requested": method, "correlated_priors": bool(scenario.correlations), **result}


def check_request(scenario: Scenario, output: str, base_samples: int, method: str = "auto") -> str:
    """The method ``sensitivity_indices`` will run, once the request is known to be one it can
    answer (a ConfigError otherwise): callers check before they start work that keeps files."""
    if method not in METHODS:
        raise ConfigError("--method", method, f"one of {', '.join(METHODS)}")
    check_output(scenario, output)
    chosen = ("shapley" if scenario.correlations else "sobol") if method == "auto" else method
    _check_base_samples(chosen, base_samples)
    _free(scenario)
    return chosen


def _check_base_samples(method: str, base_samples: Any) -> None:
    if method == "sobol" and (not _whole(base_samples) or base_samples < 16 or base_samples & (base_samples - 1)):
        raise ConfigError("--base-samples", base_samples, "a power of two, at least 16 (Sobol sequences need it)")
    if method == "shapley" and (not _whole(base_samples) or base_samples < 16):
        raise ConfigError("--base-samples", base_samples, "a whole number, at least 16")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _free(scenario: Scenario) -> list[str]:
    free = [k for k, pr in scenario.priors.items() if not pr.is_fixed]
    if not free:
        raise ConfigError("params", "all fixed", "at least one parameter with a non-fixed prior")
    return free


def _simulate(scenario: Scenario, free_params: dict[str, np.ndarray], output: str,
              progress: Progress | None) -> tuple[np.ndarray, int]:
    """``output`` per sample for the given free-parameter arrays (fixed ones at their value),
    in runs of at most MAX_RUN_SAMPLES; also the number of runs."""
    n = len(next(iter(free_params.values())))
    starts = range(0, n, MAX_RUN_SAMPLES)
    y = np.empty(n)
    for s in starts:
        m = min(MAX_RUN_SAMPLES, n - s)
        params = {name: free_params[name][s:s + m] if name in free_params else np.full(m, prior.support[0])
                  for name, prior in scenario.priors.items()}
        batch_progress = None if progress is None else (lambda done, _total, s=s: progress(s + done, n))
        ensemble = run_scenario(scenario.with_simulation(n_samples=m), params=params, progress=batch_progress)
        y[s:s + m] = outcome(ensemble, output)
    if not np.isfinite(y).all():
        raise ConfigError("--output", output, f"an outcome that is finite in every sample "
                                              f"({int(np.sum(~np.isfinite(y)))} of {n} are not)")
    return y, len(starts)


def shapley_indices(scenario: Scenario, *, output: str = "p_explosion", base_samples: int = 1024,
                    progress: Progress | None = None, estimator: str = "auto") -> dict[str, Any]:
    """Shapley effects (with Kucherenko's first-order and total indices where the exact
    estimator gives them) of ``output``; ``base_samples``: outer samples per subset of
    parameters (exact estimator) or orderings (random-permutation estimator); ``estimator``:
    auto (exact up to EXACT_UP_TO = 8 free parameters), exact or random-permutation."""
    from rsilab.simulate.priors import as_rng
    from rsilab.simulate.shapley import N_INNER, conf95, estimate_shapley

    _check_base_samples("shapley", base_samples)
    free = _free(scenario)
    t0 = time.perf_counter()
    runs = []

    def evaluate(params: dict[str, np.ndarray]) -> np.ndarray:
        y, n_runs = _simulate(scenario, params, output, progress)
        if np.ptp(y) == 0:
            raise ConfigError("--output", output, f"an outcome that varies across samples (it is {y[0]:g} everywhere)")
        runs.append(n_runs)
        return y

    est = estimate_shapley(evaluate, {k: scenario.priors[k] for k in free}, scenario.correlations,
                           n_outer=base_samples, rng=as_rng(scenario.seed), estimator=estimator)

    def column(values: np.ndarray | None, i: int) -> float | None:
        return None if values is None else float(values[i])

    rows = []
    for i, name in enumerate(est.names):
        rows.append({"parameter": name, "shapley": float(est.shapley[i]), "shapley_se": float(est.shapley_se[i]),
                     "shapley_conf": float(conf95(est.shapley_se[i])),
                     "S1": column(est.first_order, i), "S1_conf": column(conf95(est.first_order_se), i),
                     "ST": column(est.total, i), "ST_conf": column(conf95(est.total_se), i)})
    rows.sort(key=lambda r: -r["shapley"])
    return {"scenario": scenario.name, "model": scenario.model.name, "output": output, "method": "shapley",
            "estimator": est.estimator, "base_samples": base_samples, "inner_samples": N_INNER,
            "cost_estimates": est.n_cost_estimates, "n_evaluations": est.n_evaluations, "ensemble_runs": sum(runs),
            "seed": scenario.seed, "indices": rows, "shapley_sum": float(est.shapley.sum()),
            "mean_output": est.mean, "variance_output": est.variance,
            "correlations": [{"params": [a, b], "rho": r} for (a, b), r in scenario.correlations.items()],
            "correlations_ignored": False, "seconds": time.perf_counter() - t0}


def sobol_indices(scenario: Scenario, *, output: str = "p_explosion", base_samples: int = 1024,
                  progress: Progress | None = None) -> dict[str, Any]:
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample

    _check_base_samples("sobol", base_samples)
    free = _free(scenario)
    t0 = time.perf_counter()
    problem = {"num_vars": len(free), "names": free, "bounds": [[0.0, 1.0]] * len(free)}
    unit = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=scenario.seed)
    unit = np.clip(unit, 1e-12, 1 - 1e-12)
    y, n_runs = _simulate(scenario, {name: scenario.priors[name].ppf(unit[:, i]) for i, name in enumerate(free)},
                          output, progress)
    if np.ptp(y) == 0:
        raise ConfigError("--output", output, f"an outcome that varies across samples (it is {y[0]:g} everywhere)")
    res = sobol.analyze(problem, y, calc_second_order=False, seed=scenario.seed)
    rows = [{"parameter": name, "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
             "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])} for i, name in enumerate(free)]
    rows.sort(key=lambda r: -r["ST"])
    return {"scenario": scenario.name, "model": scenario.model.name, "output": output, "method": "sobol",
            "estimator": "saltelli", "base_samples": base_samples, "n_evaluations": len(y), "ensemble_runs": n_runs,
            "seed": scenario.seed, "indices": rows, "mean_output": float(np.mean(y)),
            "correlations_ignored": bool(scenario.correlations), "seconds": time.perf_counter() - t0}
