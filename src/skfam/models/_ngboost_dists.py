"""Distributions of the ``ngboost`` family, in their boosting parametrisation.

Each distribution maps a parameter matrix ``theta`` of shape (n_samples, n_params) to a
per-sample distribution and gives, for the log score (negative log-likelihood):

* ``nll(theta, y)``: the per-sample score;
* ``natural_gradient(theta, y)``: the gradient of the score with respect to ``theta``,
  pre-multiplied by the inverse Fisher information (Duan et al., 2019, "NGBoost: Natural
  Gradient Boosting for Probabilistic Prediction"), in closed form.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import log_softmax, softmax

__all__ = ["Categorical", "Normal"]

# log sigma is clipped here when mapped to sigma, so exp() stays finite and positive.
_LOG_SCALE_BOUNDS = (-30.0, 30.0)
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class Normal:
    """Normal distribution with parameters ``(loc, log scale)``.

    For ``theta = (mu, log sigma)`` and ``r = y - mu`` the score is
    ``log sigma + r**2 / (2 sigma**2) + log(2 pi) / 2``; its gradient is
    ``(-r / sigma**2, 1 - r**2 / sigma**2)`` and the Fisher information is
    ``diag(1 / sigma**2, 2)``, so the natural gradient is ``(-r, (1 - r**2 / sigma**2) / 2)``.
    """

    n_params: ClassVar[int] = 2

    @staticmethod
    def init_params(y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Return the weighted maximum-likelihood ``(mu, log sigma)`` of ``y``."""
        mean = float(np.average(y, weights=weight))
        var = float(np.average((y - mean) ** 2, weights=weight))
        # A constant target has no spread: start from a tiny, finite one.
        floor = 1e-12 * max(1.0, abs(mean)) ** 2
        return np.array([mean, 0.5 * np.log(max(var, floor))])

    @staticmethod
    def scale(theta: np.ndarray) -> np.ndarray:
        """Return sigma of each row."""
        return np.exp(np.clip(theta[:, 1], *_LOG_SCALE_BOUNDS))

    @classmethod
    def nll(cls, theta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the negative log-likelihood of each row."""
        log_scale = np.clip(theta[:, 1], *_LOG_SCALE_BOUNDS)
        z = (y - theta[:, 0]) / np.exp(log_scale)
        return log_scale + 0.5 * z**2 + _HALF_LOG_2PI

    @classmethod
    def natural_gradient(cls, theta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the natural gradient of the score, shape (n_samples, 2)."""
        r = y - theta[:, 0]
        z2 = (r / cls.scale(theta)) ** 2
        return np.column_stack([-r, 0.5 * (1.0 - z2)])


class Categorical:
    """Categorical distribution over ``K`` classes with ``K - 1`` logits (class 0 at 0).

    With ``p = softmax(0, theta)`` and one-hot ``e``, the score is ``-log p_y``, its
    gradient is ``p_k - e_k`` (k = 1..K-1) and the Fisher information is
    ``diag(p) - p p^T`` over classes 1..K-1, whose inverse is ``diag(1/p) + 1 1^T / p_0``
    (Sherman-Morrison). The natural gradient is therefore ``e_0 / p_0 - e_k / p_k``.
    """

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.n_params = n_classes - 1

    def init_params(self, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Return the logits of the weighted class frequencies."""
        counts = np.bincount(y, weights=weight, minlength=self.n_classes)
        freq = np.maximum(counts / counts.sum(), 1e-12)
        return np.log(freq[1:]) - np.log(freq[0])

    @staticmethod
    def _logits(theta: np.ndarray) -> np.ndarray:
        return np.column_stack([np.zeros(len(theta)), theta])

    def proba(self, theta: np.ndarray) -> np.ndarray:
        """Return class probabilities, shape (n_samples, K)."""
        return softmax(self._logits(theta), axis=1)

    def nll(self, theta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the negative log-likelihood of each row."""
        return -log_softmax(self._logits(theta), axis=1)[np.arange(len(y)), y]

    def natural_gradient(self, theta: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the natural gradient of the score, shape (n_samples, K - 1)."""
        p = np.clip(self.proba(theta), 1e-12, None)
        onehot = np.eye(self.n_classes)[y]
        return (onehot[:, :1] / p[:, :1]) - onehot[:, 1:] / p[:, 1:]
