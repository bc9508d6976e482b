"""rsilab: forecast, measure and estimate recursive self-improvement of AI.

Three paths share one store: ``rsilab.simulate`` forecasts takeoff from the models in
``rsilab.dynamics``; ``rsilab.experiments`` measures real self-improvement loops run inside
``rsilab.box``; ``rsilab.estimate`` fits returns and scaling laws and turns them into priors.
Importing this package imports none of those (and never torch), so the CLI starts fast.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
