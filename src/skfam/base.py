"""What every skfam estimator shares: SST parameters, seeds, threads, imputation, checks.

Layers (in the style of imbalanced-learn): :class:`SkfamEstimator` holds the public ``fit``
that validates and prepares, then calls the family's private ``_fit_model``;
:class:`SkfamRegressorMixin` / :class:`SkfamClassifierMixin` add what differs by task; each
family base (e.g. ``skfam.models.lightgbm._LightGBMBase``) adds its parameters and the
algorithm; the concrete classes only join them.
"""

from __future__ import annotations

import os
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._impute import FeatureImputer
from ._limits import FLOAT64_SQUARES, ValueLimit, check_input_range, check_target_range
from ._progress import Progress, describe_rows
from ._registry import COMMON_PARAMS, resolve_layers
from ._seeds import derive_seed, resolve_random_state
from ._settings import (
    MAX_THREADS,
    carry_settings,
    clone_settings,
    receive_settings,
    with_carried_settings,
)
from ._split import resolve_early_stopping, resolve_split_kind, validation_split
from ._sst import deep_merge, load_defaults
from ._threads import resolve_n_jobs, thread_limit
from ._warnings import DegenerateModelWarning, warn

__all__ = [
    "NonFinitePredictionError",
    "SkfamClassifierMixin",
    "SkfamEstimator",
    "SkfamRegressorMixin",
]


#: Relative spread of training-row predictions (to the target's) below which a regressor
#: is called constant.
_CONSTANT_SPREAD = 1e-6

#: Training rows the degenerate-model check predicts on where a family already knows that
#: its outputs are finite (boosting keeps its training scores): a constant model is
#: constant on any of them, and the prediction stays a small part of the fit.
_SHAPE_ROWS = 2048

