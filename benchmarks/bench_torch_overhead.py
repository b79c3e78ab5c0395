"""Per-batch overhead of skfam's torch training loop, where it shows most: a tiny net on CPU.

A (8 -> 16 -> 1) MLP trains on 40,000 rows in batches of 256 (157 steps an epoch), one
thread. ``MLPRegressor``'s epochs (the net's history ``dur``: the loop alone, without input
checks, imputation or the post-fit check) against a plain loop over the same module class,
AdamW, the same batches and epochs. With so small a model nearly all of the difference is
per-batch work around the model: what remains on a GPU, where each host synchronisation
also stalls the device. Interleaved runs, best and median of ``--repeats``.

Run: ``python benchmarks/bench_torch_overhead.py [--repeats 7] [--batch 256]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from skfam import MLPRegressor
from skfam.nn.mlp import MLPModule


def plain(X, y, batch: int, epochs: int, lr: float, weight_decay: float) -> float:
    """Seconds per epoch of a hand-written loop over the same module."""
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)[:, None]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = MLPModule(X.shape[1], 1, hidden_sizes=[16])
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(0)
    module.train()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=generator)
        for lo in range(0, len(Xt), batch):
            index = order[lo : lo + batch]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(module(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - start) / epochs


def skfam_epoch(X, y, batch: int, epochs: int) -> tuple[float, MLPRegressor]:
    """Seconds per epoch of MLPRegressor's training loop (history ``dur``)."""
    est = MLPRegressor(
        hidden_sizes=[16],
        dropout=0.0,
        batch_norm=False,
        max_epochs=epochs,
        min_steps=0,
        batch_size=batch,
        early_stopping=False,
        lr_schedule="constant",
        n_jobs=1,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    return float(np.mean(est.net_.history[:, "dur"])), est


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 8))
    y = X[:, 0] + 0.1 * rng.normal(size=args.rows)
    _, est = skfam_epoch(X, y, args.batch, 1)  # warm-up, and the resolved settings
    lr, decay = est.params_["learning_rate"], est.params_["weight_decay"]
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(plain(X, y, args.batch, args.epochs, lr, decay))
        ours.append(skfam_epoch(X, y, args.batch, args.epochs)[0])
    steps = -(-args.rows // args.batch)
    print(f"torch {torch.__version__}, {args.rows} rows, batch {args.batch}, {steps} steps/epoch")
    for name, f in (("best", min), ("median", statistics.median)):
        a, b = f(theirs), f(ours)
        print(
            f"{name:6s} plain {a * 1e3:7.1f} ms/epoch  skfam {b * 1e3:7.1f} ms/epoch  "
            f"ratio {a / b:.3f}  overhead {(b - a) / steps * 1e6:5.1f} us/step"
        )


if __name__ == "__main__":
    main()
