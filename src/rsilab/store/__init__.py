"""The embedded SQLite store: runs, rounds, audit records, and their schema migrations.

Every component keeps its tables in migrations under ``store/migrations`` named
``NNNN_component_what.sql``; they are applied in number order exactly once per database and
the applied versions are recorded in ``schema_migrations``. Ranges: 0001-0009 core forecast,
0010-0019 box, 0020-0029 experiments, 0030-0039 estimate. Imports nothing of ours but errors.
"""
from rsilab.store.db import Store, default_store_path, open_store

__all__ = ["Store", "default_store_path", "open_store"]
