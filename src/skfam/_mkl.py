"""MKL's strict reproducibility mode: a matrix product with the same bits for any thread count.

``import skfam`` sets ``MKL_CBWR=AUTO,STRICT`` in the environment (``skfam/__init__.py``),
which MKL reads when it starts, at the process's first matrix product. Where torch ran a
product on the CPU before skfam was imported, MKL started without it and keeps its default
mode for the life of the process: a torch fit on the CPU then differs in the last bits
between thread counts. :func:`mkl_strict` asks MKL which mode it runs in (through MKL's
service functions, which torch's CPU library exports), turns strict mode on where MKL has
not started yet, and :func:`check_mkl_strict` warns once per fit where it cannot.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

from ._warnings import ReproducibilityWarning, warn

__all__ = ["check_mkl_strict", "mkl_strict"]

# mkl_service.h
_CBWR_ALL = -1  # ~0: the whole mode word
_CBWR_AUTO = 2
_CBWR_STRICT = 0x10000
_CBWR_SUCCESS = 0


def _service() -> tuple | None:
    """Return MKL's (get, set) mode functions inside torch, or None where torch has no MKL."""
    import torch

    if not torch.backends.mkl.is_available():
        return None
    folder = Path(torch.__file__).parent / "lib"
    for candidate in (None, *sorted(folder.glob("libtorch_cpu*")), *sorted(folder.glob("mkl*"))):
        try:
            library = ctypes.CDLL(None if candidate is None else str(candidate))
            get, set_ = library.mkl_serv_cbwr_get, library.mkl_serv_cbwr_set
        except (OSError, AttributeError):
            continue
        get.argtypes = set_.argtypes = [ctypes.c_int]
        get.restype = set_.restype = ctypes.c_int
        return get, set_
    return None


def _declined() -> str | None:
    """Return the user's ``MKL_CBWR`` when it is set without ``STRICT`` (else None)."""
    wanted = os.environ.get("MKL_CBWR")
    return wanted if wanted is not None and "STRICT" not in wanted.upper() else None


@functools.cache
def mkl_strict() -> bool | None:
    """Return whether MKL runs in strict mode (None: torch has no MKL, or hides its mode).

    Turns strict mode on when MKL has not started yet and ``MKL_CBWR`` asks for it (or is
    unset). The answer cannot change afterwards: MKL fixes its mode when it starts.
    """
    service = _service()
    if service is None:
        return None
    get, set_ = service
    if get(_CBWR_ALL) & _CBWR_STRICT:
        return True
    if _declined() is not None:
        return False  # the user's own setting
    return set_(_CBWR_AUTO | _CBWR_STRICT) == _CBWR_SUCCESS


def check_mkl_strict() -> None:
    """Warn where MKL runs without strict mode (a torch fit on the CPU calls this)."""
    if mkl_strict() is not False:
        return
    wanted = _declined()
    if wanted is not None:
        cause = f"MKL_CBWR={wanted} is set in the environment without STRICT"
    else:
        cause = (
            "torch ran a matrix product on the CPU before skfam was imported, so MKL started "
            "without skfam's MKL_CBWR=AUTO,STRICT"
        )
    warn(
        f"MKL (torch's CPU matrix products) runs without strict reproducibility: {cause}. "
        "A fit on the CPU may then differ in the last bits between thread counts (n_jobs). "
        "Import skfam before running torch, or start Python with MKL_CBWR=AUTO,STRICT.",
        ReproducibilityWarning,
    )
