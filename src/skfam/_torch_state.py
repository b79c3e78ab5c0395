"""Process-wide torch state shared by threads: the RNG section lock and the oneDNN flag gate.

Two pieces of torch state are global to the process, and skfam needs them set while a net
trains or predicts:

* the default random generator, which weight init and dropout (``nn.Dropout`` and the
  LSTM's dropout between layers) draw from: :func:`rng_section` lets one thread at a time
  fork, seed and use it, so a fit gets the same draws whatever runs beside it;
* the oneDNN switch ``torch.backends.mkldnn.enabled``, which picks the CPU LSTM kernels
  (see :func:`skfam._sequence.cpu_kernels`): :func:`mkldnn_section` lets sections that need
  the same value run together, makes a section that needs the other value wait until they
  are done, and gives the flag back to its value from before the first section.

Lock order: a thread takes the RNG section first and the flag section inside it, never the
other way round, so the two cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import torch

__all__ = ["mkldnn_section", "rng_section"]

_RNG_LOCK = threading.RLock()


@contextmanager
def rng_section() -> Iterator[None]:
    """Hold the lock of torch's global random generator (re-entrant) while the block runs."""
    with _RNG_LOCK:
        yield


class _FlagGate:
    """Readers-writer style gate over one process-wide boolean flag.

    Sections declare the value they need. Sections needing the value in force enter at
    once (unless a section needing the other value is waiting: then they queue behind it,
    so neither side starves); the first section in saves the flag and sets it, the last one
    out restores the saved value.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: bool | None = None  # the value in force while sections run
        self._holders = 0
        self._saved = False
        self._waiting = {True: 0, False: 0}
        self._local = threading.local()

    @contextmanager
    def hold(self, value: bool) -> Iterator[None]:
        held: list[bool] = self._local.__dict__.setdefault("held", [])
        with self._cond:
            if held:
                # Re-entry from a thread already inside: waiting would deadlock.
                if value != self._value:
                    raise RuntimeError(
                        "torch.backends.mkldnn.enabled is held at "
                        f"{self._value} by this thread, which now asks for {value}: "
                        "an onednn and a portable section cannot nest."
                    )
            else:
                self._waiting[value] += 1
                try:
                    while self._holders and (self._value != value or self._waiting[not value]):
                        self._cond.wait()
                finally:
                    self._waiting[value] -= 1
                if not self._holders:
                    self._saved = torch.backends.mkldnn.enabled
                    torch.backends.mkldnn.enabled = value
                    self._value = value
            self._holders += 1
            held.append(value)
        try:
            yield
        finally:
            with self._cond:
                held.pop()
                self._holders -= 1
                if not self._holders:
                    torch.backends.mkldnn.enabled = self._saved
                    self._value = None
                self._cond.notify_all()


_MKLDNN_GATE = _FlagGate()


def mkldnn_section(enabled: bool) -> AbstractContextManager[None]:
    """Return a context in which ``torch.backends.mkldnn.enabled`` is ``enabled``.

    Sections with the same value run concurrently; one with the other value waits until
    they end. The flag is restored once no section runs.
    """
    return _MKLDNN_GATE.hold(bool(enabled))
