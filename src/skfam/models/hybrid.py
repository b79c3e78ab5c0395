"""The ``hybrid`` family: tabular features plus a sequence, joined by an MLP head."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import fill_doc
from .._impute_seq import HybridImputer
from .._progress import DOC_VERBOSE
from .._sequence import (
    CPU_KERNELS,
    channel_scaling,
    check_scales,
    dump_arrays,
    load_arrays,
    lstm_kernels,
    poor_generic_score,
)
from .._torch import DOC_TRAINING_PARAMETERS, TorchEstimator, rowwise_float32
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..model_file import ModelFileError, _whole
from ..nn.hybrid import ENCODERS, HybridModule

__all__ = ["HybridClassifier", "HybridRegressor"]

_DOC_PARAMETERS = (
    """
    ``X`` is 2-D: ``[features | sequence flattened time-major]`` (build it with
    :func:`skfam.make_hybrid`); ``sequence_shape=(L, C)`` says how many of the last columns
    are the sequence (column ``F + t * C + c`` is channel ``c`` at step ``t``), the first
    ``F = n_features - L * C`` columns are tabular features. ``sequence_shape="auto"`` (the
    SST default) reads the whole row as one univariate sequence (``L = n_features``,
    ``C = 1``, no tabular features). A width smaller than ``L * C`` raises ValueError at
    fit, another width than fit's at predict too. NaN in a feature is imputed with that
    column's statistic of the training data, NaN in the sequence with its channel's
    (after an optional forward fill along time); features are standardised per column and
    the sequence per channel. Every
    hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/hybrid.yaml``, its ``variant``, then ``configs/defaults.yaml``); the
    values used are in ``params_``.

    Parameters
    ----------
    sequence_shape : tuple of (int, int) or "auto", default=None
        ``(L, C)`` of the sequence part; "auto" (the SST's default): the whole row is one
        univariate sequence. Describes the input: pass it for real hybrid data.
    encoder : {"lstm", "cnn1d", "transformer"}, default=None
        The sequence encoder.
    hidden_size : int, default=None
        Width of the encoder: LSTM hidden units, CNN channels per layer or transformer
        ``d_model``.
    num_layers : int, default=None
        Layers of the encoder.
    kernel_size : int, default=None
        Convolution width (``encoder="cnn1d"`` only).
    n_heads : int, default=None
        Attention heads (``encoder="transformer"`` only; must divide ``hidden_size``).
    feedforward_factor : int, default=None
        Width of each transformer layer's feed-forward block, as a multiple of
        ``hidden_size`` (``encoder="transformer"`` only).
    head_sizes : sequence of int, default=None
        Hidden widths of the MLP head on ``[features | embedding]``.
    dropout : float, default=None
        Dropout in the encoder and after each hidden layer of the head.
    cpu_kernels : {"portable", "onednn"}, default=None
        CPU kernels of the LSTM encoder. "portable" (the SST's ``torch.cpu_kernels``):
        torch's native kernels, the same model for any ``n_jobs``. "onednn": oneDNN's
        fused LSTM, faster on CPU, bit for bit the same run to run only for the same
        ``n_jobs``. No effect on CUDA.
    impute_forward_fill : bool, default=None
        Fill a NaN of the sequence with the last observed value of the same channel
        earlier in the row before falling back to the channel's statistic.
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of ``configs/models/hybrid.yaml``.
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order and dropout; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict; None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (of the standardised target, for regressors) and the
        learning rate of the epoch; ``(best)`` marks a new best validation loss.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.HybridModule`.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
    random_state_ : int
        The seed actually used.
    device_ : str
        The device the net was trained on.
    n_iter_ : int
        Epochs run.
    sequence_shape_ : tuple of (int, int)
        ``(L, C)`` used.
    n_tabular_features_ : int
        ``F``, the tabular features in front of the sequence.
    imputer_ : HybridImputer
        Imputation fitted on the training data: per feature column, and per channel of
        the sequence.
    n_features_in_ : int
        ``F + L * C``.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""
)


class _HybridBase(TorchEstimator):
    """Shared parameters of the hybrid estimators."""

    _family: ClassVar[str] = "hybrid"
    _module_class = HybridModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "sequence_shape": [tuple, list, StrOptions({"auto"}), None],
        "encoder": [StrOptions(set(ENCODERS)), None],
        "hidden_size": [Interval(Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(Integral, 1, None, closed="left"), None],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_heads": [Interval(Integral, 1, None, closed="left"), None],
        "feedforward_factor": [Interval(Integral, 1, None, closed="left"), None],
        "head_sizes": [list, tuple, None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "impute_forward_fill": ["boolean", None],
        "cpu_kernels": [StrOptions(set(CPU_KERNELS)), None],
    }

    def __init__(
        self,
        *,
        sequence_shape: tuple[int, int] | None = None,
        encoder: str | None = None,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        kernel_size: int | None = None,
        n_heads: int | None = None,
        feedforward_factor: int | None = None,
        head_sizes: Sequence[int] | None = None,
        dropout: float | None = None,
        cpu_kernels: str | None = None,
        impute_forward_fill: bool | None = None,
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
        self.sequence_shape = sequence_shape
        self.encoder = encoder
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.kernel_size = kernel_size
        self.n_heads = n_heads
        self.feedforward_factor = feedforward_factor
        self.head_sizes = head_sizes
        self.dropout = dropout
        self.cpu_kernels = cpu_kernels
        self.impute_forward_fill = impute_forward_fill
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

    # ------------------------------------------------------------------ layout
    def _resolve_layout(self, width: int) -> None:
        """Set ``sequence_shape_`` and ``n_tabular_features_`` for ``width`` input columns."""
        shape = self.params_["sequence_shape"]
        if isinstance(shape, str):  # "auto": the whole row is one univariate sequence
            length, channels = width, 1
        else:
            if (
                len(shape) != 2
                or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in shape)
                or min(shape) < 1
            ):
                raise ValueError(
                    f"sequence_shape must be (L, C) with positive ints, got {shape!r}."
                )
            length, channels = int(shape[0]), int(shape[1])
            if length * channels > width:
                raise ValueError(
                    f"X has {width} columns, fewer than the {length} x {channels} = "
                    f"{length * channels} of sequence_shape={tuple(shape)}; the input must be "
                    "[features | flattened sequence] (see skfam.make_hybrid)."
                )
        self.sequence_shape_ = (length, channels)
        self.n_tabular_features_ = width - length * channels

    def _make_imputer(self, strategy: str) -> HybridImputer:
        # Called after validate_data set n_features_in_ (at fit and when a model file loads).
        self._resolve_layout(self.n_features_in_)
        return HybridImputer(
            strategy=strategy,
            n_tabular=self.n_tabular_features_,
            sequence_shape=self.sequence_shape_,
            forward_fill=bool(self.params_["impute_forward_fill"]),
        )

    def _windows(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.n_tabular_features_ :].reshape(len(X), *self.sequence_shape_)

    def _split_gap(self) -> int:
        # As for the sequence families: rows are windows one step apart, so a gap of L rows
        # keeps the rows and the target of training windows out of validation windows.
        return self.sequence_shape_[0]

    def _fit_inputs(self, X: np.ndarray) -> np.ndarray:
        k = self.n_tabular_features_
        features = X[:, :k]
        self.feature_mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.feature_scale_ = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        sequence = X[:, k:].reshape(len(X), *self.sequence_shape_)
        self.channel_mean_, self.channel_scale_ = channel_scaling(sequence)
        return self._transform_inputs(X)

    def _transform_inputs(self, X: np.ndarray) -> np.ndarray:
        k = self.n_tabular_features_

        def standardise(rows: np.ndarray) -> np.ndarray:
            features = (rows[:, :k] - self.feature_mean_) / self.feature_scale_
            sequence = rows[:, k:].reshape(len(rows), *self.sequence_shape_)
            sequence = (sequence - self.channel_mean_) / self.channel_scale_
            return np.hstack([features, sequence.reshape(len(rows), -1)])

        return rowwise_float32(X, standardise)

    def _kernels(self) -> AbstractContextManager[None]:
        if self.params_["encoder"] != "lstm":
            return nullcontext()
        return lstm_kernels(self)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        heads = p["head_sizes"]
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in heads):
            raise ValueError(f"head_sizes must be positive ints, got {heads!r}.")
        size, layers, dropout = int(p["hidden_size"]), int(p["num_layers"]), float(p["dropout"])
        encoder = p["encoder"]
        if encoder == "lstm":
            kwargs: dict[str, Any] = {
                "hidden_size": size,
                "num_layers": layers,
                "dropout": dropout,
            }
        elif encoder == "cnn1d":
            kwargs = {
                "channels": [size] * layers,
                "kernel_size": int(p["kernel_size"]),
                "pooling": "mean",
                "dropout": dropout,
            }
        else:
            if size % p["n_heads"]:
                raise ValueError(
                    f"hidden_size ({size}) must be a multiple of n_heads ({p['n_heads']}) for "
                    "the transformer encoder."
                )
            kwargs = {
                "d_model": size,
                "n_heads": int(p["n_heads"]),
                "num_layers": layers,
                "dim_feedforward": int(p["feedforward_factor"]) * size,
                "dropout": dropout,
            }
        length, channels = self.sequence_shape_
        return {
            "n_features": int(self.n_tabular_features_),
            "seq_len": int(length),
            "n_channels": int(channels),
            "n_out": int(n_out),
            "encoder": encoder,
            "encoder_kwargs": kwargs,
            "head_sizes": [int(s) for s in heads],
            "dropout": dropout,
        }

    # ------------------------------------------------------------------ model files
    def _input_state(self) -> dict[str, bytes]:
        return {
            "hybrid_scaling.npz": dump_arrays(
                feature_mean=self.feature_mean_,
                feature_scale=self.feature_scale_,
                channel_mean=self.channel_mean_,
                channel_scale=self.channel_scale_,
            )
        }

    def _restore_input_state(self, blobs: dict[str, bytes]) -> None:
        features, channels = self.n_tabular_features_, self.sequence_shape_[1]
        arrays = load_arrays(
            blobs["hybrid_scaling.npz"],
            {
                "feature_mean": features,
                "feature_scale": features,
                "channel_mean": channels,
                "channel_scale": channels,
            },
        )
        check_scales(feature_scale=arrays["feature_scale"], channel_scale=arrays["channel_scale"])
        self.feature_mean_ = arrays["feature_mean"]
        self.feature_scale_ = arrays["feature_scale"]
        self.channel_mean_ = arrays["channel_mean"]
        self.channel_scale_ = arrays["channel_scale"]

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        meta.update(
            sequence_shape=list(self.sequence_shape_),
            n_tabular_features=self.n_tabular_features_,
        )
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        shape = meta["sequence_shape"]
        if not isinstance(shape, list) or len(shape) != 2:
            raise ModelFileError(f"sequence_shape = {shape!r} is not [L, C].")
        length = _whole(shape[0], "sequence_shape[0]", 1)
        channels = _whole(shape[1], "sequence_shape[1]", 1)
        features = _whole(meta["n_tabular_features"], "n_tabular_features", 0)
        if features + length * channels != self.n_features_in_:
            raise ModelFileError(
                f"{features} features and a {length} x {channels} sequence are not the "
                f"{self.n_features_in_} features of the file."
            )
        imputer = self.imputer_  # built from params_["sequence_shape"] by the loader
        if (imputer.n_tabular, tuple(imputer.sequence_shape)) != (features, (length, channels)):
            raise ModelFileError(
                f"the sequence_shape in params_ ({tuple(imputer.sequence_shape)}) is not the "
                f"fitted one ({length}, {channels})."
            )
        self.sequence_shape_ = (length, channels)
        self.n_tabular_features_ = features
        super()._restore_model_state(meta, arrays, blobs)

    def _module_layout(self) -> dict[str, int]:
        length, channels = self.sequence_shape_
        return {
            "n_features": self.n_tabular_features_,
            "seq_len": length,
            "n_channels": channels,
            "n_out": self._n_outputs(),
        }


@fill_doc(parameters=_DOC_PARAMETERS)
class HybridRegressor(RegressorMixin, SkfamRegressorMixin, _HybridBase):
    """Tabular features plus a sequence for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import HybridRegressor, make_hybrid
    >>> rng = np.random.default_rng(0)
    >>> features, windows = rng.normal(size=(200, 3)), rng.normal(size=(200, 10, 2))
    >>> X = make_hybrid(features, windows)
    >>> y = features[:, 0] + windows[:, -1, 0]
    >>> reg = HybridRegressor(sequence_shape=(10, 2), variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape, reg.n_tabular_features_
    ((3,), 3)
    """

    def __sklearn_tags__(self):
        # See poor_generic_score: sklearn's generic regression data has no time structure.
        return poor_generic_score(super().__sklearn_tags__())


@fill_doc(parameters=_DOC_PARAMETERS)
class HybridClassifier(ClassifierMixin, SkfamClassifierMixin, _HybridBase):
    """Tabular features plus a sequence for classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import HybridClassifier, make_hybrid
    >>> rng = np.random.default_rng(0)
    >>> X = make_hybrid(rng.normal(size=(100, 2)), rng.normal(size=(100, 6, 1)))
    >>> y = np.where(X[:, 0] + X[:, -1] > 0, "up", "down")
    >>> clf = HybridClassifier(sequence_shape=(6, 1), variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
