"""How the compiled kernels are built and run. numba is imported here, on first use, so that
commands that never simulate start fast.

``jit(fn, label, helpers=..., **bindings)`` compiles ``fn`` (a kernel written once in
``rsilab.simulate``) with the module globals named in ``bindings`` bound to the given
functions: that is how one integrator calls each model's own scalar functions
(``OdeModel.rhs_one``), which ``rsilab.dynamics`` declares as plain Python and never compiles
itself. ``helpers`` are plain functions the kernel or a bound function calls by their own
names (as do the models' scalar helpers, ``rsilab.dynamics.scalar``): numba compiles them
inside whatever calls them. Each result is:

- compiled once per process, under a lock (chunks run in threads and may ask at once; jitting
  a function twice is an error);
- cached on disk across processes. numba checks a cached function against its own source
  file only, and a kernel here inlines functions from other files (a model, the scalar
  helpers, the tableau, ``Status``), so the entry is keyed also by a digest of every source
  file under ``rsilab/dynamics``, ``rsilab/core`` and ``rsilab/simulate`` and of the files the
  bound functions come from (a model of the user's own): an edited model is compiled again,
  never loaded stale;
- announced, when it is compiled rather than loaded from the cache, by one line on stderr
  (stdout stays the command's output, e.g. ``--json``).

``in_threads(work, n, block)`` runs ``work(lo, hi)`` over 0..n in blocks on one thread per
core; the kernels release the GIL, and each sample's result depends on that sample alone, so
the split changes nothing. ``gather(chunks, pool, chunk, n, progress)`` collects a Monte Carlo
run's chunk results in order, reporting progress after each and shutting the run's pool down
however it ends (the path models' runs and the outcome models' share it). Imports only the
standard library at import time.
"""
from __future__ import annotations

import hashlib
import inspect
import marshal
import os
import sys
import threading
import types
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
_LOCK = threading.Lock()        # held while a kernel is compiled
_POOL_LOCK = threading.Lock()
_DONE: dict = {}
_POOL: list = []
_DIGEST: list = []
_HELPERS: set = set()


def cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def gather(chunks: Iterable[T], pool: Executor | None, chunk: int, n: int,
           progress: Callable[[int, int], None] | None) -> list[T]:
    """Every result of ``chunks`` (a pool's map, or a generator when ``pool`` is None), in order;
    ``progress(done, n)`` after each; ``pool`` shut down at the end, its pending chunks
    cancelled if a chunk or the progress callback raised."""
    results: list[T] = []
    try:
        for i, res in enumerate(chunks):
            results.append(res)
            if progress:
                progress(min((i + 1) * chunk, n), n)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return results


def in_threads(work: Callable[[int, int], None], n: int, block: int) -> None:
    """``work(lo, hi)`` over 0..n in blocks of ``block``, on one thread per core."""
    threads = cores()
    if threads <= 1 or n <= block:
        work(0, n)
        return
    with _POOL_LOCK:   # chunks in threads may get here together: one pool
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rsilab-kernel"))
    list(_POOL[0].map(lambda lo: work(lo, min(n, lo + block)), range(0, n, block)))


def jit(fn: Callable, label: str, *, helpers: tuple[Callable, ...] = (), announce: bool = True,
        **bindings: Callable):
    """``fn`` compiled (nopython, releasing the GIL, numpy's error model: a division by zero
    gives inf or NaN as in the numpy solvers), with each global named in ``bindings`` bound to
    that function, compiled too. ``label`` names the kernel in the line announcing a compile
    (``announce=False``: none, for a kernel that compiles in a fraction of a second) and keeps
    apart the cache entries of one ``fn`` bound to different functions."""
    key = (fn, label, tuple(sorted(bindings.items())))
    found = _DONE.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _DONE.get(key)
        if found is None:
            found = _DONE[key] = _compile(fn, label, announce, helpers, bindings)
    return found


