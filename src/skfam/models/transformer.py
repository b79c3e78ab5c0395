"""The ``transformer`` family: a Transformer encoder on (n_samples, L, C) windows."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._sequence import DOC_COMMON_PARAMETERS, DOC_INPUT, _SequenceBase
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..nn.transformer import POSITIONAL_ENCODINGS, TRANSFORMER_POOLINGS, TransformerModule

__all__ = ["TransformerClassifier", "TransformerRegressor"]

_DOC_PARAMETERS = (
    DOC_INPUT
    + """
    Parameters
    ----------
    d_model : int, default=None
        Width of the model (a multiple of ``n_heads``).
    n_heads : int, default=None
        Attention heads.
    num_layers : int, default=None
        Encoder layers (pre-norm).
    dim_feedforward : int, default=None
        Width of each layer's feed-forward block.
    dropout : float, default=None
        Dropout inside the encoder layers.
    positional_encoding : {"sinusoidal", "learned"}, default=None
        Fixed sine/cosine positions, or a learned table of length ``L``.
    pooling : {"mean", "last", "cls"}, default=None
        Mean over steps, the last step, or a learned [CLS] token.
"""
    + DOC_COMMON_PARAMETERS
)


class _TransformerBase(_SequenceBase):
    """Shared parameters of the Transformer estimators."""

    _family: ClassVar[str] = "transformer"
    _module_class = TransformerModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **_SequenceBase._parameter_constraints,
        "d_model": [Interval(Integral, 1, None, closed="left"), None],
        "n_heads": [Interval(Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(Integral, 1, None, closed="left"), None],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "positional_encoding": [StrOptions(set(POSITIONAL_ENCODINGS)), None],
        "pooling": [StrOptions(set(TRANSFORMER_POOLINGS)), None],
        "impute_forward_fill": ["boolean", None],
    }

    def __init__(
        self,
        *,
        d_model: int | None = None,
        n_heads: int | None = None,
        num_layers: int | None = None,
        dim_feedforward: int | None = None,
        dropout: float | None = None,
        positional_encoding: str | None = None,
        pooling: str | None = None,
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
        self.d_model = d_model
        self.n_heads = n_heads
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.positional_encoding = positional_encoding
        self.pooling = pooling
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
        if p["d_model"] % p["n_heads"]:
            raise ValueError(
                f"d_model ({p['d_model']}) must be a multiple of n_heads ({p['n_heads']})."
            )
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "seq_len": int(self.n_timesteps_in_),
            "d_model": int(p["d_model"]),
            "n_heads": int(p["n_heads"]),
            "num_layers": int(p["num_layers"]),
            "dim_feedforward": int(p["dim_feedforward"]),
            "dropout": float(p["dropout"]),
            "positional_encoding": p["positional_encoding"],
            "pooling": p["pooling"],
            **self._skip_kwargs(),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class TransformerRegressor(RegressorMixin, SkfamRegressorMixin, _TransformerBase):
    """Transformer encoder on sequence windows for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import TransformerRegressor, make_sequences
    >>> series = np.cumsum(np.random.default_rng(0).normal(size=(300, 2)), axis=0)
    >>> X, y = make_sequences(series, 10, target=series[:, 0])
    >>> reg = TransformerRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class TransformerClassifier(ClassifierMixin, SkfamClassifierMixin, _TransformerBase):
    """Transformer encoder on sequence windows for classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import TransformerClassifier
    >>> X = np.random.default_rng(0).normal(size=(100, 8, 2))
    >>> y = np.where(X[:, -1, 0] > 0, "up", "down")
    >>> clf = TransformerClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
