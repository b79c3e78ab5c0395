"""Wrapper overhead of the boosting families: skfam against the raw library, side by side.

Each pair fits the same model with the same parameters, seed and thread count on the same
data, alternating skfam and raw, and keeps the best of ``--repeats`` fit times. Printed:
fit seconds, held-out score and the ratio skfam / raw (target for fit: <= 1.05).

    python benchmarks/bench_boosting.py [--rows 20000] [--repeats 3] [--threads 2]

quantile_lightgbm: three LightGBM boosters with ``objective="quantile"`` (mean pinball
loss); xgboost: ``xgboost.XGBRegressor`` (R^2); ensemble: scikit-learn's
``StackingRegressor`` with the same members and folds (R^2); ngboost: the reference
``ngboost.NGBRegressor`` with the same trees and settings (test NLL, lower is better; the
reference package is a dev dependency, the oracle of tests/test_ngboost.py).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from scipy.stats import norm
from sklearn.ensemble import (
    HistGradientBoostingRegressor,
    RandomForestRegressor,
    StackingRegressor,
)
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import mean_pinball_loss, r2_score
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfam import (
    EnsembleRegressor,
    NGBoostRegressor,
    QuantileLightGBMRegressor,
    XGBoostRegressor,
)
from skfam._seeds import derive_seed

SEED = 0
QUANTILES = (0.1, 0.5, 0.9)


def _data(rows: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(rows + rows // 4, 20))
    y = X[:, 0] + np.sin(2 * X[:, 1]) + (0.5 + np.abs(X[:, 2])) * rng.normal(size=len(X))
    return X[:rows], y[:rows], X[rows:], y[rows:]


def _best(fit: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, model = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        model = fit()
        best = min(best, time.perf_counter() - start)
    return best, model


def _pair(name, skfam_fit, raw_fit, skfam_score, raw_score, repeats):
    times = {"skfam": np.inf, "raw": np.inf}
    models = {}
    for _ in range(repeats):  # alternate, so drifting load hits both alike
        for key, fit in (("skfam", skfam_fit), ("raw", raw_fit)):
            t, models[key] = _best(fit, 1)
            times[key] = min(times[key], t)
    s_skfam, s_raw = skfam_score(models["skfam"]), raw_score(models["raw"])
    print(
        f"{name:<18} fit skfam {times['skfam']:7.3f}s  raw {times['raw']:7.3f}s  "
        f"ratio {times['skfam'] / times['raw']:5.3f}   score skfam {s_skfam:.4f}  "
        f"raw {s_raw:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    X, y, Xt, yt = _data(args.rows)
    threads, repeats = args.threads, args.repeats
    print(f"{args.rows} rows x {X.shape[1]} features, {threads} threads, best of {repeats}")

    # ---------------------------------------------------------------- quantile_lightgbm
    lgb_params = {
        "n_estimators": 200,
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": -1,
        "min_child_samples": 20,
        "min_child_weight": 1e-3,
        "min_split_gain": 0.0,
        "subsample": 1.0,
        "subsample_freq": 0,
        "colsample_bytree": 1.0,
        "reg_alpha": 0.0,
        "reg_lambda": 0.0,
        "max_bin": 255,
    }

    def skfam_quantiles():
        return QuantileLightGBMRegressor(
            quantiles=QUANTILES,
            **lgb_params,
            early_stopping=False,
            random_state=SEED,
            n_jobs=threads,
        ).fit(X, y)

    def raw_quantiles():
        return [
            lgb.LGBMRegressor(
                objective="quantile",
                alpha=q,
                **lgb_params,
                random_state=derive_seed(SEED, "model", index=i),
                deterministic=True,
                force_row_wise=True,
                n_jobs=threads,
                verbosity=-1,
            ).fit(X, y)
            for i, q in enumerate(QUANTILES)
        ]

    def pinball(pred: np.ndarray) -> float:
        return float(
            np.mean([mean_pinball_loss(yt, pred[:, j], alpha=q) for j, q in enumerate(QUANTILES)])
        )

    _pair(
        "quantile_lightgbm",
        skfam_quantiles,
        raw_quantiles,
        lambda m: pinball(m.predict_quantiles(Xt)),
        lambda ms: pinball(np.sort(np.column_stack([m.predict(Xt) for m in ms]), axis=1)),
        repeats,
    )

    # ---------------------------------------------------------------- xgboost
    xgb_params = {
        "n_estimators": 200,
        "learning_rate": 0.1,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_alpha": 0.0,
        "reg_lambda": 1.0,
        "gamma": 0.0,
        "max_bin": 256,
    }
    _pair(
        "xgboost",
        lambda: XGBoostRegressor(
            **xgb_params, early_stopping=False, device="cpu", random_state=SEED, n_jobs=threads
        ).fit(X, y),
        lambda: xgb.XGBRegressor(
            **xgb_params,
            tree_method="hist",
            device="cpu",
            random_state=derive_seed(SEED, "model"),
            n_jobs=threads,
        ).fit(X, y),
        lambda m: r2_score(yt, m.predict(Xt)),
        lambda m: r2_score(yt, m.predict(Xt)),
        repeats,
    )

    # ---------------------------------------------------------------- ensemble
    member_params = {
        "hist_gradient_boosting": {"max_iter": 100},
        "random_forest": {"n_estimators": 50, "min_samples_leaf": 5},
        "linear": {},
    }

    def raw_stack():
        members = [
            (
                "hist_gradient_boosting",
                HistGradientBoostingRegressor(
                    max_iter=100, random_state=derive_seed(SEED, "members", index=0)
                ),
            ),
            (
                "random_forest",
                RandomForestRegressor(
                    n_estimators=50,
                    min_samples_leaf=5,
                    random_state=derive_seed(SEED, "members", index=1),
                    n_jobs=threads,
                ),
            ),
            ("linear", make_pipeline(StandardScaler(), Ridge())),
        ]
        cv = KFold(5, shuffle=True, random_state=derive_seed(SEED, "cv"))
        return StackingRegressor(
            members, final_estimator=RidgeCV(alphas=np.logspace(-3, 3, 13)), cv=cv
        ).fit(X, y)

    _pair(
        "ensemble",
        lambda: EnsembleRegressor(
            member_params=member_params, cv=5, random_state=SEED, n_jobs=threads
        ).fit(X, y),
        raw_stack,
        lambda m: r2_score(yt, m.predict(Xt)),
        lambda m: r2_score(yt, m.predict(Xt)),
        repeats,
    )

    # ---------------------------------------------------------------- ngboost
    # The reference package with skfam's settings: Normal, natural gradient, no subsampling,
    # the same trees (min_samples_leaf=1 is the SST's; the trees' random_state is skfam's
    # fixed one). Exact split ties may make the two fits part ways in the last digits.
    def raw_ngboost():
        from ngboost import NGBRegressor
        from ngboost.distns import Normal
        from sklearn.tree import DecisionTreeRegressor

        tree = DecisionTreeRegressor(
            criterion="squared_error", max_depth=3, min_samples_leaf=1, random_state=0
        )
        return NGBRegressor(
            Dist=Normal,
            Base=tree,
            n_estimators=200,
            learning_rate=0.05,
            minibatch_frac=1.0,
            col_sample=1.0,
            natural_gradient=True,
            verbose=False,
        ).fit(X, y)

    def skfam_nll(model) -> float:
        dist = model.predict_dist(Xt)
        return float(-norm.logpdf(yt, dist["loc"], dist["scale"]).mean())

    def raw_nll(model) -> float:
        dist = model.pred_dist(Xt)
        return float(-norm.logpdf(yt, dist.loc, dist.scale).mean())

    _pair(
        "ngboost (NLL)",
        lambda: NGBoostRegressor(
            n_estimators=200, learning_rate=0.05, early_stopping=False, n_jobs=threads
        ).fit(X, y),
        raw_ngboost,
        skfam_nll,
        raw_nll,
        repeats,
    )


if __name__ == "__main__":
    main()
