"""Progress lines of a fit on stderr: the ``verbose`` parameter of every estimator.

Lines go to ``sys.stderr``, looked up at each line (so pytest's capture, a notebook's cell
output or a redirection in effect at that moment receives them), prefixed with the
estimator's class name. Progress only reads what training computes anyway: it never
changes the fitted model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DOC_VERBOSE",
    "Progress",
    "describe_rows",
    "format_metrics",
    "report_interval",
    "rounds_summary",
]

#: Docstring fragment of the ``verbose`` parameter (families fill it in after ``n_jobs``
#: or ``device``).
DOC_VERBOSE = """\
    verbose : int, default=0
        Progress on stderr: 0 silent; 1 a line when fit starts, a line for the first, the
        last and every ``max(1, n // 10)``-th of the ``n`` epochs or boosting rounds
        allowed, with the losses known at that point, and a final line with the time
        taken; 2 and more a line for every epoch or round. Not a hyperparameter: it is not
        read from the SST, not recorded in ``params_``, and never changes the fitted model.
"""


def report_interval(total: int, verbose: int) -> int:
    """Return every how many epochs or rounds a line is printed at ``verbose``.

    Parameters
    ----------
    total : int
        Epochs or rounds allowed.
    verbose : int
        The estimator's ``verbose``.

    Returns
    -------
    interval : int
        1 at ``verbose >= 2``, else ``max(1, total // 10)``.

    Examples
    --------
    >>> report_interval(500, 1), report_interval(500, 2), report_interval(7, 1)
    (50, 1, 1)
    """
    return 1 if verbose >= 2 else max(1, int(total) // 10)


def rounds_summary(n_iter: int, best: int, total: int) -> str:
    """Return the rounds a booster ran, for the final progress line of a fit.

    Parameters
    ----------
    n_iter : int
        Rounds run.
    best : int
        Rounds predicted with (early stopping's best).
    total : int
        Rounds allowed.

    Returns
    -------
    text : str

    Examples
    --------
    >>> rounds_summary(120, 100, 500)
    '120 of 500 rounds, predicting with the first 100'
    """
    text = f"{n_iter} of {total} rounds"
    return text if best == n_iter else f"{text}, predicting with the first {best}"


def _number(value: float) -> str:
    return f"{float(value):.4g}"


def format_metrics(metrics: Iterable[tuple[str, float]]) -> str:
    """Return ``name value`` pairs joined by two spaces, values with 4 significant digits.

    Parameters
    ----------
    metrics : iterable of (str, float)
        Names and values.

    Returns
    -------
    text : str

    Examples
    --------
    >>> format_metrics([("train_loss", 0.123456), ("lr", 0.001)])
    'train_loss 0.1235  lr 0.001'
    """
    return "  ".join(f"{name} {_number(value)}" for name, value in metrics)


def describe_rows(X: Any) -> str:
    """Return the size of a validated input in words (2-D features or 3-D windows).

    Parameters
    ----------
    X : ndarray of shape (n, d) or (n, L, C)
        The validated training input.

    Returns
    -------
    text : str

    Examples
    --------
    >>> import numpy as np
    >>> describe_rows(np.zeros((100, 3)))
    '100 rows of 3 features'
    >>> describe_rows(np.zeros((100, 30, 2)))
    '100 windows of 30 steps x 2 channels'
    >>> describe_rows(np.zeros((100, 30, 1)))
    '100 windows of 30 steps x 1 channel'
    """
    if X.ndim == 3:
        n, length, channels = X.shape
        return f"{n} windows of {length} steps x {channels} channel{'s' * (channels != 1)}"
    return f"{X.shape[0]} rows of {X.shape[1]} features"


class Progress:
    """Writes an estimator's progress lines when its ``verbose`` asks for them.

    Parameters
    ----------
    name : str
        Prefix of every line (the estimator's class name).
    verbose : int
        Lines of level ``<= verbose`` are written; 0 writes none.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     Progress("MyRegressor", 1).say("epoch 1/3")
    ...     Progress("MyRegressor", 0).say("not written")
    >>> err.getvalue().splitlines()
    ['MyRegressor: epoch 1/3']
    """

    def __init__(self, name: str, verbose: int):
        self.name = name
        self.verbose = int(verbose)
        self.start = time.perf_counter()

    def __bool__(self) -> bool:
        return self.verbose > 0

    def say(self, message: str, level: int = 1) -> None:
        """Write ``"<name>: <message>"`` to the current ``sys.stderr`` at ``level`` and above."""
        if self.verbose >= level:
            stream = sys.stderr
            if stream is not None:  # pythonw and some embedders run without a stderr
                print(f"{self.name}: {message}", file=stream, flush=True)

    def due(self, index: int, total: int) -> bool:
        """Whether epoch or round ``index`` (1-based) of ``total`` gets a line."""
        return bool(self) and (
            index in (1, total) or index % report_interval(total, self.verbose) == 0
        )

    def elapsed(self) -> float:
        """Return the seconds since this object was made."""
        return time.perf_counter() - self.start
