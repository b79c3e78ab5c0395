"""The ``ftrl_proximal`` family: FTRL-Proximal online linear models (McMahan et al., 2013).

Per-coordinate learning rates (``alpha``, ``beta``) with l1 and l2 penalties, learned one
row at a time by the numba kernels of :mod:`skfam.models._ftrl_kernel`: squared loss for
regression, the logistic loss for two classes and the softmax cross-entropy for more.
Dense and scipy.sparse input; a missing value (NaN) is an absent feature, as in online
sparse learners: it adds nothing to the score and its weight learns nothing from the row.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._docs import fill_doc
from .._impute import FeatureImputer
from .._limits import check_input_range
from .._progress import DOC_VERBOSE, format_metrics
from .._seeds import derive_seed, resolve_random_state
from .._settings import with_carried_settings
from .._sst import load_defaults
from ..base import (
    NonFinitePredictionError,
    SkfamClassifierMixin,
    SkfamEstimator,
    SkfamRegressorMixin,
)
from ..model_file import ModelFileError
from . import _ftrl_kernel as kernel

__all__ = ["FTRLClassifier", "FTRLRegressor"]

#: The hyperparameters the learning rule reads (``max_iter`` and ``shuffle`` only shape fit).
_RULE = ("alpha", "beta", "l1", "l2", "fit_intercept")

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/ftrl_proximal.yaml``, its ``variant``, then
    ``configs/defaults.yaml``); the values used are in ``params_``. The names are the
    paper's (McMahan et al. 2013, Algorithm 1).

    Parameters
    ----------
    alpha : float > 0, default=None
        Learning-rate scale: the per-coordinate step is ``alpha / (beta + sqrt(n_i))``,
        ``n_i`` the sum of the squared gradients of coordinate ``i``. The weights move in
        units of ``alpha``: scale the features (and a regression target) to unit order, or
        raise ``alpha`` for targets of a larger scale.
    beta : float >= 0, default=None
        Smoothing of the per-coordinate learning rate (1 is the paper's usual value).
    l1 : float >= 0, default=None
        L1 penalty: a weight is exactly 0 while ``|z_i| <= l1``. In the units of summed
        gradients, so its effect grows with the rows seen.
    l2 : float >= 0, default=None
        L2 penalty.
    fit_intercept : bool, default=None
        Learn an intercept: a coordinate of value 1 with its own ``z`` and ``n``, on which
        l1 and l2 do not act.
    max_iter : int >= 1, default=None
        Passes of ``fit`` over the training rows (``partial_fit`` makes one pass).
    shuffle : bool, default=None
        ``fit`` learns the rows of each pass in an order drawn from the seed (stream
        "order"); False keeps their given order. ``partial_fit`` always keeps it.
    variant : str, default=None
        A named variant of ``configs/models/ftrl_proximal.yaml`` (e.g. "fast", "online").
    random_state : int, RandomState instance or None, default=None
        Seed of the row order; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads; None takes the SST's ``n_jobs``. FTRL learns one row after another; with
        2 or more, a second thread reads the next rows (a chunk of the shuffled order)
        while the current ones are learned. The model is the same bits for any value.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    coef_ : ndarray of float64
        The weights of the features: closed form of the paper from ``z_`` and ``n_``
        (exactly 0 where ``|z| <= l1``). Shape %(coef_shape)s. A read-only copy, taken
        when read: it does not change with later learning, and the model does not read
        it back.
    intercept_ : ndarray of float64
        The intercept, %(intercept_shape)s; zeros with ``fit_intercept=False``.
    z_ : ndarray of float64, shape (n_features + 1, %(k)s)
        FTRL's ``z`` accumulators, one per feature and output; the last row is the
        intercept's. The model's state: ``partial_fit`` updates it in place.
    n_ : ndarray of float64, shape (n_features + 1, %(k)s)
        FTRL's ``n`` accumulators (sums of squared gradients), laid out as ``z_``.
    n_iter_ : int
        Passes over the rows made by the last ``fit`` (1 after ``partial_fit``).
    params_ : dict
        The hyperparameters actually used.
    random_state_ : int
        The seed actually used.
    imputer_ : FeatureImputer
        A pass-through step: NaN stays NaN and means an absent feature; nothing is
        learned from the training data for it.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""
)


class _AbsentFeatures(FeatureImputer):
    """The imputation step of FTRL: nothing is filled, NaN means an absent feature.

    It keeps sparse input sparse and learns no statistics (all zero, no empty column), so
    a model that keeps learning with ``partial_fit`` never depends on statistics of the
    first rows.
    """

    def fit(self, X: Any, y: object = None) -> _AbsentFeatures:
        """Record the width of ``X`` (dense or sparse); learn nothing else."""
        width = X.shape[1]
        self.statistics_ = np.zeros(width)
        self.empty_features_ = np.zeros(width, dtype=bool)
        self.n_features_in_ = width
        return self

    def transform(self, X: Any) -> Any:
        """Return ``X`` unchanged (dense or sparse)."""
        check_is_fitted(self)
        return X


def _frozen(array: np.ndarray) -> np.ndarray:
    """Return a read-only copy: the weights follow from ``z_`` and ``n_``, not the reverse."""
    copy = np.array(array, order="C")
    copy.flags.writeable = False
    return copy


def _canonical(X: Any) -> Any:
    """Return a CSR matrix with sorted indices and no duplicates (a copy only if needed)."""
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()  # sorts the indices too; NaN + a value stays NaN (absent)
    return X


class _FTRLBase(SkfamEstimator):
    """Shared parameters and learning of the FTRL-Proximal estimators."""

    _family: ClassVar[str] = "ftrl_proximal"
    # NaN is an absent feature, whatever imputation.native_missing says: the family keeps
    # no imputation statistics (they could not be refitted online).
    _native_missing: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="neither"), None],
        "beta": [Interval(Real, 0, None, closed="left"), None],
        "l1": [Interval(Real, 0, None, closed="left"), None],
        "l2": [Interval(Real, 0, None, closed="left"), None],
        "fit_intercept": ["boolean", None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean", None],
    }

    def __init__(
        self,
        *,
        alpha: float | None = None,
        beta: float | None = None,
        l1: float | None = None,
        l2: float | None = None,
        fit_intercept: bool | None = None,
        max_iter: int | None = None,
        shuffle: bool | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.alpha = alpha
        self.beta = beta
        self.l1 = l1
        self.l2 = l2
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ input
    def _imputation_strategy(self, defaults: dict) -> str:
        return "passthrough"

    def _make_imputer(self, strategy: str) -> FeatureImputer:
        return _AbsentFeatures(strategy=strategy)

    def _validate_rows(self, X: Any, y: Any, reset: bool) -> tuple[Any, np.ndarray]:
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse="csr",
            dtype=np.float64,
            order="C",
            ensure_all_finite="allow-nan",
            y_numeric=not hasattr(self, "_encode_classes"),
        )
        return _canonical(X), y

    def _validate_fit_input(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        return self._validate_rows(X, y, reset=True)

    def _validate_predict_input(self, X: Any) -> Any:
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse="csr",
            dtype=np.float64,
            order="C",
            ensure_all_finite="allow-nan",
        )
        return self.imputer_.transform(_canonical(X))

    # ------------------------------------------------------------------ learning
    def _n_outputs(self) -> int:
        """K: one (z, n) per coordinate for regression and two classes, else one per class."""
        return 1

    def _loss_kind(self) -> int:
        return kernel.SQUARED

    def _rule(self) -> np.ndarray:
        """[alpha, beta, l1, l2] of params_ (finite: the constraints exclude inf and NaN)."""
        p = self.params_
        return np.array([p["alpha"], p["beta"], p["l1"], p["l2"]], dtype=np.float64)

    def _start(self, n_features: int) -> None:
        """Set a fresh state: every accumulator and weight 0."""
        self._variant_ = self.variant
        shape = (n_features + 1, self._n_outputs())
        self.z_ = np.zeros(shape)
        self.n_ = np.zeros(shape)
        self._w_ = np.zeros(shape)

    def _learn(
        self,
        X: Any,
        y: np.ndarray,
        sample_weight: np.ndarray,
        order: np.ndarray,
        *,
        rollback: bool,
        track: bool = False,
    ) -> float:
        """Learn the rows ``order`` in order; return their mean weighted loss (if tracked).

        Raises NonFinitePredictionError naming the row whose update is not finite; with
        ``rollback`` the state is then the one of before the call.
        """
        failed, total = kernel.learn(
            X,
            y,
            sample_weight,
            order,
            self.z_,
            self.n_,
            self._w_,
            self._rule(),
            self._loss_kind(),
            bool(self.params_["fit_intercept"]),
            rollback=rollback,
            track=track,
            threads=self._threads(),
        )
        if failed >= 0:
            kept = (
                "the model is unchanged (none of these rows was learned)"
                if rollback
                else "the fit is abandoned"
            )
            raise NonFinitePredictionError(
                f"{type(self).__name__}: learning row {int(order[failed])} gives a "
                f"non-finite update (the gradient or the sum of its squares overflows); "
                f"{kept}. Scale the features (and a regression target) down, or lower "
                f"alpha (now {self.params_['alpha']})."
            )
        weight = float(np.sum(sample_weight[order])) if track else 0.0
        return total / weight if weight > 0 else 0.0

    def _fit_model(self, X: Any, y: np.ndarray, sample_weight: np.ndarray, defaults: dict) -> None:
        self._start(X.shape[1])
        passes = int(self.params_["max_iter"])
        rng = np.random.default_rng(derive_seed(self.random_state_, "order"))
        progress = self._progress()
        rows = np.arange(X.shape[0], dtype=np.int64)
        for index in range(1, passes + 1):
            order = rng.permutation(rows) if self.params_["shuffle"] else rows
            due = progress.due(index, passes)
            loss = self._learn(X, y, sample_weight, order, rollback=False, track=due)
            if due:
                progress.say(
                    f"pass {index}/{passes}  " + format_metrics([("progressive_loss", loss)])
                )
        self.n_iter_ = passes
        return None

    def _fit_summary(self) -> str:
        nonzero = int(np.count_nonzero(self._w_[:-1]))
        return f"{self.n_iter_} passes, {nonzero} of {self._w_[:-1].size} weights non-zero"

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            f"l1={p['l1']} keeps every weight at 0 (|z| <= l1), or alpha={p['alpha']} moves "
            f"the weights too little in max_iter={p['max_iter']} passes for the scale of "
            "the data; lower l1, raise alpha or max_iter, or scale the features (and a "
            "regression target) to unit order"
        )

    def _scores(self, X: Any) -> np.ndarray:
        if sp.issparse(X):
            X = _canonical(X)
        return kernel.scores(X, self._w_, bool(self.params_["fit_intercept"]))

    # ------------------------------------------------------------------ partial_fit
    def _partial_fit(self, X: Any, y: Any, sample_weight: Any, classes: Any = None) -> _FTRLBase:
        if not hasattr(self, "z_"):
            try:
                return self._first_batch(X, y, sample_weight, classes)
            except BaseException:
                self._discard_fitted()
                raise
        X, y = self._validate_rows(X, y, reset=False)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        y = self._batch_target(y, classes)
        self._check_target(y, weights)
        self._check_rule_unchanged()
        check_input_range(X, self._input_limit, type(self).__name__)
        self._learn(X, y, weights, np.arange(X.shape[0], dtype=np.int64), rollback=True)
        self.n_iter_ = 1
        return self

    def _first_batch(self, X: Any, y: Any, sample_weight: Any, classes: Any) -> _FTRLBase:
        """Learn the first batch: resolve the seed and parameters as fit does, then learn."""
        X, y = self._validate_rows(X, y, reset=True)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        y = self._first_target(y, classes)
        self._check_target(y, weights)
        self.random_state_ = resolve_random_state(self.random_state)
        self.params_ = self._resolve_params()
        self.imputer_ = self._make_imputer(self._imputation_strategy(load_defaults())).fit(X)
        check_input_range(X, self._input_limit, type(self).__name__)
        self._start(X.shape[1])
        self._learn(X, y, weights, np.arange(X.shape[0], dtype=np.int64), rollback=False)
        self.n_iter_ = 1
        return self

    def _first_target(self, y: np.ndarray, classes: Any) -> np.ndarray:
        """Task hook: the target of the first partial_fit (classes set there)."""
        return self._prepare_target(y)

    def _batch_target(self, y: np.ndarray, classes: Any) -> np.ndarray:
        """Task hook: the target of a later partial_fit."""
        return self._prepare_target(y)

    def _check_rule_unchanged(self) -> None:
        """Refuse a later partial_fit whose parameters now differ from those learned with."""
        changed = {
            name: (getattr(self, name), self.params_[name])
            for name in _RULE
            if getattr(self, name) is not None and getattr(self, name) != self.params_[name]
        }
        if self.variant != self._variant_:
            changed["variant"] = (self.variant, self._variant_)
        if changed:
            listed = ", ".join(
                f"{k}={now!r} (learned with {was!r})" for k, (now, was) in changed.items()
            )
            raise ValueError(
                f"{type(self).__name__}.partial_fit: the model learned with the parameters "
                f"in params_, and these differ now: {listed}. Call fit to start over with "
                "them, or set them back."
            )

    # ------------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta = {"n_iter": self.n_iter_, "variant": self._variant_}
        return meta, {"z": self.z_, "n": self.n_}, {}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        if set(arrays) != {"z", "n"} or blobs:
            raise ModelFileError(
                f"expected the arrays z and n only, got {sorted(arrays)} and blobs "
                f"{sorted(blobs)}."
            )
        imputer = self.imputer_
        if (
            imputer.strategy != "passthrough"
            or np.any(imputer.statistics_ != 0)
            or np.any(imputer.empty_features_)
        ):
            raise ModelFileError("the FTRL imputation step must pass every value through.")
        shape = (self.n_features_in_ + 1, self._n_outputs())
        for name in ("z", "n"):
            array = arrays[name]
            if array.dtype != np.float64 or array.shape != shape or not np.isfinite(array).all():
                raise ModelFileError(
                    f"array {name!r} must be finite float64 of shape {shape}, got "
                    f"{array.dtype} {array.shape}."
                )
        if np.any(arrays["n"] < 0):
            raise ModelFileError("array 'n' holds a negative sum of squares.")
        n_iter = meta.get("n_iter")
        if type(n_iter) is not int or n_iter < 1:
            raise ModelFileError(f"n_iter = {n_iter!r} is not a valid value.")
        variant = meta.get("variant")
        if variant is not None and type(variant) is not str:
            raise ModelFileError(f"variant = {variant!r} is not a valid value.")
        missing = [k for k in (*_RULE, "max_iter", "shuffle") if k not in self.params_]
        if missing:
            raise ModelFileError(f"params_ lacks {missing}.")
        self._validate_rule(self.params_)
        self._variant_ = variant
        self.z_ = np.ascontiguousarray(arrays["z"])
        self.n_ = np.ascontiguousarray(arrays["n"])
        self._w_ = np.zeros(shape)
        kernel.refresh_weights(self.z_, self.n_, self._w_, self._rule())
        self.n_iter_ = n_iter

    def _validate_rule(self, params: dict) -> None:
        """Check the stored learning parameters against the class's constraints."""
        from sklearn.utils._param_validation import validate_parameter_constraints

        try:
            validate_parameter_constraints(
                {k: self._parameter_constraints[k] for k in (*_RULE, "max_iter", "shuffle")},
                {k: params[k] for k in (*_RULE, "max_iter", "shuffle")},
                caller_name=type(self).__name__,
            )
        except ValueError as exc:
            raise ModelFileError(f"params_ is invalid: {exc}") from None


