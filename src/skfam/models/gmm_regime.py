"""The ``gmm_regime`` family: regimes as components of a Gaussian mixture of the features.

The features are standardised (optionally projected on their principal components); a
Gaussian mixture fitted by weighted EM gives each row its responsibilities (the probability
of each component, a regime); one expert per regime is fitted on every row with the weights
``responsibility x sample_weight``, and a row's prediction is the experts' predictions
weighted by its responsibilities.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn import config_context
from sklearn.base import RegressorMixin
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._progress import DOC_VERBOSE
from .._seeds import derive_seed
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError, dump_sklearn, load_sklearn
from ._regime import DOC_EXPERTS, DOC_REGIME_ATTRIBUTES, RegimeExperts

__all__ = ["GMMRegimeRegressor", "WeightedGaussianMixture"]

# Types the model file's scikit-learn blobs may hold (skops).
_TRUSTED = [
    "sklearn.preprocessing._data.StandardScaler",
    "skfam.models.gmm_regime.WeightedGaussianMixture",
]

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/gmm_regime.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``.

    Parameters
    ----------
    n_regimes : int >= 1 or "bic", default=None
        Components of the mixture (regimes), or "bic": the number in ``regime_range`` whose
        mixture has the lowest BIC (``bic_``). SST: 2.
    regime_range : list of two ints, default=None
        ``[low, high]``, the numbers of regimes ``n_regimes="bic"`` tries (numbers above the
        distinct rows of the data are not tried; ``bic_`` lists those that were).
    covariance_type : {"full", "tied", "diag", "spherical"}, default=None
        Covariance of each component, as scikit-learn's ``GaussianMixture``.
    reg_covar : float >= 0, default=None
        Added to the diagonal of each covariance (of standardised features).
    tol : float > 0, default=None
        EM stops when the weighted mean log-likelihood gains less than this.
    n_init : int >= 1, default=None
        EM runs from as many k-means initialisations; the best is kept.
    max_iter : int >= 1, default=None
        EM iterations per run.
    pca_components : "off", int >= 1 or float in (0, 1), default=None
        Project the standardised features on their principal components (of the weighted
        covariance) before the mixture: that many, or the fewest explaining at least that
        share of the variance; "off" keeps the features. Fitted attributes
        ``pca_components_`` and ``pca_explained_variance_ratio_``.
    mixture_rows : int >= 1 or "all", default=None
        The standardisation, the PCA and the mixture are fitted on at most this many rows
        of positive weight, drawn at random without replacement (stream "subsample") when
        there are more; the responsibilities of every row then come from them. "all" fits
        on every row. With more rows than this, a weight of 2 is no longer the same as a
        repeated row (a draw of rows is not a draw of weights). SST: 10,000, which makes
        the mixture's fit a small part of the experts' on large data.
"""
    + DOC_EXPERTS
    + """    variant : str, default=None
        A named variant of ``configs/models/gmm_regime.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means initialisations of the mixture (stream "model"), the rows it is
        fitted on (stream "subsample") and the experts (stream "experts"). None takes
        ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads of skfam experts; None takes the SST's ``n_jobs``. The scaling, PCA,
        mixture and ridge experts run on one thread: OpenBLAS splits products over many
        rows between threads and rounds differently for another count, and k-means sums
        per OpenMP thread.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    scaler_ : StandardScaler
        Standardisation of the features (weighted by ``sample_weight``, fitted on the
        mixture's rows).
    pca_components_ : ndarray of shape (n_components, n_features) or None
        The principal axes, in the standardised space; None without PCA.
    pca_explained_variance_ratio_ : ndarray of shape (n_components,) or None
        The share of the variance each axis explains.
    mixture_ : WeightedGaussianMixture
        The fitted mixture (a scikit-learn ``GaussianMixture`` fitted by weighted EM).
    n_iter_ : int
        EM iterations of the best run of ``mixture_``.
    bic_ : dict of int to float
        The weighted BIC of each number of regimes fitted (one entry for an int
        ``n_regimes``): ``-2 * sum(w * log p(x)) + parameters * log(sum(w))``, which counts a
        row of weight 2 as two rows.
"""
    + DOC_REGIME_ATTRIBUTES
    + FITTED_ATTRIBUTES
)


