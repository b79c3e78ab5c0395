"""Wrapper overhead of skfam's LightGBMRegressor against raw ``lightgbm.LGBMRegressor``.

Both get the same data and the same parameters (skfam's resolved ``params_``, early stopping
off so both train the same number of rounds) and are measured side by side in one run,
alternating, taking the best of several repeats. Printed: seconds and ratios skfam / raw.

Targets (ratios): fit <= 1.05, batch predict <= 1.10, single-row predict <= 2.0.

Run: ``python benchmarks/bench_lightgbm.py [--rows 100000 --features 50 --repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import lightgbm as lgb
import numpy as np

from skfam import LightGBMRegressor
from skfam._seeds import derive_seed

TARGETS = {"fit": 1.05, "predict_batch": 1.10, "predict_one_row": 2.0}


def _paired(raw_fn, ours_fn, repeats: int, calls: int = 1) -> list[float]:
    """Time raw and skfam alternately, ``repeats`` times; return [best raw, best skfam].

    Alternating makes a drift of the machine (another process, thermal state) hit both.
    With ``calls`` > 1 each sample is the mean time of that many calls.
    """
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for side, fn in enumerate((raw_fn, ours_fn)):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[side] = min(best[side], (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    y = X[:, 0] * 2 + np.sin(X[:, 1]) + X[:, 2] * X[:, 3] + rng.normal(size=args.rows)

    ours = LightGBMRegressor(
        n_estimators=args.n_estimators, early_stopping=False, random_state=0, n_jobs=args.n_jobs
    )
    # Resolve params_ on the data itself: min_child_samples="auto" depends on the row count.
    ours.fit(X, y)
    p = ours.params_
    raw = lgb.LGBMRegressor(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        num_leaves=p["num_leaves"],
        max_depth=p["max_depth"],
        min_child_samples=p["min_child_samples"],
        min_child_weight=p["min_child_weight"],
        min_split_gain=p["min_split_gain"],
        subsample=p["subsample"],
        subsample_freq=p["subsample_freq"],
        colsample_bytree=p["colsample_bytree"],
        reg_alpha=p["reg_alpha"],
        reg_lambda=p["reg_lambda"],
        max_bin=p["max_bin"],
        # skfam hands LightGBM the "model" stream derived from random_state=0.
        deterministic=True,
        force_row_wise=True,
        random_state=derive_seed(0, "model"),
        n_jobs=args.n_jobs,
        verbose=-1,
    )

    row = X[:1]
    results = {
        "fit": _paired(lambda: raw.fit(X, y), lambda: ours.fit(X, y), args.repeats),
        "predict_batch": _paired(lambda: raw.predict(X), lambda: ours.predict(X), args.repeats),
        "predict_one_row": _paired(
            lambda: raw.predict(row), lambda: ours.predict(row), max(args.repeats, 5), calls=200
        ),
    }
    same = np.allclose(raw.predict(X[:1000]), ours.predict(X[:1000]), rtol=0, atol=1e-9)

    print(
        f"data {args.rows} x {args.features}, {args.n_estimators} trees, "
        f"n_jobs={args.n_jobs}, best of {args.repeats}"
    )
    print(f"{'measure':<18}{'raw (s)':>12}{'skfam (s)':>12}{'ratio':>8}{'target':>8}  ok")
    failed = False
    for name, (raw_s, ours_s) in results.items():
        ratio = ours_s / raw_s
        ok = ratio <= TARGETS[name]
        failed |= not ok
        print(
            f"{name:<18}{raw_s:>12.6f}{ours_s:>12.6f}{ratio:>8.3f}{TARGETS[name]:>8.2f}  "
            f"{'yes' if ok else 'NO'}"
        )
    print(f"same predictions as raw LightGBM (atol 1e-9): {same}")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
