"""Benchmarks of the sequence families (a script, not a test).

1. Training throughput (windows/s) of ``LSTMRegressor`` against a plain PyTorch loop with
   the same module, batch size, epochs, optimiser and threads, measured in one run
   (target ratio >= 0.85 on CPU): the default ``cpu_kernels="portable"`` against the loop
   with the same (native) kernels, ``cpu_kernels="onednn"`` against the loop with torch's
   default (oneDNN) kernels, and, for the cost of the portable kernels, the default
   against torch's default.
2. Peak extra memory of ``make_sequences`` on a (1,000,000 x 5) float64 series with L=60
   (target <= 1.2 x the input's size without normalisation).

Run: ``python benchmarks/bench_sequences.py [--windows N] [--length L] [--epochs E]``.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import torch

from skfam import LSTMRegressor, make_sequences
from skfam.nn import LSTMModule


def plain_loop(
    X,
    y,
    *,
    module_kwargs,
    batch_size,
    epochs,
    lr,
    threads,
    onednn=True,
    seed=0,
    device="cpu",
) -> float:
    """Train LSTMModule with a hand-written loop; return the seconds it took.

    ``module_kwargs``: the module's arguments, those the estimator built its module with
    (``module_kwargs_``: the SST's readout and linear skip included), so both train the
    same network.
    """
    torch.set_num_threads(threads)
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = onednn
    try:
        return _plain_loop(X, y, module_kwargs, batch_size, epochs, lr, seed, device)
    finally:
        torch.backends.mkldnn.enabled = previous


def _plain_loop(X, y, module_kwargs, batch_size, epochs, lr, seed, device) -> float:
    start = time.perf_counter()
    # The same preparation as the estimator: per-channel standardisation, float32 tensors
    # (on the device, batches sliced from them).
    flat = X.reshape(-1, X.shape[-1])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    Xt = torch.as_tensor(((X - mean) / std).astype(np.float32), device=device)
    yt = torch.as_tensor(((y - y.mean()) / y.std()).astype(np.float32)[:, None], device=device)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = LSTMModule(**module_kwargs).to(device)
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=0.0)
    loss_fn = torch.nn.MSELoss()
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=generator).to(device)
        for lo in range(0, len(Xt), batch_size):
            index = order[lo : lo + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(module(Xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def estimator(*, hidden_size, batch_size, epochs, lr, threads, kernels="portable"):
    return LSTMRegressor(
        cpu_kernels=kernels,
        hidden_size=hidden_size,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        learning_rate=lr,
        batch_size=batch_size,
        max_epochs=epochs,
        early_stopping=False,
        device="cpu",
        n_jobs=threads,
        random_state=0,
    )


def estimator_fit(X, y, *, kernels="portable", **kwargs) -> float:
    start = time.perf_counter()
    estimator(kernels=kernels, **kwargs).fit(X, y)
    return time.perf_counter() - start


def throughput(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    series = np.cumsum(rng.normal(size=(args.windows + args.length + 1, 5)), axis=0)
    X, y = make_sequences(series, args.length, target=series[:, 3])
    X = np.ascontiguousarray(X[: args.windows])
    y = y[: args.windows]
    kwargs = {
        "hidden_size": args.hidden,
        "batch_size": args.batch,
        "epochs": args.epochs,
        "lr": 1e-3,
        "threads": args.threads,
    }
    n = len(X) * args.epochs
    # The module the estimator builds (readout, linear skip), for the plain loops to train.
    module_kwargs = estimator(**{**kwargs, "epochs": 1}).fit(X[:512], y[:512]).module_kwargs_
    loop_kwargs = {k: v for k, v in kwargs.items() if k != "hidden_size"}
    loop_kwargs["module_kwargs"] = module_kwargs
    print(
        f"LSTM throughput: {len(X)} windows x L={args.length} x C=5, hidden {args.hidden}, "
        f"batch {args.batch}, {args.epochs} epochs, {args.threads} thread(s), CPU"
    )
    times: dict[str, list[float]] = {
        "plain_on": [],
        "plain_off": [],
        "portable": [],
        "onednn": [],
    }
    # One untimed pass of each first: oneDNN builds its kernels on first use.
    warm = {**kwargs, "epochs": 1}
    plain_warm = {**loop_kwargs, "epochs": 1}
    plain_loop(X[:512], y[:512], **plain_warm)
    plain_loop(X[:512], y[:512], onednn=False, **plain_warm)
    estimator_fit(X[:512], y[:512], **warm)
    estimator_fit(X[:512], y[:512], kernels="onednn", **warm)
    for _ in range(args.repeats):  # interleaved, best of each
        times["plain_on"].append(plain_loop(X, y, **loop_kwargs))
        times["plain_off"].append(plain_loop(X, y, onednn=False, **loop_kwargs))
        times["portable"].append(estimator_fit(X, y, **kwargs))
        times["onednn"].append(estimator_fit(X, y, kernels="onednn", **kwargs))
    best = {key: min(values) for key, values in times.items()}
    for key, label in [
        ("plain_on", "plain loop, oneDNN on (torch default)"),
        ("plain_off", "plain loop, oneDNN off"),
        ("portable", 'LSTMRegressor, cpu_kernels="portable"'),
        ("onednn", 'LSTMRegressor, cpu_kernels="onednn"'),
    ]:
        print(f"  {label:40s}: {n / best[key]:9.0f} samples/s")
    for est, plain, what in [
        ("portable", "plain_off", "portable vs loop with the same kernels"),
        ("onednn", "plain_on", "onednn vs loop with torch's default"),
        ("portable", "plain_on", "portable vs loop with torch's default"),
    ]:
        ratio = best[plain] / best[est]
        medians = np.median(times[plain]) / np.median(times[est])
        target = "" if what.startswith("portable vs loop with torch") else "  (target >= 0.85)"
        print(f"  ratio {what:40s}: {ratio:.3f} (medians {medians:.3f}){target}")
    print(f"  (best of {args.repeats} interleaved runs each)")


def memory(args: argparse.Namespace) -> None:
    T, C, L = args.rows, 5, 60
    data = np.random.default_rng(0).normal(size=(T, C))
    size = data.nbytes
    print(f"make_sequences memory: series {T} x {C} float64 ({size / 2**20:.1f} MiB), L={L}")
    for label, kwargs in [
        ("no target", {}),
        ("with target", {"target": data[:, 3]}),
        ("zscore (materialised)", {"normalization": "zscore", "target": data[:, 3]}),
    ]:
        if kwargs.get("normalization") and not args.normalized:
            continue
        gc.collect()
        tracemalloc.start()
        result = make_sequences(data, L, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        X = result[0] if isinstance(result, tuple) else result
        view = np.shares_memory(X, data)
        print(
            f"  {label:22s}: X {X.shape}, view={view}, peak extra {peak / 2**20:8.1f} MiB"
            f" = {peak / size:.3f} x input (target <= 1.2 without normalisation)"
        )
        del result, X


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--normalized", action="store_true", help="also time zscore")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    memory(args)
    if not args.skip_throughput:
        throughput(args)


if __name__ == "__main__":
    main()
