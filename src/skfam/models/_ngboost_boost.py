"""The NGBoost fitting loop (Duan et al., 2019), with scikit-learn regression trees.

Each stage fits one ``DecisionTreeRegressor`` per distribution parameter to the natural
gradient of the log score (on a row minibatch and a column sample), finds the stage's
scaling by the line search of the reference implementation (``ngboost`` 0.5:
:func:`_line_search`) and moves the parameters by ``learning_rate * scaling * tree outputs``.
Boosting stops early when a stage's tree outputs are negligible (mean norm below
``_TOL``, as in the reference) or, with a validation split, when the validation loss has
not improved for ``patience`` stages (the stages up to the best one are kept).

The loop works in the units it is given: the regressor passes a standardised target, so
the tolerances below are relative to the target's spread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeRegressor

__all__ = ["BoostResult", "boost", "predict_params"]

# The line search doubles the scaling from 1 while the batch loss does not increase, up to
# this value (the reference stops doubling past 256, so scalings are at most 512).
_MAX_SCALE_UP = 256.0
# Then it halves the scaling until the loss decreases or the step is below _TOL; for a
# finite step this ends long before this bound (512 * 2**-60 * norm < _TOL), which only
# guards against a non-finite step.
_MAX_HALVINGS = 60
# A scaled step whose mean norm is below this is accepted without a loss decrease, and a
# stage whose tree outputs have a mean norm below this ends the boosting (reference: tol).
_TOL = 1e-4


@dataclass
class BoostResult:
    """What the loop fitted: stages ``[0, n_stages)`` are used for prediction."""

    init: np.ndarray
    trees: list[list[DecisionTreeRegressor]] = field(default_factory=list)
    columns: list[np.ndarray] = field(default_factory=list)
    scalings: list[float] = field(default_factory=list)
    n_stages: int = 0
    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)


def _weighted_mean(values: np.ndarray, weight: np.ndarray) -> float:
    return float(np.sum(values * weight) / np.sum(weight))


def _line_search(
    dist: Any, theta: np.ndarray, step: np.ndarray, y: np.ndarray, weight: np.ndarray
) -> float:
    """Return the stage scaling, as the reference ``NGBoost.line_search`` finds it.

    Start at 1 and double while the weighted batch loss of ``theta - scaling * step`` is
    finite and not above the loss at ``theta`` (at most up to 512); then halve until the
    loss is below it or the scaled step's mean row norm is below ``_TOL``.
    """
    loss_init = _weighted_mean(dist.nll(theta, y), weight)
    scale = 1.0
    while scale <= _MAX_SCALE_UP:
        loss = _weighted_mean(dist.nll(theta - scale * step, y), weight)
        if not np.isfinite(loss) or loss > loss_init:
            break
        scale *= 2.0
    for _ in range(_MAX_HALVINGS):
        scaled = scale * step
        if _weighted_mean(np.linalg.norm(scaled, axis=1), weight) < _TOL:
            return scale
        loss = _weighted_mean(dist.nll(theta - scaled, y), weight)
        if np.isfinite(loss) and loss < loss_init:
            return scale
        scale *= 0.5
    return scale


def boost(
    dist: Any,
    X: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    *,
    n_estimators: int,
    learning_rate: float,
    tree_params: dict[str, Any],
    minibatch_frac: float,
    col_sample: float,
    subsample_seed: int,
    valid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    patience: int | None = None,
    threshold: float = 0.0,
    on_stage: Callable[[int, float, float | None], None] | None = None,
) -> BoostResult:
    """Run NGBoost on ``(X, y, weight)``.

    Parameters
    ----------
    dist : distribution
        ``Normal`` or ``Categorical`` of ``_ngboost_dists``.
    X, y, weight : ndarray
        Training rows, targets (float, or class codes 0..K-1) and sample weights.
    n_estimators : int
        Most boosting stages.
    learning_rate : float
        Shrinkage of each stage.
    tree_params : dict
        Constructor arguments of every ``DecisionTreeRegressor`` (its ``random_state``
        included).
    minibatch_frac, col_sample : float
        Shares of rows and columns each stage draws (without replacement; 1.0 uses all).
    subsample_seed : int
        Seed of the row and column draws.
    valid : (X, y, weight), default=None
        The validation split for early stopping.
    patience : int, default=None
        Stop after this many stages without a validation-loss improvement over
        ``threshold``.
    threshold : float, default=0.0
        Smallest improvement of the validation loss that counts.
    on_stage : callable, default=None
        Called after each stage with its number (1-based), the training loss and the
        validation loss (None without ``valid``); it only observes.
    """
    n, d = X.shape
    rng = np.random.default_rng(subsample_seed)
    init = dist.init_params(y, weight)
    result = BoostResult(init=init)
    theta = np.tile(init, (n, 1))
    theta_valid = np.tile(init, (len(valid[0]), 1)) if valid is not None else None
    n_rows = max(1, round(minibatch_frac * n))
    n_cols = max(1, round(col_sample * d))
    best_loss, best_stage, since_best = np.inf, 0, 0
    for stage in range(n_estimators):
        rows = np.sort(rng.choice(n, n_rows, replace=False)) if n_rows < n else np.arange(n)
        cols = np.sort(rng.choice(d, n_cols, replace=False)) if n_cols < d else np.arange(d)
        X_batch = X[rows][:, cols]
        grad = dist.natural_gradient(theta[rows], y[rows])
        trees, fitted = [], []
        for j in range(grad.shape[1]):
            tree = DecisionTreeRegressor(**tree_params)
            tree.fit(X_batch, grad[:, j], sample_weight=weight[rows])
            trees.append(tree)
            fitted.append(tree.predict(X_batch))
        fitted = np.column_stack(fitted)
        scale = _line_search(dist, theta[rows], fitted, y[rows], weight[rows])
        result.trees.append(trees)
        result.columns.append(cols)
        result.scalings.append(scale)
        theta = theta - learning_rate * scale * _stage_outputs(trees, X[:, cols])
        result.train_loss.append(_weighted_mean(dist.nll(theta, y), weight))
        if valid is not None:
            Xv, yv, wv = valid
            theta_valid = theta_valid - learning_rate * scale * _stage_outputs(trees, Xv[:, cols])
            loss = _weighted_mean(dist.nll(theta_valid, yv), wv)
            result.valid_loss.append(loss)
        if on_stage is not None:
            on_stage(stage + 1, result.train_loss[-1], loss if valid is not None else None)
        if valid is not None:
            if loss < best_loss - threshold:
                best_loss, best_stage, since_best = loss, stage + 1, 0
            else:
                since_best += 1
                if patience is not None and since_best >= patience:
                    break
        if _weighted_mean(np.linalg.norm(fitted, axis=1), weight[rows]) < _TOL:
            break
    result.n_stages = best_stage if valid is not None and best_stage > 0 else len(result.trees)
    return result


def _stage_outputs(trees: list[DecisionTreeRegressor], X: np.ndarray) -> np.ndarray:
    return np.column_stack([tree.predict(X) for tree in trees])


def predict_params(
    init: np.ndarray,
    trees: list[list[DecisionTreeRegressor]],
    columns: list[np.ndarray],
    scalings: list[float] | np.ndarray,
    learning_rate: float,
    X: np.ndarray,
) -> np.ndarray:
    """Return the distribution parameters of ``X`` after the given stages."""
    theta = np.tile(np.asarray(init, dtype=np.float64), (len(X), 1))
    for stage_trees, cols, scale in zip(trees, columns, scalings, strict=True):
        theta = theta - learning_rate * scale * _stage_outputs(stage_trees, X[:, cols])
    return theta
