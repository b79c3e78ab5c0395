"""What the regime families (``change_point``, ``gmm_regime``) share: experts and their mixing.

A regime family assigns each row probabilities of belonging to each of its ``K`` regimes
(``predict_regime_proba``), fits one expert per regime, and predicts the probability-weighted
sum of the experts' predictions. How the regimes and their probabilities are found is the
family's own (``_regime_proba``); the experts, their seeds, their mixing, the public regime
methods and the experts' part of the model file are here.

An expert is scikit-learn's ``Ridge`` (``expert="ridge"``, penalty ``alpha``) or an estimator
of any skfam family of tabular input that offers regression (``expert="lightgbm"``, ...),
built with ``skfam.get_estimator(key, "regression", random_state=derive_seed(random_state_,
"experts", index=k), n_jobs=..., **expert_params)`` and saved as a nested model file.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._seeds import derive_seed
from .._threads import thread_limit
from ..base import SkfamEstimator
from ..model_file import ModelFileError, estimator_bytes, load_estimator_bytes

__all__ = ["DOC_EXPERTS", "RegimeExperts"]

#: Docstring fragment of the expert parameters, shared by the regime families.
DOC_EXPERTS = """\
    alpha : float, default=None
        L2 penalty of the ridge experts (``expert="ridge"``), scikit-learn's ``Ridge(alpha)``
        on the features as given (scale them in a Pipeline where their scales differ).
    expert : str, default=None
        The model of each regime: "ridge" (scikit-learn's ``Ridge``), or the key of a skfam
        family of tabular input that offers regression (e.g. "lightgbm", "mlp"), built with
        ``skfam.get_estimator(key, "regression", random_state=derive_seed(random_state_,
        "experts", index=k), n_jobs=n_jobs, **expert_params)`` for regime ``k``.
    expert_params : dict, default=None
        Constructor arguments of every expert: of scikit-learn's ``Ridge`` for "ridge" (its
        penalty is ``alpha``, not an entry here), of the family's estimator otherwise (e.g.
        ``{"variant": "fast"}``; ``random_state`` and ``n_jobs`` are set by the regime
        family and refused here; ``verbose`` defaults to this estimator's ``verbose - 1``).
        A dict passed merges over the SST's dict key by key (recursively): it changes only
        the arguments it names and keeps the SST's others. Validated at fit.
"""

#: Docstring fragment of the fitted attributes the regime families share.
DOC_REGIME_ATTRIBUTES = """\
    n_regimes_ : int
        The number of regimes (of experts).
    experts_ : list of estimators
        The expert of each regime, in regime order: a fitted ``Ridge`` or skfam estimator.
    single_regime_reason_ : str or None
        Why the model has one regime only (e.g. a constant target, too few rows); None when
        it has several.
