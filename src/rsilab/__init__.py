"""rsilab: forecast, measure and estimate recursive self-improvement of AI.

Three paths share one store: ``rsilab.simulate`` forecasts takeoff from the models in
``rsilab.dynamics``; ``rsilab.experiments`` measures real self-improvement loops run inside
``rsilab.box``; ``rsilab.estimate`` fits returns and scaling laws and turns them into priors.
Importing this package imports none of those (and never torch), so the CLI starts fast.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "track"]

# public names resolved on first use, so that importing rsilab stays cheap
_LAZY = {"track": "rsilab.experiments.track:track"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name].split(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'rsilab' has no attribute {name!r}")
