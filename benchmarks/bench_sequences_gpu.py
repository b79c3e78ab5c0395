"""GPU check of the sequence families (a script, not a test; needs CUDA).

For each sequence family (lstm, cnn1d, transformer, hybrid) it trains the regressor twice on
the GPU with the same seed and checks that the predictions are identical (run-to-run
determinism under ``torch.use_deterministic_algorithms``), checks that a model file written
from the GPU model predicts the same on CPU up to float tolerance, and prints training
throughput (windows/s) on GPU and on CPU. Then ``LSTMRegressor`` against a plain PyTorch
loop on the GPU with the same module, batch size and epochs (target ratio >= 0.85).

Run: ``python benchmarks/bench_sequences_gpu.py [--windows N] [--length L] [--epochs E]``.
Exits with status 1 when a run-to-run check fails, 2 when CUDA is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

import skfam

# The CPU benchmark's plain loop (this folder is on sys.path when the script runs).
from bench_sequences import plain_loop
from skfam import make_hybrid, make_sequences

FAMILIES = {
    "lstm": (skfam.LSTMRegressor, {"hidden_size": 64, "num_layers": 2}),
    "cnn1d": (skfam.CNN1DRegressor, {"channels": [64, 64], "kernel_size": 5}),
    "transformer": (
        skfam.TransformerRegressor,
        {"d_model": 64, "n_heads": 4, "num_layers": 2, "dim_feedforward": 128},
    ),
    "hybrid": (skfam.HybridRegressor, {"encoder": "lstm", "hidden_size": 64}),
}


def fit(cls, params, X, y, device, epochs, batch, dropout=0.1):
    """Fit and time; dropout on by default, so the forked RNG and determinism are exercised."""
    start = time.perf_counter()
    est = cls(
        **params,
        dropout=dropout,
        max_epochs=epochs,
        batch_size=batch,
        early_stopping=False,
        device=device,
        random_state=0,
    ).fit(X, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return est, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=50_000)
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--cpu-windows", type=int, default=5_000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("CUDA is not available: this benchmark needs a GPU.")
        return 2
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(args.windows + args.length + 1, 5)), axis=0)
    X, y = make_sequences(series, args.length, target=series[:, 3])
    X, y = np.ascontiguousarray(X[: args.windows]), np.asarray(y[: args.windows])
    features = rng.normal(size=(len(X), 4))
    failures = 0
    for name, (cls, params) in FAMILIES.items():
        if name == "hybrid":
            params = {**params, "sequence_shape": (args.length, 5)}
            data = make_hybrid(features, X)
        else:
            data = X
        first, t_gpu = fit(cls, params, data, y, "cuda", args.epochs, args.batch)
        second, _ = fit(cls, params, data, y, "cuda", args.epochs, args.batch)
        same = np.array_equal(first.predict(data[:2000]), second.predict(data[:2000]))
        failures += not same
        path = os.path.join(tempfile.mkdtemp(), f"{name}.skfam")
        first.save_model(path)
        loaded = skfam.load_model(path)
        loaded_same = np.array_equal(loaded.predict(data[:2000]), first.predict(data[:2000]))
        # Also on CPU: rebuild from the file with the net moved to CPU.
        cpu_model = skfam.load_model(path)
        cpu_model.net_.module_.to("cpu")
        cpu_model.net_.device = "cpu"
        gap = np.max(np.abs(cpu_model.predict(data[:2000]) - first.predict(data[:2000])))
        n_cpu = min(args.cpu_windows, len(data))
        _, t_cpu = fit(cls, params, data[:n_cpu], y[:n_cpu], "cpu", args.epochs, args.batch)
        print(
            f"{name:12s} run-to-run identical on GPU: {same}; model file reloads identical: "
            f"{loaded_same}; GPU vs CPU prediction gap {gap:.2e}; throughput GPU "
            f"{len(data) * args.epochs / t_gpu:9.0f} windows/s, CPU "
            f"{n_cpu * args.epochs / t_cpu:9.0f} windows/s"
        )
    lstm_vs_plain(X, y, args)
    return 1 if failures else 0


def lstm_vs_plain(X, y, args, device: str = "cuda") -> None:
    """Training throughput of LSTMRegressor against a plain loop on ``device`` (best of 3)."""
    kwargs = {"hidden_size": 64, "batch_size": args.batch, "epochs": args.epochs, "lr": 1e-3}
    plain, est = [], []
    for _ in range(3):
        plain.append(
            plain_loop(
                X, y, **kwargs, threads=torch.get_num_threads(), num_layers=2, device=device
            )
        )
        lstm = {"hidden_size": 64, "num_layers": 2, "learning_rate": 1e-3}
        _, seconds = fit(skfam.LSTMRegressor, lstm, X, y, device, args.epochs, args.batch, 0.0)
        est.append(seconds)
    n = len(X) * args.epochs
    print(
        f"LSTM on {device}: plain loop {n / min(plain):9.0f} windows/s, LSTMRegressor "
        f"{n / min(est):9.0f} windows/s, ratio {min(plain) / min(est):.3f} (target >= 0.85)"
    )


if __name__ == "__main__":
    sys.exit(main())