"""


class RegimeExperts(SkfamEstimator):
    """Base of the regime families: one expert per regime, mixed by regime probabilities.

    Subclasses fit their regimes in ``_fit_regimes``, then call :meth:`_fit_experts`, and
    implement ``_regime_proba(X)`` on imputed ``X`` (rows summing to 1). Both run with BLAS
    and OpenMP on one thread, which keeps their results independent of ``n_jobs``.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "expert": [str, None],
        "expert_params": [dict, None],
    }

    # ------------------------------------------------------------------ experts
    def _expert_settings(self) -> tuple[str, dict[str, Any]]:
        """Return (expert, constructor arguments), validated, before anything is fitted."""
        from .._registry import family_keys
        from .._sst import load_family_file

        expert = self.params_["expert"]
        params = dict(self.params_["expert_params"])
        if expert == "ridge":
            if "alpha" in params:
                raise ValueError(
                    "expert_params must not hold 'alpha' for the ridge experts: set the "
                    "estimator's alpha instead."
                )
            known = set(Ridge().get_params()) - {"alpha"}
            unknown = sorted(set(params) - known)
            if unknown:
                raise ValueError(
                    f"expert_params has {unknown}, which are not parameters of scikit-learn's "
                    f"Ridge; known: {sorted(known)}."
                )
            return expert, {"alpha": self.params_["alpha"], **params}
        known = [k for k in family_keys() if k != self._family]
        if expert not in known:
            raise ValueError(
                f"Unknown expert {expert!r}: use 'ridge' or the key of a skfam family of "
                f"tabular input, one of {known}."
            )
        metadata = load_family_file(expert)["metadata"]
        if metadata["input_mode"] != "features" or "regression" not in metadata["tasks"]:
            raise ValueError(
                f"expert {expert!r} must be a family of tabular input (input_mode features) "
                f"that offers regression; it has input_mode {metadata['input_mode']!r} and "
                f"tasks {metadata['tasks']}."
            )
        taken = sorted({"random_state", "n_jobs"} & set(params))
        if taken:
            raise ValueError(
                f"expert_params must not set {taken}: the experts' seeds and threads are set "
                f"by {type(self).__name__} (random_state, n_jobs)."
            )
        params.setdefault("verbose", max(int(self.verbose) - 1, 0))
        return expert, params

    def _build_expert(self, expert: str, params: dict[str, Any], index: int) -> Any:
        if expert == "ridge":
            return Ridge(**params)
        from .._registry import get_estimator

        seed = derive_seed(self.random_state_, "experts", index=index)
        return get_estimator(
            expert, "regression", random_state=seed, n_jobs=self._threads(), **params
        )

    def _fit_experts(
        self,
        X: np.ndarray,
        y: np.ndarray,
        parts: list[tuple[np.ndarray | slice | None, np.ndarray]],
    ) -> None:
        """Fit one expert per regime on ``(rows, weights)``: rows None takes every row.

        Sets ``experts_`` and ``n_regimes_``. A regime whose weights sum to 0 (all its rows
        of weight 0) cannot be fitted and is an error naming it.
        """
        expert, params = self._expert_settings()
        progress = self._progress()
        experts = []
        for k, (rows, weights) in enumerate(parts):
            total = float(weights.sum())
            if not total > 0:
                raise ValueError(
                    f"Regime {k} has no rows of positive weight (sample_weight is 0 on all of "
                    "its rows), so its expert cannot be fitted."
                )
            Xk, yk = (X, y) if rows is None else (X[rows], y[rows])
            model = self._build_expert(expert, params, k)
            # Unit weights are no weights (scikit-learn's Ridge then takes its faster path).
            model.fit(Xk, yk, sample_weight=None if np.all(weights == 1.0) else weights)
            experts.append(model)
            progress.say(f"expert {k + 1}/{len(parts)} ({expert}) fitted on {len(yk)} rows", 2)
        self.experts_ = experts
        self.n_regimes_ = len(experts)

    def _expert_outputs(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every expert, (n_samples, n_regimes)."""
        return np.column_stack([np.asarray(e.predict(X), dtype=np.float64) for e in self.experts_])

    def _regime_proba(self, X: np.ndarray) -> np.ndarray:
        """Family hook: regime probabilities of imputed rows, (n_samples, n_regimes)."""
        raise NotImplementedError

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> None:
        # The family's own matrix products on one BLAS thread: OpenBLAS splits a product
        # over many rows between threads and rounds differently for another thread count.
        # skfam experts set their own n_jobs threads inside.
        with thread_limit(1):
            self._fit_regimes(X, y, sample_weight)

    def _fit_regimes(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray) -> None:
        """Family hook: find the regimes, then call :meth:`_fit_experts`."""
        raise NotImplementedError

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        with thread_limit(1):  # as in fit; skfam experts set their own threads
            proba = self._regime_proba(X)
            return (proba * self._expert_outputs(X)).sum(axis=1)

    # ------------------------------------------------------------------ regime methods
    def predict_regime_proba(self, X: Any) -> np.ndarray:
        """Return the probability of each regime for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        proba : ndarray of float64, shape (n_samples, n_regimes_)
            Column ``k`` is regime ``k`` (the expert ``experts_[k]``); each row sums to 1.
        """
        X = self._checked_predict_input(X)
        with thread_limit(1):  # as in fit (see _fit_model)
            return np.asarray(self._regime_proba(X), dtype=np.float64)

    def predict_regime(self, X: Any) -> np.ndarray:
        """Return the most probable regime of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        regimes : ndarray of int64, shape (n_samples,)
            Regime indices in ``[0, n_regimes_)``: the argmax of ``predict_regime_proba``.
        """
        check_is_fitted(self)
        return np.argmax(self.predict_regime_proba(X), axis=1).astype(np.int64)

    def _fit_summary(self) -> str:
        return f"{self.n_regimes_} regime{'s' if self.n_regimes_ != 1 else ''}"

    # ------------------------------------------------------------------ model files
    def _experts_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        """(meta, arrays, blobs) of the experts: ridge coefficients, or nested model files."""
        meta = {"n_regimes": self.n_regimes_, "single_regime_reason": self.single_regime_reason_}
        if self.params_["expert"] == "ridge":
            coef = np.vstack([np.asarray(e.coef_, dtype=np.float64) for e in self.experts_])
            intercept = np.array([float(e.intercept_) for e in self.experts_])
            return meta, {"experts.coef": coef, "experts.intercept": intercept}, {}
        blobs = {f"expert_{k}.skfam": estimator_bytes(e) for k, e in enumerate(self.experts_)}
        return meta, {}, blobs

    def _restore_experts(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        """Inverse of :meth:`_experts_state`, refusing anything inconsistent."""
        n_regimes = meta.get("n_regimes")
        reason = meta.get("single_regime_reason")
        if type(n_regimes) is not int or n_regimes < 1:
            raise ModelFileError(f"n_regimes = {n_regimes!r} is not a valid number of regimes.")
        if not (reason is None or isinstance(reason, str)) or (reason is None) == (n_regimes == 1):
            raise ModelFileError(
                f"single_regime_reason = {reason!r} does not fit {n_regimes} regime(s)."
            )
        expert = self.params_.get("expert")
        d = self.n_features_in_
        if expert == "ridge":
            if blobs:
                raise ModelFileError(f"ridge experts have no members {sorted(blobs)}.")
            coef, intercept = arrays.get("experts.coef"), arrays.get("experts.intercept")
            if (
                coef is None
                or intercept is None
                or coef.shape != (n_regimes, d)
                or intercept.shape != (n_regimes,)
                or coef.dtype != np.float64
                or intercept.dtype != np.float64
                or not (np.isfinite(coef).all() and np.isfinite(intercept).all())
            ):
                raise ModelFileError(
                    f"the ridge experts need finite float64 arrays experts.coef ({n_regimes}, "
                    f"{d}) and experts.intercept ({n_regimes},)."
                )
            try:
                params = self._expert_settings()[1]
            except ValueError as exc:
                raise ModelFileError(f"the stored expert settings are invalid: {exc}") from exc
            experts = []
            for k in range(n_regimes):
                ridge = Ridge(**params)
                ridge.coef_ = np.ascontiguousarray(coef[k])
                ridge.intercept_ = float(intercept[k])
                ridge.n_features_in_ = d
                experts.append(ridge)
        else:
            names = [f"expert_{k}.skfam" for k in range(n_regimes)]
            if set(blobs) != set(names):
                raise ModelFileError(
                    f"{n_regimes} {expert!r} experts need the members {names}; got "
                    f"{sorted(blobs)}."
                )
            experts = []
            for name in names:
                nested = load_estimator_bytes(blobs[name])
                if getattr(nested, "_family", None) != expert or nested.n_features_in_ != d:
                    raise ModelFileError(
                        f"member {name!r} is not a {expert!r} expert of {d} features."
                    )
                experts.append(nested)
        self.experts_ = experts
        self.n_regimes_ = n_regimes
        self.single_regime_reason_ = reason
