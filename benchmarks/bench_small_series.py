"""skfam's defaults on small public series sets, against the classic baselines in one run.

Two data sets that ship inside well-known packages, with their official splits:

* GunPoint (UCR archive, inside aeon's wheel): 50 training and 150 test series of length
  150, two classes. Anchor: 1-NN DTW (aeon; the archive publishes 0.907). Also aeon's
  MiniRocket, the reference of skfam's ``rocket`` family. Printed: test accuracy and its
  ratio to 1-NN DTW's. ``--only more`` runs the same on ArrowHead, ItalyPowerDemand and
  BasicMotions (multivariate).
* CO2 weekly (statsmodels, Mauna Loa 1958-2001): one step ahead from windows of 52 weeks,
  the last 20% of the windows as test. The 59 missing weeks are carried forward (no look
  ahead). Anchor: ridge on the window (scikit-learn ``Ridge(alpha=1)``); also the naive
  last value. Printed: test MSE and its ratio to ridge's (lower is better).

Every skfam estimator runs with its SST defaults (only ``device`` and ``n_jobs`` given), as
a new user would run it. The sequence families get the windows as (n, L, 1); the tabular
families (lightgbm, mlp) get them flattened.

    pip install aeon statsmodels   # not test dependencies
    python benchmarks/bench_small_series.py [--threads 2] [--only gunpoint|co2|more]
        [--families lstm,cnn1d,...] [--device cpu]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.linear_model import Ridge

import skfam

SEQUENCE = ["lstm", "cnn1d", "transformer", "rocket"]
#: Other small sets in aeon's wheel (``--only more``), to see that the defaults are not
#: tuned to GunPoint: 3 classes of 251 steps from 36 series; 2 classes of 24 steps from 67;
#: 4 classes of 6 channels x 100 steps from 40.
MORE = ["ArrowHead", "ItalyPowerDemand", "BasicMotions"]
TABULAR = ["lightgbm", "mlp"]


def _need(package: str) -> None:
    try:
        __import__(package)
    except ImportError:
        sys.exit(f"this benchmark needs {package}: pip install {package}")


def _fit(cls: type, X: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> tuple:
    params = {"n_jobs": args.threads}
    if "device" in cls._get_param_names():
        params["device"] = args.device
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", skfam.SkfamWarning)
        est = cls(**params).fit(X, y)
    seconds = time.perf_counter() - start
    notes = sorted({w.category.__name__ for w in caught})
    return est, seconds, ", ".join(notes) or "-"


def _classes(keys: list[str]) -> list[tuple[str, type, bool]]:
    """(family, classifier, sequence input) for the chosen families."""
    info = skfam.families()
    return [(k, info[k].classifier, k in SEQUENCE) for k in keys]


def _aeon_baselines(name: str, threads: int) -> list[tuple[str, float, float, str]]:
    """1-NN DTW and aeon's MiniRocket on one set (run in a child process: see below)."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
    from aeon.datasets import load_classification

    X_train, y_train = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    rows = []
    for label, model in (
        ("1-NN DTW (aeon), anchor", KNeighborsTimeSeriesClassifier(distance="dtw")),
        ("MiniRocket (aeon)", MiniRocketClassifier(random_state=0, n_jobs=threads)),
    ):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        accuracy = float(np.mean(model.predict(X_test) == y_test))
        rows.append((label, accuracy, time.perf_counter() - start, "-"))
    return rows


def classification(name: str, args: argparse.Namespace) -> None:
    """One UCR/UEA set shipped in aeon's wheel, on its official split."""
    _need("aeon")
    from aeon.datasets import load_classification

    X_train, y_train = load_classification(name, split="train")
    X_test, y_test = load_classification(name, split="test")
    print(f"\n{name}: train {X_train.shape}, test {X_test.shape} (aeon layout n, C, L)")
    # aeon's numba thread pool, once it has run, slows torch's CPU kernels in the same
    # process about 6 times (measured: 7.8 s against 46.8 s for the same LSTM fit), so the
    # baselines run in a child process.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = pool.submit(_aeon_baselines, name, args.threads).result()
    anchor = rows[0][1]
    seq_train, seq_test = X_train.transpose(0, 2, 1), X_test.transpose(0, 2, 1)
    for _, cls, sequence in _classes(args.families):
        if cls is None:
            continue
        flat_train = X_train.reshape(len(X_train), -1)
        flat_test = X_test.reshape(len(X_test), -1)
        fit_X, test_X = (seq_train, seq_test) if sequence else (flat_train, flat_test)
        est, seconds, notes = _fit(cls, fit_X, y_train, args)
        accuracy = float(np.mean(est.predict(test_X) == y_test))
        rows.append((f"skfam {cls.__name__}", accuracy, seconds, notes))
    print("| model | test accuracy | ratio to 1-NN DTW | fit s | warnings |")
    print("|---|---:|---:|---:|---|")
    for label, accuracy, seconds, notes in rows:
        print(f"| {label} | {accuracy:.3f} | {accuracy / anchor:.3f} | {seconds:.1f} | {notes} |")


def co2(args: argparse.Namespace) -> None:
    _need("statsmodels")
    import statsmodels.api as sm

    level = sm.datasets.co2.load_pandas().data["co2"].ffill().bfill().to_numpy()
    X, y = skfam.make_sequences(level[:, None], 52, target=level)
    cut = int(0.8 * len(X))
    X_train, y_train, X_test, y_test = X[:cut], y[:cut], X[cut:], y[cut:]
    print(f"\nCO2 weekly: {len(X)} windows of 52 weeks, train {cut}, test {len(X) - cut}")
    flat_train, flat_test = X_train[:, :, 0], X_test[:, :, 0]
    ridge = Ridge(alpha=1.0).fit(flat_train, y_train)
    anchor = float(np.mean((ridge.predict(flat_test) - y_test) ** 2))
    rows = [("ridge on the window, anchor", anchor, 0.0, "-")]
    naive = float(np.mean((X_test[:, -1, 0] - y_test) ** 2))
    rows.append(("naive last value", naive, 0.0, "-"))
    info = skfam.families()
    for key in args.families:
        cls = info[key].regressor
        sequence = key in SEQUENCE
        fit_X, test_X = (X_train, X_test) if sequence else (flat_train, flat_test)
        est, seconds, notes = _fit(cls, fit_X, y_train, args)
        mse = float(np.mean((est.predict(test_X) - y_test) ** 2))
        extra = f" (delta_channel {est.delta_channel_})" if hasattr(est, "delta_channel_") else ""
        rows.append((f"skfam {cls.__name__}{extra}", mse, seconds, notes))
    print("| model | test MSE | ratio to ridge | fit s | warnings |")
    print("|---|---:|---:|---:|---|")
    for name, mse, seconds, notes in rows:
        print(f"| {name} | {mse:.4f} | {mse / anchor:.3f} | {seconds:.1f} | {notes} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", choices=["gunpoint", "co2", "more"])
    parser.add_argument("--families", default=",".join(SEQUENCE + TABULAR))
    args = parser.parse_args()
    args.families = [k for k in args.families.split(",") if k]
    unknown = sorted(set(args.families) - set(skfam.families()))
    if unknown:
        parser.error(f"unknown families {unknown}; known: {sorted(skfam.families())}")
    if args.only in (None, "gunpoint"):
        classification("GunPoint", args)
    if args.only in (None, "co2"):
        co2(args)
    if args.only == "more":
        for name in MORE:
            classification(name, args)


if __name__ == "__main__":
    main()
