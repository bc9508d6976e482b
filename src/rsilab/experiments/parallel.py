"""A small process pool for experiments: run one function over items, results in order.

Tiny models run faster as one single-threaded process per core than as one process with a
thread per core (measured in benchmarks/bench_self_training.py), so experiments that train
several models side by side map a job function over them here. Workers are spawned (never
forked: a forked OpenMP runtime can hang) and set their torch thread count once at start.
Job functions must be importable module-level functions; their arguments and results are
pickled, so pass tensors as bytes (``torch.save`` to a buffer), not as shared tensors.
With ``workers=1`` everything runs in this process, which is what tests and GPUs use.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable


def _init_worker(threads: int) -> None:
    import os
    import threading
    import time

    import torch

    torch.set_num_threads(threads)
    parent = os.getppid()

    def watch_parent() -> None:
        # A parent killed by a signal cannot shut the pool down; without this its workers would
        # finish their (minutes-long) jobs as orphans.
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch_parent, daemon=True).start()


class WorkerPool:
    """``with WorkerPool(workers, threads_per_worker) as pool: pool.map(fn, items)``."""

    def __init__(self, workers: int = 1, threads_per_worker: int = 1):
        self.workers, self.threads = workers, threads_per_worker
        self._executor: ProcessPoolExecutor | None = None
        self._saved_threads: int | None = None

    def __enter__(self) -> "WorkerPool":
        import torch

        if self.workers > 1:
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker, initargs=(self.threads,))
        else:
            self._saved_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._saved_threads is not None:
            import torch

            torch.set_num_threads(self._saved_threads)
            self._saved_threads = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        items = list(items)
        if self._executor is None:
            return [fn(item) for item in items]
        return list(self._executor.map(fn, items))
