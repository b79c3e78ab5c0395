"""The ``quantile_lightgbm`` family: one LightGBM booster per quantile, without crossing.

Each quantile level ``q`` gets its own booster trained on LightGBM's quantile (pinball)
loss with ``alpha=q``; everything else (parameter names, deterministic settings, early
stopping on the internal split, the finite check) is the ``lightgbm`` family's. Separately
fitted quantile curves can cross; the predictions are sorted row by row (the monotone
rearrangement of Chernozhukov, Fernandez-Val and Galichon, 2010), which never increases the
pinball loss of any level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._progress import DOC_VERBOSE, rounds_summary
from .._threads import thread_limit
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError
from .lightgbm import _DOC_PARAMETERS as _LGB_DOC
from .lightgbm import _iteration, _LightGBMBase

__all__ = ["QuantileLightGBMRegressor"]

# The LightGBM parameter descriptions, from ``n_estimators`` up to ``variant``.
_LGB_PARAMS = _LGB_DOC[_LGB_DOC.index("    n_estimators :") : _LGB_DOC.index("    variant :")]

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/quantile_lightgbm.yaml``, its ``variant``, then
    ``configs/defaults.yaml``); the values used are in ``params_``. Apart from
    ``quantiles``, names and meanings are those of :class:`skfam.LightGBMRegressor`,
    applied to every booster.

    Parameters
    ----------
    quantiles : sequence of float, default=None
        Quantile levels, each in (0, 1), no duplicates (SST: ``[0.1, 0.5, 0.9]``). They are
        used sorted.
"""
    + _LGB_PARAMS
    + """    variant : str, default=None
        A named variant of ``configs/models/quantile_lightgbm.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of every random stream; booster ``i`` gets
        ``derive_seed(random_state_, "model", index=i)``. None takes ``base_seed`` from
        the SST.
    n_jobs : int, default=None
        Threads for fit and predict; None takes the SST's ``n_jobs``.
"""
    + DOC_VERBOSE
    + """        Lines of the boosters start with their quantile level.

    Attributes
    ----------
    quantiles_ : ndarray of shape (n_quantiles,)
        The sorted quantile levels.
    boosters_ : list of lightgbm.Booster
        One booster per level of ``quantiles_``.
    best_iterations_ : list of int
        Rounds used for prediction, per booster.
    median_index_ : int
        Column of ``predict_quantiles`` that ``predict`` returns (the level nearest 0.5).
"""
    + FITTED_ATTRIBUTES
)


def _check_quantiles(quantiles: Any) -> np.ndarray:
    """Return the quantile levels sorted, or raise ValueError saying what is wrong."""
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, (Sequence, np.ndarray)):
        raise ValueError(f"quantiles must be a sequence of floats in (0, 1), got {quantiles!r}.")
    levels = np.asarray(quantiles, dtype=np.float64).ravel() if len(quantiles) else None
    if levels is None or levels.size == 0:
        raise ValueError("quantiles must hold at least one level, got an empty sequence.")
    if not np.isfinite(levels).all() or (levels <= 0).any() or (levels >= 1).any():
        raise ValueError(f"every quantile must lie strictly in (0, 1), got {list(quantiles)}.")
    if len(np.unique(levels)) != len(levels):
        raise ValueError(f"quantiles must be unique, got {list(quantiles)}.")
    return np.sort(levels)


