"""Write the model files that tests/test_model_file_compat.py must keep loading.

Run by hand, from the repository root, after a change that should still read old files
(the files are committed; the test then proves that this release's files keep loading
with identical predictions)::

    python tests/data/compat/make_files.py

For each estimator below it fits the ``fast`` variant on small data built here from a fixed
seed, and writes next to this script ``<name>.skfam`` and ``<name>.npz`` holding the inputs
``X``, ``predict(X)`` and, for classifiers, ``predict_proba(X)``, plus ``cpu`` (the torch
CPU capability the predictions were computed with, see the test). Existing files are
replaced. Importing this module does nothing.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261127


def cpu_signature() -> str:
    """The machine and torch's CPU kernel level (e.g. ``x86_64 AVX512``)."""
    import torch

    return f"{platform.machine()} {torch.backends.cpu.get_cpu_capability()}"


def _tabular(rng: np.random.Generator, classes: bool) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(150, 5))
    signal = X[:, 0] * 2 - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    X[rng.random(X.shape) < 0.05] = np.nan
    if classes:
        labels = np.array(["low", "mid", "high"])
        return X, labels[np.digitize(signal, [-1.0, 1.0])]
    return X, signal + rng.normal(scale=0.3, size=len(X))


def _windows(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from skfam import make_sequences

    series = np.cumsum(rng.normal(size=(160, 2)), axis=0)
    return make_sequences(series, 8, target=series[:, 0])


def _series(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Series of 24 steps and 2 channels: a bump, a box or nothing at a random step."""
    labels = np.array(["bump", "box", "flat"])
    y = rng.integers(0, 3, size=90)
    X = rng.normal(scale=0.5, size=(90, 24, 2))
    shapes = [np.sin(np.linspace(0, np.pi, 8)), np.ones(8), np.zeros(8)]
    for i, start in enumerate(rng.integers(0, 16, size=90)):
        X[i, start : start + 8, 0] += 2.0 * shapes[y[i]]
    X[rng.random(X.shape) < 0.03] = np.nan
    return X, labels[y]


def estimators() -> dict[str, tuple[Any, str]]:
    """Name -> (unfitted estimator, kind of data: "regression", "classes", "windows", "series")."""
    import skfam

    cpu = {"device": "cpu"}
    return {
        "lightgbm_regressor": (skfam.LightGBMRegressor(variant="fast"), "regression"),
        "lightgbm_classifier": (skfam.LightGBMClassifier(variant="fast"), "classes"),
        "mlp_regressor": (skfam.MLPRegressor(variant="fast", **cpu), "regression"),
        "mlp_classifier_batch_norm": (
            skfam.MLPClassifier(variant="fast", batch_norm=True, **cpu),
            "classes",
        ),
        "lstm_regressor": (skfam.LSTMRegressor(variant="fast", **cpu), "windows"),
        "xgboost_regressor": (skfam.XGBoostRegressor(variant="fast", **cpu), "regression"),
        "ngboost_regressor": (skfam.NGBoostRegressor(variant="fast"), "regression"),
        "rocket_classifier": (skfam.MiniRocketClassifier(variant="fast", **cpu), "series"),
        "ensemble_classifier": (
            skfam.EnsembleClassifier(
                variant="fast",
                members=["lightgbm", "hist_gradient_boosting", "linear"],
                member_params={
                    "lightgbm": {"variant": "fast"},
                    "hist_gradient_boosting": {"max_iter": 10},
                },
            ),
            "classes",
        ),
    }


def main() -> None:
    """Fit every estimator and write its model file and expected predictions."""
    for name, (estimator, kind) in estimators().items():
        rng = np.random.default_rng(SEED)
        if kind == "windows":
            X, y = _windows(rng)
        elif kind == "series":
            X, y = _series(rng)
        else:
            X, y = _tabular(rng, classes=kind == "classes")
        estimator.set_params(random_state=SEED % 1000).fit(X, y)
        expected = {"X": X, "predict": estimator.predict(X), "cpu": np.array(cpu_signature())}
        if hasattr(estimator, "predict_proba"):
            expected["predict_proba"] = estimator.predict_proba(X)
        estimator.save_model(HERE / f"{name}.skfam")
        np.savez(HERE / f"{name}.npz", **expected)
        size = (HERE / f"{name}.skfam").stat().st_size
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    main()
