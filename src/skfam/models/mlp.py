"""The ``mlp`` family: a PyTorch feed-forward network trained with skorch."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._progress import DOC_VERBOSE
from .._torch import DOC_TRAINING_PARAMETERS, TorchEstimator
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.mlp import ACTIVATIONS, MLPModule

__all__ = ["MLPClassifier", "MLPRegressor"]

_DOC_PARAMETERS = (
    """
    Inputs are imputed and standardised inside the estimator (``imputer_``, ``scaler_``);
    regression targets are standardised for training and mapped back at predict. Every
    hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/mlp.yaml``, its ``variant``, then ``configs/defaults.yaml``); early
    stopping and learning-rate reduction on plateau come from ``configs/callbacks.yaml``.
    The values used are in ``params_``.

    Parameters
    ----------
    hidden_sizes : sequence of int, default=None
        Width of each hidden layer.
    activation : {"relu", "gelu", "tanh", "silu", "elu"}, default=None
        Activation after each hidden layer.
    dropout : float, default=None
        Dropout probability after each hidden layer.
    batch_norm : bool, default=None
        Batch normalisation after each hidden linear layer
        (:class:`~skfam.nn.mlp.ColumnBatchNorm`: the same model for any ``n_jobs``).
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of ``configs/models/mlp.yaml`` (e.g. "fast", "small", "large").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order, dropout and the validation split; None takes
        ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (torch and BLAS); None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (of the standardised target, for regressors) and the
        learning rate of the epoch; ``(best)`` marks a new best validation loss.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.MLPModule`.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
    random_state_ : int
        The seed actually used.
    device_ : str
        The device the net was trained on.
    n_iter_ : int
        Epochs run.
    imputer_ : FeatureImputer
        The imputation step fitted on the training data.
    scaler_ : StandardScaler
        Input standardisation fitted on the training data.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""
)


class _MLPBase(TorchEstimator):
    """Shared parameters of the MLP estimators."""

    _family: ClassVar[str] = "mlp"
    _module_class = MLPModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "hidden_sizes": [list, tuple, None],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "batch_norm": ["boolean", None],
    }

    def __init__(
        self,
        *,
        hidden_sizes: Sequence[int] | None = None,
        activation: str | None = None,
        dropout: float | None = None,
        batch_norm: bool | None = None,
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
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
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
        sizes = p["hidden_sizes"]
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"hidden_sizes must be positive ints, got {sizes!r}.")
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "hidden_sizes": [int(s) for s in sizes],
            "activation": p["activation"],
            "dropout": float(p["dropout"]),
            "batch_norm": bool(p["batch_norm"]),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class MLPRegressor(RegressorMixin, SkfamRegressorMixin, _MLPBase):
    """Feed-forward network for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = MLPRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).dtype
    dtype('float64')
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class MLPClassifier(ClassifierMixin, SkfamClassifierMixin, _MLPBase):
    """Feed-forward network for binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """
