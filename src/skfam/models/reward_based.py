"""The ``reward_based`` family: a ridge regression whose rows are weighted by their reward.

The reward of a training row is the magnitude of its target, ``|y|``, on the raw scale of
``y``. Each row gets the weight ``|y| ** power`` (``weighting="power"``) or
``exp(beta * |y|)`` (``weighting="exp"``) times its ``sample_weight``, so that the fit
follows the rows that matter most (large moves, large returns) more closely than plain
least squares does. The reward factors are normalised to mean 1 under ``sample_weight``
(their ``sample_weight``-weighted mean is 1): without ``sample_weight`` the row weights
have mean exactly 1, and with it they sum to ``sum(sample_weight)``, so ``alpha`` means
what it means in scikit-learn's ``Ridge`` and ``sample_weight`` keeps the meaning it has
there (an integer weight k is the same as k copies of the row, a weight 0 the same as no
row). The ridge is scikit-learn's ``Ridge`` with the Cholesky solver, on one BLAS thread.
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._progress import DOC_VERBOSE
from ..base import SkfamEstimator, SkfamRegressorMixin
from ..model_file import ModelFileError

__all__ = ["RewardWeightedRegressor", "reward_weights"]

#: The parameter each weighting reads (the other one has no effect under it).
_SCHEME_PARAMETER = {"power": "power", "exp": "beta"}

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/reward_based.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``.

    The weight of training row ``i`` is ``sample_weight[i] * f(|y[i]|) / m``, where ``f``
    is the reward weighting and ``m`` the ``sample_weight``-weighted mean of ``f(|y|)``:
    the reward factors have mean 1 under ``sample_weight``, so the row weights have mean 1
    without ``sample_weight`` and sum to ``sum(sample_weight)`` with it, exactly as
    scikit-learn's ``Ridge`` weighs rows (an integer weight k is k copies of the row;
    scaling ``sample_weight`` by c is the same as dividing ``alpha`` by c, the reward
    factors do not change). The factors are computed in log space, relative to the
    largest reward, so no reward overflows: a factor is 0 only where it is below
    float64's smallest positive number relative to the largest (e.g. ``beta * (max|y| -
    |y|) > 745``). The features are not standardised (as ``Ridge``): ``alpha`` penalises
    the coefficients on the scale of ``X``; put a ``StandardScaler`` in front for a
    penalty that treats features alike.

    Parameters
    ----------
    alpha : float, default=None
        L2 penalty of the ridge, >= 0 (0: weighted least squares; collinear features then
        take scikit-learn's least-squares fallback).
    fit_intercept : bool, default=None
        Fit an unpenalised intercept (the weighted means of ``X`` and ``y`` are removed
        first, as ``Ridge`` does); False fits a line through the origin.
    weighting : {"power", "exp"}, default=None
        "power": ``f(r) = r ** power``. It is scale free: scaling ``y`` by c scales every
        factor by ``c ** power``, which the normalisation removes, so the model of ``c * y``
        predicts ``c`` times the model of ``y``. Under ``power > 0`` a row with ``y == 0``
        gets weight 0 (it does not take part in the fit; ``n_zero_weight_`` counts such
        rows), and a fit whose rows of positive ``sample_weight`` all have ``y == 0``
        raises a ValueError. ``power = 0`` weighs every row 1 (``0 ** 0 = 1``): the model
        is then scikit-learn's ``Ridge``.
        "exp": ``f(r) = exp(beta * r)``: every row keeps a positive weight (short of
        underflow, see above), but ``beta`` carries the units of ``1 / y`` (a row whose
        ``|y|`` is larger by ``1 / beta`` weighs e times more); choose it for the scale
        of your target, e.g. ``k / std(y)``.
    power : float, default=None
        Exponent of the reward under ``weighting="power"``, >= 0 and finite.
    beta : float, default=None
        Rate of the reward under ``weighting="exp"``, >= 0 and finite (0: ``Ridge``).
        Passing ``power`` with ``weighting="exp"`` (or ``beta`` with "power") is an error,
        since it would have no effect.
    variant : str, default=None
        A named variant of ``configs/models/reward_based.yaml`` (e.g. "fast", "exp").
    random_state : int, RandomState instance or None, default=None
        Recorded as ``random_state_`` as for every skfam estimator; the fit draws nothing.
    n_jobs : int, default=None
        Threads allowed (None: the SST's ``n_jobs``). The ridge's products and its
        Cholesky solve run on one BLAS thread whatever ``n_jobs`` is, so the coefficients
        do not depend on it.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Ridge coefficients.
    intercept_ : float
        Intercept (0.0 when ``fit_intercept`` is False).
    effective_n_ : float
        Kish's effective sample size of the row weights, ``(sum w) ** 2 / sum(w ** 2)``:
        the number of equally weighted rows that would give as precise a mean. It equals
        the rows of positive weight when all weights are equal and drops towards 1 as the
        reward weighting concentrates the fit on a few rows. The row weights are taken
        as given, so a row of ``sample_weight`` 2 counts as one row of twice the weight
        (not two rows).
    n_zero_weight_ : int
        Training rows of positive ``sample_weight`` whose reward factor is 0 (``y == 0``
        under ``weighting="power"`` with ``power > 0``, or a factor below float64's range
        relative to the largest): rows the fit ignores.
"""
    + FITTED_ATTRIBUTES
)


