"""rsilab: forecast, measure and estimate recursive self-improvement of AI.

Three paths share one store: ``rsilab.simulate`` forecasts takeoff from the models in
``rsilab.dynamics``; ``rsilab.experiments`` measures real self-improvement loops run inside
``rsilab.box``; ``rsilab.estimate`` fits returns and scaling laws and turns them into priors.

The public API for notebooks and scripts (each name is imported on first use, so ``import
rsilab`` imports no numpy-heavy module, and never torch)::

    import rsilab
    ens = rsilab.simulate("sie", n_samples=100_000, seed=1)   # preset, TOML path or Scenario
    print(ens)             # the headline, the regimes, the threshold times
    ens.summary()          # the dict `rsilab simulate --json` prints
    ens.to_pandas()        # one row per sample (needs pandas)
    ens.report("sie.html") # the self-contained HTML report (rsilab.report_run(RUN, path) for a stored run)
    rsilab.forecast("default", overrides={"n_samples": 20_000}, returns_prior="fit.json", record=True)
                           # what `rsilab forecast` runs: the same call, recorded (.run_id)
    rsilab.sensitivity("default", output="p_explosion", base_samples=256)   # .to_pandas(), print()
    rsilab.fit_rounds(df)  # returns per round k from a table of rounds
    rsilab.track(...)      # log the rounds of your own loop (rsilab.experiments.track)
"""
from __future__ import annotations

import importlib
import types
from typing import Any

from rsilab.core.version import __version__

# public name -> "module:attribute"
_LAZY: dict[str, str] = {
    "forecast": "rsilab.api:forecast",
    "sensitivity": "rsilab.api:sensitivity",
    "track": "rsilab.experiments.track:track",
    "fit_rounds": "rsilab.api:fit_rounds",
    "report_run": "rsilab.api:report",
    "load_scenario": "rsilab.api:load",
    "presets": "rsilab.api:presets",
    "Forecast": "rsilab.api:Forecast",
    "Sensitivity": "rsilab.api:Sensitivity",
    "Scenario": "rsilab.simulate.scenario:Scenario",
    "Store": "rsilab.store:Store",
    "RsilabError": "rsilab.errors:RsilabError",
    "ConfigError": "rsilab.errors:ConfigError",
}

__all__ = ["__version__", "simulate", *_LAZY]


class _CallablePackage(types.ModuleType):
    """``rsilab.simulate`` is both the subpackage (solvers, Monte Carlo) and the API call
    ``rsilab.simulate(scenario, ...)``: the import system binds the subpackage to that name, so
    the subpackage itself forwards calls to ``rsilab.api.simulate``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from rsilab.api import simulate as run

        return run(*args, **kwargs)


from rsilab import simulate  # noqa: E402 - the subpackage's __init__ imports nothing

simulate.__class__ = _CallablePackage


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        # submodules (rsilab.simulate, ...) are found by the import system, not here
        raise AttributeError(f"module 'rsilab' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
