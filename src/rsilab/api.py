"""The one library call behind each user action: forecast, sensitivity, fit_rounds, report.

``forecast`` is what ``rsilab forecast``, ``rsilab simulate``, the playground's Run and
notebooks all call: it loads the scenario, applies the overrides and a measured returns prior,
opens the store before anything runs (a store that cannot be used is reported first), runs the
Monte Carlo, writes the charts and the report the caller asks for and records the run, in that
one place. ``sensitivity`` is the same for Sobol indices and Shapley effects. ``simulate("sie",
n_samples=100_000, seed=1).summary()`` is the dict that ``rsilab simulate --preset sie --samples
100000 --seed 1 --json`` prints (less its run id and timings). ``rsilab/__init__`` re-exports
these lazily, so ``import rsilab`` stays cheap. Imports simulate, estimate, report, store and
core; never the CLI or the web app.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

from rsilab.errors import ConfigError

DEFAULT_SCENARIO = "default"


def load(scenario: Any) -> Any:
    """A Scenario from a Scenario, a preset name, or a path to a scenario TOML file."""
    from rsilab.simulate.scenario import Scenario, load_preset, load_scenario, preset_names

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Path) or (isinstance(scenario, str) and (scenario.endswith(".toml") or "/" in scenario)):
        return load_scenario(scenario)
    if isinstance(scenario, str):
        return load_preset(scenario)
    raise ConfigError("scenario", scenario, f"a Scenario, a TOML path or a preset name ({', '.join(preset_names())})")


def presets() -> list[str]:
    """The names of the shipped scenarios."""
    from rsilab.simulate.scenario import preset_names

    return preset_names()


def with_overrides(scenario: Any, overrides: Mapping[str, Any] | None) -> Any:
    """``scenario`` with simulation settings replaced (None leaves one as it is). An error names
    the override as it was given (``n_samples``), not the scenario's field, so that a caller can
    say which of its own options it was (the CLI: ``--samples``)."""
    for key, value in (overrides or {}).items():
        try:
            scenario = scenario.with_simulation(**{key: value})
        except ConfigError as exc:
            raise ConfigError(key, exc.value, exc.allowed) from None
    return scenario


def _returns_prior(scenario: Any, named: bool, prior: Any, store: str | Path | None) -> tuple[Any, dict[str, Any]]:
    """The scenario with its returns parameter drawn from ``prior`` (a stored fit's run id, whose
    prior the store keeps; a fit's saved JSON file; or the prior dict of a fit's ``to_prior()``),
    and what the summary says about it."""
    from rsilab.estimate.bridge import apply_returns_prior, load_prior
    from rsilab.simulate.scenario import load_preset

    if isinstance(prior, int) and not isinstance(prior, bool):
        from rsilab.store import Store
        from rsilab.store.priors import prior_of

        with Store(store) as st:
            run, loaded = st.get_run(prior), prior_of(st, prior)
        if loaded is None:
            raise ConfigError("returns_prior", prior, f"a fit run with a prior; run {prior} (kind {run.kind!r}) has "
                                                      "none (`rsilab runs --kind fit:rounds` lists fits of k)")
        origin, where = f"run {prior}", {"run": prior}
    elif isinstance(prior, (str, Path)):
        origin, loaded = str(prior), load_prior(prior)
        where = {"file": origin}
    elif isinstance(prior, Mapping) and {"quantity", "spec", "source"} <= set(prior):
        origin, loaded = str(prior["source"]), dict(prior)
        where = {"file": origin}
    else:
        raise ConfigError("returns_prior", type(prior).__name__, "a fit's run id, a fit JSON file or a prior dict "
                                                                 "(quantity, spec, source) from a fit's to_prior()")
    scenario, param, moved = apply_returns_prior(scenario, loaded, origin=origin, explicit=named, load_preset=load_preset)
    return scenario, {"parameter": param, "quantity": loaded["quantity"], "source": loaded.get("source"), **where,
                      "dist": loaded["spec"]["dist"], "draws_moved_into_range": moved}


def _open_store(record: bool, store: str | Path | None):
    """The store a run will be recorded in, opened now: a path that cannot hold one, or a file
    that is not one, is reported before any simulation runs."""
    if not record:
        return None
    from rsilab.store import Store

    return Store(store)


class Forecast:
    """One Monte Carlo run: ``summary()``, ``to_pandas()``, ``report(path)``; ``ensemble`` holds
    the per-sample arrays and ``run_id`` the store's id when the run was recorded. ``print()``
    shows the headline, the regimes and the threshold times."""

    def __init__(self, ensemble: Any, run_id: int | None = None, summary: dict[str, Any] | None = None):
        self.ensemble = ensemble
        self.run_id = run_id
        # computed once: the summary that was recorded, with what the call added to it
        self._summary = ensemble.summary() if summary is None else summary

    @property
    def scenario(self):
        return self.ensemble.scenario

    def summary(self) -> dict[str, Any]:
        """The dict ``rsilab simulate --json`` prints (with ``run_id`` when recorded)."""
        out = dict(self._summary)
        if self.run_id is not None:
            out["run_id"] = self.run_id
        return out

    def to_pandas(self):
        """One row per sample: the parameters, the regime by each phase, the solver status, the
        years to each capability multiple (NaN where not reached), log10 growth, the effective
        returns and the model's own outputs (the playground's results CSV has the same columns,
        from the stored arrays); for an outcome model, the parameters and each declared metric
        (NaN: not reached within the horizon)."""
        from rsilab.core.extras import require
        from rsilab.report.samples import REGIMES, STATUSES, outcome_table, sample_table
        from rsilab.store.ensembles import sample_arrays

        pd = require("pandas", "Forecast.to_pandas()")
        if self.scenario.model.kind == "outcome":
            return pd.DataFrame(outcome_table(sample_arrays(self.ensemble)))
        cols = sample_table(sample_arrays(self.ensemble), self.ensemble.phase)
        for name in cols:
            if name.startswith("regime_"):
                cols[name] = pd.Categorical(cols[name], categories=list(REGIMES))
            elif name == "status":
                cols[name] = pd.Categorical(cols[name], categories=list(STATUSES))
        return pd.DataFrame(cols)

    def report(self, path: str | Path) -> Path:
        """Write the run's self-contained HTML report (the same page as ``rsilab report``)."""
        from rsilab.core.version import __version__
        from rsilab.report.html import forecast_data, write_report
        from rsilab.store.ensembles import array_format, decode_arrays, encode_ensemble

        ens = self.ensemble
        run = {"id": self.run_id, "kind": "simulate", "name": ens.scenario.name, "version": __version__,
               "status": "finished", "created_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        # through the stored form, so the page is the one a stored run gives
        data = forecast_data(run, dict(self._summary), ens.scenario.to_dict(), ens.timings,
                             decode_arrays(encode_ensemble(ens)), array_format(ens))
        return write_report(data, path)

    def __repr__(self) -> str:
        from rsilab.report.text import forecast_text

        return forecast_text(self.summary())


def forecast(scenario: Any = None, *, overrides: Mapping[str, Any] | None = None, returns_prior: Any = None,
             record: bool = False, store: str | Path | None = None, kind: str = "forecast",
             charts: str | Path | None = None, report: str | Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> Forecast:
    """Forecast a takeoff: Monte Carlo ``scenario`` and keep what the caller asks for.

    ``scenario``: a preset name, a TOML path or a Scenario; None: the default scenario, or with
    ``returns_prior`` the shipped scenario built for the fit's quantity. ``overrides``:
    simulation settings by name (``n_samples``, ``seed``, ``horizon_years``, ``regime_phase``,
    ...). ``returns_prior``: a stored fit's run id (every fit is recorded with its prior, read
    from ``store``), a fit's saved JSON file, or the dict of a fit's ``to_prior()``; it becomes the
    prior of the parameter the model declares as its returns parameter.
    ``record=True`` keeps the run in the store (``store``: its path; default as the CLI's) as a
    run of ``kind``, so that ``rsilab runs`` lists it and ``rsilab report`` draws it.
    ``charts``: a directory for the PNG charts; ``report``: a path for the HTML report.
    ``progress(done, total)`` is called as the simulation starts and as chunks of samples finish.
    """
    from rsilab.simulate.montecarlo import run_scenario

    sc = load(DEFAULT_SCENARIO if scenario is None else scenario)
    prior_info = None
    if returns_prior is not None:
        sc, prior_info = _returns_prior(sc, scenario is not None, returns_prior, store)
    sc = with_overrides(sc, overrides)
    st = _open_store(record, store)
    try:
        if progress is not None:
            progress(0, sc.n_samples)
        ens = run_scenario(sc, progress=progress)
        summary = ens.summary()
        timings = dict(ens.timings)
        if prior_info is not None:
            summary["returns_prior"] = prior_info
        if charts is not None:
            from rsilab.report.charts import write_charts

            t0 = time.perf_counter()
            summary["charts"] = [str(p) for p in write_charts(ens, Path(charts), summary)]
            timings["charts"] = time.perf_counter() - t0
        result = Forecast(ens, summary=summary)
        if st is not None:
            from rsilab.store.ensembles import record_ensemble

            result.run_id = record_ensemble(st, kind, ens, summary, timings)
            if report is not None:
                from rsilab.report.html import write_run_report

                write_run_report(st, result.run_id, report)
        elif report is not None:
            result.report(report)
    finally:
        if st is not None:
            st.close()
    return result


def simulate(scenario: Any = DEFAULT_SCENARIO, *, n_samples: int | None = None, seed: int | None = None,
             horizon_years: float | None = None, record: bool = False, store: str | Path | None = None) -> Forecast:
    """Monte Carlo ``scenario`` (a preset name, a TOML path or a Scenario) with optional overrides:
    ``forecast`` with the overrides as keywords, recorded (``record=True``) as ``rsilab simulate``
    records a run."""
    return forecast(scenario, overrides={"n_samples": n_samples, "seed": seed, "horizon_years": horizon_years},
                    record=record, store=store, kind="simulate")


class Sensitivity(Mapping):
    """The sensitivity of one output to the parameters: ``method`` ("sobol": first- and
    total-order Sobol indices; "shapley": Shapley effects), ``indices`` (one row per free
    parameter, largest first), ``to_pandas()``, ``summary()``; read like the dict ``rsilab
    sensitivity --json`` prints (``result["indices"]``). ``run_id`` is the store's id when
    recorded."""

    def __init__(self, result: dict[str, Any], run_id: int | None = None):
        self._result = result
        self.run_id = run_id

    @property
    def method(self) -> str:
        return self._result["method"]

    @property
    def indices(self) -> list[dict[str, Any]]:
        return self._result["indices"]

    def summary(self) -> dict[str, Any]:
        out = dict(self._result)
        if self.run_id is not None:
            out["run_id"] = self.run_id
        return out

    def __getitem__(self, key: str) -> Any:
        return self.summary()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.summary())

    def __len__(self) -> int:
        return len(self.summary())

    def to_pandas(self):
        """One row per free parameter (the index) with every column of ``indices``: S1, ST and
        their 95% half-widths (``_conf``); for Shapley effects also ``shapley``, ``shapley_se``,
        ``shapley_conf`` (S1 and ST empty where the estimator gives none)."""
        from rsilab.core.extras import require

        pd = require("pandas", "Sensitivity.to_pandas()")
        return pd.DataFrame(self.indices).set_index("parameter")

    def __repr__(self) -> str:
        from rsilab.report.text import sensitivity_text

        return sensitivity_text(self.summary())


def sensitivity(scenario: Any = DEFAULT_SCENARIO, *, output: str = "p_explosion", base_samples: int = 1024,
                seed: int | None = None, phase: str | None = None, method: str = "auto",
                overrides: Mapping[str, Any] | None = None, record: bool = False, store: str | Path | None = None,
                progress: Callable[[int, int], None] | None = None) -> Sensitivity:
    """The sensitivity of ``output`` to the parameters (what ``rsilab sensitivity`` runs).
    ``method``: ``"auto"`` (Shapley effects when the scenario has correlations, first- and
    total-order Sobol indices otherwise), ``"sobol"`` or ``"shapley"``. ``seed`` and ``phase``
    override the scenario's ``simulation.seed`` and ``regime_phase``, as do ``overrides`` by
    name; ``record=True`` keeps the result in the store as a run of kind ``sensitivity``.
    ``progress(done, total)`` is called as simulations finish."""
    from rsilab.simulate.sensitivity import check_request, sensitivity_indices

    sc = with_overrides(load(scenario), {"seed": seed, "regime_phase": phase, **(overrides or {})})
    check_request(sc, output, base_samples, method)
    st = _open_store(record, store)
    try:
        result = Sensitivity(sensitivity_indices(sc, output=output, base_samples=base_samples, method=method,
                                                 progress=progress))
        if st is not None:
            result.run_id = st.add_run("sensitivity", sc.name, config=sc.to_dict(), summary=result.summary(),
                                       timings={"total": result["seconds"]}, seed=sc.seed)
    finally:
        if st is not None:
            st.close()
    return result


def fit_rounds(data: Any, *, transform: str = "raw", ceiling: float | None = 100.0, tolerance: float | None = None,
               method: str = "levels", from_round: int | None = None, level: float = 0.9, n_bootstrap: int = 4000,
               min_rounds: int = 4, seed: int | None = 0):
    """Fit returns per round k to rounds, as ``rsilab fit rounds`` does: a list of capabilities
    (rounds 0, 1, ...), a pandas DataFrame or a dict with ``capability`` (and optionally
    ``round``, ``se`` or ``n_items``, ``compute_flop``, ``seconds``), or a path to a rounds CSV.

    ``transform`` (raw, logit, neglog-error or log; ``ceiling`` bounds the metric for logit,
    neglog-error and ``n_items``: 100 for percentages, 10 for 0-10 scores) is the scale on which
    gains are geometric. Returns the fitted ``RoundsFit`` (``k_``, ``k_interval_``, ``regime_``,
    ``result_dict()``, ``to_prior()``). ``tolerance``: how close to 1 counts as k = 1 (default
    ``RETURNS_TOLERANCE``, 0.02, as the CLI). ``method="ratio"`` is the old gain-ratio estimator,
    for comparison only.
    """
    import numpy as np

    from rsilab.estimate.rounds import RoundsFit

    names = ("round", "capability", "se", "n_items", "compute_flop", "seconds")
    if isinstance(data, (str, Path)):
        from rsilab.estimate.io import load_rounds

        cols = load_rounds(data)
    elif isinstance(data, (list, tuple)) or (isinstance(data, np.ndarray) and data.ndim == 1):
        cols = dict.fromkeys(names)
        cols["capability"] = np.asarray(data, dtype=float)
    else:
        if not hasattr(data, "__getitem__") or "capability" not in data:
            raise ConfigError("data", type(data).__name__, "a list of capabilities, a DataFrame or dict with a "
                                                           "'capability' column, or a CSV path")
        cols = {k: (None if k not in data else np.asarray(data[k], dtype=float)) for k in names}
    # the default tolerance is the estimator's, the one the forecast's regime rule uses too
    extra = {} if tolerance is None else {"tol": tolerance}
    est = RoundsFit(method=method, transform=transform, ceiling=ceiling, level=level, min_rounds=min_rounds,
                    from_round=from_round, n_bootstrap=n_bootstrap, seed=seed, **extra)
    return est.fit(cols["capability"], cols["compute_flop"], cols["seconds"], cols["round"],
                   se=cols["se"], n_items=cols["n_items"])



def report(run_id: int, path: str | Path, *, store: str | Path | None = None) -> Path:
    """Write the HTML report of stored run ``run_id`` (as ``rsilab report RUN --out PATH``)."""
    from rsilab.report.html import write_run_report
    from rsilab.store import Store

    with Store(store) as st:
        return write_run_report(st, run_id, path)
