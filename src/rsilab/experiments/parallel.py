"""A small process pool for experiments: run one function over items, results in order.

Tiny models run faster as one single-threaded process per core than as one process with a
thread per core (measured in benchmarks/bench_self_training.py), so experiments that train
several models side by side map a job function over them here. Workers are spawned (never
forked: a forked OpenMP runtime can hang). Job functions must be importable module-level
functions; their arguments and results are pickled, so pass tensors as bytes (``torch.save`` to a
buffer), not as shared tensors. With ``workers=1`` everything runs in this process, which is what
tests and GPUs use.

Every process that runs jobs, this one included, is pinned the same way (``pin_torch``): a fixed
number of intra-op threads and torch's deterministic algorithms, so a job's arithmetic depends
only on the job, the CPU's instruction set and that thread count, never on how many cores the
machine has, on OMP_NUM_THREADS, or on which worker ran it (docs/self_training.md,
"Reproducibility").
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterable


def pin_torch(threads: int) -> None:
    """Fix this process's intra-op threads and make torch refuse nondeterministic kernels."""
    import torch

    torch.set_num_threads(threads)
    # a kernel without a deterministic implementation then raises instead of varying run to run
    torch.use_deterministic_algorithms(True)


def _init_worker(threads: int) -> None:
    import os
    import threading
    import time

    pin_torch(threads)
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
        self._saved: tuple[int, bool] | None = None

    def __enter__(self) -> "WorkerPool":
        import torch

        if self.workers > 1:
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker, initargs=(self.threads,))
        else:
            # this process runs the jobs: pin it, and give the caller its settings back afterwards
            self._saved = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
            pin_torch(self.threads)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._saved is not None:
            import torch

            torch.set_num_threads(self._saved[0])
            torch.use_deterministic_algorithms(self._saved[1])
            self._saved = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        items = list(items)
        if self._executor is None:
            return [fn(item) for item in items]
        return list(self._executor.map(fn, items))
