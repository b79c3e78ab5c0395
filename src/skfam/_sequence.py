"""Shared base of the sequence families (lstm, cnn1d, transformer): 3-D input.

Input is (n_samples, L, C) windows (see :func:`skfam.make_sequences`), or 2-D
(n_samples, L), read as univariate sequences (n_samples, L, 1) as tslearn does. The
estimator imputes per channel (:class:`~skfam._impute_seq.SequenceImputer`, fitted on the
training data only), standardises per channel, and holds out the *last*
``validation_fraction`` of the windows for early stopping, after a purge gap of ``L``
windows, so overlapping windows never leak between training and validation.
"""

from __future__ import annotations

import io
from contextlib import AbstractContextManager
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy.sparse import issparse
from sklearn.base import is_classifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._impute_seq import SequenceImputer
from ._progress import DOC_VERBOSE
from ._safe_zip import ZIP_ERRORS, ZipContentError, check_stored_zip
from ._sst import load_defaults
from ._torch import DOC_TRAINING_PARAMETERS, TorchEstimator, rowwise_float32
from ._torch_state import mkldnn_section
from ._warnings import InputLayoutWarning, warn
from .model_file import ModelFileError, _whole

__all__ = [
    "CPU_KERNELS",
    "DELTA_CHANNEL_CONSTRAINT",
    "SequenceInputMixin",
    "channel_scaling",
    "check_scales",
    "cpu_kernels",
    "dump_arrays",
    "estimator_kernels",
    "load_arrays",
    "lstm_kernels",
    "poor_generic_score",
]

#: Choices of ``cpu_kernels``: torch's native kernels, or oneDNN's where torch has them.
CPU_KERNELS = ("portable", "onednn")


def cpu_kernels(choice: str) -> AbstractContextManager[None]:
    """Return a context running its block with oneDNN off for "portable", on for "onednn".

    oneDNN's CPU LSTM sums weight gradients per thread, so its model depends on the thread
    count; torch's native kernels do not have that problem, and "portable" (the SST's
    default) keeps skfam's promise of the same model for any ``n_jobs``. "onednn" trains
    and predicts faster on CPU, bit for bit the same run to run for the same ``n_jobs``.
    The flag is process-wide: blocks in other threads that need the same value run at the
    same time, a block that needs the other value waits until they end, and the flag gets
    its earlier value back when the last block ends (:mod:`skfam._torch_state`). CUDA is
    not affected.
    """
    if choice not in CPU_KERNELS:
        raise ValueError(f"cpu_kernels must be one of {CPU_KERNELS}, got {choice!r}.")
    return mkldnn_section(choice == "onednn")


def estimator_kernels(estimator: TorchEstimator) -> str:
    """Return the ``cpu_kernels`` choice of a (fitting or fitted) estimator."""
    return estimator.params_.get("cpu_kernels", "portable")


def lstm_kernels(estimator: TorchEstimator) -> AbstractContextManager[None]:
    """Return the kernel context of an estimator whose net holds an LSTM.

    Of the layers skfam's nets use, only the LSTM's CPU kernels change with the oneDNN
    flag (linear maps, the unfold convolution, layer norm, softmax and batch norm give the
    same bits either way: checked forward and backward at the SST's sizes), so only
    sections that run an LSTM declare the flag.
    """
    return cpu_kernels(estimator_kernels(estimator))


def _ndim(X: Any) -> int | None:
    """Return the dimension of ``X`` without converting it (None: sparse or exotic)."""
    if issparse(X):
        return None
    if hasattr(X, "ndim"):
        return int(X.ndim)
    if isinstance(X, (list, tuple)):
        return int(np.ndim(X))
    return None


