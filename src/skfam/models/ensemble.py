"""The ``ensemble`` family: stacking of scikit-learn models and skfam families.

Each member is fitted on the inner cross-validation folds to produce out-of-fold
predictions, on which a linear final estimator is fitted; the members are then refitted on
all rows. This is scikit-learn's stacking (``StackingRegressor`` / ``StackingClassifier``),
written out here so that sample weights reach every member, seeds come from the SST and
skfam members can be saved in model files.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn import config_context
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context, clone, is_classifier
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from threadpoolctl import threadpool_limits

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._progress import DOC_VERBOSE
from .._seeds import derive_seed
from .._settings import with_carried_settings
from ..base import SkfamClassifierMixin, SkfamEstimator, SkfamRegressorMixin
from ..model_file import dump_sklearn, estimator_bytes, load_estimator_bytes, load_sklearn

__all__ = ["BUILTIN_MEMBERS", "FINAL_ESTIMATORS", "EnsembleClassifier", "EnsembleRegressor"]

#: Member names that are scikit-learn models (any other name must be a skfam family key).
BUILTIN_MEMBERS = ("hist_gradient_boosting", "random_forest", "linear")

# Types a model file of the ensemble may hold in its scikit-learn blobs (skops).
_TRUSTED = [
    "numpy.random._generator.Generator",
    "numpy.uint64",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.pipeline.Pipeline",
]

#: Keys of ``final_params``: the final estimator of each task.
FINAL_ESTIMATORS = {"regression": "ridge_cv", "classification": "logistic_regression"}

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/ensemble.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``.

    Parameters
    ----------
    members : sequence of str, default=None
        The stacked models, by name: "hist_gradient_boosting", "random_forest" and
        "linear" (Ridge / LogisticRegression on standardised features) are scikit-learn
        models; any other name is a skfam family key (e.g. "lightgbm", "mlp"), built with
        ``skfam.get_estimator(name, task, ...)``. SST: the three scikit-learn models.
    member_params : dict of str to dict, default=None
        Constructor arguments per member name, e.g.
        ``{"random_forest": {"n_estimators": 500}, "lightgbm": {"variant": "small_data"}}``.
        A dict passed merges over the SST's dict key by key (recursively): an entry
        changes only the arguments it names and keeps the SST's others (give an argument
        its scikit-learn default explicitly to undo an SST value). Entries of valid member
        names that are
        not members are ignored; any other name is an error. Seeds (``random_state``) and
        threads (``n_jobs``) are set by the ensemble; a skfam member's ``verbose`` is the
        ensemble's ``verbose - 1`` (at least 0) unless given here. The members' parameters
        are validated at fit (InvalidParameterError), as scikit-learn's stacking does.
    final_params : dict of str to dict, default=None
        Constructor arguments of the final estimator: ``"ridge_cv"`` (``RidgeCV`` of
        regression, e.g. ``{"alphas": [0.1, 1.0, 10.0]}``) and ``"logistic_regression"``
        (``LogisticRegression`` of classification, e.g. ``{"max_iter": 1000}``); the entry of
        the other task is ignored, a missing one gives scikit-learn's defaults. A dict passed
        merges over the SST's dict key by key, as ``member_params``. SST: alphas 10**-3 ..
        10**3, half a decade apart;
        ``max_iter`` 1000.
    cv : int or cross-validation splitter, default=None
        Inner folds for the out-of-fold predictions: an int k gives a shuffled ``KFold``
        (``StratifiedKFold`` for classifiers) of k folds, reduced to the rows (or the
        smallest class count) when there are fewer, and seeded from the stream "cv";
        with ``groups`` given to ``fit``, a shuffled ``GroupKFold``
        (``StratifiedGroupKFold``) of at most as many folds as groups instead. A splitter
        or an iterable of (train, test) splits is used as given (a splitter's ``split``
        receives the groups).
    variant : str, default=None
        A named variant of ``configs/models/ensemble.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Member ``i`` gets ``random_state=derive_seed(random_state_, "members", index=i)``;
        the folds are seeded from the stream "cv". None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict, handed to every member; None takes the SST's
        ``n_jobs``.
"""
    + DOC_VERBOSE
    + """        For the ensemble, 1 writes a line per member when its out-of-fold predictions
        are done and when it is refitted on all rows; 2 also a line per fold, and skfam
        members then write their own progress (at ``verbose - 1``).

    Attributes
    ----------
    members_ : list of (str, estimator)
        The members, fitted on all rows.
    final_estimator_ : estimator
        The linear model fitted on the members' out-of-fold predictions (RidgeCV for
        regression, LogisticRegression on the members' probabilities for classification;
        for two classes only the probability of the second class is used).
"""
    + FITTED_ATTRIBUTES
)


