"""The ``xgboost`` family: deterministic XGBoost (hist) with early stopping on an internal split.

XGBoost is an optional dependency (``pip install 'skfam[xgboost]'``). This module imports
without it: ``xgboost`` is imported inside the methods that need it, and using an
estimator without it raises an ImportError that says how to install it.
"""

from __future__ import annotations

import ctypes
import functools
import re
import threading
from numbers import Integral, Real
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._booster_checks import check_xgboost_json
from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._limits import FLOAT32_FEATURES, XGBOOST_LABELS, ValueLimit
from .._progress import DOC_VERBOSE, Progress, format_metrics, rounds_summary
from .._seeds import derive_seed
from .._sst import load_defaults
from .._threads import active_threads
from ..base import SkfamClassifierMixin, SkfamEstimator, SkfamRegressorMixin
from ..model_file import ModelFileError, _whole

__all__ = ["XGBoostClassifier", "XGBoostRegressor"]

INSTALL_HINT = "pip install 'skfam[xgboost]'"

# Guards the creation of an estimator's per-thread-count predictors (see ``_predictor``).
_PREDICTOR_LOCK = threading.Lock()

# skfam / XGBoost-sklearn name -> XGBoost core parameter name.
_CORE_NAMES = {
    "learning_rate": "eta",
    "max_depth": "max_depth",
    "min_child_weight": "min_child_weight",
    "subsample": "subsample",
    "colsample_bytree": "colsample_bytree",
    "reg_alpha": "alpha",
    "reg_lambda": "lambda",
    "gamma": "gamma",
    "max_bin": "max_bin",
}


def _xgboost() -> ModuleType:
    """Import xgboost, or raise an ImportError that says how to install it."""
    try:
        import xgboost
    except ImportError as exc:
        raise ImportError(
            "The 'xgboost' family needs the optional package xgboost, which is not "
            f"installed; install it with: {INSTALL_HINT}"
        ) from exc
    return xgboost


@functools.cache
def _cuda_device_count() -> int:
    """CUDA devices visible to the driver (0 without a driver), found without torch."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return int(count.value)


def _cuda_available() -> bool:
    """Whether XGBoost can train on CUDA here: a CUDA build of XGBoost and a device."""
    return bool(_xgboost().build_info().get("USE_CUDA")) and _cuda_device_count() > 0


def resolve_device(device: str | None) -> str:
    """Return the XGBoost device for ``device`` by the rules of ``skfam._torch.resolve_device``.

    None takes the SST's ``device``; "auto" picks CUDA when XGBoost can use it; asking for
    CUDA where it is not available is an error.
    """
    if device is None:
        device = load_defaults()["device"]
    if device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    if device.startswith("cuda") and not _cuda_available():
        raise ValueError(
            f"device={device!r} was asked for, but XGBoost cannot use CUDA here (no CUDA "
            "build of xgboost or no CUDA device)."
        )
    return device


_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/xgboost.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``. Names follow XGBoost's scikit-learn API; trees are
    grown with ``tree_method="hist"``. Needs the optional package xgboost
    (``pip install 'skfam[xgboost]'``).

    Parameters
    ----------
    n_estimators : int, default=None
        Boosting rounds (the most, with early stopping).
    learning_rate : float, default=None
        Shrinkage of each tree (XGBoost's ``eta``).
    max_depth : int, default=None
        Depth limit of each tree; 0 for none.
    min_child_weight : float, default=None
        Smallest sum of hessians in a leaf.
    subsample : float, default=None
        Share of rows sampled for each tree.
    colsample_bytree : float, default=None
        Share of features sampled for each tree.
    reg_alpha, reg_lambda : float, default=None
        L1 and L2 penalties on leaf weights.
    gamma : float, default=None
        Smallest loss reduction of a split.
    max_bin : int, default=None
        Histogram bins per feature.
    early_stopping : {"auto", True, False}, default=None
        Stop when the validation loss on the internal split has not improved for
        ``early_stopping_rounds`` rounds; "auto" turns it on from
        ``early_stopping.auto_min_samples`` rows (``configs/defaults.yaml``).
    early_stopping_rounds : int, default=None
        Patience of early stopping, in rounds.
    validation_fraction : float, default=None
        Share of rows held out for early stopping (SST: ``validation.fraction``).
    variant : str, default=None
        A named variant of ``configs/models/xgboost.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of every random stream; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (XGBoost's ``nthread``); None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train and predict; None takes the SST's ``device``; "auto" uses CUDA when
        the installed xgboost is a CUDA build and a device is present.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    booster_ : xgboost.Booster
        The fitted booster.
    best_iteration_ : int
        Rounds used for prediction.
    device_ : str
        The device used.
"""
    + FITTED_ATTRIBUTES
)


class _XGBoostBase(SkfamEstimator):
    """Shared parameters and algorithm of the XGBoost estimators."""

    _family: ClassVar[str] = "xgboost"
    # XGBoost stores features and labels in float32 (see skfam._limits).
    _input_limit: ClassVar[ValueLimit] = FLOAT32_FEATURES
    _target_limit: ClassVar[ValueLimit] = XGBOOST_LABELS
    # the library handles NaN itself; see imputation.native_missing in configs/defaults.yaml
    _native_missing: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_depth": [Interval(Integral, 0, None, closed="left"), None],
        "min_child_weight": [Interval(Real, 0, None, closed="left"), None],
        "subsample": [Interval(Real, 0, 1, closed="right"), None],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right"), None],
        "reg_alpha": [Interval(Real, 0, None, closed="left"), None],
        "reg_lambda": [Interval(Real, 0, None, closed="left"), None],
        "gamma": [Interval(Real, 0, None, closed="left"), None],
        "max_bin": [Interval(Integral, 2, None, closed="left"), None],
        "early_stopping": [StrOptions({"auto"}), "boolean", None],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str, None],
    }

    def __init__(
        self,
        *,
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        max_depth: int | None = None,
        min_child_weight: float | None = None,
        subsample: float | None = None,
        colsample_bytree: float | None = None,
        reg_alpha: float | None = None,
        reg_lambda: float | None = None,
        gamma: float | None = None,
        max_bin: int | None = None,
        early_stopping: bool | str | None = None,
        early_stopping_rounds: int | None = None,
        validation_fraction: float | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.gamma = gamma
        self.max_bin = max_bin
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        raise NotImplementedError

    def _booster_params(self, n_classes: int | None) -> dict[str, Any]:
        params = {core: self.params_[name] for name, core in _CORE_NAMES.items()}
        params.update(self._objective(n_classes))
        params.update(
            tree_method="hist",
            device=self.device_,
            seed=derive_seed(self.random_state_, "model"),
            nthread=active_threads() or 0,
            verbosity=0,
        )
        return params

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> None:
        xgb = _xgboost()
        p = self.params_
        self.device_ = resolve_device(self.device)
        n_classes = len(self.classes_) if hasattr(self, "classes_") else None
        params = self._booster_params(n_classes)
        stopping = defaults["early_stopping"]
        split = self._early_stopping_split(y, defaults, stratify=n_classes is not None)
        nthread = params["nthread"]
        # Unit weights are no weights; without them XGBoost sketches the quantiles of the
        # unweighted data, as xgboost.XGBRegressor does when it gets no sample_weight.
        weight = None if np.all(sample_weight == 1.0) else sample_weight
        # The hist method bins the data once: QuantileDMatrix builds the bins directly (as
        # XGBoost's own scikit-learn wrapper does) instead of keeping a copy of the rows.
        callbacks = []
        progress = self._progress()
        if progress:
            # First: XGBoost stops asking the callbacks after one asks to stop.
            callbacks.append(_round_progress(xgb, progress, int(p["n_estimators"])))
        if split is not None:
            train_idx, valid_idx = split
            train = xgb.QuantileDMatrix(
                X[train_idx],
                y[train_idx],
                weight=None if weight is None else weight[train_idx],
                nthread=nthread,
                max_bin=params["max_bin"],
            )
            valid = xgb.QuantileDMatrix(
                X[valid_idx],
                y[valid_idx],
                weight=None if weight is None else weight[valid_idx],
                nthread=nthread,
                ref=train,
            )
            evals = [(valid, "valid")]
            callbacks.append(
                xgb.callback.EarlyStopping(
                    rounds=p["early_stopping_rounds"],
                    metric_name=params["eval_metric"],
                    data_name="valid",
                    min_delta=float(stopping["threshold"]),
                    save_best=False,
                )
            )
        else:
            train = xgb.QuantileDMatrix(
                X, y, weight=weight, nthread=nthread, max_bin=params["max_bin"]
            )
            evals = []
        booster = xgb.train(
            params,
            train,
            num_boost_round=p["n_estimators"],
            evals=evals,
            callbacks=callbacks,
            verbose_eval=False,
        )
        self._set_booster(booster, nthread)
        self.n_iter_ = booster.num_boosted_rounds()
        self.best_iteration_ = booster.best_iteration + 1 if split is not None else self.n_iter_
        return None

    def _fit_summary(self) -> str:
        return rounds_summary(self.n_iter_, self.best_iteration_, self.params_["n_estimators"])

    def _set_booster(self, booster: Any, nthread: int) -> None:
        """Keep ``booster`` (configured for ``nthread`` threads) as the fitted booster."""
        self.booster_ = booster
        # Boosters by thread count, each configured once and then only read: XGBoost's
        # predict is thread-safe, but setting a parameter while another thread predicts
        # fails ("Check failed: !this->need_configuration_").
        self._predictors = {nthread: booster}

    def _predictor(self, nthread: int) -> Any:
        """Return a booster configured for ``nthread`` threads (a copy made once, if needed)."""
        predictors = self.__dict__.get("_predictors")
        booster = predictors.get(nthread) if predictors is not None else None
        if booster is not None:
            return booster
        with _PREDICTOR_LOCK:
            predictors = self.__dict__.setdefault("_predictors", {})
            if nthread not in predictors:
                booster = self.booster_.copy()
                booster.set_param({"nthread": nthread})
                _configure(booster, self.n_features_in_)
                predictors[nthread] = booster
            return predictors[nthread]

    def _booster_predict(self, X: np.ndarray) -> np.ndarray:
        xgb = _xgboost()
        nthread = active_threads() or 0
        data = xgb.DMatrix(X, nthread=nthread)
        return self._predictor(nthread).predict(data, iteration_range=(0, self.best_iteration_))

    def _stopped_at_first_iteration(self) -> bool:
        return self.best_iteration_ == 1 and self.n_iter_ > 1

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            f"no split met min_child_weight={p['min_child_weight']} and gamma="
            f"{p.get('gamma')} on this data, or early stopping found no round better than "
            "the first; lower min_child_weight, raise learning_rate, or pass "
            "early_stopping=False"
        )

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta = {
            "best_iteration": self.best_iteration_,
            "n_iter": self.n_iter_,
            "device": self.device_,
        }
        return meta, {}, {"booster.json": bytes(self.booster_.save_raw("json"))}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        xgb = _xgboost()
        if set(blobs) != {"booster.json"} or arrays:
            raise ModelFileError(
                f"expected only the member booster.json, got {sorted(blobs)} and arrays "
                f"{sorted(arrays)}."
            )
        saved = meta.get("device")
        if not isinstance(saved, str) or not (
            saved in ("cpu", "cuda") or re.fullmatch(r"cuda:[0-9]{1,4}", saved)
        ):
            raise ModelFileError(f"device {saved!r} is not a device skfam writes.")
        n_classes = len(self.classes_) if hasattr(self, "classes_") else None
        n_rounds = check_xgboost_json(
            blobs["booster.json"],
            n_features=self.n_features_in_,
            n_classes=n_classes if n_classes is not None and n_classes > 2 else None,
            objective=self._objective(n_classes)["objective"],
        )
        best_iteration = _whole(meta.get("best_iteration"), "best_iteration", 1)
        n_iter = _whole(meta.get("n_iter"), "n_iter", 1)
        if n_iter != n_rounds or best_iteration > n_iter:
            raise ModelFileError(
                f"best_iteration={best_iteration} and n_iter={n_iter} do not fit the "
                f"booster's {n_rounds} rounds."
            )
        self.device_ = saved if not saved.startswith("cuda") or _cuda_available() else "cpu"
        booster = xgb.Booster()
        booster.load_model(bytearray(blobs["booster.json"]))
        nthread = self._threads()
        booster.set_param({"device": self.device_, "nthread": nthread})
        _configure(booster, self.n_features_in_)
        self._set_booster(booster, nthread)
        self.best_iteration_ = best_iteration
        self.n_iter_ = n_iter