@fill_doc(parameters=_DOC_PARAMETERS)
class QuantileLightGBMRegressor(RegressorMixin, SkfamRegressorMixin, _LightGBMBase):
    """LightGBM quantile regression: one booster per level, non-crossing predictions.

    ``predict`` returns the level nearest 0.5 (the median with the default levels);
    ``predict_quantiles`` returns every level.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import QuantileLightGBMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = X[:, 0] + rng.normal(size=300)
    >>> reg = QuantileLightGBMRegressor(variant="fast").fit(X, y)
    >>> reg.quantiles_
    array([0.1, 0.5, 0.9])
    >>> q = reg.predict_quantiles(X[:4])
    >>> q.shape, bool((np.diff(q, axis=1) >= 0).all())
    ((4, 3), True)
    >>> bool((reg.predict(X[:4]) == q[:, 1]).all())
    True
    """

    _family: ClassVar[str] = "quantile_lightgbm"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **_LightGBMBase._parameter_constraints,
        "quantiles": ["array-like", None],
    }

    def __init__(
        self,
        *,
        quantiles: Sequence[float] | None = None,
        n_estimators: int | None = None,
        learning_rate: float | None = None,
        num_leaves: int | None = None,
        max_depth: int | None = None,
        min_child_samples: int | None = None,
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
        self.quantiles = quantiles
        super().__init__(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            max_depth=max_depth,
            min_child_samples=min_child_samples,
            min_child_weight=min_child_weight,
            min_split_gain=min_split_gain,
            subsample=subsample,
            subsample_freq=subsample_freq,
            colsample_bytree=colsample_bytree,
            reg_alpha=reg_alpha,
            reg_lambda=reg_lambda,
            max_bin=max_bin,
            early_stopping=early_stopping,
            early_stopping_rounds=early_stopping_rounds,
            validation_fraction=validation_fraction,
            variant=variant,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )

    def _objective(self, n_classes: int | None) -> dict[str, Any]:
        # The level is set per booster in _fit_model; the metric is the pinball loss.
        return {"objective": "quantile", "metric": "quantile"}

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool:
        levels = _check_quantiles(self.params_["quantiles"])
        self._resolve_leaf_size(len(X), defaults)
        boosters, best, finite = [], [], True
        for i, level in enumerate(levels):
            params = self._booster_params(None, index=i)
            params["alpha"] = float(level)
            booster, best_iteration, ok = self._train_booster(
                X, y, sample_weight, defaults, params, None, label=f"quantile {level:g}: "
            )
            boosters.append(booster)
            best.append(int(best_iteration))
            finite = finite and ok
        self._set_fitted(levels, boosters, best)
        return finite

    def _set_fitted(self, levels: np.ndarray, boosters: list, best: list[int]) -> None:
        self.quantiles_ = levels
        self.boosters_ = boosters
        self.best_iterations_ = best
        self.n_iter_ = [b.current_iteration() for b in boosters]
        self.median_index_ = int(np.argmin(np.abs(levels - 0.5)))

    def _fit_summary(self) -> str:
        total = self.params_["n_estimators"]
        return "; ".join(
            f"quantile {level:g}: {rounds_summary(n_iter, best, total)}"
            for level, n_iter, best in zip(
                self.quantiles_, self.n_iter_, self.best_iterations_, strict=True
            )
        )

    def _quantile_outputs(self, X: np.ndarray) -> np.ndarray:
        threads = self._threads()
        columns = [
            booster.predict(X, num_iteration=best, num_threads=threads)
            for booster, best in zip(self.boosters_, self.best_iterations_, strict=True)
        ]
        # Monotone rearrangement: sorting each row removes any crossing.
        return np.sort(np.column_stack(columns).astype(np.float64), axis=1)

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        return self._quantile_outputs(X)[:, self.median_index_]

    def predict_quantiles(self, X: Any) -> np.ndarray:
        """Predict every quantile level.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        quantiles : ndarray of float64, shape (n_samples, n_quantiles)
            Column ``j`` is the level ``quantiles_[j]`` (sorted levels); each row is
            non-decreasing.
        """
        check_is_fitted(self)
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return self._quantile_outputs(X)

    def _stopped_at_first_iteration(self) -> bool:
        return any(
            best == 1 and n > 1
            for best, n in zip(self.best_iterations_, self.n_iter_, strict=True)
        )

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta = {"best_iterations": list(self.best_iterations_)}
        blobs = {
            f"booster_{i}.txt": b.model_to_string(num_iteration=-1).encode("utf-8")
            for i, b in enumerate(self.boosters_)
        }
        return meta, {"quantiles": self.quantiles_}, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        stored = arrays.get("quantiles")
        if set(arrays) != {"quantiles"} or stored is None or stored.ndim != 1:
            raise ModelFileError("the quantile levels are missing or not a 1-D array.")
        try:
            levels = _check_quantiles(stored.astype(np.float64))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"the stored quantile levels are invalid: {exc}") from exc
        if not np.array_equal(levels, stored):
            raise ModelFileError("the stored quantile levels are not sorted.")
        names = [f"booster_{i}.txt" for i in range(len(levels))]
        best = meta.get("best_iterations")
        if set(blobs) != set(names) or not isinstance(best, list) or len(best) != len(names):
            raise ModelFileError(
                f"{len(levels)} quantile levels need the members {names} and as many best "
                f"iterations; got {sorted(blobs)} and {best!r}."
            )
        boosters, rounds = [], []
        for name, best_iteration in zip(names, best, strict=True):
            booster, n_iter = self._load_booster(blobs[name], name)
            boosters.append(booster)
            rounds.append(_iteration(best_iteration, n_iter))
        self._set_fitted(levels, boosters, rounds)