# The post-fit sanity check predicts on at most this many training rows (evenly spaced)
# for families that cannot check all of them for free (a family may set fewer).
_SANITY_ROWS = 10_000


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def _row_values(name: str, value: Any, n_samples: int) -> np.ndarray | None:
    """Return extra fit data as a 1-D array of one value per row (None stays None)."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 or len(array) != n_samples:
        raise ValueError(
            f"{name} must hold one value per row of X: shape ({n_samples},), got {array.shape}."
        )
    return array


class NonFinitePredictionError(ValueError):
    """A fitted model predicts NaN or infinity on its own training data."""


class SkfamEstimator(BaseEstimator):
    """Base of every skfam estimator; not used directly.

    Subclasses set ``_family`` and implement ``_fit_model(X, y, sample_weight)``, the
    prediction hook of their task and ``_model_state`` / ``_restore_model_state`` for
    model files.
    """

    _family: ClassVar[str]
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "variant": [str, None],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, -MAX_THREADS, MAX_THREADS, closed="both"), None],
        # scikit-learn's own: an int >= 0 or a bool (True is 1).
        "verbose": ["verbose"],
    }
    #: Whether the library handles NaN itself: with the SST's ``imputation.native_missing``
    #: true, such a family gets NaN instead of imputed values.
    _native_missing: ClassVar[bool] = False
    #: Largest magnitudes of X and of a regression target the family computes with
    #: correctly (see skfam._limits); checked at fit and predict.
    _input_limit: ClassVar[ValueLimit] = FLOAT64_SQUARES
    _target_limit: ClassVar[ValueLimit] = FLOAT64_SQUARES

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _hyperparameter_names(cls) -> list[str]:
        return [p for p in cls._get_param_names() if p not in COMMON_PARAMS]

    def _resolve_params(self) -> dict[str, Any]:
        """Explicit argument > variant > family YAML > defaults.yaml, all validated.

        The SST's blocks are validated against this estimator's own class (its signature
        and ``_parameter_constraints``), not the registry's, so a subclass with parameters
        of its own resolves too. An explicit dict merges over the SST's dict of the same
        parameter key by key (recursively; lists and scalars replace). A parameter the SST
        does not set (a subclass's own) keeps its constructor value, None included; one the
        SST sets must resolve to a value.
        """
        resolved = resolve_layers(self._family, self.variant, [type(self)])
        from_sst = set(resolved)
        for name in self._hyperparameter_names():
            value = getattr(self, name)
            if value is None:
                resolved.setdefault(name, None)
            elif isinstance(value, dict) and isinstance(resolved.get(name), dict):
                resolved[name] = deep_merge(resolved[name], value)
            else:
                resolved[name] = value
        missing = [n for n in sorted(from_sst) if resolved[n] is None]
        if missing:
            raise ValueError(
                f"{type(self).__name__}: no value for {missing}: neither passed nor set in "
                f"configs/models/{self._family}.yaml."
            )
        return resolved

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    def __getstate__(self) -> dict[str, Any]:
        # A pickle sent to a worker process carries the skfam settings in force.
        return carry_settings(super().__getstate__())

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(receive_settings(state))

    def __sklearn_clone__(self) -> SkfamEstimator:
        # A clone made in a worker (e.g. by a search sent there) keeps the settings.
        return clone_settings(self, super().__sklearn_clone__())

    # ------------------------------------------------------------------ fit
    @with_carried_settings
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SkfamEstimator:
        """Fit the estimator.

        A fit that raises leaves the estimator unfitted (no fitted attribute remains, not
        even those of an earlier fit), so ``predict`` then raises ``NotFittedError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed and imputed inside the estimator (or passed to
            the library, see ``imputation.native_missing`` in the SST).
        y : array-like of shape (n_samples,)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; None weighs every sample 1.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_discard(X, y, sample_weight)

    def _fit_or_discard(
        self, X: Any, y: Any, sample_weight: Any, **fit_data: Any
    ) -> SkfamEstimator:
        """Fit; on any error remove every fitted attribute, then re-raise.

        ``fit_data``: the family's extra keyword arguments of ``fit`` (its metadata
        ``fit_data``, e.g. ``groups``), each None or one value per row; a family whose
        ``fit`` has such arguments passes them here and receives them in ``_fit_model``.
        """
        try:
            return self._fit(X, y, sample_weight, **fit_data)
        except BaseException:
            self._discard_fitted()
            raise

    def _discard_fitted(self) -> None:
        """Remove every fitted attribute (those ``check_is_fitted`` looks for)."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X: Any, y: Any, sample_weight: Any, **fit_data: Any) -> SkfamEstimator:
        progress = self._progress()
        X, y = self._validate_fit_input(X, y)
        fit_data = {name: _row_values(name, value, len(y)) for name, value in fit_data.items()}
        progress.say(f"fit started on {describe_rows(X)}")
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        y = self._prepare_target(y)
        self._check_target(y, weights)
        self.random_state_ = resolve_random_state(self.random_state)
        self.params_ = self._resolve_params()
        defaults = load_defaults()
        with thread_limit(resolve_n_jobs(self.n_jobs)):
            self.imputer_ = self._make_imputer(self._imputation_strategy(defaults))
            X = self.imputer_.fit_transform(X)
            check_input_range(X, self._input_limit, type(self).__name__)
            finite = self._fit_model(X, y, weights, defaults, **fit_data)
            self._check_training_predictions(X, y, weights, finite)
        if progress:
            summary = self._fit_summary()
            progress.say(
                f"fitted in {_seconds(progress.elapsed())}" + (f" ({summary})" if summary else "")
            )
        return self

    def _progress(self) -> Progress:
        """Return the progress writer of this estimator's ``verbose``."""
        return Progress(type(self).__name__, self.verbose)

    def _fit_summary(self) -> str | None:
        """Family hook: what the fit ran, for the final progress line (e.g. "50 epochs")."""
        return None

    def _imputation_strategy(self, defaults: dict) -> str:
        """Return the SST's strategy, or "passthrough" where the library takes NaN itself."""
        imputation = defaults["imputation"]
        if imputation.get("native_missing", False) and self._native_missing:
            return "passthrough"
        return imputation["strategy"]

    def _check_target(self, y: np.ndarray, sample_weight: np.ndarray) -> None:
        """Task hook: refuse targets the library cannot represent (regression)."""

    def _make_imputer(self, strategy: str) -> FeatureImputer:
        """Return the imputation step of this estimator (model files rebuild it with this too)."""
        return FeatureImputer(strategy=strategy)

    def _validate_fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        return validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            order="C",  # a model must not depend on the memory layout (pandas 3 gives "F")
            ensure_all_finite="allow-nan",
            y_numeric=not hasattr(self, "_encode_classes"),
        )

    def _validate_predict_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, dtype=np.float64, order="C", ensure_all_finite="allow-nan"
        )
        return self.imputer_.transform(X)

    def _checked_predict_input(self, X: Any) -> np.ndarray:
        """Return validated, imputed ``X``, refusing values beyond the family's range."""
        X = self._validate_predict_input(X)
        check_input_range(X, self._input_limit, type(self).__name__)
        return X

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool | None:
        """Family hook: fit on imputed ``X``.

        Returns whether the model's outputs on its training rows are finite when the
        family knows that for free (e.g. from scores kept while training), else None.
        """
        raise NotImplementedError

    #: Most training rows the post-fit check predicts on (evenly spaced).
    _sanity_rows: ClassVar[int] = _SANITY_ROWS

    def _check_training_predictions(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, finite: bool | None
    ) -> None:
        """Refuse a model that predicts non-finite values; warn when it learned nothing.

        Predicts on at most ``_sanity_rows`` evenly spaced training rows of positive
        weight (none when ``finite`` is already known to be False). A model whose
        predictions there are one constant (one class) although the target varies there,
        or that early stopping kept at its first iteration, gets a
        :class:`~skfam.DegenerateModelWarning` naming the family's likely cause.
        """
        if finite is not False:
            weighted = sample_weight > 0
            if weighted.any() and not weighted.all():
                X, y = X[weighted], y[weighted]
            # Where finiteness is known, the rows serve only the degenerate-model check.
            limit = self._sanity_rows if finite is None else min(self._sanity_rows, _SHAPE_ROWS)
            n_rows = X.shape[0]  # scipy's sparse matrices have no len()
            if n_rows > limit:
                rows = np.linspace(0, n_rows - 1, limit).astype(np.intp)
                X, y = X[rows], y[rows]
            outputs = np.asarray(self._raw_outputs(X))
            if finite is None:
                finite = bool(np.isfinite(outputs).all())
        if not finite:
            raise NonFinitePredictionError(
                f"The fitted {self._family!r} model ({type(self).__name__}) predicts "
                "non-finite values on its training data; check the scale of X and y and "
                "the hyperparameters (e.g. a smaller learning_rate)."
            )
        problem = self._degenerate(outputs, y)
        if problem is not None:
            warn(
                f"The fitted {self._family!r} model ({type(self).__name__}) {problem}: it "
                f"learned (almost) nothing from X. Likely cause: {self._degenerate_hint()}.",
                DegenerateModelWarning,
            )

    def _degenerate(self, outputs: np.ndarray, y: np.ndarray) -> str | None:
        """Return what is degenerate about training-row outputs (None: nothing)."""
        if self._stopped_at_first_iteration():
            return (
                "was stopped after its first iteration by early stopping (the validation "
                "loss never improved on it)"
            )
        if hasattr(self, "classes_"):
            predicted = np.unique(np.argmax(outputs, axis=1))
            if len(predicted) == 1 and len(np.unique(y)) > 1:
                label = self.classes_[predicted[0]]
                label = label.item() if isinstance(label, np.generic) else label
                return (
                    f"predicts the class {label!r} for each of the {len(y)} training rows "
                    "checked, although they hold several classes"
                )
            return None
        spread = float(np.max(np.ptp(outputs, axis=0))) if len(outputs) else 0.0
        target_spread = float(np.ptp(y)) if len(y) else 0.0
        if target_spread > 0 and spread <= _CONSTANT_SPREAD * target_spread:
            return (
                f"predicts the same value for each of the {len(y)} training rows checked, "
                "although their target varies"
            )
        return None

    def _stopped_at_first_iteration(self) -> bool:
        """Family hook: whether early stopping kept the model of the first iteration."""
        return False

    def _degenerate_hint(self) -> str:
        """Family hook: the likely cause of a degenerate model and the setting to change."""
        return f"the hyperparameters in params_ ({self.params_})"

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _early_stopping_split(
        self,
        y: np.ndarray,
        defaults: dict,
        *,
        stratify: bool,
        sequence: bool = False,
        gap: int = 0,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Return (training, validation) row indices when early stopping is on, else None.

        Early stopping follows ``params_["early_stopping"]`` ("auto": from
        ``early_stopping.auto_min_samples`` rows); the split holds out
        ``params_["validation_fraction"]`` of the rows, seeded from the stream "split", of
        the kind ``params_["validation_split"]`` (families without that parameter: the
        SST's ``validation.split``); ``params_["validation_split"]`` records the kind used.
        ``sequence`` says whether the rows are overlapping windows of one series.
        """
        p = self.params_
        auto_min = defaults["early_stopping"]["auto_min_samples"]
        if not resolve_early_stopping(p["early_stopping"], len(y), auto_min):
            return None
        kind = resolve_split_kind(
            p.get("validation_split", defaults["validation"]["split"]),
            sequence=sequence,
            classes=stratify,
        )
        if "validation_split" in p:
            p["validation_split"] = kind
        return validation_split(
            len(y),
            p["validation_fraction"],
            derive_seed(self.random_state_, "split"),
            kind=kind,
            y_classes=y if stratify else None,
            gap=gap,
        )

    @with_carried_settings
    def _threads(self) -> int:
        return resolve_n_jobs(self.n_jobs)

    # ------------------------------------------------------------------ model files
    def save_model(self, path: str | os.PathLike, key: bytes | str | None = None) -> None:
        """Save the fitted estimator to a versioned model file, atomically.

        The file holds no pickle: load it with :func:`skfam.load_model`.

        Parameters
        ----------
        path : str or path-like
            Destination; an existing file is replaced only once the new one is complete,
            and keeps its permissions. A symbolic link is followed (its target is replaced).
        key : bytes or str, default=None
            Sign the file with HMAC-SHA256 under this key; ``skfam.load_model(path,
            key=key)`` then refuses any file not signed with it. None: unsigned.
        """
        from .model_file import save_model

        save_model(self, path, key=key)

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        """Family hook: (JSON-able meta, numeric arrays, byte blobs) of the fitted model."""
        raise NotImplementedError

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        """Family hook: the inverse of ``_model_state``."""
        raise NotImplementedError


class SkfamRegressorMixin:
    """Regression behaviour of a skfam estimator: float64 predictions."""

    def _prepare_target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    def _check_target(self, y: np.ndarray, sample_weight: np.ndarray) -> None:
        check_target_range(y, sample_weight, self._target_limit, type(self).__name__)

    def predict(self, X: Any) -> np.ndarray:
        """Predict regression targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        y_pred : ndarray of float64, shape (n_samples,)
        """
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return np.asarray(self._raw_outputs(X), dtype=np.float64)


class SkfamClassifierMixin:
    """Classification behaviour: label encoding, ``classes_``, ``predict_proba``."""

    _encode_classes = True

    def _prepare_target(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"Classifier can't train when only one class is present: {self.classes_.tolist()}."
            )
        return encoded.astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Predict class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        proba : ndarray of float64, shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to 1.
        """
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return np.asarray(self._raw_outputs(X), dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels (the most probable class of each row).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels drawn from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