def _doc(coef_shape: str, intercept_shape: str, k: str) -> str:
    return _DOC_PARAMETERS % {
        "coef_shape": coef_shape,
        "intercept_shape": intercept_shape,
        "k": k,
    }


@fill_doc(
    parameters=_doc("(n_features,)", "shape (1,)", "1"),
)
class FTRLRegressor(RegressorMixin, SkfamRegressorMixin, _FTRLBase):
    """FTRL-Proximal linear regression (squared loss), online, dense or sparse input.

    McMahan et al. (2013), "Ad Click Prediction: a View from the Trenches", Algorithm 1
    with the squared loss ``(p - y)^2 / 2`` (gradient ``(p - y) x``, ``p = w.x + b``):
    per-coordinate learning rates, l1 and l2 penalties, exact zeros under l1. ``fit``
    starts from zero weights and makes ``max_iter`` passes over the rows (in an order drawn
    from the seed when ``shuffle``); :meth:`partial_fit` learns one batch of rows, in their
    order, and keeps learning from the state it reached, so ``partial_fit`` over the
    batches of a data set in order is ``fit`` with ``max_iter=1, shuffle=False``, bit for
    bit.

    A missing value (NaN, also a NaN stored in a sparse matrix) is an absent feature: it
    adds nothing to the prediction and its weight learns nothing from the row (no
    imputation statistics: they could not be updated online). ``sample_weight`` multiplies
    the gradient of its row: 0 leaves the model as if the row were not there; 2 is one
    step with twice the gradient, not two steps (FTRL's learning rates depend on the
    gradients seen).

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import FTRLRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.0]) + 0.5
    >>> reg = FTRLRegressor(l1=1.0).fit(X, y)
    >>> np.round(reg.coef_, 2), reg.intercept_.round(2)
    (array([ 1., -2.,  0.]), array([0.5]))
    >>> float(reg.coef_[2])  # l1: exactly zero
    0.0
    >>> stream = FTRLRegressor()
    >>> for rows in np.array_split(np.arange(500), 5):  # five batches of a stream
    ...     stream = stream.partial_fit(X[rows], y[rows])
    >>> stream.n_iter_
    1
    """

    def _raw_outputs(self, X: Any) -> np.ndarray:
        return self._scores(X)[:, 0]

    @property
    def coef_(self) -> np.ndarray:
        """The weights of the features, shape (n_features,); a read-only copy."""
        return _frozen(self._w_[:-1, 0])

    @property
    def intercept_(self) -> np.ndarray:
        """The intercept, shape (1,); a read-only copy."""
        return _frozen(self._w_[-1:, 0])

    @with_carried_settings
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> FTRLRegressor:
        """Learn one batch of rows, in their order, from the state reached so far.

        The first call (on an unfitted estimator) resolves the seed and the parameters as
        ``fit`` does and starts from zero weights; later calls need the same features (a
        different number of them is an error) and the same learning parameters
        (``alpha``, ``beta``, ``l1``, ``l2``, ``fit_intercept`` and ``variant``: a changed
        one is an error; ``fit`` starts over). No post-fit check runs; a row whose update
        overflows is an error that leaves the model as it was before the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows; NaN is an absent feature.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's gradient; None weighs every row 1.

        Returns
        -------
        self : object
            The estimator, having learned the rows.
        """
        return self._partial_fit(X, y, sample_weight)


