"""Benchmark of the FT-Transformer family (a script, not a test).

1. Training throughput (rows/s) of ``TabTransformerRegressor`` against a plain PyTorch loop
   over the same module (:class:`skfam.nn.tab_transformer.TabTransformerModule`): the same
   standardised data, module sizes, batch size, epochs, AdamW settings and threads, measured
   in one run, interleaved, best of ``--repeats`` (target ratio >= 0.85 on CPU). The
   estimator's time is its whole ``fit``: imputation, scaling, skorch's loop, the post-fit
   check. Early stopping is off and the learning rate constant on both sides.
2. Latency of ``predict`` on one row (median of ``--latency-calls`` calls), next to the
   module's own forward pass on that row: skfam predicts in fixed passes of
   ``PREDICT_CHUNK`` rows (padded), so a row's output does not depend on the rows predicted
   with it, and one row costs a full pass.

Run: ``python benchmarks/bench_tab_transformer.py [--rows N] [--features F] [--epochs E]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from skfam import TabTransformerRegressor, load_model_config
from skfam._torch import PREDICT_CHUNK
from skfam.nn.tab_transformer import TabTransformerModule


def _module_kwargs(sst: dict, n_features: int) -> dict:
    return {
        "n_num": n_features,
        "n_out": 1,
        "d_token": sst["d_token"],
        "n_heads": sst["n_heads"],
        "num_layers": sst["num_layers"],
        "dim_feedforward": sst["dim_feedforward"],
        "dropout": sst["dropout"],
    }


def plain_loop(X, y, sst: dict, *, epochs: int, threads: int, seed: int = 0) -> float:
    """Train the module with a hand-written loop; return the seconds it took."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    # The estimator's preparation: standardised inputs and target, float32 tensors whose
    # batches are slices.
    Xt = torch.as_tensor(((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32))
    yt = torch.as_tensor(((y - y.mean()) / y.std()).astype(np.float32)[:, None])
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = TabTransformerModule(**_module_kwargs(sst, X.shape[1]))
        optimizer = torch.optim.AdamW(
            module.parameters(), lr=sst["learning_rate"], weight_decay=sst["weight_decay"]
        )
        loss_fn = torch.nn.MSELoss()
        module.train()
        batch = sst["batch_size"]
        for _ in range(epochs):
            order = torch.randperm(len(Xt), generator=generator)
            for lo in range(0, len(Xt), batch):
                index = order[lo : lo + batch]
                optimizer.zero_grad()
                loss = loss_fn(module(Xt[index]), yt[index])
                loss.backward()
                optimizer.step()
    return time.perf_counter() - start


def estimator_fit(X, y, *, epochs: int, threads: int) -> tuple[float, TabTransformerRegressor]:
    start = time.perf_counter()
    reg = TabTransformerRegressor(
        max_epochs=epochs,
        early_stopping=False,
        lr_schedule="constant",
        device="cpu",
        n_jobs=threads,
        random_state=0,
    ).fit(X, y)
    return time.perf_counter() - start, reg


def latency(reg: TabTransformerRegressor, X: np.ndarray, sst: dict, calls: int) -> None:
    row = X[:1]
    reg.predict(row)  # warm
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        reg.predict(row)
        times.append(time.perf_counter() - start)
    module = reg.net_.module_.eval()
    tensor = torch.as_tensor(reg._transform_inputs(row).astype(np.float32))
    forward = []
    with torch.inference_mode():
        module(tensor)
        for _ in range(calls):
            start = time.perf_counter()
            module(tensor)
            forward.append(time.perf_counter() - start)
    print(
        f"  predict one row: median {np.median(times) * 1e3:.2f} ms (p90 "
        f"{np.quantile(times, 0.9) * 1e3:.2f} ms) over {calls} calls: one padded pass of "
        f"{PREDICT_CHUNK} rows; the module's forward on the row alone: "
        f"{np.median(forward) * 1e3:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-calls", type=int, default=200)
    args = parser.parse_args()
    sst = load_model_config("tab_transformer")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    y = X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.1 * rng.normal(size=args.rows)
    print(
        f"TabTransformerRegressor throughput: {args.rows} rows x {args.features} features, "
        f"SST sizes (d_token {sst['d_token']}, {sst['n_heads']} heads, {sst['num_layers']} "
        f"layers, feed-forward {sst['dim_feedforward']}, dropout {sst['dropout']}), batch "
        f"{sst['batch_size']}, {args.epochs} epochs, {args.threads} thread(s), CPU"
    )
    warm = max(2 * sst["batch_size"], 512)
    plain_loop(X[:warm], y[:warm], sst, epochs=1, threads=args.threads)
    estimator_fit(X[:warm], y[:warm], epochs=1, threads=args.threads)
    times: dict[str, list[float]] = {"plain": [], "estimator": []}
    reg = None
    for _ in range(args.repeats):  # interleaved
        times["plain"].append(plain_loop(X, y, sst, epochs=args.epochs, threads=args.threads))
        seconds, reg = estimator_fit(X, y, epochs=args.epochs, threads=args.threads)
        times["estimator"].append(seconds)
    n = args.rows * args.epochs
    best = {key: min(values) for key, values in times.items()}
    print(f"  plain PyTorch loop      : {n / best['plain']:9.0f} rows/s")
    print(f"  TabTransformerRegressor : {n / best['estimator']:9.0f} rows/s")
    ratio = best["plain"] / best["estimator"]
    medians = np.median(times["plain"]) / np.median(times["estimator"])
    print(f"  ratio estimator / loop  : {ratio:.3f} (medians {medians:.3f})  (target >= 0.85)")
    print(f"  (best of {args.repeats} interleaved runs each)")
    latency(reg, X, sst, args.latency_calls)


if __name__ == "__main__":
    main()
