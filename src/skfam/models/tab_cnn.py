"""The ``tab_cnn`` family: the 1-D CNN for tabular data of the MoA competition."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval

from .._docs import fill_doc
from .._torch import TorchEstimator
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.tab_cnn import TabCNNModule
from ._tabular import doc_parameters

__all__ = ["TabCNNClassifier", "TabCNNRegressor"]

_DOC_PARAMETERS = doc_parameters(
    "tab_cnn",
    """
    signal_channels : int, default=None
        Channels of the signal the first dense layer makes of the features.
    signal_length : int, default=None
        Steps of that signal; a multiple of 4 (two poolings halve it).
    conv_channels : int, default=None
        Channels of the four convolutions.
    kernel_size : int, default=None
        Width of the first and the last convolution (the two between have width 3).
    dropout : float, default=None
        Dropout before each convolution and before the head.
""",
    intro="""
    The 1-D CNN of the second-place solution of Kaggle's "Mechanisms of Action" competition
    (2020): a dense layer maps the features to a (``signal_length``, ``signal_channels``)
    signal, four 1-D convolutions with batch normalisation, two poolings and a
    multiplicative skip path follow, and a dense head reads the flattened result
    (:class:`~skfam.nn.tab_cnn.TabCNNModule`). Batch normalisation trains on batches of
    2 rows or more (a last batch of one row joins the one before).
""",
)


class _TabCNNBase(TorchEstimator):
    """Shared parameters of the tabular CNN estimators."""

    _family: ClassVar[str] = "tab_cnn"
    _module_class = TabCNNModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "signal_channels": [Interval(Integral, 1, None, closed="left"), None],
        "signal_length": [Interval(Integral, 4, None, closed="left"), None],
        "conv_channels": [Interval(Integral, 1, None, closed="left"), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
    }

    def __init__(
        self,
        *,
        signal_channels: int | None = None,
        signal_length: int | None = None,
        conv_channels: int | None = None,
        kernel_size: int | None = None,
        dropout: float | None = None,
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
        self.signal_channels = signal_channels
        self.signal_length = signal_length
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.dropout = dropout
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

    def _budget_epochs(self, n_train: int) -> int:
        # Called with the training rows left after the validation split, before training.
        if n_train < 2:
            raise ValueError(
                f"{type(self).__name__} trains with batch normalisation, which needs 2 or "
                f"more training rows; got {n_train} sample (after the validation split, "
                "when early stopping is on)."
            )
        return super()._budget_epochs(n_train)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        length = int(p["signal_length"])
        if length % 4:
            raise ValueError(f"signal_length must be a multiple of 4, got {length}.")
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "signal_channels": int(p["signal_channels"]),
            "signal_length": length,
            "conv_channels": int(p["conv_channels"]),
            "kernel_size": int(p["kernel_size"]),
            "dropout": float(p["dropout"]),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class TabCNNRegressor(RegressorMixin, SkfamRegressorMixin, _TabCNNBase):
    """1-D CNN for tabular regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import TabCNNRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = TabCNNRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class TabCNNClassifier(ClassifierMixin, SkfamClassifierMixin, _TabCNNBase):
    """1-D CNN for tabular binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import TabCNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TabCNNClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """
