"""Sweeps: any experiment over a grid of its config fields, one run per cell, on Ray.

``spec`` reads and validates a sweep file against the experiment's declaration
(``rsilab.experiments.registry``: config, scale knob, CPUs); ``cell`` is what a worker runs; ``engine`` drives
the cells on a local Ray or a cluster and records them in the caller's store; ``results`` reads
a sweep back (cells with k, series for ``rsilab fit scale``). Ray is imported only by
``engine``, only when a sweep runs; torch only by the experiments a cell runs.
"""