def _reproducible_threads(member: Any) -> AbstractContextManager:
    """Run HistGradientBoosting on one OpenMP thread, else leave the threads as they are.

    HistGradientBoosting sums gradients with OpenMP reductions, whose order (and so the
    float result) changes between runs and thread counts; on one thread it is reproducible
    bit for bit, which every skfam estimator guarantees.
    """
    stack = ExitStack()
    # Members exchange plain arrays, whatever sklearn's transform_output is set to.
    stack.enter_context(config_context(transform_output="default"))
    if isinstance(member, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        stack.enter_context(threadpool_limits(1, user_api="openmp"))
    return stack


def _fit_member(member: Any, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> Any:
    """Fit ``member`` with sample weights (routed to every step of a pipeline), if any."""
    with _reproducible_threads(member):
        if weight is None:
            return member.fit(X, y)
        if isinstance(member, Pipeline):
            steps = {f"{name}__sample_weight": weight for name, _ in member.steps}
            return member.fit(X, y, **steps)
        return member.fit(X, y, sample_weight=weight)


class _EnsembleBase(SkfamEstimator):
    """Shared parameters and stacking of the ensemble estimators."""

    _family: ClassVar[str] = "ensemble"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "members": [list, tuple, None],
        "member_params": [dict, None],
        "final_params": [dict, None],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object", None],
    }

    def __init__(
        self,
        *,
        members: Sequence[str] | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
        final_params: dict[str, dict[str, Any]] | None = None,
        cv: int | Any | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.members = members
        self.member_params = member_params
        self.final_params = final_params
        self.cv = cv
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ members
    def _builtin(self, name: str, seed: int, threads: int, params: dict[str, Any]) -> Any:
        classifier = is_classifier(self)
        if name == "hist_gradient_boosting":
            cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
            return cls(**{"random_state": seed, **params})
        if name == "random_forest":
            cls = RandomForestClassifier if classifier else RandomForestRegressor
            return cls(**{"random_state": seed, "n_jobs": threads, **params})
        linear = LogisticRegression(**params) if classifier else Ridge(**params)
        # Plain arrays between the steps, whatever sklearn's transform_output says.
        return make_pipeline(StandardScaler().set_output(transform="default"), linear)

    def _build_members(self, threads: int) -> list[tuple[str, Any]]:
        from .._registry import family_keys, get_estimator

        names = self.params_["members"]
        extra = self.params_["member_params"]
        if isinstance(names, str) or not len(names):
            raise ValueError(f"members must be a non-empty list of names, got {names!r}.")
        if len(set(names)) != len(names):
            raise ValueError(f"members must be unique, got {list(names)}.")
        # Family keys only: importing every family's module would bring torch in.
        known = {key for key in family_keys() if key != self._family}
        task = "classification" if is_classifier(self) else "regression"
        unknown = sorted(set(extra) - set(BUILTIN_MEMBERS) - known)
        if unknown:
            raise ValueError(
                f"member_params has entries for unknown member(s) {unknown}; use "
                f"{list(BUILTIN_MEMBERS)} or skfam family keys: {sorted(known)}."
            )
        built = []
        for i, name in enumerate(names):
            seed = derive_seed(self.random_state_, "members", index=i)
            params = dict(extra.get(name) or {})
            if name in BUILTIN_MEMBERS:
                built.append((name, self._builtin(name, seed, threads, params)))
            elif name in known:
                params.update(random_state=seed, n_jobs=threads)
                params.setdefault("verbose", max(int(self.verbose) - 1, 0))
                built.append((name, get_estimator(name, task, **params)))
            else:
                raise ValueError(
                    f"Unknown ensemble member {name!r}; use one of {list(BUILTIN_MEMBERS)} "
                    f"or a skfam family key: {sorted(known)}."
                )
        return built

    def _folds(
        self, y: np.ndarray, groups: np.ndarray | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        cv = self.params_["cv"]
        classifier = is_classifier(self)
        rows = np.zeros(len(y))
        if not isinstance(cv, Integral):
            return list(check_cv(cv, y, classifier=classifier).split(rows, y, groups))
        seed = derive_seed(self.random_state_, "cv")
        if groups is not None:
            return self._group_folds(int(cv), y, groups, seed)
        if classifier:
            smallest = int(np.bincount(y).min())
            if smallest < 2:
                raise ValueError(
                    "The ensemble's inner cross-validation needs at least 2 rows of every "
                    f"class; the smallest class has {smallest}."
                )
            splitter = StratifiedKFold(min(int(cv), smallest), shuffle=True, random_state=seed)
        else:
            if len(y) < 2:
                raise ValueError(
                    "The ensemble's inner cross-validation needs at least 2 samples; got "
                    f"n_samples={len(y)}."
                )
            splitter = KFold(min(int(cv), len(y)), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))

    def _group_folds(
        self, cv: int, y: np.ndarray, groups: np.ndarray, seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Shuffled folds that never split a group (stratified for classifiers)."""
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            raise ValueError(
                "The ensemble's inner cross-validation with groups needs at least 2 "
                f"groups; got {n_groups}."
            )
        splits = min(cv, n_groups)
        if is_classifier(self):
            # A class can be split only across as many folds as it has groups.
            per_class = [len(np.unique(groups[y == k])) for k in np.unique(y)]
            splits = min(splits, *per_class)
            if splits < 2:
                raise ValueError(
                    "The ensemble's inner cross-validation with groups needs every class "
                    "in at least 2 groups; a class has rows of one group only."
                )
            splitter: Any = StratifiedGroupKFold(splits, shuffle=True, random_state=seed)
        else:
            splitter = GroupKFold(splits, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y, groups))

    def _member_outputs(self, member: Any, X: np.ndarray) -> np.ndarray:
        forest = isinstance(member, (RandomForestClassifier, RandomForestRegressor))
        n_jobs = member.n_jobs if forest else None
        if forest:
            # A forest's threads add up tree outputs in the order they finish, which
            # changes the float sum; predicting on one thread keeps it reproducible.
            member.n_jobs = 1
        try:
            with _reproducible_threads(member):
                if not is_classifier(self):
                    return np.asarray(member.predict(X), dtype=np.float64)[:, None]
                proba = np.asarray(member.predict_proba(X), dtype=np.float64)
        finally:
            if forest:
                member.n_jobs = n_jobs
        return proba[:, 1:] if proba.shape[1] == 2 else proba

    def _meta_features(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X)
        return np.hstack([self._member_outputs(m, X) for _, m in self.members_])

    # ------------------------------------------------------------------ fit / predict
    # The members are built from user-given settings: let each one validate its parameters
    # when it is fitted, as scikit-learn's StackingRegressor does (the base skips that).
    _fit = _fit_context(prefer_skip_nested_validation=False)(SkfamEstimator._fit.__wrapped__)

    def _final_estimator(self) -> Any:
        """Return the unfitted final estimator of this task, with its ``final_params``."""
        settings = self.params_["final_params"]
        task = "classification" if is_classifier(self) else "regression"
        unknown = sorted(set(settings) - set(FINAL_ESTIMATORS.values()))
        if unknown:
            raise ValueError(
                f"final_params has unknown entries {unknown}; use "
                f"{sorted(FINAL_ESTIMATORS.values())}."
            )
        params = settings.get(FINAL_ESTIMATORS[task]) or {}
        if not isinstance(params, dict):
            raise ValueError(
                f"final_params[{FINAL_ESTIMATORS[task]!r}] must be a dict of constructor "
                f"arguments, got {params!r}."
            )
        return LogisticRegression(**params) if task == "classification" else RidgeCV(**params)

    @with_carried_settings
    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> _EnsembleBase:
        """Fit the members on inner folds, the final model on their out-of-fold outputs.

        A fit that raises leaves the estimator unfitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed and imputed inside the estimator.
        y : array-like of shape (n_samples,)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, given to every member and to the final model.
        groups : array-like of shape (n_samples,), default=None
            Group labels of the rows (e.g. one per asset or per day): the inner folds then
            never put rows of one group on both sides, so no member's out-of-fold output
            comes from a model that saw the row's group. Inside a Pipeline, a search or
            ``cross_validate`` under scikit-learn's metadata routing, request it with
            ``set_fit_request(groups=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_discard(X, y, sample_weight, groups=groups)

    def _fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray,
        defaults: dict,
        groups: np.ndarray | None = None,
    ) -> None:
        # One memory layout whatever the input was (a DataFrame gives Fortran order, and
        # the members' float results depend on the layout).
        X = np.ascontiguousarray(X)
        # Unit weights are no weights: the members are then fitted exactly as without any.
        # (Passing an array of ones is not free: HistGradientBoosting then bins with
        # weighted quantiles, several times slower than its unweighted binning.)
        weight = None if np.all(sample_weight == 1.0) else sample_weight
        members = self._build_members(self._threads())
        folds = self._folds(y, groups)
        final = self._final_estimator()
        progress = self._progress()
        blocks = []
        for i, (name, member) in enumerate(members, start=1):
            out = None
            start = time.perf_counter()
            for k, (train, test) in enumerate(folds, start=1):
                part = None if weight is None else weight[train]
                fitted = _fit_member(clone(member), X[train], y[train], part)
                pred = self._member_outputs(fitted, X[test])
                if out is None:
                    out = np.full((len(X), pred.shape[1]), np.nan)
                out[test] = pred
                progress.say(f"member {i}/{len(members)} {name!r}: fold {k}/{len(folds)} done", 2)
            if out is None or np.isnan(out).any():
                raise ValueError(
                    "The ensemble's inner cross-validation must predict every row once; "
                    "the given cv leaves rows without an out-of-fold prediction."
                )
            blocks.append(out)
            progress.say(
                f"member {i}/{len(members)} {name!r}: out-of-fold predictions of "
                f"{len(folds)} folds in {time.perf_counter() - start:.2f} s"
            )
        with config_context(transform_output="default"):
            self.final_estimator_ = final.fit(np.hstack(blocks), y, sample_weight=weight)
        progress.say(f"final {type(final).__name__} fitted")
        self.members_ = []
        for i, (name, member) in enumerate(members, start=1):
            start = time.perf_counter()
            self.members_.append((name, _fit_member(member, X, y, weight)))
            progress.say(
                f"member {i}/{len(members)} {name!r}: refitted on all rows in "
                f"{time.perf_counter() - start:.2f} s"
            )
        return None

    def _fit_summary(self) -> str:
        return f"{len(self.members_)} members"

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        meta = self._meta_features(X)
        with config_context(transform_output="default"):
            if is_classifier(self):
                return self.final_estimator_.predict_proba(meta)
            return self.final_estimator_.predict(meta)

    # ------------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        blobs = {"final.skops": dump_sklearn(self.final_estimator_)}
        kinds = []
        for i, (_, member) in enumerate(self.members_):
            if isinstance(member, SkfamEstimator):
                # A skfam member is saved as a nested model file of its own.
                kinds.append("skfam")
                blobs[f"member_{i}.skfam"] = estimator_bytes(member)
            else:
                kinds.append("sklearn")
                blobs[f"member_{i}.skops"] = dump_sklearn(member)
        meta = {"names": [name for name, _ in self.members_], "kinds": kinds}
        return meta, {}, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self.final_estimator_ = load_sklearn(blobs["final.skops"], trusted=_TRUSTED)
        members = []
        for i, (name, kind) in enumerate(zip(meta["names"], meta["kinds"], strict=True)):
            if kind == "skfam":
                member = load_estimator_bytes(blobs[f"member_{i}.skfam"])
            elif kind == "sklearn":
                member = load_sklearn(blobs[f"member_{i}.skops"], trusted=_TRUSTED)
            else:
                raise ValueError(f"unknown kind {kind!r} of ensemble member {name!r}.")
            members.append((name, member))
        self.members_ = members


@fill_doc(parameters=_DOC_PARAMETERS)
class EnsembleRegressor(RegressorMixin, SkfamRegressorMixin, _EnsembleBase):
    """Stacked regression: members' out-of-fold predictions combined by RidgeCV.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skfam import EnsembleRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = EnsembleRegressor(variant="fast").fit(X, y)
    >>> [name for name, _ in reg.members_]
    ['hist_gradient_boosting', 'random_forest', 'linear']
    >>> reg.predict(X[:3]).shape
    (3,)
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class EnsembleClassifier(ClassifierMixin, SkfamClassifierMixin, _EnsembleBase):
    """Stacked classification: members' out-of-fold probabilities, logistic final model.

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skfam import EnsembleClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = EnsembleClassifier(variant="fast", members=["linear", "lightgbm"],
    ...                          member_params={"lightgbm": {"variant": "fast"}}).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """
