"""The ``change_point`` family: regimes from change points of the training series.

The training rows are read as one series in their given (time) order. ruptures' PELT (or
binary segmentation) finds the change points of the target (or of chosen columns) under a
penalty, with the O(1) segment costs of :mod:`skfam.models._change_points`; each segment
between two change points is one regime with its own expert (a ridge by default), and a gate
(a linear discriminant on the features) gives each row, at prediction, the probability of
each regime. ``predict`` is the probability-weighted sum of the experts' predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from math import ceil
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy import linalg
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._docs import FITTED_ATTRIBUTES, fill_doc
from .._progress import DOC_VERBOSE
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError
from ._change_points import COSTS, Binseg, Pelt, refine
from ._regime import DOC_EXPERTS, DOC_REGIME_ATTRIBUTES, RegimeExperts

__all__ = ["AUTO_CANDIDATES", "ChangePointRegressor"]

#: ``jump="auto"``: the grid of candidate change points has at most this many points
#: (``jump = ceil(n_samples / AUTO_CANDIDATES)``, 1 up to that many rows).
AUTO_CANDIDATES = 1000

_DOC_PARAMETERS = (
    """
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/change_point.yaml``, its ``variant``, then ``configs/defaults.yaml``);
    the values used are in ``params_``.

    Parameters
    ----------
    method : {"pelt", "binseg"}, default=None
        The search: PELT (the exact optimum of the penalised cost on the grid of candidates)
        or binary segmentation (greedy splits while a split gains more than the penalty).
        SST: "pelt".
    cost : {"l2", "normal"}, default=None
        What a change is. "l2": a shift of the mean (squared deviations from the segment's
        mean, in units of a robust noise variance). "normal": a change of the mean or of
        the variance (Gaussian log-likelihood per segment). SST: "normal", since a regime of
        returns differs in volatility more often than in level.
    penalty : "bic" or float > 0, default=None
        Cost of one more segment. "bic": the number of parameters a segment adds (its own
        and the row where it starts) times ``log(n_samples)``: ``(n_columns + 1) * log(n)``
        for "l2" (a mean per column) and ``(2 * n_columns + 1) * log(n)`` for "normal" (a
        mean and a variance per column), on the scale of -2 log-likelihood, which is the
        costs' scale. ``penalty_`` holds the value.
    min_size : int >= 1, default=None
        Fewest rows of a segment ("normal" needs 2). A series of fewer than ``2 * min_size``
        rows is one regime.
    jump : int >= 1 or "auto", default=None
        The search considers a change point every ``jump`` rows (ruptures' parameter); each
        one found is then moved to the best row within ``jump`` of it, so the change points
        are at row resolution. "auto": ``ceil(n_samples / 1000)`` (at most 1000 candidates,
        which keeps PELT fast: its work grows with the square of the candidates in a long
        regime). ``params_["jump"]`` holds the value used.
    detect_on : "target" or list, default=None
        The series searched for changes: "target" (y), or a list of columns of X, by name
        (of ``feature_names_in_``, when fit got a DataFrame) or by index. Missing values in
        the columns are imputed first. Columns constant over the series are left out.
"""
    + DOC_EXPERTS
    + """    gate_shrinkage : float in (0, 1], default=None
        The gate is a linear discriminant (a Gaussian per regime with a shared covariance);
        its covariance is shrunk towards its diagonal of total variances by this share, so
        that collinear or constant features keep it invertible.
    variant : str, default=None
        A named variant of ``configs/models/change_point.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seeds of the experts (stream "experts"); the detection and the gate draw nothing.
        None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads of skfam experts; None takes the SST's ``n_jobs``. The detection, the gate
        and ridge experts run on one thread: OpenBLAS splits products over many rows
        between threads and rounds differently for another count.
"""
    + DOC_VERBOSE
    + """
    Attributes
    ----------
    change_points_ : ndarray of int64
        The training rows (positions in the order given) where a new regime starts, sorted;
        empty for one regime. Regime ``k`` is the segment starting at ``[0,
        *change_points_][k]``.
    penalty_ : float or None
        The penalty the search used; None when no search ran (too few rows, a constant
        series).
"""
    + DOC_REGIME_ATTRIBUTES
    + FITTED_ATTRIBUTES
)


def fit_gate(
    X: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_regimes: int, shrinkage: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a weighted linear discriminant of the regimes; return (center, coef, intercept).

    Each regime is a Gaussian with its own (weighted) mean and a covariance shared by all
    (pooled within regimes), shrunk towards the diagonal of the total variances:
    ``(1 - shrinkage) * S + shrinkage * diag(T)`` (a constant feature's diagonal is 1). The
    priors are the regimes' shares of the total weight. Regime ``k``'s log-probability is,
    up to a constant, ``(x - center) @ coef[k] + intercept[k]``.
    """
    d = X.shape[1]
    if n_regimes == 1:
        return np.zeros(d), np.zeros((1, d)), np.zeros(1)
    total = float(weights.sum())
    shares = np.bincount(labels, weights=weights, minlength=n_regimes)
    center = weights @ X / total
    centred = X - center
    # Weighted one-hot of the regimes: the regimes' sums are one matrix product.
    onehot = np.zeros((len(X), n_regimes))
    onehot[np.arange(len(X)), labels] = weights
    means = onehot.T @ centred / shares[:, None]
    scaled = centred if np.all(weights == 1.0) else centred * np.sqrt(weights)[:, None]
    scatter = scaled.T @ scaled  # total scatter = within + between the regimes
    spread = np.diag(scatter) / total
    pooled = (scatter - (means.T * shares) @ means) / total
    pooled = (1.0 - shrinkage) * pooled
    pooled[np.diag_indices(d)] += shrinkage * np.where(spread > 0, spread, 1.0)
    coef = linalg.solve(pooled, means.T, assume_a="pos").T
    intercept = -0.5 * np.sum(coef * means, axis=1) + np.log(shares / total)
    return center, coef, intercept


def gate_proba(
    X: np.ndarray, center: np.ndarray, coef: np.ndarray, intercept: np.ndarray
) -> np.ndarray:
    """Return the gate's regime probabilities (softmax of the discriminants)."""
    scores = (X - center) @ coef.T + intercept
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


class _ChangePointBase(RegimeExperts):
    """Change-point detection, one expert per segment, and the gate."""

    _family: ClassVar[str] = "change_point"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **RegimeExperts._parameter_constraints,
        "method": [StrOptions({"pelt", "binseg"}), None],
        "cost": [StrOptions(set(COSTS)), None],
        "penalty": [StrOptions({"bic"}), Interval(Real, 0, None, closed="neither"), None],
        "min_size": [Interval(Integral, 1, None, closed="left"), None],
        "jump": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "detect_on": [StrOptions({"target"}), list, tuple, None],
        "gate_shrinkage": [Interval(Real, 0, 1, closed="right"), None],
    }

    def __init__(
        self,
        *,
        method: str | None = None,
        cost: str | None = None,
        penalty: str | float | None = None,
        min_size: int | None = None,
        jump: int | str | None = None,
        detect_on: str | Sequence[str | int] | None = None,
        alpha: float | None = None,
        expert: str | None = None,
        expert_params: dict[str, Any] | None = None,
        gate_shrinkage: float | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ):
        self.method = method
        self.cost = cost
        self.penalty = penalty
        self.min_size = min_size
        self.jump = jump
        self.detect_on = detect_on
        self.alpha = alpha
        self.expert = expert
        self.expert_params = expert_params
        self.gate_shrinkage = gate_shrinkage
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ detection
    def _detection_columns(self, n_features: int) -> list[int] | None:
        """Return the column indices of ``detect_on`` (None: the target), validated."""
        spec = self.params_["detect_on"]
        if isinstance(spec, str):
            return None
        if len(spec) == 0:
            raise ValueError('detect_on must be "target" or a non-empty list of columns.')
        names = getattr(self, "feature_names_in_", None)
        columns = []
        for item in spec:
            if isinstance(item, str):
                if names is None:
                    raise ValueError(
                        f"detect_on names the column {item!r}, but X has no column names (fit "
                        "got an array, not a DataFrame): give column indices instead."
                    )
                found = np.flatnonzero(names == item)
                if len(found) == 0:
                    raise ValueError(
                        f"detect_on names the column {item!r}, which X does not have; its "
                        f"columns are {list(names)}."
                    )
                columns.append(int(found[0]))
            elif isinstance(item, Integral) and not isinstance(item, bool):
                if not 0 <= int(item) < n_features:
                    raise ValueError(
                        f"detect_on holds the column index {item}, outside X's {n_features} "
                        "columns."
                    )
                columns.append(int(item))
            else:
                raise ValueError(
                    f"detect_on must hold column names (str) or indices (int); got {item!r}."
                )
        if len(set(columns)) != len(columns):
            raise ValueError(f"detect_on names a column twice: {list(spec)}.")
        return columns

    def _detect(self, signal: np.ndarray, what: str) -> tuple[list[int], float | None, str | None]:
        """Return (change points, penalty used, why there is one regime or None)."""
        p = self.params_
        n = len(signal)
        cost = COSTS[p["cost"]]()
        min_size = max(int(p["min_size"]), cost.min_size)
        if p["jump"] == "auto":
            p["jump"] = max(1, ceil(n / AUTO_CANDIDATES))
        jump = int(p["jump"])
        if n < 2 * min_size:
            return [], None, f"{n} rows are fewer than 2 x min_size = {2 * min_size}"
        cost.fit(signal)
        if cost.n_columns == 0:
            return [], None, f"{what} is constant: there is no change to detect"
        pen = cost.penalty_bic(n) if p["penalty"] == "bic" else float(p["penalty"])
        search = (Pelt if p["method"] == "pelt" else Binseg)(
            custom_cost=cost, min_size=min_size, jump=jump
        )
        found = search.fit(signal).predict(pen=pen)[:-1]
        points = refine(cost, found, n, jump, min_size, pen)
        if not points:
            return [], pen, f"the search found no change of {what} worth the penalty {pen:.6g}"
        return points, pen, None

    # ------------------------------------------------------------------ fit / predict
    def _fit_regimes(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray) -> None:
        p = self.params_
        self._expert_settings()  # refuse bad expert settings before the search
        columns = self._detection_columns(X.shape[1])
        if columns is None:
            signal, what = y, "the target"
        else:
            signal, what = X[:, columns], f"the columns {list(p['detect_on'])}"
        points, pen, reason = self._detect(signal, what)
        edges = [0, *points, len(y)]
        labels = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
        parts = [(slice(a, b), sample_weight[a:b]) for a, b in pairwise(edges)]
        self._fit_experts(X, y, parts)
        self.change_points_ = np.asarray(points, dtype=np.int64)
        self.penalty_ = pen
        self.single_regime_reason_ = reason
        self.gate_center_, self.gate_coef_, self.gate_intercept_ = fit_gate(
            X, labels, sample_weight, len(parts), float(p["gate_shrinkage"])
        )
        self._progress().say(
            f"{len(parts)} regime(s)" + (f": {reason}" if reason else f" from {what}")
        )
        return None

    def _regime_proba(self, X: np.ndarray) -> np.ndarray:
        return gate_proba(X, self.gate_center_, self.gate_coef_, self.gate_intercept_)

    def _degenerate_hint(self) -> str:
        regimes = self.single_regime_reason_ or f"{self.n_regimes_} regimes"
        return (
            f"one model per regime ({regimes}), each of which found no relation of y to X; "
            f"check alpha (here {self.params_['alpha']}) or expert / expert_params"
        )

    # ------------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = self._experts_state()
        meta["penalty"] = self.penalty_
        arrays = {
            **arrays,
            "change_points": self.change_points_,
            "gate.center": self.gate_center_,
            "gate.coef": self.gate_coef_,
            "gate.intercept": self.gate_intercept_,
        }
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self._restore_experts(meta, arrays, blobs)
        k, d = self.n_regimes_, self.n_features_in_
        points = arrays.get("change_points")
        if (
            points is None
            or points.dtype != np.int64
            or points.shape != (k - 1,)
            or (len(points) and (points[0] < 1 or np.any(np.diff(points) < 1)))
        ):
            raise ModelFileError(
                f"change_points must be {k - 1} increasing positive int64 row positions."
            )
        shapes = {"gate.center": (d,), "gate.coef": (k, d), "gate.intercept": (k,)}
        gate = {}
        for name, shape in shapes.items():
            array = arrays.get(name)
            if (
                array is None
                or array.dtype != np.float64
                or array.shape != shape
                or not np.isfinite(array).all()
            ):
                raise ModelFileError(f"array {name!r} must be finite float64 of shape {shape}.")
            gate[name] = array
        penalty = meta.get("penalty")
        if penalty is not None and not (isinstance(penalty, float) and penalty > 0):
            raise ModelFileError(f"penalty = {penalty!r} is not a positive number.")
        self.change_points_ = points
        self.penalty_ = penalty
        self.gate_center_ = gate["gate.center"]
        self.gate_coef_ = gate["gate.coef"]
        self.gate_intercept_ = gate["gate.intercept"]


