"""matplotlib with the Agg backend, imported on first use, for every chart module in report/.

Imports nothing of ours; nothing outside report/ imports matplotlib.
"""
from __future__ import annotations


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
