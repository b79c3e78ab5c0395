"""Thread limits for fit and predict (BLAS and OpenMP pools, and torch's own)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral

from threadpoolctl import ThreadpoolController

from ._settings import MAX_THREADS
from ._sst import load_defaults

__all__ = ["active_threads", "resolve_n_jobs", "thread_limit"]

_active = threading.local()

_controller: tuple[int, ThreadpoolController] | None = None


def _pools() -> ThreadpoolController:
    """Return the loaded BLAS/OpenMP pools.

    A scan costs milliseconds, so it is redone only when modules were imported since the
    last one (a new extension module may have brought a new pool).
    """
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Return the positive thread count for ``n_jobs``.

    ``None`` takes the SST's ``n_jobs``; when that is null too, ``OMP_NUM_THREADS`` when it
    is set, else every core. Negative values count back from the cores as in scikit-learn
    (-1 = all cores, -2 = all but one).
    """
    cores = os.cpu_count() or 1
    if n_jobs is None:
        n_jobs = load_defaults()["n_jobs"]
    if n_jobs is None:
        env = os.environ.get("OMP_NUM_THREADS", "").strip()
        if env:
            try:
                return max(1, int(env.split(",")[0]))
            except ValueError as exc:
                raise ValueError(f"OMP_NUM_THREADS={env!r} is not an integer.") from exc
        return cores
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero int or None, got {n_jobs!r}.")
    if abs(n_jobs) > MAX_THREADS:
        # The thread pools take a C int, and a pool of millions of threads is never meant.
        raise ValueError(
            f"n_jobs must lie in [-{MAX_THREADS}, {MAX_THREADS}] (0 excluded), got {n_jobs!r}."
        )
    n_jobs = int(n_jobs)
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


@contextmanager
def thread_limit(n_threads: int) -> Iterator[None]:
    """Limit BLAS/OpenMP pools and torch's intra-op threads, restoring both afterwards."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    outer = getattr(_active, "n_threads", None)
    with _pools().limit(limits=n_threads):
        if torch is not None:
            torch.set_num_threads(n_threads)
        _active.n_threads = n_threads
        try:
            yield
        finally:
            _active.n_threads = outer
            if torch is not None:
                torch.set_num_threads(previous)


def active_threads() -> int | None:
    """Return the thread count of the innermost :func:`thread_limit` of this thread, if any."""
    return getattr(_active, "n_threads", None)
