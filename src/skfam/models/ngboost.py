"""The ``ngboost`` family: natural gradient boosting for probabilistic prediction.

NGBoost (Duan et al., 2019) is implemented in skfam itself (``_ngboost_dists``,
``_ngboost_boost``) on scikit-learn regression trees, following the reference ``ngboost``
package (0.5), which the tests use as an oracle; skfam adds derived seeds, sample weights
in the initial fit, its early stopping, a standardised target and checked model files.
The regressor predicts a Normal distribution per row, the classifier a categorical one.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.stats import norm
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._limits import FLOAT32_FEATURES, ValueLimit
from .._progress import DOC_VERBOSE, format_metrics
from .._seeds import derive_seed
from .._threads import thread_limit
from ..base import SkfamClassifierMixin, SkfamEstimator, SkfamRegressorMixin
from ..model_file import ModelFileError, dump_sklearn, load_sklearn
from ._ngboost_boost import boost, predict_params
from ._ngboost_dists import Categorical, Normal
from ._tree_check import check_regression_tree

__all__ = ["NGBoostClassifier", "NGBoostRegressor"]

_TREE_TYPES = [
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
]

# The trees' random_state. Every split considers all features, so it only orders the
# features a tree tries, which decides exact ties between splits (as in nodes of a few
# rows). It is fixed, as the reference's one base learner's, so random_state changes a fit
# only through what it draws: rows, columns and the validation split.
_TREE_RANDOM_STATE = 0

# A spread below this share of |mean| is rounding noise of a constant target.
_CONSTANT_SPREAD = 16 * np.finfo(np.float64).eps


def _standardisation(y: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Return the weighted mean and standard deviation the regressor standardises ``y`` by.

    A target whose spread is at the level of float64 rounding is constant; its unit is
    then ``|mean|`` (1 for an all-zero target), so the fit stays the same at any scale.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
        mean = float(np.average(y, weights=weight))
        std = float(np.sqrt(np.average((y - mean) ** 2, weights=weight)))
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise ValueError(
            "NGBoostRegressor: the weighted mean or spread of y overflows float64; rescale "
            "y or sample_weight."
        )
    if std > _CONSTANT_SPREAD * abs(mean):
        return mean, std
    return mean, abs(mean) if mean != 0 else 1.0


_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/ngboost.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``.

    Parameters
    ----------
    n_estimators : int, default=None
        Boosting stages (the most, with early stopping); each fits one tree per
        distribution parameter.
    learning_rate : float, default=None
        Shrinkage of each stage (on top of the line-searched scaling).
    max_depth : int, default=None
        Depth of each regression tree.
    min_samples_leaf : int, default=None
        Fewest rows in a leaf of each tree.
    minibatch_frac : float, default=None
        Share of rows each stage draws (without replacement) to fit its trees.
    col_sample : float, default=None
        Share of columns each stage draws to fit its trees.
    early_stopping : {"auto", True, False}, default=None
        Stop when the validation negative log-likelihood on the internal split has not
        improved for ``early_stopping_rounds`` stages and keep the best stage; "auto" turns
        it on from ``early_stopping.auto_min_samples`` rows (``configs/defaults.yaml``).
    early_stopping_rounds : int, default=None
        Patience of early stopping, in stages.
    validation_fraction : float, default=None
        Share of rows held out for early stopping (SST: ``validation.fraction``).
    variant : str, default=None
        A named variant of ``configs/models/ngboost.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of the row/column draws (stream "subsample") and the validation split; None
        takes ``base_seed`` from the SST. The trees' feature order (it decides exact ties
        between splits) is fixed, so without subsampling or early stopping the seed
        changes nothing.
    n_jobs : int, default=None
        Threads for fit and predict (BLAS); None takes the SST's ``n_jobs``.
"""
    + DOC_VERBOSE
    + """        A line shows the negative log-likelihood of the training (and validation) rows
        after the stage, in the units the boosting runs in.

    Attributes
    ----------
    init_params_ : ndarray of shape (n_params,)
        The starting parameters (the marginal fit), in the units the boosting runs in
        (the regressor's: the standardised target).
    trees_ : list of list of DecisionTreeRegressor
        For each kept stage, one tree per distribution parameter.
    columns_ : ndarray of int, shape (n_stages, n_columns)
        The columns each stage's trees see.
    scalings_ : ndarray of shape (n_stages,)
        The line-searched scaling of each stage.
    n_iter_ : int
        Stages fitted (early stopping keeps the first ``len(trees_)`` of them).
"""
    + FITTED_ATTRIBUTES
)


class _NGBoostBase(SkfamEstimator):
    """Shared parameters, fitting and model files of the NGBoost estimators."""

    _family: ClassVar[str] = "ngboost"
    # Its scikit-learn trees store features in float32 (see skfam._limits).
    _input_limit: ClassVar[ValueLimit] = FLOAT32_FEATURES
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "n_estimators": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"), None],
        "minibatch_frac": [Interval(Real, 0, 1, closed="right"), None],
        "col_sample": [Interval(Real, 0, 1, closed="right"), None],
        "early_stopping": [StrOptions({"auto"}), "boolean", None],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        max_depth: int | None = None,
        min_samples_leaf: int | None = None,
        minibatch_frac: float | None = None,
        col_sample: float | None = None,
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
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.minibatch_frac = minibatch_frac
        self.col_sample = col_sample
        self.early_stopping = early_stopping
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _distribution(self) -> Any:
        raise NotImplementedError

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> None:
        p = self.params_
        classifier = hasattr(self, "classes_")
        stopping = defaults["early_stopping"]
        split = self._early_stopping_split(y, defaults, stratify=classifier)
        valid = None
        if split is not None:
            train_idx, valid_idx = split
            valid = (X[valid_idx], y[valid_idx], sample_weight[valid_idx])
            X, y, sample_weight = X[train_idx], y[train_idx], sample_weight[train_idx]
        y = self._fit_target_units(y, sample_weight)
        if valid is not None:
            valid = (valid[0], self._target_units(valid[1]), valid[2])
        result = boost(
            self._distribution(),
            X,
            y,
            sample_weight,
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            tree_params={
                "max_depth": p["max_depth"],
                "min_samples_leaf": p["min_samples_leaf"],
                "criterion": "squared_error",
                "random_state": _TREE_RANDOM_STATE,
            },
            minibatch_frac=p["minibatch_frac"],
            col_sample=p["col_sample"],
            subsample_seed=derive_seed(self.random_state_, "subsample"),
            valid=valid,
            patience=p["early_stopping_rounds"] if split is not None else None,
            threshold=float(stopping["threshold"]),
            on_stage=self._stage_progress(int(p["n_estimators"])),
        )
        keep = result.n_stages
        self.init_params_ = result.init
        self.trees_ = result.trees[:keep]
        self.columns_ = np.array(result.columns[:keep], dtype=np.int64).reshape(keep, -1)
        self.scalings_ = np.array(result.scalings[:keep], dtype=np.float64)
        self.n_iter_ = len(result.trees)
        self.train_loss_ = np.array(result.train_loss)
        self.validation_loss_ = np.array(result.valid_loss)
        return None

    def _stage_progress(self, total: int) -> Any:
        """Return the boosting loop's ``on_stage`` writing progress lines (None: silent)."""
        progress = self._progress()
        if not progress:
            return None

        def report(stage: int, train_loss: float, valid_loss: float | None) -> None:
            if progress.due(stage, total):
                metrics = [("train_nll", train_loss)]
                if valid_loss is not None:
                    metrics.append(("valid_nll", valid_loss))
                progress.say(f"stage {stage}/{total}  {format_metrics(metrics)}")

        return report

    def _fit_summary(self) -> str:
        text = f"{self.n_iter_} of {self.params_['n_estimators']} stages"
        kept = len(self.trees_)
        return text if kept == self.n_iter_ else f"{text}, keeping the first {kept}"

    def _fit_target_units(self, y: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        """Return ``y`` in the units the boosting runs in (a subclass may set them here)."""
        return y

    def _target_units(self, y: np.ndarray) -> np.ndarray:
        """Return ``y`` in the units fixed by ``_fit_target_units``."""
        return y

    def _params_of(self, X: np.ndarray) -> np.ndarray:
        """Return the distribution parameters of ``X``, in the boosting's units."""
        return predict_params(
            self.init_params_,
            self.trees_,
            list(self.columns_),
            self.scalings_,
            self.params_["learning_rate"],
            X,
        )

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        n_params = len(self.init_params_)
        flat = [tree for stage in self.trees_ for tree in stage]
        meta = {"n_iter": self.n_iter_, "n_params": n_params}
        arrays = {
            "init_params": self.init_params_,
            "columns": self.columns_,
            "scalings": self.scalings_,
        }
        return meta, arrays, {"trees.skops": dump_sklearn(flat)}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        n_params = self._distribution().n_params
        if meta.get("n_params") != n_params:
            raise ModelFileError(f"n_params = {meta.get('n_params')!r}, expected {n_params}.")
        init = np.asarray(arrays["init_params"])
        columns = np.asarray(arrays["columns"])
        scalings = np.asarray(arrays["scalings"])
        if init.shape != (n_params,) or init.dtype != np.float64 or not np.isfinite(init).all():
            raise ModelFileError(f"init_params is not {n_params} finite float64 numbers.")
        if (
            scalings.ndim != 1
            or scalings.dtype != np.float64
            or not (np.isfinite(scalings) & (scalings > 0)).all()
        ):
            raise ModelFileError("scalings is not a vector of positive, finite float64.")
        n_stages = len(scalings)
        if (
            columns.dtype != np.int64
            or columns.ndim != 2
            or columns.shape[0] != n_stages
            or not 1 <= columns.shape[1] <= self.n_features_in_
            or ((columns < 0) | (columns >= self.n_features_in_)).any()
        ):
            raise ModelFileError(
                f"columns (shape {columns.shape}) are not {n_stages} rows of column indices "
                f"in [0, {self.n_features_in_})."
            )
        n_iter = meta.get("n_iter")
        if type(n_iter) is not int or n_iter < n_stages:
            raise ModelFileError(f"n_iter = {n_iter!r} for {n_stages} stages.")
        rate = self.params_.get("learning_rate")
        if not isinstance(rate, Real) or isinstance(rate, bool) or not 0 < rate < np.inf:
            raise ModelFileError(f"params_['learning_rate'] = {rate!r} is not a positive float.")
        flat = load_sklearn(blobs["trees.skops"], trusted=_TREE_TYPES)
        if not isinstance(flat, list) or len(flat) != n_stages * n_params:
            raise ModelFileError(
                f"trees.skops holds {len(flat) if isinstance(flat, list) else type(flat)} "
                f"trees, expected {n_stages} stages x {n_params} parameters."
            )
        for i, tree in enumerate(flat):
            check_regression_tree(tree, columns.shape[1], f"trees.skops, tree {i}")
        self.init_params_ = init
        self.columns_ = columns
        self.scalings_ = scalings
        self.trees_ = [flat[i : i + n_params] for i in range(0, len(flat), n_params)]
        self.n_iter_ = n_iter


@fill_doc(parameters=_DOC_PARAMETERS)
class NGBoostRegressor(RegressorMixin, SkfamRegressorMixin, _NGBoostBase):
    """NGBoost regression: a Normal distribution per row, fitted by natural gradients.

    The parameters are ``(loc, log scale)``; ``predict`` returns the mean (``loc``),
    :meth:`predict_dist` both parameters and :meth:`predict_interval` central intervals.
    The boosting runs on the standardised target ``(y - target_mean_) / target_std_``
    and the Normal is mapped back to the target's units, so the fit does not depend on
    the target's scale or offset.

    %(parameters)s
    target_mean_ : float
        Weighted mean of the training target.
    target_std_ : float
        Weighted standard deviation of the training target (``|target_mean_|``, or 1, for
        a constant target).

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import NGBoostRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(300, 2))
    >>> y = X[:, 0] + (0.2 + np.abs(X[:, 0])) * rng.normal(size=300)
    >>> reg = NGBoostRegressor(variant="fast").fit(X, y)
    >>> dist = reg.predict_dist(X[:3])
    >>> sorted(dist), dist["scale"].shape
    (['loc', 'scale'], (3,))
    >>> reg.predict_interval(X[:3], alpha=0.2).shape
    (3, 2)
    """

    def _distribution(self) -> Normal:
        return Normal()

    def _fit_target_units(self, y: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
        self.target_mean_, self.target_std_ = _standardisation(y, sample_weight)
        return self._target_units(y)

    def _target_units(self, y: np.ndarray) -> np.ndarray:
        return (y - self.target_mean_) / self.target_std_

    def _loc_scale(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and standard deviation of each row, in the target's units."""
        theta = self._params_of(X)
        loc = self.target_mean_ + self.target_std_ * theta[:, 0]
        return loc, self.target_std_ * Normal.scale(theta)

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        return self._loc_scale(X)[0]

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        arrays["target_units"] = np.array([self.target_mean_, self.target_std_])
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        units = np.asarray(arrays.pop("target_units"))
        if (
            units.shape != (2,)
            or units.dtype != np.float64
            or not np.isfinite(units).all()
            or not units[1] > 0
        ):
            raise ModelFileError(
                f"target_units must hold a finite mean and a positive, finite standard "
                f"deviation, got {units!r}."
            )
        self.target_mean_, self.target_std_ = float(units[0]), float(units[1])
        super()._restore_model_state(meta, arrays, blobs)

    def predict_dist(self, X: Any) -> dict[str, np.ndarray]:
        """Predict the Normal distribution of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        dist : dict of str to ndarray of shape (n_samples,)
            ``"loc"``: the mean (same as ``predict``); ``"scale"``: the standard deviation
            (positive).
        """
        check_is_fitted(self)
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            loc, scale = self._loc_scale(X)
        return {"loc": loc, "scale": scale}

    def predict_interval(self, X: Any, alpha: float = 0.1) -> np.ndarray:
        """Predict the central ``1 - alpha`` interval of each row's Normal distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.
        alpha : float, default=0.1
            Share of probability outside the interval, in (0, 1): the bounds are the
            ``alpha / 2`` and ``1 - alpha / 2`` quantiles (``alpha=0.2`` gives the 80%
            interval from the 10% to the 90% quantile).

        Returns
        -------
        interval : ndarray of float64, shape (n_samples, 2)
            Lower bound in column 0, upper bound in column 1.
        """
        if not isinstance(alpha, Real) or isinstance(alpha, bool) or not 0 < alpha < 1:
            raise ValueError(f"alpha must be a float in (0, 1), got {alpha!r}.")
        dist = self.predict_dist(X)
        half = norm.ppf(1.0 - alpha / 2.0) * dist["scale"]
        return np.column_stack([dist["loc"] - half, dist["loc"] + half])


@fill_doc(parameters=_DOC_PARAMETERS)
class NGBoostClassifier(ClassifierMixin, SkfamClassifierMixin, _NGBoostBase):
    """NGBoost classification: a categorical distribution with ``K - 1`` logits per row.

    ``predict_proba`` is the predicted distribution (binary: the Bernoulli case).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import NGBoostClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NGBoostClassifier(variant="fast").fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    def _distribution(self) -> Categorical:
        return Categorical(len(self.classes_))

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        return Categorical(len(self.classes_)).proba(self._params_of(X))