def reward_weights(
    y: np.ndarray,
    sample_weight: np.ndarray,
    *,
    weighting: str,
    power: float,
    beta: float,
) -> np.ndarray:
    """Return the row weights of a reward-weighted fit.

    ``sample_weight * f(|y|)``, rescaled so that it sums to ``sum(sample_weight)`` (the
    reward factors have mean 1 under ``sample_weight``), with ``f(r) = r ** power`` or
    ``exp(beta * r)``. The factors are computed in log space relative to the largest
    reward among the rows of positive ``sample_weight``, so large rewards never overflow.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Target; the reward is ``|y|``.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights, not all 0.
    weighting : {"power", "exp"}
        The reward weighting.
    power : float
        Exponent under "power" (``0 ** 0`` is 1: ``power=0`` weighs every row 1).
    beta : float
        Rate under "exp".

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        Non-negative, finite, summing to ``sum(sample_weight)`` (up to rounding).

    Raises
    ------
    ValueError
        When every row of positive ``sample_weight`` has reward 0 under ``power > 0``, or
        the weights cannot be represented in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam.models.reward_based import reward_weights
    >>> y = np.array([0.0, 1.0, -3.0])
    >>> reward_weights(y, np.ones(3), weighting="power", power=1.0, beta=0.0)
    array([0.  , 0.75, 2.25])
    >>> reward_weights(np.array([1.0, 1e6]), np.ones(2), weighting="exp", power=1.0, beta=1.0)
    array([0., 2.])
    """
    reward = np.abs(np.asarray(y, dtype=np.float64))
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    weighted = sample_weight > 0
    top = reward[weighted].max()
    if weighting == "power":
        if power == 0:
            log_factor = np.zeros_like(reward)
        elif top == 0:
            raise ValueError(
                "Every training row of positive sample_weight has reward |y| = 0, so "
                f"weighting='power' with power={power} gives every row weight 0 and there "
                "is nothing to fit; use weighting='exp' or power=0 (plain ridge), or check "
                "the target."
            )
        else:
            with np.errstate(divide="ignore"):
                # log(r / top) <= 0 on the weighted rows; -inf where r == 0 (factor 0).
                log_factor = power * (np.log(reward) - np.log(top))
    else:
        # beta * (r - top) <= 0 on the weighted rows; it may underflow to a factor of 0.
        log_factor = beta * (reward - top)
    factor = np.exp(np.minimum(log_factor, 0.0))
    weights = sample_weight * factor
    total = weights.sum()
    target = sample_weight.sum()
    if not (0 < total < np.inf and target < np.inf):
        raise ValueError(
            f"The reward-weighted row weights sum to {total} (sample_weight sums to "
            f"{target}): they cannot be normalised in float64; rescale sample_weight."
        )
    weights *= target / total
    if not np.isfinite(weights).all():
        raise ValueError("The normalised row weights overflow float64; rescale sample_weight.")
    return weights