class WeightedGaussianMixture(GaussianMixture):
    """scikit-learn's ``GaussianMixture`` fitted by EM with a weight per row.

    scikit-learn's ``GaussianMixture.fit`` takes no ``sample_weight``; :meth:`fit_weighted`
    runs the same EM with every row's responsibilities multiplied by its weight in the
    M-step, the weighted mean log-likelihood as the convergence criterion, and a k-means
    initialisation fitted with the weights. An integer weight k is then the same as k copies
    of the row (up to the rounding of sums), and a weight of 0 the same as no row.
    """

    def fit_weighted(self, X: np.ndarray, sample_weight: np.ndarray) -> WeightedGaussianMixture:
        """Fit the mixture on ``X`` with positive row weights ``sample_weight``."""
        self._row_weight = np.asarray(sample_weight, dtype=np.float64)
        try:
            return self.fit(X)
        finally:
            del self._row_weight

    def _initialize_parameters(self, X: np.ndarray, random_state: Any, xp: Any = None) -> None:
        labels = (
            KMeans(n_clusters=self.n_components, n_init=1, random_state=random_state)
            .fit(X, sample_weight=self._row_weight)
            .labels_
        )
        resp = np.zeros((len(X), self.n_components))
        resp[np.arange(len(X)), labels] = 1.0
        self._initialize(X, resp)

    def _initialize(self, X: np.ndarray, resp: np.ndarray, xp: Any = None) -> None:
        weights, means, covariances = _estimate_gaussian_parameters(
            X, resp * self._row_weight[:, None], self.reg_covar, self.covariance_type
        )
        self.weights_ = weights / self._row_weight.sum()
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = _precision_cholesky(covariances, self.covariance_type)

    def _m_step(self, X: np.ndarray, log_resp: np.ndarray, xp: Any = None) -> None:
        self.weights_, self.means_, self.covariances_ = _estimate_gaussian_parameters(
            X, np.exp(log_resp) * self._row_weight[:, None], self.reg_covar, self.covariance_type
        )
        self.weights_ /= np.sum(self.weights_)
        self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type)

    def _e_step(self, X: np.ndarray, xp: Any = None) -> tuple[float, np.ndarray]:
        log_prob_norm, log_resp = self._estimate_log_prob_resp(X)
        weight = getattr(self, "_row_weight", None)
        if weight is None:
            return float(np.mean(log_prob_norm)), log_resp
        return float(weight @ log_prob_norm / weight.sum()), log_resp

    def weighted_bic(self, X: np.ndarray, sample_weight: np.ndarray) -> float:
        """Return ``-2 * sum(w * log p(x)) + n_parameters * log(sum(w))``."""
        log_likelihood = float(sample_weight @ self.score_samples(X))
        return -2.0 * log_likelihood + self._n_parameters() * float(np.log(sample_weight.sum()))


def _precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

    return _compute_precision_cholesky(covariances, covariance_type)


def weighted_pca(
    Z: np.ndarray, weights: np.ndarray, components: int | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (mean, axes, explained variance ratios) of the weighted covariance of ``Z``.

    The axes are the eigenvectors of ``sum(w (z - mean)(z - mean)^T) / sum(w)`` of largest
    eigenvalue, each signed so that its largest entry in absolute value is positive:
    ``components`` of them (an int), or the fewest whose variance ratios add up to at
    least ``components`` (a float in (0, 1)).
    """
    total = float(weights.sum())
    mean = weights @ Z / total
    centred = (Z - mean) * np.sqrt(weights)[:, None]
    values, vectors = np.linalg.eigh(centred.T @ centred / total)
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order].T
    signs = np.sign(vectors[np.arange(len(vectors)), np.argmax(np.abs(vectors), axis=1)])
    vectors *= np.where(signs == 0, 1.0, signs)[:, None]
    variance = float(values.sum())
    ratios = values / variance if variance > 0 else np.zeros_like(values)
    if isinstance(components, Integral):
        if components > Z.shape[1]:
            raise ValueError(
                f"pca_components={components} is more than the {Z.shape[1]} features."
            )
        keep = int(components)
    else:
        keep = int(np.searchsorted(np.cumsum(ratios), components) + 1)
        keep = min(max(keep, 1), Z.shape[1])
    return mean, np.ascontiguousarray(vectors[:keep]), ratios[:keep]


def _regime_range(value: Any) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1]
    ):
        raise ValueError(f"regime_range must be [low, high] with 1 <= low <= high, got {value!r}.")
    return int(value[0]), int(value[1])


class _GMMRegimeBase(RegimeExperts):
    """Scaling, optional PCA, weighted Gaussian mixture, and its experts."""

    _family: ClassVar[str] = "gmm_regime"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **RegimeExperts._parameter_constraints,
        "n_regimes": [Interval(Integral, 1, None, closed="left"), StrOptions({"bic"}), None],
        "regime_range": [list, tuple, None],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"}), None],
        "reg_covar": [Interval(Real, 0, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "n_init": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "pca_components": [
            StrOptions({"off"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "mixture_rows": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"}), None],
    }

    def __init__(
        self,
        *,
        n_regimes: int | str | None = None,
        regime_range: list[int] | None = None,
        covariance_type: str | None = None,
        reg_covar: float | None = None,
        tol: float | None = None,
        n_init: int | None = None,
        max_iter: int | None = None,
        pca_components: str | int | float | None = None,
        mixture_rows: int | str | None = None,
        alpha: float | None = None,
        expert: str | None = None,
        expert_params: dict[str, Any] | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.n_regimes = n_regimes
        self.regime_range = regime_range
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.tol = tol
        self.n_init = n_init
        self.max_iter = max_iter
        self.pca_components = pca_components
        self.mixture_rows = mixture_rows
        self.alpha = alpha
        self.expert = expert
        self.expert_params = expert_params
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ features
    def _project(self, X: np.ndarray) -> np.ndarray:
        """Standardise (and project) imputed rows: the space of the mixture."""
        with config_context(transform_output="default"):  # numpy whatever the user set
            Z = self.scaler_.transform(X)
        if self.pca_components_ is not None:
            Z = (Z - self.pca_mean_) @ self.pca_components_.T
        return Z

    def _candidates(self, n_rows: int, n_distinct: int) -> tuple[list[int], str | None]:
        """Return the numbers of regimes to fit, and why there is only one (or None)."""
        p = self.params_
        if p["n_regimes"] == "bic":
            low, high = _regime_range(p["regime_range"])
        else:
            low = high = int(p["n_regimes"])
        if low > n_rows:
            what = "regime_range's low" if p["n_regimes"] == "bic" else "n_regimes"
            raise ValueError(
                f"{what}={low} is more than the {n_rows} rows of positive weight "
                f"({n_rows} sample{'s' if n_rows != 1 else ''}; the mixture takes at most "
                "mixture_rows of them): a mixture needs at least as many rows as regimes."
            )
        if n_distinct == 1:
            return [1], "the features are the same on every row: nothing tells regimes apart"
        if low > n_distinct:
            raise ValueError(
                f"X has {n_distinct} distinct rows (standardised), fewer than the {low} "
                "regimes asked for: a mixture needs at least one distinct row per regime."
            )
        return list(range(low, min(high, n_distinct) + 1)), None

    # ------------------------------------------------------------------ fit / predict
    def _fit_regimes(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray) -> None:
        p = self.params_
        self._expert_settings()  # refuse bad expert settings before the mixture
        rows = np.flatnonzero(sample_weight > 0)
        limit = p["mixture_rows"]
        if limit != "all" and len(rows) > limit:
            rng = np.random.default_rng(derive_seed(self.random_state_, "subsample"))
            rows = np.sort(rng.choice(rows, size=int(limit), replace=False))
        # The scaling, the PCA and the mixture are fitted on the mixture's rows.
        Xm, wm = X[rows], sample_weight[rows]
        self.scaler_ = StandardScaler().fit(Xm, sample_weight=wm)
        with config_context(transform_output="default"):  # numpy whatever the user set
            Zm = self.scaler_.transform(Xm)
        self.pca_components_ = self.pca_mean_ = self.pca_explained_variance_ratio_ = None
        if p["pca_components"] != "off":
            self.pca_mean_, self.pca_components_, self.pca_explained_variance_ratio_ = (
                weighted_pca(Zm, wm, p["pca_components"])
            )
            Zm = (Zm - self.pca_mean_) @ self.pca_components_.T
        # The mixture sees its rows in one order whatever the order given (sorted by their
        # values), so that its random initialisation picks the same rows for the same data,
        # and a row of weight k picks as k copies of it would.
        order = np.lexsort(Zm.T[::-1])
        Zm, wm = Zm[order], wm[order]
        n_distinct = 1 + int(np.any(Zm[1:] != Zm[:-1], axis=1).sum())
        candidates, reason = self._candidates(len(rows), n_distinct)
        progress = self._progress()
        fitted, bic = {}, {}
        seed = derive_seed(self.random_state_, "model")
        # (k-means runs on one OpenMP thread, as all of this: see RegimeExperts._fit_model;
        # its per-thread sums would change with the count.) numpy arrays in and out,
        # whatever scikit-learn's array API setting says.
        with config_context(array_api_dispatch=False):
            for k in candidates:
                mixture = WeightedGaussianMixture(
                    n_components=k,
                    covariance_type=p["covariance_type"],
                    reg_covar=p["reg_covar"],
                    tol=p["tol"],
                    n_init=p["n_init"],
                    max_iter=p["max_iter"],
                    random_state=seed,
                )
                fitted[k] = mixture.fit_weighted(Zm, wm)
                bic[k] = mixture.weighted_bic(Zm, wm)
                progress.say(f"mixture of {k} regime(s): BIC {bic[k]:.6g}", 2)
        best = min(bic, key=lambda k: (bic[k], k))
        self.mixture_ = fitted[best]
        self.bic_ = bic
        self.single_regime_reason_ = reason
        if best == 1 and reason is None:
            self.single_regime_reason_ = (
                f"the BIC is lowest for one regime among {candidates}"
                if len(candidates) > 1
                else "n_regimes is 1"
            )
        self.n_iter_ = int(self.mixture_.n_iter_)
        resp = self._regime_proba(X)
        self._fit_experts(X, y, [(None, resp[:, k] * sample_weight) for k in range(best)])
        if len(bic) > 1:
            progress.say(f"{best} regime(s): the lowest BIC over {candidates}")
        return None

    def _mixture_proba(self, Z: np.ndarray) -> np.ndarray:
        with config_context(array_api_dispatch=False):
            return self.mixture_.predict_proba(Z)

    def _regime_proba(self, X: np.ndarray) -> np.ndarray:
        return self._mixture_proba(self._project(X))

    def _degenerate_hint(self) -> str:
        regimes = self.single_regime_reason_ or f"{self.n_regimes_} regimes"
        return (
            f"one model per regime ({regimes}), each of which found no relation of y to X; "
            f"check alpha (here {self.params_['alpha']}) or expert / expert_params"
        )

    # ------------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = self._experts_state()
        meta["bic"] = [[k, v] for k, v in self.bic_.items()]
        blobs = {
            **blobs,
            "scaler.skops": dump_sklearn(self.scaler_),
            "mixture.skops": dump_sklearn(self.mixture_),
        }
        if self.pca_components_ is not None:
            arrays = {
                **arrays,
                "pca.mean": self.pca_mean_,
                "pca.components": self.pca_components_,
                "pca.ratio": self.pca_explained_variance_ratio_,
            }
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        own = ("scaler.skops", "mixture.skops")
        if not set(own) <= set(blobs):
            raise ModelFileError(f"the members {list(own)} are missing.")
        scaler = load_sklearn(blobs["scaler.skops"], trusted=_TRUSTED)
        mixture = load_sklearn(blobs["mixture.skops"], trusted=_TRUSTED)
        self._restore_experts(meta, arrays, {k: blobs[k] for k in blobs if k not in own})
        d, k = self.n_features_in_, self.n_regimes_
        if not isinstance(scaler, StandardScaler) or scaler.n_features_in_ != d:
            raise ModelFileError(f"the scaler is not a StandardScaler of {d} features.")
        pca = {name: arrays.get(name) for name in ("pca.mean", "pca.components", "pca.ratio")}
        if any(v is not None for v in pca.values()):
            mean, axes, ratio = pca.values()
            if (
                any(v is None or v.dtype != np.float64 for v in pca.values())
                or mean.shape != (d,)
                or axes.ndim != 2
                or axes.shape[1] != d
                or ratio.shape != (axes.shape[0],)
            ):
                raise ModelFileError(f"the PCA arrays do not fit {d} features.")
            self.pca_mean_, self.pca_components_, self.pca_explained_variance_ratio_ = (
                mean,
                np.ascontiguousarray(axes),
                ratio,
            )
            space = axes.shape[0]
        else:
            self.pca_mean_ = self.pca_components_ = self.pca_explained_variance_ratio_ = None
            space = d
        if (
            not isinstance(mixture, WeightedGaussianMixture)
            or mixture.n_components != k
            or getattr(mixture, "means_", np.empty(0)).shape != (k, space)
        ):
            raise ModelFileError(f"the mixture is not one of {k} regimes in {space} dimensions.")
        bic = meta.get("bic")
        if not isinstance(bic, list) or not all(
            isinstance(e, list) and len(e) == 2 and type(e[0]) is int for e in bic
        ):
            raise ModelFileError(f"bic = {bic!r} is not a list of [regimes, value] pairs.")
        self.scaler_ = scaler
        self.mixture_ = mixture
        self.n_iter_ = int(mixture.n_iter_)
        self.bic_ = {int(n): float(v) for n, v in bic}


@fill_doc(parameters=_DOC_PARAMETERS)
class GMMRegimeRegressor(RegressorMixin, SkfamRegressorMixin, _GMMRegimeBase):
    """Regimes as components of a Gaussian mixture of the features, one expert per regime.

    The features are standardised (and optionally projected on principal components); a
    Gaussian mixture fitted by weighted EM gives each row its responsibilities, the
    probability of each regime (``predict_regime_proba``). Each regime's expert is fitted
    on every row with the weights ``responsibility x sample_weight``, and a row's prediction
    is the experts' predictions weighted by its responsibilities. ``sample_weight`` weighs
    the standardisation, the PCA, the mixture (EM and its BIC) and the experts.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import GMMRegimeRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-3, 1, (200, 2)), rng.normal(3, 1, (200, 2))])
    >>> y = np.where(X[:, 0] < 0, 2 * X[:, 1], -X[:, 1]) + rng.normal(0, 0.1, 400)
    >>> reg = GMMRegimeRegressor(random_state=0).fit(X, y)
    >>> reg.n_regimes_
    2
    >>> sorted(reg.predict_regime(np.array([[-3.0, 0.0], [3.0, 0.0]])).tolist())
    [0, 1]
    >>> bool(np.abs(reg.predict(X) - y).mean() < 0.2)
    True
    """
