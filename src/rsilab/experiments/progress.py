"""The one progress display of the experiments: a rich bar over rounds on stderr that also
prints one line per finished round, or nothing at all when progress is off. Imports no torch."""
from __future__ import annotations

from typing import Any


class RoundBar:
    """``with RoundBar(enabled, label, total, done) as bar: ... bar.step("round 3: ...")``."""

    def __init__(self, enabled: bool, label: str, total: int, done: int):
        self.enabled, self.label, self.total, self.done = enabled, label, total, done
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> "RoundBar":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), TextColumn("{task.description}"),
                                      console=Console(stderr=True))
            self._progress.__enter__()
            self._task = self._progress.add_task(f"round {self.done}", total=self.total, completed=self.done)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def step(self, text: str) -> None:
        """One round finished: advance the bar and print ``text`` above it."""
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=text)
            self._progress.console.print(text)
