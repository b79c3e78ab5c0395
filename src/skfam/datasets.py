"""Demo data that ships with the installed packages: no download, ever."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split

from ._seeds import derive_seed

__all__ = ["DemoData", "load_demo"]


class DemoData(NamedTuple):
    """A train/test split of a demo dataset."""

    name: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    #: (L, C) of the sequence part, for hybrid input; None otherwise.
    sequence_shape: tuple[int, int] | None = None


def _series(seed: int, n: int = 1500) -> np.ndarray:
    """Return a synthetic OHLCV series whose close follows an AR(2) on returns."""
    rng = np.random.default_rng(seed)
    returns = np.zeros(n)
    noise = rng.normal(scale=0.01, size=n)
    for t in range(2, n):
        returns[t] = 0.5 * returns[t - 1] - 0.3 * returns[t - 2] + noise[t]
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(scale=0.005, size=n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(mean=10, sigma=0.3, size=n)
    return np.column_stack([open_, high, low, close, volume])


def load_demo(task: str, input_mode: str = "features", seed: int = 42) -> DemoData:
    """Return a demo train/test split for ``task`` and ``input_mode``.

    Features: scikit-learn's diabetes (regression) and breast-cancer (classification)
    datasets, which ship with scikit-learn. Sequences: windows of 30 bars of a synthetic
    OHLCV series generated from ``seed``, with the next bar's return (regression) or its
    sign (classification) as target. Hybrid: the same windows plus two summary features.

    Parameters
    ----------
    task : {"regression", "classification"}
        Which target.
    input_mode : {"features", "sequence", "hybrid"}, default="features"
        The input layout the family expects.
    seed : int, default=42
        Seed of the split (and of the synthetic series).

    Returns
    -------
    data : DemoData
        Train/test split (25% test; for sequences in time order, with a gap of one
        window between the parts).

    Examples
    --------
    >>> from skfam.datasets import load_demo
    >>> load_demo("regression").X_train.shape
    (331, 10)
    """
    split_seed = derive_seed(seed, "split")
    if input_mode == "features":
        if task == "regression":
            X, y = load_diabetes(return_X_y=True)
            name = "diabetes"
        else:
            X, y = load_breast_cancer(return_X_y=True)
            name = "breast_cancer"
        stratify = y if task == "classification" else None
        parts = train_test_split(X, y, test_size=0.25, random_state=split_seed, stratify=stratify)
        return DemoData(name, *parts)
    if input_mode not in ("sequence", "hybrid"):
        raise ValueError(f"input_mode must be features, sequence or hybrid, got {input_mode!r}.")
    from .sequences import make_hybrid, make_sequences

    series = _series(seed)
    log_close = np.log(series[:, 3])
    target = np.concatenate([[0.0], np.diff(log_close)]) * 100
    X, y = make_sequences(series, 30, target=target, normalization="returns")
    if task == "classification":
        y = np.where(y > 0, "up", "down")
    if input_mode == "hybrid":
        flat = X.reshape(len(X), -1)
        features = np.column_stack([flat.mean(axis=1), flat.std(axis=1)])
        X = make_hybrid(features, X)
    # Time order with a purge gap of one window length, so no test window overlaps a
    # training window.
    cut = int(len(X) * 0.75)
    test = cut + 30
    name = "synthetic_ohlcv" + ("_hybrid" if input_mode == "hybrid" else "")
    shape = (30, series.shape[1]) if input_mode == "hybrid" else None
    return DemoData(name, X[:cut], X[test:], y[:cut], y[test:], shape)
