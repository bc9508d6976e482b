import sqlite3

import pytest

from rsilab.errors import StoreError
from rsilab.store import Store


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        first = [r[0] for r in s.conn.execute("SELECT name FROM schema_migrations")]
        assert "0001_core_runs.sql" in first
        assert s.migrate() == []  # nothing left to apply
    with Store(path) as s:  # reopening applies nothing twice
        again = [r[0] for r in s.conn.execute("SELECT name FROM schema_migrations")]
    assert again == first


def test_run_and_rounds_round_trip(store):
    run_id = store.add_run("forecast", "demo", config={"a": [1, 2]}, summary={"p": 0.5}, seed=7)
    rec = store.get_run(run_id)
    assert (rec.kind, rec.name, rec.seed, rec.config, rec.summary) == ("forecast", "demo", 7, {"a": [1, 2]}, {"p": 0.5})
    store.add_round(run_id, 0, {"capability": 1.5, "seconds": 2.0})
    with pytest.raises(StoreError, match="already has round 0"):
        store.add_round(run_id, 0, {"capability": 9.0})
    assert store.rounds(run_id) == [{"capability": 1.5, "seconds": 2.0, "round": 0}]


def test_unknown_run_and_foreign_file_are_clear_errors(tmp_path, store):
    with pytest.raises(StoreError, match="run 99 is not in store"):
        store.get_run(99)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not an rsilab store"):
        Store(junk)
    assert sqlite3.sqlite_version


def test_a_failing_migration_leaves_nothing_half_applied(tmp_path, monkeypatch):
    import rsilab.store.db as db

    real = db._migrations()
    broken = real + [(9999, "9999_test_broken.sql",
                      "-- a comment; with a semicolon\nCREATE TABLE good_one (a INTEGER);\nCREATE TABLE broken (")]
    monkeypatch.setattr(db, "_migrations", lambda: broken)
    with pytest.raises(StoreError, match="migration 9999_test_broken.sql failed"):
        Store(tmp_path / "m.sqlite")
    monkeypatch.setattr(db, "_migrations", lambda: real)
    with Store(tmp_path / "m.sqlite") as s:
        tables = {r[0] for r in s.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "good_one" not in tables and "runs" in tables


def test_no_sql_outside_the_store_package():
    # All SQL lives in rsilab.store: a connection, cursor or SQL keyword statement anywhere else
    # in the package fails this test (the gate's list of forbidden import names is not SQL).
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "rsilab"
    # (importing sqlite3 is a rule of tests/test_import_layers.py)
    pattern = re.compile(r"\.conn\b|\.execute\(|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    found = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") if "store" not in p.relative_to(root).parts[:1]
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