def channel_scaling(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return per-channel (mean, scale) of a (N, L, C) array; a constant channel scales by 1."""
    flat = X.reshape(-1, X.shape[-1])
    mean = flat.mean(axis=0)
    scale = flat.std(axis=0)
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    return mean, scale


def dump_arrays(**arrays: np.ndarray) -> bytes:
    """Serialise float arrays as one ``.npz`` blob (no pickle)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
    return buffer.getvalue()


def load_arrays(data: bytes, lengths: dict[str, int]) -> dict[str, np.ndarray]:
    """Read a blob written by :func:`dump_arrays`: exactly ``lengths``' finite 1-D arrays.

    The blob must be an uncompressed archive whose arrays match their headers (so nothing
    inflates or allocates beyond the blob's size); pickled content is refused.
    """
    try:
        check_stored_zip(data, "an array blob")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ZipContentError, *ZIP_ERRORS) as exc:
        raise ModelFileError(f"an array blob cannot be read safely: {exc}") from exc
    if set(arrays) != set(lengths):
        raise ModelFileError(f"an array blob holds {sorted(arrays)}, not {sorted(lengths)}.")
    for name, array in arrays.items():
        if array.shape != (lengths[name],) or array.dtype != np.float64:
            raise ModelFileError(
                f"array {name!r} is {array.dtype} of shape {array.shape}, not float64 of "
                f"shape ({lengths[name]},)."
            )
        if not np.isfinite(array).all():
            raise ModelFileError(f"array {name!r} is not finite.")
    return arrays


def check_scales(**scales: np.ndarray) -> None:
    """Refuse restored scales that are not positive (a division by them would not be)."""
    for name, scale in scales.items():
        if not (scale > 0).all():
            raise ModelFileError(f"array {name!r} holds scales that are not positive.")


def poor_generic_score(tags: Any) -> Any:
    """Mark a sequence regressor's tags ``poor_score`` (call it in the concrete class).

    scikit-learn's ``check_regressors_train`` fits i.i.d. tabular columns read as one
    sequence, with a target linear in every position: no temporal structure for a sequence
    model to use. A tiny "fast" CNN with global pooling cannot weigh positions at all, and a
    tiny LSTM or hybrid reaches R^2 around 0.4-0.6 there, so its R^2 > 0.5 bar is not a
    meaningful test of these families. Their learning is tested on sequence data instead
    (tests/test_sequence_families.py: AR(2) within 1.3 x the noise variance). It must run
    in the concrete class, because ``RegressorMixin`` resets ``regressor_tags``.
    """
    tags.regressor_tags.poor_score = True
    return tags


#: Valid values of ``delta_channel`` (the sequence nets and MiniRocket).
DELTA_CHANNEL_CONSTRAINT = [
    StrOptions({"auto", "off"}),
    Interval(Integral, 0, None, closed="left"),
    None,
]


def _ragged_lengths(X: Any) -> list[int] | None:
    """Return the lengths of a list of series when they differ (None when they do not)."""
    if not isinstance(X, (list, tuple)) and not (
        isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1
    ):
        return None
    shapes = {np.shape(item) for item in X if hasattr(item, "__len__")}
    if len(shapes) <= 1 or not all(hasattr(item, "__len__") for item in X):
        return None
    return sorted({len(item) for item in X})