class _RewardBasedBase(SkfamEstimator):
    """Shared parameters and algorithm of the reward-weighted ridge."""

    _family: ClassVar[str] = "reward_based"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        # [0, inf): closed on the left only, so infinity is refused.
        "alpha": [Interval(Real, 0, np.inf, closed="left"), None],
        "fit_intercept": ["boolean", None],
        "weighting": [StrOptions({"power", "exp"}), None],
        "power": [Interval(Real, 0, np.inf, closed="left"), None],
        "beta": [Interval(Real, 0, np.inf, closed="left"), None],
    }

    def __init__(
        self,
        *,
        alpha: float | None = None,
        fit_intercept: bool | None = None,
        weighting: str | None = None,
        power: float | None = None,
        beta: float | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.weighting = weighting
        self.power = power
        self.beta = beta
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_scheme(self) -> None:
        """Refuse an explicit ``power`` / ``beta`` that the chosen weighting does not read."""
        weighting = self.params_["weighting"]
        for scheme, name in _SCHEME_PARAMETER.items():
            value = getattr(self, name)
            if scheme != weighting and value is not None:
                raise ValueError(
                    f"{name}={value!r} has no effect with weighting={weighting!r} (which "
                    f"reads {_SCHEME_PARAMETER[weighting]!r}); leave {name} at None or set "
                    f"weighting={scheme!r}."
                )

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> None:
        p = self.params_
        self._check_scheme()
        weights = reward_weights(
            y,
            sample_weight,
            weighting=p["weighting"],
            power=float(p["power"]),
            beta=float(p["beta"]),
        )
        self.effective_n_ = float(weights.sum() ** 2 / np.square(weights).sum())
        self.n_zero_weight_ = int(np.count_nonzero((sample_weight > 0) & (weights == 0)))
        self._progress().say(
            f"{p['weighting']} reward weights: effective_n {self.effective_n_:.4g} of "
            f"{len(y)} rows, {self.n_zero_weight_} of weight 0, largest weight "
            f"{weights.max():.4g}"
        )
        ridge = Ridge(
            alpha=float(p["alpha"]), fit_intercept=bool(p["fit_intercept"]), solver="cholesky"
        )
        with _one_blas_thread():
            ridge.fit(X, y, sample_weight=weights)
        self.coef_ = np.asarray(ridge.coef_, dtype=np.float64)
        self.intercept_ = float(ridge.intercept_)
        if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_)):
            raise ValueError(
                "The ridge's coefficients are not finite: the weighted data is beyond what "
                "float64 can solve; rescale X or y, or raise alpha."
            )

    def _degenerate_hint(self) -> str:
        p = self.params_
        scheme = _SCHEME_PARAMETER[p["weighting"]]
        return (
            f"the reward weighting ({p['weighting']}, {scheme}={p[scheme]}) leaves "
            f"effective_n_={self.effective_n_:.3g} rows of weight, too few to fit a slope, "
            f"or alpha={p['alpha']} shrinks the coefficients to 0; lower {scheme} or alpha"
        )

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        with _one_blas_thread():
            return X @ self.coef_ + self.intercept_

    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta = {
            "intercept": self.intercept_,
            "effective_n": self.effective_n_,
            "n_zero_weight": self.n_zero_weight_,
        }
        return meta, {"coef": self.coef_}, {}

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        if blobs:
            raise ModelFileError(f"a reward_based model file has no blobs, got {sorted(blobs)}.")
        if "coef" not in arrays:
            raise ModelFileError("array 'coef' is missing.")
        coef = arrays["coef"]
        if coef.dtype != np.float64 or coef.shape != (self.n_features_in_,):
            raise ModelFileError(
                f"array 'coef' is {coef.dtype} of shape {coef.shape}, not float64 of shape "
                f"({self.n_features_in_},)."
            )
        if not np.isfinite(coef).all():
            raise ModelFileError("array 'coef' is not finite.")
        intercept = meta.get("intercept")
        if not isinstance(intercept, float) or not np.isfinite(intercept):
            raise ModelFileError(f"intercept = {intercept!r} is not a finite float.")
        if not self.params_.get("fit_intercept", True) and intercept != 0.0:
            raise ModelFileError(f"intercept = {intercept!r}, but fit_intercept is False.")
        effective_n = meta.get("effective_n")
        if not isinstance(effective_n, float) or not 0 < effective_n < np.inf:
            raise ModelFileError(f"effective_n = {effective_n!r} is not a positive float.")
        n_zero = meta.get("n_zero_weight")
        if type(n_zero) is not int or n_zero < 0:
            raise ModelFileError(f"n_zero_weight = {n_zero!r} is not a count.")
        self.coef_ = coef
        self.intercept_ = intercept
        self.effective_n_ = effective_n
        self.n_zero_weight_ = n_zero


def _one_blas_thread() -> threadpool_limits:
    """Return a context running BLAS and LAPACK on one thread.

    OpenBLAS splits the products ``X.T @ X`` between threads and rounds differently for
    another thread count; on one thread the coefficients do not depend on ``n_jobs``.
    """
    return threadpool_limits(1, user_api="blas")


@fill_doc(parameters=_DOC_PARAMETERS)
class RewardWeightedRegressor(RegressorMixin, SkfamRegressorMixin, _RewardBasedBase):
    """Ridge regression with rows weighted by their reward ``|y|``.

    Each training row weighs ``|y| ** power`` (or ``exp(beta * |y|)``) times its
    ``sample_weight``, normalised to mean 1; the ridge is scikit-learn's ``Ridge``
    (Cholesky solver) fitted with these weights, and ``predict`` is ``X @ coef_ +
    intercept_``. Rows of large ``|y|`` shape the fit more, at the cost of a worse fit of
    the rows of small ``|y|``: use it where the large moves are what counts.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import RewardWeightedRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)
    >>> reg = RewardWeightedRegressor(power=2.0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.effective_n_ < 200)
    True
    """
