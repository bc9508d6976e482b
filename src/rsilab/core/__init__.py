"""Types shared across layers: what a solver returns (``Solution``, ``Status``) and the prior
spec format. ``dynamics``, ``simulate`` and ``estimate`` may all import this package; it
imports nothing of ours but ``rsilab.errors``."""
