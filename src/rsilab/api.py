"""The Python API for notebooks and scripts: simulate, sensitivity, fit_rounds, report.

Each function is the library call behind one CLI command, with the same validation and the same
numbers: ``simulate("sie", n_samples=100_000, seed=1).summary()`` is the dict that
``rsilab simulate --preset sie --samples 100000 --seed 1 --json`` prints (less its run id and
timings). ``rsilab/__init__`` re-exports these lazily, so ``import rsilab`` stays cheap. Imports
simulate, estimate, report and store; never the CLI or the web app.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsilab.errors import ConfigError


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


@dataclass
class Forecast:
    """One Monte Carlo run: ``summary()``, ``to_pandas()``, ``report(path)``; ``ensemble`` holds
    the per-sample arrays and ``run_id`` the store's id when the run was recorded."""

    ensemble: Any
    run_id: int | None = None

    @property
    def scenario(self):
        return self.ensemble.scenario

    def summary(self) -> dict[str, Any]:
        """The dict ``rsilab simulate --json`` prints (with ``run_id`` when recorded)."""
        out = self.ensemble.summary()
        if self.run_id is not None:
            out["run_id"] = self.run_id
        return out

    def to_pandas(self):
        """One row per sample: the parameters, the regime by each phase, the solver status, the
        years to each capability multiple (NaN where not reached) and the model's own outputs."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError("to_pandas", "pandas", "pandas installed (pip install 'rsilab[pandas]')") from None
        import numpy as np

        from rsilab.simulate.regimes import Regime
        from rsilab.simulate.solver import Status

        ens = self.ensemble
        labels = np.array([r.label for r in sorted(Regime, key=int)], dtype=object)
        status = np.array([s.name.lower() for s in sorted(Status, key=int)], dtype=object)
        other = "early" if ens.phase == "late" else "late"
        cols: dict[str, Any] = {name: np.asarray(values, dtype=float) for name, values in ens.params.items()}
        cols[f"regime_{ens.phase}"] = pd.Categorical(labels[ens.regime], categories=list(labels))
        cols[f"regime_{other}"] = pd.Categorical(labels[ens.other_regime], categories=list(labels))
        cols["status"] = pd.Categorical(status[ens.status], categories=list(status))
        for m, times in zip(ens.scenario.capability_multiples, ens.threshold_times):
            cols[f"years_to_{m:g}x"] = np.where(np.isfinite(times), times, np.nan)
        cols["log10_growth"] = ens.ln_growth / np.log(10.0)
        cols["effective_returns"] = ens.returns_eff
        for name, values in ens.outputs.items():
            cols[name] = values
        return pd.DataFrame(cols)

    def report(self, path: str | Path) -> Path:
        """Write the run's self-contained HTML report (the same page as ``rsilab report``)."""
        import time

        from rsilab import __version__
        from rsilab.report.html import forecast_data, write_report
        from rsilab.report.html_data import decode_arrays, encode_ensemble

        ens = self.ensemble
        run = {"id": self.run_id, "kind": "simulate", "name": ens.scenario.name, "version": __version__,
               "status": "finished", "created_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        # through the stored form, so the page is the one a stored run gives
        data = forecast_data(run, self.ensemble.summary(), ens.scenario.to_dict(), ens.timings,
                             decode_arrays(encode_ensemble(ens)))
        return write_report(data, path)


def simulate(scenario: Any = "default", *, n_samples: int | None = None, seed: int | None = None,
             horizon_years: float | None = None, record: bool = False, store: str | Path | None = None) -> Forecast:
    """Monte Carlo ``scenario`` (a preset name, a TOML path or a Scenario) with optional overrides.

    ``record=True`` keeps the run in the store (``store``: its path; default as the CLI's), so
    that it is listed by ``rsilab runs`` and ``rsilab report`` can draw it.
    """
    from rsilab.simulate.montecarlo import run_scenario

    sc = load(scenario).with_simulation(n_samples=n_samples, seed=seed, horizon_years=horizon_years)
    ens = run_scenario(sc)
    result = Forecast(ens)
    if record:
        from rsilab.report.html_data import record_ensemble
        from rsilab.store import Store

        with Store(store) as st:
            result.run_id = record_ensemble(st, "simulate", ens, ens.summary(), ens.timings)
    return result


def sensitivity(scenario: Any = "default", *, output: str = "p_explosion", base_samples: int = 1024,
                seed: int | None = None, phase: str | None = None, method: str = "auto") -> dict[str, Any]:
    """Sensitivity of ``output`` to the parameters: the dict ``rsilab sensitivity --json`` prints
    (less its run id). ``method``: ``"auto"`` (Shapley effects when the scenario has correlations,
    first- and total-order Sobol indices otherwise), ``"sobol"`` or ``"shapley"``."""
    from rsilab.simulate.sensitivity import sensitivity_indices

    sc = load(scenario).with_simulation(seed=seed, regime_phase=phase)
    return sensitivity_indices(sc, output=output, base_samples=base_samples, method=method)


def fit_rounds(data: Any, *, transform: str | None = None, ceiling: float | None = 100.0, tolerance: float | None = None,
               n_bootstrap: int = 4000, min_rounds: int = 5, seed: int | None = 0):
    """Fit returns per round k to rounds: a pandas DataFrame or a dict with ``capability`` (and
    optionally ``round``, ``compute_flop``, ``seconds``), or a path to a rounds CSV.

    ``transform`` (raw, logit, neglog-error or log; ``ceiling`` bounds the metric for logit and
    neglog-error: 100 for percentages, 10 for 0-10 scores) maps capability to the scale on which
    gains are measured before k is taken, as ``rsilab fit rounds --transform``. Returns the fitted
    ``RoundsFit`` (``result_dict()``, ``to_prior()``, ``params_``). ``tolerance``: how close to 1
    counts as k = 1 (default ``RETURNS_TOLERANCE``, 0.02, as ``rsilab fit rounds``).
    """
    import numpy as np

    from rsilab.estimate.rounds import RoundsFit

    if isinstance(data, (str, Path)):
        from rsilab.estimate.io import load_rounds

        cols = load_rounds(data)
    else:
        if not hasattr(data, "__getitem__") or "capability" not in data:
            raise ConfigError("data", type(data).__name__, "a DataFrame or dict with a 'capability' column, or a CSV path")
        cols = {k: (None if k not in data else np.asarray(data[k], dtype=float))
                for k in ("round", "capability", "compute_flop", "seconds")}
    capability = cols["capability"]
    if transform is not None:
        from rsilab.estimate.transforms import apply_transform

        capability = apply_transform(capability, transform, ceiling)
    # the default tolerance is the estimator's, the one the forecast's regime rule uses too
    extra = {} if tolerance is None else {"tol": tolerance}
    est = RoundsFit(n_bootstrap=n_bootstrap, min_rounds=min_rounds, seed=seed, **extra)
    return est.fit(capability, cols["compute_flop"], cols["seconds"], cols["round"])


def report(run_id: int, path: str | Path, *, store: str | Path | None = None) -> Path:
    """Write the HTML report of stored run ``run_id`` (as ``rsilab report RUN --out PATH``)."""
    from rsilab.report.html import write_run_report
    from rsilab.store import Store

    with Store(store) as st:
        return write_run_report(st, run_id, path)
