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
from typing import Any, ClassVar

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.validation import check_is_fitted, validate_data

from ._impute_seq import SequenceImputer
from ._safe_zip import ZIP_ERRORS, ZipContentError, check_stored_zip
from ._torch import TorchEstimator
from ._torch_state import mkldnn_section
from .model_file import ModelFileError, _whole

__all__ = [
    "CPU_KERNELS",
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


class _SequenceBase(TorchEstimator):
    """Base of the sequence estimators: 3-D validation, imputation and scaling."""

    _sequence_input: ClassVar[bool] = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _is_3d(X: Any) -> bool:
        return _ndim(X) == 3

    def _check_dimensions(self, X: Any) -> None:
        ndim = _ndim(X)
        if ndim is not None and ndim > 3:
            raise ValueError(
                f"{type(self).__name__} expects 3-D input (n_samples, sequence_length, "
                f"channels), or 2-D (n_samples, sequence_length) for one channel; got "
                f"{ndim}-D input of shape {np.shape(X)}."
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
                ensure_all_finite="allow-nan",
                y_numeric=y_numeric,
            )
        else:
            flat, y = validate_data(
                self, X, y, dtype=np.float64, ensure_all_finite="allow-nan", y_numeric=y_numeric
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
            self, flat, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
        )
        return self.imputer_.transform(flat.reshape(len(flat), length, channels))

    # ------------------------------------------------------------------ hooks
    def _make_imputer(self, strategy: str) -> SequenceImputer:
        return SequenceImputer(
            strategy=strategy, forward_fill=bool(self.params_["impute_forward_fill"])
        )

    def _fit_inputs(self, X: np.ndarray) -> np.ndarray:
        self.channel_mean_, self.channel_scale_ = channel_scaling(X)
        return self._transform_inputs(X)

    def _transform_inputs(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.channel_mean_) / self.channel_scale_).astype(np.float32)

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
        meta.update(n_timesteps=self.n_timesteps_in_, n_channels=self.n_channels_in_)
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self.n_timesteps_in_ = _whole(meta["n_timesteps"], "n_timesteps", 1)
        self.n_channels_in_ = _whole(meta["n_channels"], "n_channels", 1)
        if self.n_timesteps_in_ * self.n_channels_in_ != self.n_features_in_:
            raise ModelFileError(
                f"{self.n_timesteps_in_} steps of {self.n_channels_in_} channels are not the "
                f"{self.n_features_in_} features of the file."
            )
        super()._restore_model_state(meta, arrays, blobs)


#: Docstring fragment of the parameters every sequence family shares (after its own).
DOC_COMMON_PARAMETERS = """
    impute_forward_fill : bool, default=None
        Fill a NaN with the last observed value of its channel earlier in the same window
        before falling back to the channel's training statistic.
    learning_rate : float, default=None
        AdamW learning rate.
    weight_decay : float, default=None
        AdamW weight decay.
    batch_size : int, default=None
        Windows per training batch.
    max_epochs : int, default=None
        Most passes over the training data.
    early_stopping : {"auto", True, False}, default=None
        Stop when the validation loss stops improving (patience from
        ``configs/callbacks.yaml``) and keep the best weights; "auto" turns it on from
        ``early_stopping.auto_min_samples`` windows. The validation part is the *last*
        ``validation_fraction`` of the windows (time order), after a purge gap of ``L``
        windows.
    validation_fraction : float, default=None
        Share of windows held out for early stopping.
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