def _compile(fn: Callable, label: str, announce: bool, helpers: tuple, bindings: dict):
    import numba
    from numba.core.caching import FunctionCache

    from rsilab.dynamics import scalar

    for helper in (scalar.nmin, scalar.nmax, scalar.clip, scalar.logaddexp, *helpers):
        if helper not in _HELPERS:   # registered once: compiled inside whatever calls it
            numba.extending.register_jitable(error_model="numpy")(helper)
            _HELPERS.add(helper)

    digest = _sources_digest(bindings)

    class Cache(FunctionCache):
        """numba's on-disk cache, its entries keyed also by the digest of the sources."""

        def _index_key(self, sig, codegen):
            return super()._index_key(sig, codegen) + (digest,)

        def load_overload(self, sig, target_context):
            found = super().load_overload(sig, target_context)
            if found is None and announce:
                sys.stderr.write(f"rsilab: compiling the {label} kernel (first use only, a few seconds)...\n")
                sys.stderr.flush()
            return found

    options = {"error_model": "numpy"}
    bound = {name: numba.njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **options)(value)
             for name, value in bindings.items()}
    if bound:
        # a copy of fn whose globals name the bound functions (a compiled function cannot take
        # another as an argument and still be cached on disk)
        fn = _with_globals(fn, label, bound)
    dispatcher = numba.njit(nogil=True, **options)(fn)
    dispatcher._cache = Cache(fn)   # numba's cache=True, with the key above
    return _Kernel(dispatcher)


class _Kernel:
    """A compiled kernel, compiled (or loaded from numba's cache) on its first call for the
    types of that call's arguments, with LLVM's vectorizers off: the kernels' loops run over a
    sample's few states or steps, where vector code bought no speed in any kernel here
    (measured), and the vectorizers are a good part of the compile. numba reads that setting
    from its global config, so it is changed under numba's compiler lock and restored: no other
    compile in the process sees it."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.ready = False

    def __call__(self, *args):
        if not self.ready:
            with _LOCK:
                if not self.ready:
                    self._compile([*args])
                    self.ready = True
        return self.dispatcher(*args)

    def _compile(self, args: list) -> None:
        import numba
        from numba.core import config
        from numba.core.compiler_lock import global_compiler_lock

        signature = tuple(numba.typeof(a) for a in args)
        with global_compiler_lock:
            saved = config.LOOP_VECTORIZE, config.SLP_VECTORIZE
            config.LOOP_VECTORIZE = config.SLP_VECTORIZE = False
            try:
                self.dispatcher.compile(signature)
            finally:
                config.LOOP_VECTORIZE, config.SLP_VECTORIZE = saved


def _with_globals(fn: Callable, label: str, bound: dict) -> Callable:
    copy = types.FunctionType(fn.__code__, {**fn.__globals__, **bound}, fn.__name__, fn.__defaults__, fn.__closure__)
    # the name numba files its cache under, one per bound model
    copy.__qualname__ = f"{fn.__qualname__}.{label.replace(' ', '_')}"
    copy.__module__ = fn.__module__
    copy.__doc__ = fn.__doc__
    return copy


def _sources_digest(bindings: dict) -> str:
    """SHA-256 of every source file a kernel may read (see the module docstring) and of which
    function each name is bound to."""
    if not _DIGEST:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        for package in ("dynamics", "core", "simulate"):
            for path in sorted((root / package).rglob("*.py")):
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
        _DIGEST.append(h.hexdigest())
    h = hashlib.sha256(_DIGEST[0].encode())
    for name, fn in sorted(bindings.items()):
        h.update(f"{name}={fn.__module__}.{fn.__qualname__}".encode())
        source = inspect.getsourcefile(fn)
        # a function typed at a prompt has no file: its code stands for it
        h.update(Path(source).read_bytes() if source and os.path.isfile(source) else marshal.dumps(fn.__code__))
    return h.hexdigest()