class SequenceInputMixin:
    """3-D input of the sequence families: validation, layout checks, imputation.

    ``X`` is (n_samples, L, C), or 2-D (n_samples, L) read as one channel. Fit records
    ``n_timesteps_in_`` and ``n_channels_in_``; predict needs the same. A 3-D array whose
    time axis is shorter than its channel axis (the (n_samples, channels, timesteps) layout
    of aeon and sktime) fits with an :class:`~skfam.InputLayoutWarning`; series of unequal
    length are refused with a ValueError that says so.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        return tags

    @staticmethod
    def _is_3d(X: Any) -> bool:
        return _ndim(X) == 3

    def _check_dimensions(self, X: Any) -> None:
        lengths = _ragged_lengths(X)
        if lengths is not None:
            shown = lengths if len(lengths) <= 6 else [*lengths[:3], "...", *lengths[-2:]]
            raise ValueError(
                f"{type(self).__name__} needs series of equal length and channels, but X holds "
                f"series of lengths {shown}. Pad or truncate them to one length (e.g. "
                "aeon.transformations.collection.Padder), or cut equal windows with "
                "skfam.make_sequences."
            )
        ndim = _ndim(X)
        if ndim is not None and ndim > 3:
            raise ValueError(
                f"{type(self).__name__} expects 3-D input (n_samples, sequence_length, "
                f"channels), or 2-D (n_samples, sequence_length) for one channel; got "
                f"{ndim}-D input of shape {np.shape(X)}."
            )

    def _warn_layout(self, length: int, channels: int) -> None:
        if length < channels:
            warn(
                f"{type(self).__name__} reads 3-D input as (n_samples, timesteps, channels), "
                f"so this X is {channels} channels of {length} step(s). If it is (n_samples, "
                "channels, timesteps), the layout of aeon and sktime, pass "
                "X.transpose(0, 2, 1); a univariate series set can also be passed 2-D as "
                "(n_samples, timesteps).",
                InputLayoutWarning,
            )

    def _validate_fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_dimensions(X)
        y_numeric = not hasattr(self, "_encode_classes")
        if self._is_3d(X):
            X = np.asarray(X)
            n, length, channels = X.shape
            flat, y = validate_data(
                self,
                X.reshape(n, length * channels),
                y,
                dtype=np.float64,
                order="C",
                ensure_all_finite="allow-nan",
                y_numeric=y_numeric,
            )
            self._warn_layout(length, channels)
        else:
            flat, y = validate_data(
                self,
                X,
                y,
                dtype=np.float64,
                order="C",
                ensure_all_finite="allow-nan",
                y_numeric=y_numeric,
            )
            length, channels = flat.shape[1], 1
        self.n_timesteps_in_ = int(length)
        self.n_channels_in_ = int(channels)
        return flat.reshape(len(flat), length, channels), y

    def _validate_predict_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        self._check_dimensions(X)
        length, channels = self.n_timesteps_in_, self.n_channels_in_
        name = type(self).__name__
        if self._is_3d(X):
            X = np.asarray(X)
            if X.shape[1:] != (length, channels):
                raise ValueError(
                    f"X has windows of length {X.shape[1]} with {X.shape[2]} channel(s), but "
                    f"{name} was fitted on length {length} with {channels} channel(s); "
                    "this family needs the same length and channels at predict."
                )
            flat = X.reshape(len(X), length * channels)
        else:
            if channels != 1 and _ndim(X) == 2:
                raise ValueError(
                    f"{name} was fitted on {channels} channels; 2-D input is read as one "
                    f"channel, so pass (n_samples, {length}, {channels}) windows."
                )
            flat = X
        flat = validate_data(
            self, flat, reset=False, dtype=np.float64, order="C", ensure_all_finite="allow-nan"
        )
        return self.imputer_.transform(flat.reshape(len(flat), length, channels))

    def _make_imputer(self, strategy: str) -> SequenceImputer:
        return SequenceImputer(
            strategy=strategy, forward_fill=bool(self.params_["impute_forward_fill"])
        )

    def _fit_anchor(self, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        self.delta_channel_ = self._resolve_delta_channel(X, y)
        self.params_["delta_channel"] = (
            "off" if self.delta_channel_ is None else self.delta_channel_
        )
        return self._anchor(X)

    def _anchor(self, X: np.ndarray) -> np.ndarray | None:
        channel = self.delta_channel_
        return None if channel is None else np.asarray(X[:, -1, channel], dtype=np.float64)

    def _resolve_delta_channel(self, X: np.ndarray, y: np.ndarray) -> int | None:
        """Return the channel whose last value the regressor learns the change from."""
        setting = self.params_["delta_channel"]
        name = type(self).__name__
        if is_classifier(self):
            if setting not in ("auto", "off"):
                raise ValueError(
                    f"{name}: delta_channel={setting!r} applies to regression (the change "
                    "of a target); a classifier takes 'auto' or 'off'."
                )
            return None
        if setting == "off":
            return None
        channels = X.shape[2]
        if setting != "auto":
            if setting >= channels:
                raise ValueError(
                    f"{name}: delta_channel={setting} is not a channel of windows with "
                    f"{channels} channel(s) (0-based)."
                )
            return int(setting)
        variance = float(np.var(y))
        if not variance > 0 or not np.isfinite(variance):
            return None
        ratio = float(load_defaults()["torch"]["delta_auto_ratio"])
        squared = ((y[:, None] - X[:, -1, :]) ** 2).mean(axis=0)
        channel = int(np.argmin(squared))
        return channel if squared[channel] <= ratio * variance else None

    # ------------------------------------------------------------------ hooks
    def _restore_delta(self, meta: dict) -> None:
        """Restore ``delta_channel_`` from a model file (absent in older files: None)."""
        channel = meta.get("delta_channel")
        if channel is not None and (
            is_classifier(self)
            or type(channel) is not int
            or not 0 <= channel < self.n_channels_in_
        ):
            raise ModelFileError(
                f"delta_channel = {channel!r} is not null or a channel of this "
                f"{'classifier' if is_classifier(self) else 'regressor'}'s input."
            )
        self.delta_channel_ = channel

    def _layout_meta(self) -> dict[str, int]:
        """Return the model-file fields of the input layout."""
        return {"n_timesteps": self.n_timesteps_in_, "n_channels": self.n_channels_in_}

    def _restore_layout(self, meta: dict) -> None:
        """Restore (and check) the input layout from a model file's fields."""
        self.n_timesteps_in_ = _whole(meta["n_timesteps"], "n_timesteps", 1)
        self.n_channels_in_ = _whole(meta["n_channels"], "n_channels", 1)
        if self.n_timesteps_in_ * self.n_channels_in_ != self.n_features_in_:
            raise ModelFileError(
                f"{self.n_timesteps_in_} steps of {self.n_channels_in_} channels are not the "
                f"{self.n_features_in_} features of the file."
            )


class _SequenceBase(SequenceInputMixin, TorchEstimator):
    """Base of the sequence nets: 3-D input, per-channel scaling, the time-ordered split."""

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "linear_skip": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left"), None],
        "delta_channel": DELTA_CHANNEL_CONSTRAINT,
    }

    # ------------------------------------------------------------------ forecasting
    def _skip_kwargs(self) -> dict[str, int]:
        """Return the module argument of the linear skip ("auto": the window, regressors)."""
        steps = self.params_["linear_skip"]
        length = self.n_timesteps_in_
        if steps == "auto":
            steps = 0 if is_classifier(self) else length
        if steps > length:
            raise ValueError(
                f"{type(self).__name__}: linear_skip={steps} is longer than the windows "
                f"({length} steps)."
            )
        self.params_["linear_skip"] = int(steps)
        return {"linear_skip": int(steps)}

    def _windows(self, X: np.ndarray) -> np.ndarray:
        return X

    def _fit_inputs(self, X: np.ndarray) -> np.ndarray:
        self.channel_mean_, self.channel_scale_ = channel_scaling(self._relative(X))
        return self._transform_inputs(X)

    def _transform_inputs(self, X: np.ndarray) -> np.ndarray:
        mean, scale = self.channel_mean_, self.channel_scale_
        return rowwise_float32(X, lambda rows: (self._relative(rows) - mean) / scale)

    def _relative(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` with the delta channel taken relative to the window's last value.

        A level (a price, a concentration) moves little within a window next to its range
        over the data set, so standardised over the data set its steps would differ in
        the last digits only; relative to the window's last value they are the shape the
        net reads (the change it predicts is relative to the same value).
        """
        channel = self.delta_channel_
        if channel is None:
            return X
        X = X.copy()
        X[:, :, channel] -= X[:, -1:, channel]
        return X

    def _split_gap(self) -> int:
        # Window i and i + L share no row (for windows one row apart, as make_sequences
        # cuts with step=1), and the target of the last training window (horizon 1) is
        # the last row of a window at least L - 1 rows later: a gap of L windows keeps
        # every validation window's rows and targets out of training.
        return self.n_timesteps_in_

    def _input_state(self) -> dict[str, bytes]:
        return {
            "channel_scaling.npz": dump_arrays(mean=self.channel_mean_, scale=self.channel_scale_)
        }

    def _restore_input_state(self, blobs: dict[str, bytes]) -> None:
        channels = self.n_channels_in_
        arrays = load_arrays(blobs["channel_scaling.npz"], {"mean": channels, "scale": channels})
        check_scales(scale=arrays["scale"])
        self.channel_mean_, self.channel_scale_ = arrays["mean"], arrays["scale"]

    def _module_layout(self) -> dict[str, int]:
        return {
            "n_in": self.n_channels_in_,
            "n_out": self._n_outputs(),
            "seq_len": self.n_timesteps_in_,
        }

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        meta.update(self._layout_meta(), delta_channel=self.delta_channel_)
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self._restore_layout(meta)
        self._restore_delta(meta)
        kwargs = meta.get("module_kwargs")
        skip = kwargs.get("linear_skip", 0) if isinstance(kwargs, dict) else 0
        if type(skip) is not int or not 0 <= skip <= self.n_timesteps_in_:
            raise ModelFileError(
                f"linear_skip = {skip!r} is not a number of steps of the "
                f"{self.n_timesteps_in_}-step windows."
            )
        super()._restore_model_state(meta, arrays, blobs)


#: Docstring fragment of the parameters every sequence family shares (after its own).
DOC_COMMON_PARAMETERS = (
    """
    impute_forward_fill : bool, default=None
        Fill a NaN with the last observed value of its channel earlier in the same window
        before falling back to the channel's training statistic.
    linear_skip : "auto" or int, default=None
        Add a linear map of the window's last ``linear_skip`` steps (all channels) to the
        net's output (:class:`~skfam.nn.LinearSkip`, the autoregressive highway of LSTNet,
        Lai et al. 2018): the net learns what a linear autoregression misses. "auto" (the
        family YAML's default): the whole window for regressors, none (0) for
        classifiers; 0: none. ``params_["linear_skip"]`` holds the steps used.
    delta_channel : {"auto", "off"} or int, default=None
        Regressors: learn the change of the target from the window's last value of this
        channel and add that value back at predict (forecasting a level such as a price:
        the net then never has to extrapolate the level). "auto" (the SST's
        ``torch.delta_channel``): the channel whose last value is closest to the target,
        when its mean squared difference is at most ``torch.delta_auto_ratio`` times the
        target's variance; else "off". Classifiers take "auto" or "off" (both: off).
        ``delta_channel_`` holds the channel used (None: off).
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of the family's YAML (e.g. "fast", "small", "large").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order and dropout; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (torch and BLAS); None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present. On
        CUDA, training runs with deterministic algorithms; a model trained on a GPU loads
        and predicts on a CPU-only machine.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (of the standardised target, for regressors) and the
        learning rate of the epoch; ``(best)`` marks a new best validation loss.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the torch module.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
    random_state_ : int
        The seed actually used.
    device_ : str
        The device the net was trained on.
    n_iter_ : int
        Epochs run.
    imputer_ : SequenceImputer
        Per-channel imputation fitted on the training data.
    channel_mean_, channel_scale_ : ndarray of shape (n_channels,)
        Per-channel standardisation fitted on the training data.
    n_features_in_ : int
        ``L * C``, the width of the flattened windows.
    n_timesteps_in_ : int
        ``L``, the window length seen in fit (predict needs the same).
    n_channels_in_ : int
        ``C``, the channels seen in fit (predict needs the same).
    feature_names_in_ : ndarray of str
        Column names, when fit got a 2-D DataFrame with string column names.
"""
)

#: Docstring fragment on the input of the sequence families.
DOC_INPUT = """
    ``X`` is (n_samples, L, C) windows, e.g. from :func:`skfam.make_sequences`, or 2-D
    (n_samples, L), read as univariate windows (n_samples, L, 1). Predict needs the same
    ``L`` and ``C`` as fit (ValueError otherwise). NaN is imputed per channel with
    statistics of the training data (optionally forward-filled first), inputs are
    standardised per channel, and regression targets are standardised for training and
    mapped back at predict. Every hyperparameter defaults to None, meaning "take it from
    the SST" (``configs/models/<family>.yaml``, its ``variant``, then
    ``configs/defaults.yaml``); the values used are in ``params_``.
"""
