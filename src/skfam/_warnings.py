"""Warning classes of skfam (all subclasses of :class:`SkfamWarning`)."""

from __future__ import annotations

import os
import sys
import warnings

import sklearn

__all__ = [
    "DegenerateModelWarning",
    "InputLayoutWarning",
    "ReproducibilityWarning",
    "SkfamWarning",
    "warn",
]


class SkfamWarning(UserWarning):
    """Base of every warning skfam raises; filter it to silence them all."""


class DegenerateModelWarning(SkfamWarning):
    """A fitted model learned (almost) nothing.

    Raised after ``fit`` when the model predicts the same value (or class) for every
    training row although the target varies, or when early stopping kept the model of the
    first iteration. The message names the likely cause and the setting to change.
    """


class InputLayoutWarning(SkfamWarning):
    """The input's layout looks unlike what the estimator reads it as.

    E.g. 3-D sequence input of shape (n_samples, channels, timesteps), the layout of aeon
    and sktime, given to a family that reads (n_samples, timesteps, channels).
    """


class ReproducibilityWarning(SkfamWarning):
    """A fit cannot keep skfam's promise of the same bits for any thread count.

    Raised by a torch fit on the CPU when MKL, torch's CPU matrix library, runs without its
    strict reproducibility mode (it started before ``import skfam`` could turn it on, or
    ``MKL_CBWR`` was set without ``STRICT``). See docs/determinism.md ("Threads").
    """


def warn(message: str, category: type[Warning]) -> None:
    """Issue ``message`` attributed to the first caller outside skfam and scikit-learn.

    A fit reaches its checks through several wrappers (settings, scikit-learn's fit
    context, a search's clone), so a fixed ``stacklevel`` would point into one of them.
    """
    inside = (_PACKAGE_DIR, _SKLEARN_DIR)
    frame = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKLEARN_DIR = os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep
