"""GridSearchCV of skfam's LightGBMRegressor: ``n_jobs=1`` against a 2-worker dask LocalCluster.

The grid has 8 candidates and the search 3 folds (24 fits, no refit). The anchor runs them
one after another in this process (``n_jobs=1``); the dask run sends them to a
``LocalCluster`` of 2 worker processes with 1 thread each, through joblib's dask backend.
Threads are capped so that the workers do not oversubscribe the cores: the estimator has
``n_jobs=1`` (one LightGBM thread per fit) and dask's nanny starts its workers with
``OMP_NUM_THREADS=1``. After one untimed dask search that imports skfam and LightGBM in the
workers (its time is printed too), the two sides are timed alternately ``--repeats`` times,
best kept, the cluster idle while the anchor runs. The two ``cv_results_`` must be equal,
score for score.

Printed: the seconds of each side and the ratio anchor / dask (the speed-up).

Run: ``python benchmarks/bench_dask.py [--rows 20000 --features 20 --repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid

from skfam import LightGBMRegressor

GRID = {"num_leaves": [15, 31], "learning_rate": [0.05, 0.1], "min_child_samples": [10, 40]}


def _search(n_estimators: int) -> GridSearchCV:
    estimator = LightGBMRegressor(n_estimators=n_estimators, early_stopping=False, n_jobs=1)
    return GridSearchCV(estimator, GRID, cv=KFold(3), refit=False)


def _timed(search: GridSearchCV, X: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    start = time.perf_counter()
    results = search.fit(X, y).cv_results_
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    y = X[:, 0] * 2 + np.sin(X[:, 1]) + X[:, 2] * X[:, 3] + rng.normal(size=args.rows)
    search = _search(args.n_estimators)
    fits = search.cv.get_n_splits() * len(ParameterGrid(GRID))

    print(
        f"data {args.rows} x {args.features}, {fits} fits of {args.n_estimators} trees; "
        f"{os.cpu_count()} cores"
    )

    start = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        started = time.perf_counter() - start
        with joblib.parallel_config(backend="dask"):
            cold, _ = _timed(search, X, y)
        # Alternately, so that a drift of the machine (another job) hits both sides.
        anchor = warm = float("inf")
        for _ in range(args.repeats):
            seconds, sequential = _timed(search, X, y)
            anchor = min(anchor, seconds)
            with joblib.parallel_config(backend="dask"):
                seconds, parallel = _timed(search, X, y)
            warm = min(warm, seconds)
    print(f"n_jobs=1: {anchor:.2f} s (best of {args.repeats}), {anchor / fits:.2f} s a fit")
    print(
        f"dask, {args.workers} workers x 1 thread: {warm:.2f} s (best of {args.repeats}); "
        f"cluster start {started:.2f} s, first search {cold:.2f} s"
    )
    keys = [k for k in sequential if k.endswith("_test_score")]
    equal = all(np.array_equal(parallel[k], sequential[k]) for k in keys)
    print(f"ratio n_jobs=1 / dask: {anchor / warm:.2f}; cv_results_ scores equal: {equal}")
    if not equal:
        raise SystemExit("cv_results_ differ between n_jobs=1 and dask")


if __name__ == "__main__":
    main()
