"""Fit time of the regime families against their experts alone, side by side.

Each regime family is fitted on the same data, and then its experts alone: the same
estimators, with the same parameters, on the same rows and weights as inside the fitted
model (change_point: each detected segment's rows; gmm_regime: every row, weighted by its
responsibilities times sample_weight). Both run on one thread, alternating, best of
``--repeats``. Printed: fit seconds and the ratio family / experts (target: <= 2), and the
test MSE of the family and of one expert on all rows.

    python benchmarks/bench_regime.py [--rows 100000] [--features 20] [--repeats 3]
        [--expert ridge|lightgbm]

The data: three regimes in time order (changes at 40% and 70% of the rows), each with its
own linear relation and level, and its own location of the first three features.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from itertools import pairwise

import numpy as np
from sklearn.base import clone

from skfam import ChangePointRegressor, GMMRegimeRegressor

SEED = 0


def _data(rows: int, features: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(SEED)
    sizes = [int(0.4 * rows), int(0.3 * rows)]
    sizes.append(rows - sum(sizes))
    centres = rng.normal(scale=2.0, size=(3, features))
    centres[:, 3:] = 0.0
    betas = rng.normal(size=(3, features))
    levels = np.array([0.0, 3.0, -2.0])

    def draw(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
        X, y = [], []
        for k, m in enumerate(counts):
            Xk = centres[k] + rng.normal(size=(m, features))
            X.append(Xk)
            y.append(levels[k] + Xk @ betas[k] + rng.normal(scale=0.5, size=m))
        return np.vstack(X), np.concatenate(y)

    X, y = draw(sizes)
    X_test, y_test = draw([rows // 10] * 3)
    return X, y, X_test, y_test


def _best(fit: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    model = fit()
    return time.perf_counter() - start, model


def _experts_alone(model, X: np.ndarray, y: np.ndarray) -> Callable[[], list]:
    """A function fitting clones of ``model``'s experts on their rows and weights."""
    experts = model.experts_
    if isinstance(model, ChangePointRegressor):
        edges = [0, *model.change_points_, len(y)]
        parts = [(slice(a, b), None) for a, b in pairwise(edges)]
    else:
        proba = model.predict_regime_proba(X)
        parts = [(slice(None), proba[:, k]) for k in range(len(experts))]

    def fit() -> list:
        return [
            clone(e).fit(X[rows], y[rows], sample_weight=w)
            for e, (rows, w) in zip(experts, parts, strict=True)
        ]

    return fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--expert", default="ridge", help="ridge or a skfam family key")
    args = parser.parse_args()
    X, y, X_test, y_test = _data(args.rows, args.features)
    expert_params = {} if args.expert == "ridge" else {"variant": "fast"}
    common = {"expert": args.expert, "expert_params": expert_params, "n_jobs": 1}
    print(f"{args.rows} rows, {args.features} features, {args.expert} experts, 1 thread")
    for cls in (ChangePointRegressor, GMMRegimeRegressor):
        family, alone = np.inf, np.inf
        for _ in range(args.repeats):  # alternate, so drifting load hits both alike
            t, model = _best(lambda cls=cls: cls(random_state=SEED, **common).fit(X, y))
            family = min(family, t)
            t, _ = _best(_experts_alone(model, X, y))
            alone = min(alone, t)
        one = clone(model.experts_[0]).fit(X, y)
        mse = np.mean((model.predict(X_test) - y_test) ** 2)
        mse_one = np.mean((one.predict(X_test) - y_test) ** 2)
        print(
            f"{cls.__name__:<22} {model.n_regimes_} regimes  fit {family:7.3f}s  experts "
            f"alone {alone:7.3f}s  ratio {family / alone:5.2f}   test MSE {mse:.4f} "
            f"(one expert on all rows: {mse_one:.4f})"
        )


if __name__ == "__main__":
    main()