@fill_doc(
    parameters=_doc(
        "(1, n_features) for two classes, (n_classes, n_features) for more",
        "shape (1,) or (n_classes,)",
        "K",
    ),
)
class FTRLClassifier(ClassifierMixin, SkfamClassifierMixin, _FTRLBase):
    """FTRL-Proximal logistic (two classes) or softmax (more) classifier, online.

    McMahan et al. (2013), "Ad Click Prediction: a View from the Trenches", Algorithm 1.
    Two classes: the logistic loss, one weight per feature (``K = 1``), the gradient
    ``(sigmoid(p) - y) x`` with ``y`` 1 for ``classes_[1]``. More classes: the softmax
    cross-entropy, one ``(z, n)`` pair and weight per class and feature (``K =
    n_classes``), the gradient ``(softmax(p)_k - [y = k]) x``. ``fit`` makes ``max_iter``
    passes from zero weights; :meth:`partial_fit` learns one batch in its order (pass
    ``classes`` on the first call, as for scikit-learn's ``SGDClassifier``).

    A missing value (NaN, also a NaN stored in a sparse matrix) is an absent feature: it
    adds nothing to the scores and its weight learns nothing from the row (no imputation
    statistics). ``sample_weight`` multiplies the gradient of its row.

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import FTRLClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> y = np.where(X[:, 0] - X[:, 1] > 0, "up", "down")
    >>> clf = FTRLClassifier(variant="fast").fit(X, y)
    >>> clf.coef_.shape
    (1, 2)
    >>> bool(clf.score(X, y) > 0.9)
    True
    >>> stream = FTRLClassifier(variant="fast")
    >>> stream = stream.partial_fit(X[:200], y[:200], classes=["down", "up"])
    >>> stream = stream.partial_fit(X[200:], y[200:])
    >>> stream.predict_proba(X[:1]).shape
    (1, 2)
    """

    def _n_outputs(self) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _loss_kind(self) -> int:
        return kernel.LOGISTIC if len(self.classes_) == 2 else kernel.SOFTMAX

    def _raw_outputs(self, X: Any) -> np.ndarray:
        scores = self._scores(X)
        if scores.shape[1] == 1:
            positive = expit(scores[:, 0])
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores, axis=1)

    @property
    def coef_(self) -> np.ndarray:
        """The weights, shape (1, n_features) or (n_classes, n_features); a read-only copy."""
        return _frozen(self._w_[:-1].T)

    @property
    def intercept_(self) -> np.ndarray:
        """The intercepts, shape (1,) or (n_classes,); a read-only copy."""
        return _frozen(self._w_[-1])

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the scores ``X coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data; NaN is an absent feature.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the log-odds of ``classes_[1]``. More: one score per class,
            whose softmax is ``predict_proba``.
        """
        X = self._checked_predict_input(X)
        scores = self._scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    @with_carried_settings
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> FTRLClassifier:
        """Learn one batch of rows, in their order, from the state reached so far.

        The first call (on an unfitted estimator) needs ``classes``, every label the stream
        may hold, and resolves the seed and the parameters as ``fit`` does. Later calls
        need the same features and learning parameters (a changed one is an error), and
        labels of ``classes_`` only; ``classes``, when given again, must be the same. No
        post-fit check runs; a row whose update overflows is an error that leaves the
        model as it was before the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows; NaN is an absent feature.
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's gradient; None weighs every row 1.
        classes : array-like of shape (n_classes,), default=None
            All the labels (2 or more); required on the first call.

        Returns
        -------
        self : object
            The estimator, having learned the rows.
        """
        return self._partial_fit(X, y, sample_weight, classes)

    def _first_target(self, y: np.ndarray, classes: Any) -> np.ndarray:
        if classes is None:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: pass classes= (every label the stream "
                "may hold) on the first call, as for scikit-learn's SGDClassifier."
            )
        check_classification_targets(y)
        labels = np.unique(np.asarray(classes))
        if labels.ndim != 1 or len(labels) < 2:
            raise ValueError(
                f"classes must hold 2 or more distinct labels, got {np.asarray(classes)!r}."
            )
        self.classes_ = labels
        return self._encode(y)

    def _batch_target(self, y: np.ndarray, classes: Any) -> np.ndarray:
        if classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()!r} differs from the classes_ "
                f"{self.classes_.tolist()!r} the model learns; call fit to start over."
            )
        check_classification_targets(y)
        return self._encode(y)

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Return the index in ``classes_`` of each label; refuse labels not in it."""
        index = {label: i for i, label in enumerate(self.classes_.tolist())}
        labels, inverse = np.unique(y, return_inverse=True)
        unseen = [v for v in labels.tolist() if v not in index]
        if unseen:
            raise ValueError(
                f"y holds labels {unseen!r} that are not in classes_ "
                f"{self.classes_.tolist()!r} (set by classes= on the first partial_fit)."
            )
        codes = np.array([index[v] for v in labels.tolist()], dtype=np.int64)
        return codes[inverse.reshape(-1)]
