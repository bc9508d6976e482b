"""The rounds of a stored run, read one way by everyone: ``rounds_of(store, run)``.

Owns ``RunRounds`` (a run with its finished rounds, in round order) and ``rounds_of``, the one
reader that ``rsilab experiment export``, ``rsilab fit rounds --run``, sweeps' results and
``rsilab evidence fit --add-run`` share. Only experiment runs record rounds (built-in ones and
``rsilab.track``'s, kind ``experiment:<name>``); any other run, an unknown run or too few rounds
is a ``StoreError`` saying so in one line. ``table()`` gives the rounds as the rows
``experiment export`` writes, so a stored run and its exported CSV are read by the same code.
Imports the store and our errors only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rsilab.errors import StoreError
from rsilab.store.db import RunRecord, Store

ROUNDS_KIND = "experiment:"
TABLE_COLUMNS = ("round", "capability", "compute_flop", "seconds")
# a round's record key for each noise column of the table (se first: a round with both keeps se)
NOISE_COLUMNS = {"se": "capability_se", "n_items": "n_items"}


@dataclass(frozen=True)
class RunRounds:
    run: RunRecord
    rounds: list[dict[str, Any]]   # each round's whole record, with its "round"; in round order

    @property
    def experiment(self) -> str:
        """The experiment's name ("self-training", ..., or "track" for an rsilab.track run)."""
        return self.run.kind[len(ROUNDS_KIND):]

    @property
    def label(self) -> str:
        """"run 7 (learned-optimizer)", or with the name a tracked run was given: "run 8 (track 'my-run')"."""
        named = self.experiment if self.run.name == self.experiment else f"{self.experiment} {self.run.name!r}"
        return f"run {self.run.id} ({named})"

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self.rounds]

    def noise(self) -> dict[str, list[Any]]:
        """The capability's noise as the returns estimator takes it: ``{"se": ...}`` (from
        ``capability_se``) or ``{"n_items": ...}`` when every round recorded it, se first when a
        run recorded both; ``{}`` when none was recorded by every round (a partial column would
        be refused). Export, sweeps and ``evidence --add-run`` all read it here."""
        for col, key in NOISE_COLUMNS.items():
            values = self.column(key)
            if values and all(v is not None for v in values):
                return {col: values}
        return {}

    def table(self) -> tuple[list[str], list[dict[str, str]]]:
        """(header, rows) as text, as ``experiment export`` writes them: round, capability,
        compute_flop, seconds (empty where a round did not record it); the capability's noise,
        as ``noise`` gives it; and ``schedule`` when a round
        recorded one (a loop whose labels advance on a fixed schedule does: `rsilab fit rounds`
        reads it to say that k on such rounds is bounded by the schedule)."""
        header = (list(TABLE_COLUMNS) + list(self.noise())
                  + (["schedule"] if any("schedule" in r for r in self.rounds) else []))
        rows = [{key: "" if r.get(NOISE_COLUMNS.get(key, key)) is None else str(r[NOISE_COLUMNS.get(key, key)])
                 for key in header} for r in self.rounds]
        return header, rows


def rounds_of(store: Store, run_id: int, *, min_rounds: int = 0) -> RunRounds:
    """The finished rounds of run ``run_id``, which must be an experiment run with at least
    ``min_rounds`` of them."""
    run = store.get_run(run_id)
    if not run.kind.startswith(ROUNDS_KIND):
        raise StoreError(f"run {run_id} is a {run.kind!r} run, which records no rounds; rounds come from "
                         "`rsilab experiment run` and rsilab.track (`rsilab runs --kind experiment:track` lists "
                         "tracked runs)")
    rounds = store.rounds(run_id)
    if len(rounds) < min_rounds:
        raise StoreError(f"run {run_id} ({run.kind[len(ROUNDS_KIND):]} {run.name!r}, {run.status}) has "
                         f"{len(rounds)} finished round(s); at least {min_rounds} needed")
    return RunRounds(run, rounds)