@fill_doc(parameters=_DOC_PARAMETERS)
class ChangePointRegressor(RegressorMixin, SkfamRegressorMixin, _ChangePointBase):
    """Regimes from change points of the training series, one expert per regime.

    The training rows are one series in their given order (``metadata.ordered_rows``):
    sort them by time before ``fit``. The change points of the target (or of the columns
    ``detect_on``) split it into segments; each segment is a regime with its own expert,
    fitted on its rows. At prediction a gate, a linear discriminant of the regimes fitted on
    the features of the training rows and their segment, gives each row the probability of
    each regime, and the prediction is the experts' predictions weighted by them: the
    features must tell the regimes apart for the experts to be chosen well.

    ``sample_weight`` weighs the rows of the experts and of the gate; the detection reads
    every row once, in order, whatever its weight (a row of weight 0 is still a point of
    the series).

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import ChangePointRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-2, 1, (300, 2)), rng.normal(2, 1, (300, 2))])
    >>> y = np.where(np.arange(600) < 300, X[:, 0], 5 - X[:, 0]) + rng.normal(0, 0.1, 600)
    >>> reg = ChangePointRegressor().fit(X, y)
    >>> reg.change_points_
    array([300])
    >>> reg.predict_regime(np.array([[-2.0, -2.0], [2.0, 2.0]]))
    array([0, 1])
    """
