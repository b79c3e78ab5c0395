"""The ``cnn1d`` family: a causal 1-D convolutional network on (n_samples, L, C) windows."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._sequence import DOC_COMMON_PARAMETERS, DOC_INPUT, _SequenceBase, poor_generic_score
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.cnn1d import POOLINGS, CNN1DModule

__all__ = ["CNN1DClassifier", "CNN1DRegressor"]

_DOC_PARAMETERS = (
    DOC_INPUT
    + """
    Parameters
    ----------
    channels : sequence of int, default=None
        Output channels of each causal convolution layer.
    kernel_size : int, default=None
        Width of each convolution kernel (in steps).
    pooling : {"mean", "max", "last"}, default=None
        Global pooling over time before the head ("last": the last step, which sees the
        whole window through the causal convolutions).
    dropout : float, default=None
        Dropout after each convolution.
"""
    + DOC_COMMON_PARAMETERS
)


class _CNN1DBase(_SequenceBase):
    """Shared parameters of the 1-D CNN estimators."""

    _family: ClassVar[str] = "cnn1d"
    _module_class = CNN1DModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **_SequenceBase._parameter_constraints,
        "channels": [list, tuple, None],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), None],
        "pooling": [StrOptions(set(POOLINGS)), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "impute_forward_fill": ["boolean", None],
    }

    def __init__(
        self,
        *,
        channels: Sequence[int] | None = None,
        kernel_size: int | None = None,
        pooling: str | None = None,
        dropout: float | None = None,
        impute_forward_fill: bool | None = None,
        linear_skip: str | int | None = None,
        delta_channel: str | int | None = None,
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        min_steps: int | None = None,
        lr_schedule: str | None = None,
        lr_patience: int | None = None,
        early_stopping: bool | str | None = None,
        patience: int | None = None,
        validation_fraction: float | None = None,
        validation_split: str | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        self.channels = channels
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.dropout = dropout
        self.impute_forward_fill = impute_forward_fill
        self.linear_skip = linear_skip
        self.delta_channel = delta_channel
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        sizes = p["channels"]
        if not sizes or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(f"channels must be a non-empty list of positive ints, got {sizes!r}.")
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "channels": [int(s) for s in sizes],
            "kernel_size": int(p["kernel_size"]),
            "pooling": p["pooling"],
            "dropout": float(p["dropout"]),
            **self._skip_kwargs(),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class CNN1DRegressor(RegressorMixin, SkfamRegressorMixin, _CNN1DBase):
    """Causal 1-D CNN on sequence windows for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import CNN1DRegressor, make_sequences
    >>> series = np.cumsum(np.random.default_rng(0).normal(size=(300, 2)), axis=0)
    >>> X, y = make_sequences(series, 10, target=series[:, 0])
    >>> reg = CNN1DRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __sklearn_tags__(self):
        # See poor_generic_score: sklearn's generic regression data has no time structure.
        return poor_generic_score(super().__sklearn_tags__())


@fill_doc(parameters=_DOC_PARAMETERS)
class CNN1DClassifier(ClassifierMixin, SkfamClassifierMixin, _CNN1DBase):
    """Causal 1-D CNN on sequence windows for binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import CNN1DClassifier
    >>> X = np.random.default_rng(0).normal(size=(100, 8, 2))
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = CNN1DClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
