"""The ``tab_lstm`` family: an LSTM reading the features of a row as a sequence."""

from __future__ import annotations

from contextlib import AbstractContextManager
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._sequence import CPU_KERNELS, lstm_kernels
from .._torch import TorchEstimator
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.lstm import READOUTS
from ..nn.tab_lstm import TabLSTMModule
from ._tabular import doc_parameters

__all__ = ["TabLSTMClassifier", "TabLSTMRegressor"]

_DOC_PARAMETERS = doc_parameters(
    "tab_lstm",
    """
    d_token : int, default=None
        Width of each feature's token (a per-feature linear map of its value).
    hidden_size : int, default=None
        Hidden units per direction and layer.
    num_layers : int, default=None
        Stacked LSTM layers.
    dropout : float, default=None
        Dropout between stacked layers and before the head.
    bidirectional : bool, default=None
        Also read the features in reverse order (the order of the columns is arbitrary in
        most tables, so the SST reads both ways).
    readout : {"last", "pool"}, default=None
        "last": the last hidden state (of each direction); "pool": that, joined with the
        mean and the maximum of the outputs over the features.
    forget_bias : float in [-10, 10] or "torch", default=None
        Start value of the forget gates' bias (1.0: the unit forget bias of Jozefowicz et
        al. 2015); "torch" keeps torch's uniform initialisation.
    cpu_kernels : {"portable", "onednn"}, default=None
        CPU kernels of the LSTM. "portable" (the SST's ``torch.cpu_kernels``): torch's
        native kernels, the same model for any ``n_jobs``. "onednn": oneDNN's fused LSTM,
        faster on CPU, bit for bit the same run to run only for the same ``n_jobs``. No
        effect on CUDA.
""",
    intro="""
    Each feature becomes a token (``x_j * W_j + b_j``), and an LSTM reads the tokens in
    the order of the columns (:class:`~skfam.nn.tab_lstm.TabLSTMModule`): the order of the
    columns is part of the model, so predict must get them in the order of fit.
""",
)


class _TabLSTMBase(TorchEstimator):
    """Shared parameters of the tabular LSTM estimators."""

    _family: ClassVar[str] = "tab_lstm"
    _module_class = TabLSTMModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "d_token": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_size": [Interval(Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "bidirectional": ["boolean", None],
        "readout": [StrOptions(set(READOUTS)), None],
        "forget_bias": [Interval(Real, -10, 10, closed="both"), StrOptions({"torch"}), None],
        "cpu_kernels": [StrOptions(set(CPU_KERNELS)), None],
    }

    def __init__(
        self,
        *,
        d_token: int | None = None,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        dropout: float | None = None,
        bidirectional: bool | None = None,
        readout: str | None = None,
        forget_bias: float | str | None = None,
        cpu_kernels: str | None = None,
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
        self.d_token = d_token
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.readout = readout
        self.forget_bias = forget_bias
        self.cpu_kernels = cpu_kernels
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

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "d_token": int(p["d_token"]),
            "hidden_size": int(p["hidden_size"]),
            "num_layers": int(p["num_layers"]),
            "dropout": float(p["dropout"]),
            "bidirectional": bool(p["bidirectional"]),
            "readout": str(p["readout"]),
            "forget_bias": None if p["forget_bias"] == "torch" else float(p["forget_bias"]),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class TabLSTMRegressor(RegressorMixin, SkfamRegressorMixin, _TabLSTMBase):
    """LSTM over feature tokens for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import TabLSTMRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = TabLSTMRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class TabLSTMClassifier(ClassifierMixin, SkfamClassifierMixin, _TabLSTMBase):
    """LSTM over feature tokens for binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import TabLSTMClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TabLSTMClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """
