"""The ``lightgbm`` family: deterministic LightGBM with early stopping on an internal split."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._booster_checks import check_lightgbm_text
from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._limits import ANY_FINITE, FLOAT32_LABELS, ValueLimit
from .._progress import DOC_VERBOSE, Progress, format_metrics, rounds_summary
from .._seeds import derive_seed
from .._threads import active_threads
from ..base import SkfamClassifierMixin, SkfamEstimator, SkfamRegressorMixin
from ..model_file import ModelFileError

__all__ = ["LightGBMClassifier", "LightGBMRegressor"]

# skfam / LightGBM-sklearn name -> LightGBM core parameter name.
_CORE_NAMES = {
    "learning_rate": "learning_rate",
    "num_leaves": "num_leaves",
    "max_depth": "max_depth",
    "min_child_samples": "min_data_in_leaf",
    "min_child_weight": "min_sum_hessian_in_leaf",
    "min_split_gain": "min_gain_to_split",
    "subsample": "bagging_fraction",
    "subsample_freq": "bagging_freq",
    "colsample_bytree": "feature_fraction",
    "reg_alpha": "lambda_l1",
    "reg_lambda": "lambda_l2",
    "max_bin": "max_bin",
}

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/lightgbm.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``. Names follow LightGBM's scikit-learn API.

    Parameters
    ----------
    n_estimators : int, default=None
        Boosting rounds (the most, with early stopping).
    learning_rate : float, default=None
        Shrinkage of each tree.
    num_leaves : int, default=None
        Leaves per tree.
    max_depth : int, default=None
        Depth limit of each tree; -1 for none.
    min_child_samples : int, default=None
        Fewest rows in a leaf.
    min_child_weight : float, default=None
        Smallest sum of hessians in a leaf.
    min_split_gain : float, default=None
        Smallest loss reduction of a split.
    subsample : float, default=None
        Share of rows sampled for each bagging round (with ``subsample_freq`` > 0).
    subsample_freq : int, default=None
        Bagging every k rounds; 0 turns bagging off.
    colsample_bytree : float, default=None
        Share of features sampled for each tree.
    reg_alpha, reg_lambda : float, default=None
        L1 and L2 penalties on leaf values.
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
        A named variant of ``configs/models/lightgbm.yaml`` (e.g. "fast", "small_data").
    random_state : int, RandomState instance or None, default=None
        Seed of every random stream; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict; None takes the SST's ``n_jobs``.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted booster.
    best_iteration_ : int
        Rounds used for prediction.
"""
    + FITTED_ATTRIBUTES
)


class _LightGBMBase(SkfamEstimator):
    """Shared parameters and algorithm of the LightGBM estimators."""

    _family: ClassVar[str] = "lightgbm"
    # the library handles NaN itself; see imputation.native_missing in configs/defaults.yaml
    _native_missing: ClassVar[bool] = True
    # LightGBM bins features in float64 and keeps labels in float32 (see skfam._limits).
    _input_limit: ClassVar[ValueLimit] = ANY_FINITE
    _target_limit: ClassVar[ValueLimit] = FLOAT32_LABELS
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "num_leaves": [Interval(Integral, 2, 131072, closed="both"), None],
        "max_depth": [Interval(Integral, -1, None, closed="left"), None],
        "min_child_samples": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "min_child_weight": [Interval(Real, 0, None, closed="left"), None],
        "min_split_gain": [Interval(Real, 0, None, closed="left"), None],
        "subsample": [Interval(Real, 0, 1, closed="right"), None],
        "subsample_freq": [Interval(Integral, 0, None, closed="left"), None],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right"), None],
        "reg_alpha": [Interval(Real, 0, None, closed="left"), None],
        "reg_lambda": [Interval(Real, 0, None, closed="left"), None],
        "max_bin": [Interval(Integral, 2, None, closed="left"), None],
        "early_stopping": [StrOptions({"auto"}), "boolean", None],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        num_leaves: int | None = None,
        max_depth: int | None = None,
        min_child_samples: int | str | None = None,
        min_child_weight: float | None = None,
        min_split_gain: float | None = None,
        subsample: float | None = None,
        subsample_freq: int | None = None,
        colsample_bytree: float | None = None,
        reg_alpha: float | None = None,
        reg_lambda: float | None = None,
        max_bin: int | None = None,
        early_stopping: bool | str | None = None,
        early_stopping_rounds: int | None = None,
        validation_fraction: float | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.min_child_weight = min_child_weight
        self.min_split_gain = min_split_gain
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        raise NotImplementedError

    def _resolve_leaf_size(self, n_rows: int, defaults: dict) -> None:
        """Turn ``min_child_samples="auto"`` into rows per leaf for ``n_rows`` rows.

        The SST's ``lightgbm.auto_min_child_samples`` gives the rule: ``fraction`` of the
        rows, clipped to [``min``, ``max``]; ``params_`` records the number used.
        """
        if self.params_["min_child_samples"] != "auto":
            return
        rule = defaults["lightgbm"]["auto_min_child_samples"]
        size = round(n_rows * rule["fraction"])
        self.params_["min_child_samples"] = min(max(size, rule["min"]), rule["max"])

    def _booster_params(self, n_classes: int | None, index: int = 0) -> dict[str, Any]:
        params = {core: self.params_[name] for name, core in _CORE_NAMES.items()}
        params.update(self._objective(n_classes))
        params.update(
            seed=derive_seed(self.random_state_, "model", index=index),
            deterministic=True,
            force_row_wise=True,
            num_threads=active_threads(),
            verbosity=-1,
        )
        return params

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool:
        n_classes = len(self.classes_) if hasattr(self, "classes_") else None
        self._resolve_leaf_size(len(X), defaults)
        params = self._booster_params(n_classes)
        booster, best_iteration, finite = self._train_booster(
            X, y, sample_weight, defaults, params, n_classes
        )
        self.booster_ = booster
        self.best_iteration_ = best_iteration
        self.n_iter_ = booster.current_iteration()
        return finite

    def _train_booster(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray,
        defaults: dict,
        params: dict[str, Any],
        n_classes: int | None,
        label: str = "",
    ) -> tuple[lgb.Booster, int, bool]:
        """Train one booster with ``params`` (early stopping on the internal split).

        Returns the booster, the rounds to predict with and whether its scores of the
        training (and validation) rows are finite. ``label`` starts its progress lines.
        """
        p = self.params_
        stopping = defaults["early_stopping"]
        split = self._early_stopping_split(y, defaults, stratify=n_classes is not None)
        callbacks = []
        progress = self._progress()
        if progress:
            # Listed first, it runs before early stopping (which ends the run by raising).
            callbacks.append(_round_progress(progress, int(p["n_estimators"]), label))
        if split is not None:
            train_idx, valid_idx = split
            train = lgb.Dataset(
                X[train_idx], y[train_idx], weight=sample_weight[train_idx], params=params
            )
            valid_sets = [
                lgb.Dataset(
                    X[valid_idx], y[valid_idx], weight=sample_weight[valid_idx], reference=train
                )
            ]
            callbacks.append(
                lgb.early_stopping(
                    p["early_stopping_rounds"],
                    first_metric_only=True,
                    verbose=False,
                    min_delta=float(stopping["threshold"]),
                )
            )
        else:
            train = lgb.Dataset(X, y, weight=sample_weight, params=params)
            valid_sets = []
        booster = lgb.train(
            params,
            train,
            num_boost_round=p["n_estimators"],
            valid_sets=valid_sets,
            callbacks=callbacks,
            keep_training_booster=True,
        )
        finite = _booster_outputs_finite(booster, bool(valid_sets))
        booster.free_dataset()
        best_iteration = (
            booster.best_iteration if split is not None else booster.current_iteration()
        )
        return booster, best_iteration, finite

    def _stopped_at_first_iteration(self) -> bool:
        return self.best_iteration_ == 1 and self.n_iter_ > 1

    def _fit_summary(self) -> str:
        return rounds_summary(self.n_iter_, self.best_iteration_, self.params_["n_estimators"])

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            f"no split met min_child_samples={p['min_child_samples']} (rows per leaf), "
            f"min_child_weight={p['min_child_weight']} and min_split_gain="
            f"{p['min_split_gain']} on this data, or early stopping found no round better "
            "than the first; lower min_child_samples (or leave it 'auto', which scales it "
            "with the rows), raise learning_rate, or pass early_stopping=False"
        )

    def _booster_predict(self, X: np.ndarray) -> np.ndarray:
        return self.booster_.predict(
            X, num_iteration=self.best_iteration_, num_threads=active_threads() or 0
        )

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        text = self.booster_.model_to_string(num_iteration=-1)
        meta = {"best_iteration": self.best_iteration_, "n_iter": self.n_iter_}
        return meta, {}, {"booster.txt": text.encode("utf-8")}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        if set(blobs) != {"booster.txt"} or arrays:
            raise ModelFileError(
                f"expected only the member booster.txt, got {sorted(blobs)} and arrays "
                f"{sorted(arrays)}."
            )
        self.booster_, n_iter = self._load_booster(blobs["booster.txt"], "booster.txt")
        self.best_iteration_ = _iteration(meta.get("best_iteration"), n_iter)
        self.n_iter_ = _iteration(meta.get("n_iter"), n_iter)
        if self.n_iter_ != n_iter:
            raise ModelFileError(f"n_iter={self.n_iter_}, but booster.txt has {n_iter} rounds.")

    def _load_booster(self, data: bytes, where: str) -> tuple[lgb.Booster, int]:
        """Check a stored model text (see ``skfam._booster_checks``), then load it.

        Returns the booster and its boosting rounds.
        """
        n_classes = len(self.classes_) if hasattr(self, "classes_") else None
        objective = self._objective(n_classes)["objective"]
        line = {"binary": "binary sigmoid:1", "multiclass": f"multiclass num_class:{n_classes}"}
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise ModelFileError(f"{where}: not a LightGBM model text (not ASCII).") from None
        n_iter = check_lightgbm_text(
            text,
            n_features=self.n_features_in_,
            n_classes=n_classes if objective == "multiclass" else 1,
            objective=line.get(objective, objective),
            where=where,
        )
        return lgb.Booster(model_str=text), n_iter


def _round_progress(progress: Progress, total: int, label: str) -> Any:
    """Return a LightGBM callback writing a progress line after the rounds due.

    A line holds the validation metric LightGBM computed for early stopping, or without a
    validation split the training metric, read from the scores LightGBM keeps (reading
    it changes nothing in the booster).
    """

    def report(env: Any) -> None:
        index = env.iteration - env.begin_iteration + 1
        if not progress.due(index, total):
            return
        results = env.evaluation_result_list or env.model.eval_train()
        metrics = [(f"{'valid' if r[0] != 'training' else 'train'} {r[1]}", r[2]) for r in results]
        text = f"{label}round {index}/{total}"
        progress.say(f"{text}  {format_metrics(metrics)}" if metrics else text)

    return report


def _iteration(value: Any, n_iter: int) -> int:
    """Return a stored iteration count in [0, n_iter], or raise ModelFileError."""
    if type(value) is not int or not 0 <= value <= n_iter:
        raise ModelFileError(f"iteration count {value!r} does not fit the booster's {n_iter}.")
    return value


def _booster_outputs_finite(booster: lgb.Booster, with_valid: bool) -> bool:
    """Whether the booster's own scores of its training (and validation) rows are finite.

    LightGBM keeps these scores while training, so the check costs no extra prediction.
    A sum of tree outputs that is finite after the last round was finite at every round.
    """
    checks: list[bool] = []

    def feval(preds: np.ndarray, data: lgb.Dataset) -> tuple[str, float, bool]:
        checks.append(bool(np.isfinite(preds).all()))
        return "finite", 0.0, True

    booster.eval_train(feval=feval)
    if with_valid:
        booster.eval_valid(feval=feval)
    return all(checks)


@fill_doc(parameters=_DOC_PARAMETERS)
class LightGBMRegressor(RegressorMixin, SkfamRegressorMixin, _LightGBMBase):
    """LightGBM gradient-boosted trees for regression (L2 loss), deterministic.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import LightGBMRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = LightGBMRegressor(variant="fast").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.random_state_
    42
    """

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        return {"objective": "regression", "metric": "l2"}

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        return self._booster_predict(X)


@fill_doc(parameters=_DOC_PARAMETERS)
class LightGBMClassifier(ClassifierMixin, SkfamClassifierMixin, _LightGBMBase):
    """LightGBM gradient-boosted trees for binary and multiclass classification.

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import LightGBMClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LightGBMClassifier(variant="fast").fit(X, y)
    >>> clf.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        if n_classes == 2:
            return {"objective": "binary", "metric": "binary_logloss"}
        return {"objective": "multiclass", "metric": "multi_logloss", "num_class": n_classes}

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        proba = self._booster_predict(X)
        if proba.ndim == 1:
            proba = np.column_stack([1.0 - proba, proba])
        return proba
