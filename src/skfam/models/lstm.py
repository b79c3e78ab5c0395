"""The ``lstm`` family: a stacked LSTM on (n_samples, L, C) windows."""

from __future__ import annotations

from contextlib import AbstractContextManager
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._sequence import (
    CPU_KERNELS,
    DOC_COMMON_PARAMETERS,
    DOC_INPUT,
    _SequenceBase,
    lstm_kernels,
    poor_generic_score,
)
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.lstm import READOUTS, LSTMModule

__all__ = ["LSTMClassifier", "LSTMRegressor"]

_DOC_PARAMETERS = (
    DOC_INPUT
    + """
    Parameters
    ----------
    hidden_size : int, default=None
        Hidden units per direction and layer.
    num_layers : int, default=None
        Stacked LSTM layers.
    dropout : float, default=None
        Dropout between stacked layers and before the head.
    bidirectional : bool or "auto", default=None
        Also read each window backwards. "auto" (the SST's): on for classifiers, whose
        label belongs to the whole series, off for regressors, which forecast from the
        window's end. ``params_["bidirectional"]`` holds the choice.
    readout : {"last", "pool"}, default=None
        How a window becomes the head's input: "last", the top layer's last hidden state;
        "pool" (the SST's), that joined with the mean and the maximum of the top layer's
        outputs over time, so that every step reaches the head directly (long series from
        few examples train far better).
    forget_bias : float in [-10, 10] or "torch", default=None
        Start value of the forget gates' bias; 1.0 (the SST's, Jozefowicz et al. 2015, as
        Keras) starts the gates open so gradients reach the early steps of long windows.
        "torch" keeps torch's uniform initialisation (the reference's).
    cpu_kernels : {"portable", "onednn"}, default=None
        CPU kernels of the LSTM. "portable" (the SST's ``torch.cpu_kernels``): torch's
        native kernels, the same model for any ``n_jobs``. "onednn": oneDNN's fused LSTM,
        about 1.7 x faster training on CPU, bit for bit the same run to run only for the
        same ``n_jobs`` (it sums gradients per thread). No effect on CUDA.
"""
    + DOC_COMMON_PARAMETERS
)


class _LSTMBase(_SequenceBase):
    """Shared parameters of the LSTM estimators."""

    _family: ClassVar[str] = "lstm"
    _module_class = LSTMModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **_SequenceBase._parameter_constraints,
        "hidden_size": [Interval(Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "bidirectional": ["boolean", StrOptions({"auto"}), None],
        "readout": [StrOptions(set(READOUTS)), None],
        "forget_bias": [Interval(Real, -10, 10, closed="both"), StrOptions({"torch"}), None],
        "impute_forward_fill": ["boolean", None],
        "cpu_kernels": [StrOptions(set(CPU_KERNELS)), None],
    }

    def __init__(
        self,
        *,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        dropout: float | None = None,
        bidirectional: bool | str | None = None,
        readout: str | None = None,
        forget_bias: float | str | None = None,
        cpu_kernels: str | None = None,
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
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.readout = readout
        self.forget_bias = forget_bias
        self.cpu_kernels = cpu_kernels
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

    def _kernels(self) -> AbstractContextManager[None]:
        return lstm_kernels(self)

    def _bidirectional(self) -> bool:
        """Resolve ``bidirectional`` ("auto": classifiers only) into ``params_``."""
        value = self.params_["bidirectional"]
        if value == "auto":
            value = is_classifier(self)
        self.params_["bidirectional"] = bool(value)
        return bool(value)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "hidden_size": int(p["hidden_size"]),
            "num_layers": int(p["num_layers"]),
            "dropout": float(p["dropout"]),
            "bidirectional": self._bidirectional(),
            "readout": str(p["readout"]),
            "forget_bias": None if p["forget_bias"] == "torch" else float(p["forget_bias"]),
            **self._skip_kwargs(),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class LSTMRegressor(RegressorMixin, SkfamRegressorMixin, _LSTMBase):
    """LSTM on sequence windows for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import LSTMRegressor, make_sequences
    >>> series = np.cumsum(np.random.default_rng(0).normal(size=(300, 2)), axis=0)
    >>> X, y = make_sequences(series, 10, target=series[:, 0])
    >>> reg = LSTMRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __sklearn_tags__(self):
        # See poor_generic_score: sklearn's generic regression data has no time structure.
        return poor_generic_score(super().__sklearn_tags__())


@fill_doc(parameters=_DOC_PARAMETERS)
class LSTMClassifier(ClassifierMixin, SkfamClassifierMixin, _LSTMBase):
    """LSTM on sequence windows for binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import LSTMClassifier
    >>> X = np.random.default_rng(0).normal(size=(100, 8, 2))
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = LSTMClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
