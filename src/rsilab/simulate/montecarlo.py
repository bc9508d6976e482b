"""Monte Carlo over a scenario: draw parameters, integrate every sample, classify, summarise.

Samples are drawn once in the parent (so results do not depend on how many workers ran), then
integrated in chunks (``chunk_size``: cache-sized for maps, as large as the grid's memory budget
allows for ODEs, whose slowest sample sets the number of steps). Chunks run in threads, one
per core (except for the compiled map kernel, which is parallel itself); large runs without a
compiled kernel spread the chunks over worker processes instead. Only a fixed subsample of trajectories is kept for
the fan chart; everything else is reduced per sample as each chunk finishes. Outcome models
(``OutcomeModel``: no solver, no capability path) take the same draw and are run by
``rsilab.simulate.outcomes``, which returns an ``OutcomeEnsemble``.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Callable, Iterable

import numpy as np

from rsilab.dynamics.base import Model
from rsilab.errors import ConfigError
from rsilab.simulate.priors import as_rng, correlated_uniforms
from rsilab.simulate.regimes import REGIME_LABELS, Regime, classify
from rsilab.simulate.scenario import Scenario
from rsilab.simulate.kernels import kernel_for
from rsilab.simulate.compiled import cores, gather
from rsilab.simulate.outcomes import OutcomeEnsemble, run_outcomes
from rsilab.simulate.solver import Solution, SolverSettings, Status, solve_prepared
from rsilab.simulate.takeoff import explosive_stretch, takeoff_summary

CHUNK = 16_384            # samples per chunk for maps and as the default
GRID_BUDGET = 1 << 22     # floats of output grid per chunk (32 MiB): sets the ODE chunk size
FAN_ROWS = 4_000          # trajectories kept for the fan chart
PARALLEL_FROM = 200_000   # below this many samples one process is faster than spawning workers
MAX_REDRAWS = 100         # rounds of redrawing the samples a model does not admit


def draw_parameters(scenario: Scenario, n: int | None = None, rng: np.random.Generator | int | None = None) -> dict[str, np.ndarray]:
    """Draw n joint samples of every model parameter (fixed ones are constant arrays), from the
    priors conditioned on what the model declares admissible (``Model.admissible``): draws it
    rejects are replaced by later draws from the same generator, in order. A scenario with no
    uncertain parameter is run as given."""
    n = scenario.n_samples if n is None else n
    rng = as_rng(scenario.seed if rng is None else rng)
    free = [k for k, pr in scenario.priors.items() if not pr.is_fixed]
    out = _draw(scenario, free, n, rng)
    if not free:          # nothing drawn, nothing to condition: the deterministic run as given
        return out
    keep = scenario.model.admissible(out)
    if keep.all():
        return out
    kept = {k: [out[k][keep]] for k in free}
    have = int(keep.sum())
    for _ in range(MAX_REDRAWS):
        if have >= n:
            break
        more = _draw(scenario, free, n, rng)
        ok = scenario.model.admissible(more)
        for k in free:
            kept[k].append(more[k][ok])
        have += int(ok.sum())
    if have < n:   # the last redraw may be the one that completes the sample
        raise ConfigError("params", scenario.name,
                          f"priors under which model {scenario.model.name!r} admits at least 1 draw in "
                          f"{MAX_REDRAWS + 1}: {scenario.model.admissible_means}")
    for k in free:
        out[k] = np.concatenate(kept[k])[:n]
    return out


def _draw(scenario: Scenario, free: list[str], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    u = correlated_uniforms(n, free, scenario.correlations, rng)
    out = {}
    for name, prior in scenario.priors.items():
        # a fixed parameter is a read-only broadcast view: no memory per sample
        out[name] = prior.ppf(u[name]) if name in u else np.broadcast_to(np.float64(prior.support[0]), (n,))
    return out


@dataclass
class ChunkResult:
    status: np.ndarray
    regime: np.ndarray
    other_regime: np.ndarray       # by the other phase (early if the scenario classifies late)
    returns_eff: np.ndarray
    t_stop: np.ndarray
    ln_growth: np.ndarray          # ln(I_end / I0)
    threshold_times: np.ndarray    # (m, n)
    fan_rows: np.ndarray           # (k, g) ln(I/I0) of the first rows of the chunk
    outputs: dict[str, np.ndarray]
    grid_sums: dict[str, np.ndarray]
    stretch: dict[str, np.ndarray]  # explosive stretch per sample (rsilab.simulate.takeoff)


def _run_chunk(model: Model, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
               settings: SolverSettings, tol: float, ceiling_factor: float, phase: str, keep_rows: int,
               compiled: bool = True) -> ChunkResult:
    p = model.prepare(p)  # once per chunk: the solver and the outputs below see the same arrays
    sol: Solution = solve_prepared(model, p, t_grid, ln_multiples, settings, fused=compiled)
    regime, ret, other_regime, status = classify(sol, model, p, tol=tol, ceiling_factor=ceiling_factor, phase=phase)
    ln0 = sol.y_grid[0][:, 0]
    grid = model.grid_outputs(sol, p)
    return ChunkResult(
        status=status, regime=regime, other_regime=other_regime, returns_eff=ret, t_stop=sol.t_stop,
        ln_growth=sol.y_stop[0] - ln0 if sol.gain_ratio is None else sol.y_grid[0][:, -1] - ln0,
        threshold_times=sol.threshold_times,
        fan_rows=(sol.y_grid[0][:keep_rows] - ln0[:keep_rows, None]).astype(np.float32),
        outputs=model.sample_outputs(sol, p),
        grid_sums={k: _nansum_rows(v) for k, v in grid.items()},
        stretch=explosive_stretch(sol, tol),
    )


def _nansum_rows(values: np.ndarray) -> np.ndarray:
    """np.nansum over samples (axis 0), in one pass where no value is NaN (the usual case):
    the same sums, since nansum adds the same values with its NaNs replaced by 0."""
    total = values.sum(axis=0)
    return np.nansum(values, axis=0) if np.isnan(total).any() else total


@dataclass
class Ensemble:
    """The result of one Monte Carlo run, with everything the summary and charts need."""

    scenario: Scenario
    params: dict[str, np.ndarray]
    status: np.ndarray
    regime: np.ndarray
    other_regime: np.ndarray
    returns_eff: np.ndarray
    t_stop: np.ndarray
    ln_growth: np.ndarray
    threshold_times: np.ndarray
    t_grid: np.ndarray
    fan_rows: np.ndarray
    outputs: dict[str, np.ndarray]
    grid_means: dict[str, np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)
    stretch: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.status.shape[0])

    @property
    def phase(self) -> str:
        return self.scenario.simulation["regime_phase"]

    def regime_probabilities(self, phase: str | None = None) -> dict[str, dict[str, float]]:
        codes = self.regime if phase in (None, self.phase) else self.other_regime
        out = {}
        for reg in Regime:
            p = float(np.mean(codes == reg))
            out[reg.label] = {"p": p, "se": float(np.sqrt(p * (1 - p) / self.n))}
        return out

    def summary(self) -> dict[str, Any]:
        """The JSON summary (contract in the README)."""
        regimes = self.regime_probabilities()
        thr = {}
        for m, times in zip(self.scenario.capability_multiples, self.threshold_times):
            reached = np.isfinite(times)
            frac = float(reached.mean())
            entry: dict[str, Any] = {"fraction_reached": frac,
                                     "fraction_reached_se": float(np.sqrt(frac * (1 - frac) / self.n))}
            if reached.any():
                q = np.quantile(times[reached], [0.1, 0.5, 0.9])
                entry.update(p10=float(q[0]), median=float(q[1]), p90=float(q[2]))
            else:
                entry.update(p10=None, median=None, p90=None)
            thr[_multiple_key(m)] = entry
        finite_ret = self.returns_eff[np.isfinite(self.returns_eff)]
        summary: dict[str, Any] = {
            "model": self.scenario.model.name,
            "model_options": dict(self.scenario.model.choice),
            "scenario": self.scenario.name,
            "n_samples": self.n,
            "seed": self.scenario.seed,
            "horizon_years": self.scenario.horizon_years,
            "regime_phase": self.phase,
            "regime_probabilities": {k: v["p"] for k, v in regimes.items()},
            "regime_standard_errors": {k: v["se"] for k, v in regimes.items()},
            "regime_probabilities_by_phase": {ph: {k: v["p"] for k, v in self.regime_probabilities(ph).items()}
                                              for ph in ("early", "late")},
            "threshold_times": thr,
            "threshold_times_note": "quantiles (years) among samples that reached the multiple of initial capability",
            "status_counts": {s.name.lower(): int(np.sum(self.status == s)) for s in Status},
            "effective_returns": _quantiles(finite_ret),
            "timings_seconds": self.timings,
        }
        for name, values in self.outputs.items():
            summary[name] = _summarise_output(values)
        if self.stretch:
            summary["takeoff"] = takeoff_summary(self.stretch, self.regime_probabilities("late"),
                                                 self.scenario.simulation["regime_tolerance"], summary)
        return summary


def _multiple_key(m: float) -> str:
    return f"{m:g}x"


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {"p10": None, "median": None, "p90": None}
    q = np.quantile(values, [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "median": float(q[1]), "p90": float(q[2])}


def _summarise_output(values: np.ndarray) -> Any:
    """Booleans become a probability; numbers their mean (e.g. an exact per-sample probability
    averages to the ensemble's) and quantiles over the finite values."""
    if values.dtype == bool:
        return float(values.mean())
    finite = values[np.isfinite(values)]
    mean = float(finite.mean()) if finite.size else None
    return dict(_quantiles(finite), mean=mean, n_finite=int(finite.size),
                fraction_finite=float(finite.size / max(values.size, 1)))


def run_scenario(scenario: Scenario, *, progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None, params: dict[str, np.ndarray] | None = None,
                 compiled: bool = True) -> Ensemble | OutcomeEnsemble:
    """Simulate every sample of ``scenario``; ``progress(done, total)`` is called per chunk.
    An outcome model's run is an ``OutcomeEnsemble`` (its kind declares it has no path).

    ``params`` replaces the draw from the priors (sensitivity analysis supplies its own design).
    ``compiled=False`` runs the numpy solvers even where a compiled kernel is registered
    (benchmarks compare the two).
    """
    t0 = time.perf_counter()
    if params is None:
        params = draw_parameters(scenario)
    n = len(next(iter(params.values())))
    scenario.model.check_params(params)
    t_sample = time.perf_counter() - t0
    if scenario.model.kind == "outcome":
        return run_outcomes(scenario, params, progress=progress, t_sample=t_sample, compiled=compiled)
    sim = scenario.simulation
    t_grid = np.linspace(0.0, scenario.horizon_years, int(sim["n_grid"]))
    ln_mult = np.log(np.asarray(scenario.capability_multiples, dtype=float))
    chunk = chunk_size(scenario.model, len(t_grid), compiled)
    starts = list(range(0, n, chunk))
    rows_per_chunk = [max(0, min(chunk, FAN_ROWS - s)) for s in starts]
    args = [(scenario.model, {k: v[s:s + chunk] for k, v in params.items()}, t_grid, ln_mult,
             scenario.solver_settings, sim["regime_tolerance"], sim["ceiling_factor"], sim["regime_phase"], keep, compiled)
            for s, keep in zip(starts, rows_per_chunk)]
    kernel = kernel_for(scenario.model) if compiled else None
    if workers is None:
        # a compiled kernel spreads each chunk over the cores itself
        workers = min(os.cpu_count() or 1, 2) if n >= PARALLEL_FROM and kernel is None else 1
    t1 = time.perf_counter()
    if workers > 1 and len(args) > 1:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
    elif len(args) > 1 and not (kernel is not None and scenario.model.kind == "map"):
        # Chunks in threads, one per core: the compiled ODE integrator releases the GIL and so
        # do numpy's array operations, so one chunk's numpy work overlaps another's. Not for the
        # compiled map kernel, which spreads each chunk over the cores itself.
        pool = ThreadPoolExecutor(max_workers=cores(), thread_name_prefix="rsilab-chunk")
    else:
        pool = None
    if pool is None:
        chunks = (_run_chunk(*a) for a in args)
    else:
        chunks = pool.map(_run_chunk_star, args)
    results: list[ChunkResult] = gather(chunks, pool, chunk, n, progress)
    t_solve = time.perf_counter() - t1

    def cat(field: Callable[[ChunkResult], np.ndarray]) -> np.ndarray:
        return np.concatenate([field(r) for r in results], axis=-1)

    outputs = {k: np.concatenate([r.outputs[k] for r in results]) for k in results[0].outputs}
    grid_means = {k: sum(r.grid_sums[k] for r in results) / n for k in results[0].grid_sums}
    return Ensemble(
        scenario=scenario, params=params, status=cat(lambda r: r.status), regime=cat(lambda r: r.regime),
        other_regime=cat(lambda r: r.other_regime), returns_eff=cat(lambda r: r.returns_eff),
        t_stop=cat(lambda r: r.t_stop), ln_growth=cat(lambda r: r.ln_growth),
        threshold_times=np.concatenate([r.threshold_times for r in results], axis=1),
        t_grid=t_grid, fan_rows=np.concatenate([r.fan_rows for r in results if r.fan_rows.size], axis=0)
        if any(r.fan_rows.size for r in results) else np.empty((0, len(t_grid)), np.float32),
        outputs=outputs, grid_means=grid_means,
        stretch={k: np.concatenate([r.stretch[k] for r in results]) for k in results[0].stretch},
        timings={"sampling": t_sample, "solving": t_solve, "total": time.perf_counter() - t0,
                 "workers": workers},
    )


def chunk_size(model: Model, n_grid: int, compiled: bool = True) -> int:
    """Samples per chunk. A numpy ODE step costs a fixed overhead per numpy call plus work per
    sample, and the slowest sample sets the number of steps, so numpy ODE chunks are as large as
    the output grid's memory budget allows; maps and compiled ODE kernels keep cache-sized chunks."""
    if compiled and kernel_for(model) is not None:
        if model.kind == "map":
            # a compiled map kernel keeps its per-sample state in registers: larger chunks only
            # cut the per-chunk overhead
            return 4 * CHUNK
        # the compiled ODE integrator takes one sample at a time, so chunk size costs it
        # nothing; what it sets is the size of the outputs' numpy temporaries, (n, g) each:
        # at 4,096 rows and 51 grid times, 1.7 MB, reused from the heap instead of freshly
        # faulted-in pages and mostly within the caches (larger chunks measured slower)
        return CHUNK // 4
    if model.kind == "map":
        return CHUNK
    per_sample = len(model.state) * n_grid
    return int(np.clip(GRID_BUDGET // max(per_sample, 1), 4096, 65536))


def _run_chunk_star(a: tuple) -> ChunkResult:
    return _run_chunk(*a)


def warm_up(scenarios: Iterable[Scenario]) -> None:
    """Run each scenario on a few samples, so that every compiled kernel it uses is compiled
    now (or loaded from numba's cache): what ``rsilab serve`` has a second process do at start,
    so that its first request does not wait for a compile."""
    for scenario in scenarios:
        run_scenario(scenario.with_simulation(n_samples=64))


__all__ = ["Ensemble", "OutcomeEnsemble", "run_scenario", "draw_parameters", "REGIME_LABELS"]