def _round_progress(xgb: ModuleType, progress: Progress, total: int) -> Any:
    """Return an XGBoost callback writing a progress line after the rounds due.

    A line holds the validation metric XGBoost computed for early stopping, when there
    is a validation split; the callback only reads it.
    """

    class _RoundProgress(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            index = epoch + 1
            if progress.due(index, total):
                metrics = [
                    (f"{data} {metric}", values[-1])
                    for data, results in evals_log.items()
                    for metric, values in results.items()
                ]
                text = f"round {index}/{total}"
                progress.say(f"{text}  {format_metrics(metrics)}" if metrics else text)
            return False

    return _RoundProgress()


def _configure(booster: Any, n_features: int) -> None:
    """Let XGBoost configure ``booster`` now, before other threads can use it.

    XGBoost configures a booster lazily, on its first predict after a parameter changed.
    """
    xgb = _xgboost()
    booster.predict(xgb.DMatrix(np.zeros((1, n_features)), nthread=1))


@fill_doc(parameters=_DOC_PARAMETERS)
class XGBoostRegressor(RegressorMixin, SkfamRegressorMixin, _XGBoostBase):
    """XGBoost gradient-boosted trees for regression (squared error), deterministic.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import XGBoostRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = XGBoostRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        return {"objective": "reg:squarederror", "eval_metric": "rmse"}

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        return self._booster_predict(X)


@fill_doc(parameters=_DOC_PARAMETERS)
class XGBoostClassifier(ClassifierMixin, SkfamClassifierMixin, _XGBoostBase):
    """XGBoost gradient-boosted trees for binary and multiclass classification.

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import XGBoostClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = XGBoostClassifier(variant="fast", device="cpu").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        if n_classes == 2:
            return {"objective": "binary:logistic", "eval_metric": "logloss"}
        return {"objective": "multi:softprob", "eval_metric": "mlogloss", "num_class": n_classes}

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        proba = np.asarray(self._booster_predict(X), dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        else:
            # float32 probabilities of XGBoost, renormalised in float64 to sum to 1.
            proba = proba / proba.sum(axis=1, keepdims=True)
        return proba
