"""Test configuration of the notebooks (run by nbmake, each in a kernel subprocess).

The kernel inherits this process's environment. As in ``tests/conftest.py`` (which pytest
does not load when it is given only ``docs/notebooks``), each process uses one thread unless
OMP_NUM_THREADS says otherwise: torch's small nets slow down by an order of magnitude when
parallel processes oversubscribe the cores. Results do not depend on it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
