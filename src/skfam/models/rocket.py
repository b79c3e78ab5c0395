"""The ``rocket`` family: MiniRocket features and a cross-validated ridge.

MINIROCKET (Dempster, Schmidt & Webb, 2021) turns each series into about 10,000
proportions of positive values (PPV) of 84 fixed dilated kernels minus biases drawn from
the training data (:mod:`skfam.nn.minirocket`, written in torch: CPU or CUDA, the same bits
on both). As aeon's ``MiniRocketClassifier`` / ``MiniRocketRegressor``, the features are
scaled by their standard deviation (scikit-learn's ``StandardScaler(with_mean=False)``) and
fed to a ridge whose penalty is chosen among ``np.logspace(-3, 3, 10)`` by efficient
leave-one-out cross-validation (``RidgeClassifierCV`` / ``RidgeCV``; ``ridge_cv`` can ask for
contiguous folds instead, for overlapping windows of one series).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._docs import fill_doc
from .._limits import ValueLimit
from .._progress import DOC_VERBOSE
from .._seeds import derive_seed
from .._sequence import DELTA_CHANNEL_CONSTRAINT, SequenceInputMixin
from .._split import windows_overlap
from .._threads import thread_limit
from .._torch import _loading_device, resolve_device
from ..base import SkfamClassifierMixin, SkfamEstimator, SkfamRegressorMixin
from ..model_file import ModelFileError
from ..nn.minirocket import (
    KERNEL_LENGTH,
    MAX_CHANNELS_PER_COMBINATION,
    N_KERNELS,
    MiniRocketParameters,
    fit_minirocket,
    minirocket_features,
)

__all__ = ["MiniRocketClassifier", "MiniRocketRegressor"]

#: The transform sums in float32, per channel, nine terms -x and three terms 3x (at most
#: 18 |x|), over up to 9 channels: 162 |x|. 1e36 keeps every sum below float32's 3.4e38.
_FLOAT32_SUMS = ValueLimit(
    1e36,
    "MiniRocket convolves in float32 (largest value 3.4e38), summing up to 162 times |x| "
    "(18 |x| per channel, up to 9 channels)",
)

_DOC_PARAMETERS = (
    """
    ``X`` is (n_samples, L, C) series (e.g. windows from :func:`skfam.make_sequences`), or
    2-D (n_samples, L), read as univariate series (n_samples, L, 1). Predict needs the same
    ``L`` and ``C`` as fit. NaN is imputed per channel with statistics of the training data
    (optionally forward-filled first). Series shorter than 9 steps (the kernels' length)
    are padded with zeros at the end to 9 steps, as aeon advises for MiniRocket; the series
    are not otherwise rescaled (the kernels' weights sum to zero, so a constant offset
    changes only the zero-padded ends). Every hyperparameter defaults to None, meaning "take
    it from the SST" (``configs/models/rocket.yaml``, its ``variant``, then
    ``configs/defaults.yaml``); the values used are in ``params_``.

    Parameters
    ----------
    n_features : int, default=None
        Features of the transform (SST: 9996 = 84 x 119, what aeon's and the reference's
        10,000 give); rounded down to a multiple of 84, at least 84.
    max_dilations_per_kernel : int, default=None
        Most dilations of each kernel (SST: 32).
    alpha_min, alpha_max : float, default=None
        Smallest and largest ridge penalty tried (SST: 1e-3 and 1e3).
    n_alphas : int, default=None
        Penalties tried, spaced evenly in log scale from ``alpha_min`` to ``alpha_max``
        (SST: 10, so ``np.logspace(-3, 3, 10)`` as aeon).
    ridge_cv : "auto", "loo" or int, default=None
        How the penalty is chosen. "loo": scikit-learn's efficient leave-one-out
        cross-validation, as aeon. An int k >= 2: k contiguous folds in row order (no
        shuffling), for windows cut from one series (:func:`skfam.make_sequences`), where
        leaving out one window leaves its overlapping neighbours in and makes a weak
        penalty look good. "auto" (SST): contiguous folds when the windows overlap (found
        as for ``validation_split="auto"``), with the grid's top raised to the SST's
        ``rocket.auto_windows.alpha_max`` unless ``alpha_max`` is passed; "loo" otherwise.
        ``params_`` records the folds and ``alpha_max`` used.
    impute_forward_fill : bool, default=None
        Fill a NaN with the last observed value of its channel earlier in the same series
        before falling back to the channel's training statistic.
    delta_channel : {"auto", "off"} or int, default=None
        Regressor: fit the ridge to the change of the target from the series' last value
        of this channel and add that value back at predict. MiniRocket's kernels sum to
        zero, so its features hardly see a series' level: without this a trending target
        (a price, CO2) cannot be forecast. "auto" (the SST's ``torch.delta_channel``): the
        channel whose last value is closest to the target, when its mean squared
        difference is at most ``torch.delta_auto_ratio`` times the target's variance;
        else "off". The classifier takes "auto" or "off" (both: off). ``delta_channel_``
        holds the channel used (None: off).
    variant : str, default=None
        A named variant of ``configs/models/rocket.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of the channel combinations (stream "model", index 0) and of the training
        series the biases come from (stream "model", index 1); None takes ``base_seed``
        from the SST.
    n_jobs : int, default=None
        Threads of the transform (torch) in fit and predict; None takes the SST's
        ``n_jobs``. The ridge's BLAS and LAPACK calls run on one thread, since OpenBLAS
        rounds differently for other thread counts: features, coefficients and
        predictions are the same bits for any ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where the transform runs; None takes the SST's ``device``, "auto" uses CUDA when
        present. The features are the same bits on CPU and GPU (elementwise float32
        operations and counts); the ridge runs on the CPU.
"""
    + DOC_VERBOSE
    + """        MiniRocket has no epochs or rounds: 1 writes a line when the features are
        computed and one when the ridge is fitted.

    Attributes
    ----------
    minirocket_ : skfam.nn.minirocket.MiniRocketParameters
        The fitted transform: dilations, features per dilation, channel combinations and
        biases (``minirocket_.n_features`` features).
    scale_ : ndarray of shape (n_rocket_features,)
        Standard deviation of each feature on the training data (1 where it is 0): the
        features are divided by it.
    coef_ : ndarray of shape (n_rocket_features,) or (n_classes, n_rocket_features)
        Ridge coefficients on the scaled features: 1-D for the regressor and a binary
        classifier, one row per class otherwise (as scikit-learn's).
    intercept_ : float or ndarray of shape (1,) or (n_classes,)
        Ridge intercept (as scikit-learn's).
    alpha_ : float
        The penalty leave-one-out cross-validation chose.
    device_ : str
        Where the transform ran at fit (and runs at predict, when present).
    params_ : dict
        The hyperparameters actually used.
    random_state_ : int
        The seed actually used.
    imputer_ : SequenceImputer
        Per-channel imputation fitted on the training data.
    n_features_in_ : int
        ``L * C``, the width of the flattened series.
    n_timesteps_in_ : int
        ``L``, the series length seen in fit (predict needs the same).
    n_channels_in_ : int
        ``C``, the channels seen in fit (predict needs the same).
    feature_names_in_ : ndarray of str
        Column names, when fit got a 2-D DataFrame with string column names.

    References
    ----------
    A. Dempster, D. F. Schmidt and G. I. Webb, "MINIROCKET: A Very Fast (Almost)
    Deterministic Transform for Time Series Classification", KDD 2021.
"""
)


class _MiniRocketBase(SequenceInputMixin, SkfamEstimator):
    """Shared parameters, transform, model files of the MiniRocket estimators."""

    _family: ClassVar[str] = "rocket"
    #: The post-fit check transforms training rows again (as much work as the fit's own
    #: transform of them): one pass of 512 rows, as the torch families check.
    _sanity_rows: ClassVar[int] = 512
    _input_limit: ClassVar[ValueLimit] = _FLOAT32_SUMS
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "device": [StrOptions({"auto", "cpu", "cuda"}), str, None],
        "n_features": [Interval(Integral, N_KERNELS, None, closed="left"), None],
        "max_dilations_per_kernel": [Interval(Integral, 1, None, closed="left"), None],
        "alpha_min": [Interval(Real, 0, None, closed="neither"), None],
        "alpha_max": [Interval(Real, 0, None, closed="neither"), None],
        "n_alphas": [Interval(Integral, 1, None, closed="left"), None],
        "ridge_cv": [
            StrOptions({"auto", "loo"}),
            Interval(Integral, 2, None, closed="left"),
            None,
        ],
        "impute_forward_fill": ["boolean", None],
        "delta_channel": DELTA_CHANNEL_CONSTRAINT,
    }

    def __init__(
        self,
        *,
        n_features: int | None = None,
        max_dilations_per_kernel: int | None = None,
        alpha_min: float | None = None,
        alpha_max: float | None = None,
        n_alphas: int | None = None,
        ridge_cv: str | int | None = None,
        impute_forward_fill: bool | None = None,
        delta_channel: str | int | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        self.n_features = n_features
        self.max_dilations_per_kernel = max_dilations_per_kernel
        self.alpha_min = alpha_min
        self.alpha_max = alpha_max
        self.n_alphas = n_alphas
        self.ridge_cv = ridge_cv
        self.impute_forward_fill = impute_forward_fill
        self.delta_channel = delta_channel
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ transform
    def _alphas(self) -> np.ndarray:
        p = self.params_
        low, high = float(p["alpha_min"]), float(p["alpha_max"])
        if low > high:
            raise ValueError(f"alpha_min={low} is larger than alpha_max={high}.")
        return np.logspace(np.log10(low), np.log10(high), int(p["n_alphas"]))

    def _series(self, X: np.ndarray) -> np.ndarray:
        """Return imputed (n, L, C) input as float32 (n, C, max(L, 9)), zero padded at the end."""
        series = np.ascontiguousarray(X.transpose(0, 2, 1), dtype=np.float32)
        short = KERNEL_LENGTH - series.shape[-1]
        if short > 0:
            series = np.pad(series, ((0, 0), (0, 0), (0, short)))
        return series

    def _features(self, X: np.ndarray) -> np.ndarray:
        """Return the MiniRocket features (n, n_rocket_features) of imputed (n, L, C) input."""
        return minirocket_features(self._series(X), self.minirocket_, self._predict_device())

    def _predict_device(self) -> str:
        """Return the fitted device, or the CPU where it is gone (the features are the same)."""
        return _loading_device(self.device_)

    def _scores(self, features: np.ndarray) -> np.ndarray:
        """Return the ridge's decision values, computed as scikit-learn computes them."""
        scaled = features.astype(np.float64) / self.scale_
        coef = self.coef_.T if self.coef_.ndim == 2 else self.coef_
        with _one_blas_thread():
            return scaled @ coef + self.intercept_

    # ------------------------------------------------------------------ fit
    def _fit_summary(self) -> str:
        return f"{self.minirocket_.n_features} features, alpha {self.alpha_:.4g}"

    def _resolve_ridge_cv(self, X: np.ndarray, defaults: dict) -> None:
        """Turn ``ridge_cv="auto"`` into folds (overlapping windows) or "loo", in ``params_``."""
        p = self.params_
        if p["ridge_cv"] != "auto":
            return
        if not windows_overlap(X):
            p["ridge_cv"] = "loo"
            return
        rule = defaults["rocket"]["auto_windows"]
        p["ridge_cv"] = int(rule["folds"])
        if self.alpha_max is None:
            p["alpha_max"] = max(float(p["alpha_max"]), float(rule["alpha_max"]))

    def _ridge_folds(self) -> KFold | None:
        """Return the ridge's ``cv``: None (efficient leave-one-out) or contiguous folds."""
        folds = self.params_["ridge_cv"]
        return None if folds == "loo" else KFold(int(folds))

    def _ridge(self, alphas: np.ndarray) -> RidgeCV | RidgeClassifierCV:
        raise NotImplementedError

    def _intercept(self, stored: np.ndarray) -> Any:
        """Return ``intercept_`` as scikit-learn holds it, from its stored 1-D form."""
        raise NotImplementedError

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool:
        p = self.params_
        progress = self._progress()
        self._resolve_ridge_cv(X, defaults)
        alphas = self._alphas()
        self.device_ = resolve_device(self.device)
        series = self._series(X)
        self.minirocket_ = fit_minirocket(
            series,
            n_features=int(p["n_features"]),
            max_dilations_per_kernel=int(p["max_dilations_per_kernel"]),
            channel_rng=np.random.default_rng(derive_seed(self.random_state_, "model", 0)),
            series_rng=np.random.default_rng(derive_seed(self.random_state_, "model", 1)),
            device=self.device_,
        )
        features = minirocket_features(series, self.minirocket_, self.device_)
        features = features.astype(np.float64)
        done = progress.elapsed()
        progress.say(
            f"{features.shape[1]} MiniRocket features of {len(features)} series computed "
            f"on {self.device_} in {done:.2f} s"
        )
        scaler = StandardScaler(with_mean=False).fit(features)
        self.scale_ = np.asarray(scaler.scale_, dtype=np.float64)
        anchor = self._fit_anchor(X, y)
        target = y if anchor is None else y - anchor
        with _one_blas_thread():
            ridge = self._ridge(alphas).fit(
                features / self.scale_, target, sample_weight=sample_weight
            )
        self.coef_ = np.asarray(ridge.coef_, dtype=np.float64)
        self.intercept_ = ridge.intercept_
        self.alpha_ = float(ridge.alpha_)
        progress.say(
            f"{type(ridge).__name__} fitted in {progress.elapsed() - done:.2f} s: alpha "
            f"{self.alpha_:.4g} chosen among {len(alphas)}"
        )
        return bool(np.isfinite(self._scores(features)).all())

    # ------------------------------------------------------------------ model files
    def _n_score_columns(self) -> int | None:
        """Rows of ``coef_`` (None: a 1-D ``coef_``, as the regressor's and a binary one's)."""
        raise NotImplementedError

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        t = self.minirocket_
        meta = {
            **self._layout_meta(),
            "device": self.device_,
            "alpha": self.alpha_,
            "delta_channel": self.delta_channel_,
        }
        arrays = {
            "dilations": t.dilations,
            "features_per_dilation": t.features_per_dilation,
            "channels_per_combination": t.channels_per_combination,
            "channel_indices": t.channel_indices,
            "biases": t.biases,
            "scale": self.scale_,
            "coef": self.coef_,
            "intercept": np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64)),
        }
        return meta, arrays, {}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self._restore_layout(meta)
        self._restore_delta(meta)
        if blobs:
            raise ModelFileError(f"a MiniRocket model file has no blobs, got {sorted(blobs)}.")
        self.minirocket_ = _restore_transform(
            arrays, self.n_timesteps_in_, self.n_channels_in_, self.params_
        )
        n_features = self.minirocket_.n_features
        scale = _array(arrays, "scale", np.float64, (n_features,))
        if not (scale > 0).all():
            raise ModelFileError("array 'scale' holds values that are not positive.")
        rows = self._n_score_columns()
        coef_shape = (n_features,) if rows is None else (rows, n_features)
        coef = _array(arrays, "coef", np.float64, coef_shape)
        intercept = _array(arrays, "intercept", np.float64, (rows or 1,))
        alpha = meta.get("alpha")
        if not isinstance(alpha, float) or not 0 < alpha < np.inf:
            raise ModelFileError(f"alpha = {alpha!r} is not a positive, finite float.")
        device = meta.get("device")
        if not isinstance(device, str):
            raise ModelFileError(f"device = {device!r} is not a device name.")
        self.device_ = _loading_device(device)
        self.scale_ = scale
        self.coef_ = coef
        self.intercept_ = self._intercept(intercept)
        self.alpha_ = alpha


def _one_blas_thread() -> threadpool_limits:
    """Return a context running BLAS and LAPACK on one thread.

    OpenBLAS splits products (measured: a (2000, 10000) x (10000, 3) product) and LAPACK's
    symmetric eigensolver between threads and rounds differently for another thread
    count, so the ridge's coefficients and scores would depend on ``n_jobs``; on one
    thread they do not. The transform keeps ``n_jobs`` threads (its results never depend
    on them).
    """
    return threadpool_limits(1, user_api="blas")


def _array(arrays: dict, name: str, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    """Return array ``name``, refusing another dtype, shape or non-finite values."""
    if name not in arrays:
        raise ModelFileError(f"array {name!r} is missing.")
    array = arrays[name]
    if array.dtype != dtype or array.shape != shape:
        raise ModelFileError(
            f"array {name!r} is {array.dtype} of shape {array.shape}, not "
            f"{np.dtype(dtype)} of shape {shape}."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ModelFileError(f"array {name!r} is not finite.")
    return array


def _restore_transform(
    arrays: dict, length: int, channels: int, params: dict
) -> MiniRocketParameters:
    """Rebuild (and check) the transform's parameters from a model file's arrays."""
    padded = max(length, KERNEL_LENGTH)
    if "dilations" not in arrays:
        raise ModelFileError("array 'dilations' is missing.")
    n_dilations = arrays["dilations"].shape[0] if arrays["dilations"].ndim == 1 else -1
    dilations = _array(arrays, "dilations", np.int32, (max(n_dilations, 0),))
    if (
        n_dilations < 1
        or (dilations < 1).any()
        or (np.diff(dilations) <= 0).any()
        or ((KERNEL_LENGTH - 1) * dilations.astype(np.int64) > padded - 1).any()
    ):
        raise ModelFileError(
            f"array 'dilations' ({dilations!r}) is not increasing dilations d >= 1 with "
            f"8 * d <= {padded - 1}."
        )
    per_dilation = _array(arrays, "features_per_dilation", np.int32, (n_dilations,))
    if (per_dilation < 1).any():
        raise ModelFileError("array 'features_per_dilation' holds counts below 1.")
    n_features = N_KERNELS * int(per_dilation.astype(np.int64).sum())
    wanted = params.get("n_features")
    if type(wanted) is not int or N_KERNELS * (wanted // N_KERNELS) != n_features:
        raise ModelFileError(
            f"params_['n_features'] = {wanted!r} does not give the file's {n_features} features."
        )
    n_combinations = N_KERNELS * n_dilations
    counts = _array(arrays, "channels_per_combination", np.int32, (n_combinations,))
    most = min(channels, MAX_CHANNELS_PER_COMBINATION)
    if ((counts < 1) | (counts > most)).any():
        raise ModelFileError(f"array 'channels_per_combination' holds counts outside [1, {most}].")
    indices = _array(arrays, "channel_indices", np.int32, (int(counts.sum()),))
    if ((indices < 0) | (indices >= channels)).any():
        raise ModelFileError(f"array 'channel_indices' holds channels outside [0, {channels}).")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for start, count in zip(starts, counts, strict=True):
        if len(np.unique(indices[start : start + count])) != count:
            raise ModelFileError("array 'channel_indices' repeats a channel in a combination.")
    biases = _array(arrays, "biases", np.float32, (n_features,))
    return MiniRocketParameters(
        n_timesteps=padded,
        n_channels=channels,
        dilations=dilations,
        features_per_dilation=per_dilation,
        channels_per_combination=counts,
        channel_indices=indices,
        biases=biases,
    )


@fill_doc(parameters=_DOC_PARAMETERS)
class MiniRocketRegressor(RegressorMixin, SkfamRegressorMixin, _MiniRocketBase):
    """MiniRocket regression: PPV features of 84 dilated kernels, then ``RidgeCV``.

    The ridge (scikit-learn's ``RidgeCV`` with efficient leave-one-out cross-validation)
    is fitted on the scaled features, with ``sample_weight``; ``predict`` computes its
    prediction as ``RidgeCV.predict`` does.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import MiniRocketRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 30))
    >>> y = X[:, 10:20].mean(axis=1)
    >>> reg = MiniRocketRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.minirocket_.n_features
    840
    """

    def _ridge(self, alphas: np.ndarray) -> RidgeCV:
        return RidgeCV(alphas=alphas, cv=self._ridge_folds())

    def _n_score_columns(self) -> int | None:
        return None

    def _intercept(self, stored: np.ndarray) -> Any:
        return stored[0]  # RidgeCV's intercept_ is a numpy float64 scalar

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        scores = self._scores(self._features(X))
        anchor = self._anchor(X)
        return scores if anchor is None else scores + anchor


@fill_doc(parameters=_DOC_PARAMETERS)
class MiniRocketClassifier(ClassifierMixin, SkfamClassifierMixin, _MiniRocketBase):
    """MiniRocket classification: PPV features of 84 dilated kernels, then ``RidgeClassifierCV``.

    The ridge (scikit-learn's ``RidgeClassifierCV``: one-vs-all ridge regressions on
    targets of -1 and 1, efficient leave-one-out cross-validation) is fitted on the scaled
    features, with ``sample_weight``. ``predict`` and :meth:`decision_function` give what
    ``RidgeClassifierCV`` gives. ``predict_proba`` returns the softmax of the decision
    values (for two classes, of ``[-d, d]``): **scores, not calibrated probabilities**; a
    ridge classifier models none. Their argmax is the prediction; calibrate them (e.g.
    ``sklearn.calibration.CalibratedClassifierCV``) when probabilities matter.

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import MiniRocketClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 40))
    >>> y = np.tile(["bump", "flat"], 30)
    >>> X[y == "bump", 15:25] += 3.0
    >>> clf = MiniRocketClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict(X[:4]).tolist()
    ['bump', 'flat', 'bump', 'flat']
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def _ridge(self, alphas: np.ndarray) -> RidgeClassifierCV:
        return RidgeClassifierCV(alphas=alphas, cv=self._ridge_folds())

    def _n_score_columns(self) -> int | None:
        return None if len(self.classes_) == 2 else len(self.classes_)

    def _intercept(self, stored: np.ndarray) -> Any:
        return stored

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        scores = self._scores(self._features(X))
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        return softmax(scores, axis=1)

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the ridge's decision values (those of ``RidgeClassifierCV``).

        Parameters
        ----------
        X : array-like of shape (n_samples, L, C) or (n_samples, L)
            Series; NaN is imputed with the training statistics.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive values favour ``classes_[1]``.
        """
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return self._scores(self._features(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels, as ``RidgeClassifierCV`` does.

        Parameters
        ----------
        X : array-like of shape (n_samples, L, C) or (n_samples, L)
            Series; NaN is imputed with the training statistics.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels drawn from ``classes_``: the largest decision value (for two classes,
            ``classes_[1]`` where it is positive).
        """
        check_is_fitted(self)
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[index]
