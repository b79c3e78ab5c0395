"""Training and prediction throughput of the torch families against plain PyTorch loops.

For each torch family the estimator trains ``--epochs`` epochs (early stopping off, a
constant learning rate, no dropout) and a plain loop trains the same module class with the
same arguments, optimizer (AdamW, same learning rate and weight decay), loss, batch size and
epochs, as a user would write it: ``randperm`` on the device, index, forward, loss,
backward, step, data already on the device. Training throughput is rows per second of the
epochs alone (skfam's from the net's history ``dur``, which excludes the input checks, the
imputer and the post-fit check; the plain loop's from its own clock after a
synchronisation), best of ``--repeats``, after one short warm-up fit per family. The plain
loop runs twice: as is, and with torch's deterministic algorithms and cuDNN's deterministic
mode (what skfam's fit turns on), which shows what determinism itself costs. Prediction:
``predict`` (everything included) and the module passes alone against a plain
``module(x)`` loop in batches of 512 rows (see :func:`prediction`).

Then, on CUDA only: run-to-run identity of each family's predictions on the GPU and the
gap of a GPU model file loaded on the CPU.

Sequence families take windows (n, L, C); tabular families the same windows flattened
(n, L * C). Families with a training step of their own (vae, gan, meta_learning) have no
plain single-loss loop to compare with and are left out of the ratio table.

Run: ``python benchmarks/bench_sequences_gpu.py [--device cuda] [--windows 200000]
[--length 60] [--channels 5] [--epochs 2] [--batches 256 1024] [--families lstm ...]``.
The targets (issue #14): training >= 0.85x the plain loop at batch 256 and 1024, prediction
>= 0.9x. With ``--device cpu`` and small sizes it runs anywhere (a smoke run of the script,
and the per-batch overhead where the model is small).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import nullcontext

import numpy as np
import torch

import skfam
from skfam import make_hybrid
from skfam._torch import seeded_torch

#: Family key -> (estimator class, parameters, input kind). The issue's sizes: LSTM 2x128,
#: Transformer d64, 4 heads, 2 layers, feed-forward 128.
FAMILIES = {
    "lstm": (skfam.LSTMRegressor, {"hidden_size": 128, "num_layers": 2}, "sequence"),
    "transformer": (
        skfam.TransformerRegressor,
        {"d_model": 64, "n_heads": 4, "num_layers": 2, "dim_feedforward": 128},
        "sequence",
    ),
    "cnn1d": (skfam.CNN1DRegressor, {"channels": [64, 64], "kernel_size": 5}, "sequence"),
    "mlp": (skfam.MLPRegressor, {"hidden_sizes": [256, 128], "batch_norm": False}, "flat"),
    "hybrid": (skfam.HybridRegressor, {"encoder": "lstm", "hidden_size": 64}, "hybrid"),
    "tab_transformer": (skfam.TabTransformerRegressor, {}, "flat"),
    "tab_cnn": (skfam.TabCNNRegressor, {}, "flat"),
    "tab_lstm": (skfam.TabLSTMRegressor, {}, "flat"),
    "multi_task": (skfam.MultiTaskRegressor, {}, "flat"),
}


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def data(windows: int, length: int, channels: int, kind: str, seed: int = 0):
    """Standardised random windows and a learnable target, in the layout ``kind`` needs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(windows, length, channels)).astype(np.float32)
    y = X[:, -5:, 0].mean(axis=1) + 0.1 * rng.normal(size=windows).astype(np.float32)
    if kind == "flat":
        X = X.reshape(windows, -1)
    elif kind == "hybrid":
        X = make_hybrid(rng.normal(size=(windows, 4)), X).astype(np.float32)
    return X, y


def fit_estimator(cls, params, X, y, device, epochs, batch):
    est = cls(
        **params,
        dropout=0.0,
        max_epochs=epochs,
        min_steps=0,
        batch_size=batch,
        early_stopping=False,
        lr_schedule="constant",
        device=device,
        random_state=0,
    )
    est.fit(X, y)
    return est, len(X) * epochs / float(np.sum(est.net_.history[:, "dur"]))


def plain_training(est, X, y, device, epochs, batch, deterministic=False) -> float:
    """Rows per second of a hand-written loop over the estimator's module class.

    ``deterministic``: the loop runs inside skfam's own deterministic section
    (:func:`skfam._torch.seeded_torch`: on CUDA, deterministic algorithms, cuDNN's
    deterministic mode, no NaN fill of new tensors), so it shows what determinism itself
    costs, apart from skfam's overhead per batch.
    """
    with seeded_torch(0, device) if deterministic else nullcontext():
        return _plain_loop(est, X, y, device, epochs, batch)


def _plain_loop(est, X, y, device, epochs, batch) -> float:
    module_class = type(est.net_.module_)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = module_class(**est.module_kwargs_).to(device)
    p = est.params_
    optimizer = torch.optim.AdamW(
        module.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"]
    )
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y[:, None], device=device)
    loss_fn = torch.nn.MSELoss()
    module.train()
    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), device=device)
        for lo in range(0, len(Xt), batch):
            index = order[lo : lo + batch]
            optimizer.zero_grad()
            out = module(Xt[index])
            loss = loss_fn(out.reshape(len(index), -1)[:, :1], yt[index])
            loss.backward()
            optimizer.step()
    sync(device)
    return len(X) * epochs / (time.perf_counter() - start)


def prediction(est, X, device, repeats: int) -> tuple[float, float, float, float]:
    """Rows/s of ``predict``, of skfam's module passes, and of two plain module(x) loops.

    Both plain loops run the module in batches of 512 rows on the inputs as the module reads
    them (imputed, standardised, float32) and bring the outputs back to the host: one starts
    from those inputs on the host (the transfer to the device included, as in any
    prediction), one from inputs already on the device. skfam's passes start from the same
    host inputs; ``predict`` also checks, imputes and standardises ``X``.
    """
    module = est.net_.module_.eval()
    inputs = est._transform_inputs(est.imputer_.transform(X))
    host = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    on_device = host.to(device)

    def plain(x: torch.Tensor) -> None:
        with torch.inference_mode():
            x = x.to(device)
            torch.cat([module(x[lo : lo + 512]) for lo in range(0, len(x), 512)]).cpu()

    runs = (
        lambda: est.predict(X),
        lambda: est._module_passes(inputs, est._predict_pass),
        lambda: plain(host),
        lambda: plain(on_device),
    )
    best = [np.inf] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            best[i] = min(best[i], time.perf_counter() - start)
    return tuple(len(X) / t for t in best)


def cuda_checks(name, cls, params, X, y, epochs, batch) -> bool:
    """Run-to-run identity on the GPU and the gap of its model file loaded on the CPU."""
    first, _ = fit_estimator(cls, {**params}, X, y, "cuda", epochs, batch)
    second, _ = fit_estimator(cls, {**params}, X, y, "cuda", epochs, batch)
    rows = X[:2000]
    same = np.array_equal(first.predict(rows), second.predict(rows))
    path = os.path.join(tempfile.mkdtemp(), f"{name}.skfam")
    first.save_model(path)
    available = torch.cuda.is_available
    torch.cuda.is_available = lambda: False  # load as on a machine without CUDA
    try:
        on_cpu = skfam.load_model(path)
    finally:
        torch.cuda.is_available = available
    gap = float(np.max(np.abs(on_cpu.predict(rows) - first.predict(rows))))
    print(f"  {name:16s} run-to-run identical on the GPU: {same}; GPU file on CPU: gap {gap:.1e}")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--length", type=int, default=60)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available: run with --device cpu, or on a GPU.")
        return 2
    where = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU"
    print(
        f"{where}, torch {torch.__version__}, {args.windows} windows x {args.length} steps x "
        f"{args.channels} channels, {args.epochs} epochs, best of {args.repeats}"
    )
    print(
        f"{'family':16s} {'batch':>5s} {'plain rows/s':>13s} {'plain, determ.':>14s} "
        f"{'skfam rows/s':>13s} ratio  ratio to determ."
    )
    predictions = []
    for name in args.families:
        cls, params, kind = FAMILIES[name]
        if kind == "hybrid":
            params = {**params, "sequence_shape": (args.length, args.channels)}
        X, y = data(args.windows, args.length, args.channels, kind)
        # One short fit first, so that the device's start (context, library handles, kernel
        # loading) is not timed as the first family's first epoch.
        fit_estimator(cls, params, X[:4096], y[:4096], device, 1, args.batches[0])
        for batch in args.batches:
            plain, determ, ours, est = 0.0, 0.0, 0.0, None
            for _ in range(args.repeats):
                est, rate = fit_estimator(cls, params, X, y, device, args.epochs, batch)
                ours = max(ours, rate)
                plain = max(plain, plain_training(est, X, y, device, args.epochs, batch))
                determ = max(determ, plain_training(est, X, y, device, args.epochs, batch, True))
            print(
                f"{name:16s} {batch:5d} {plain:13,.0f} {determ:14,.0f} {ours:13,.0f} "
                f"{ours / plain:5.2f}  {ours / determ:5.2f}",
                flush=True,
            )
        predictions.append((name, *prediction(est, X, device, args.repeats)))
    print(
        "\nprediction, rows/s: predict() | skfam's module passes | plain module(x) loop, 512"
        " rows, from inputs on the host | on the device; ratios of predict() and of the"
        " passes to the plain loop from the host"
    )
    for name, full, passes, plain, plain_device in predictions:
        print(
            f"{name:16s} {full:12,.0f} {passes:12,.0f} {plain:12,.0f} {plain_device:12,.0f}  "
            f"{full / plain:.2f} / {passes / plain:.2f}",
            flush=True,
        )
    failures = 0
    if device.startswith("cuda"):
        print("\nGPU checks (batch 512, 10,000 rows)")
        for name in args.families:
            cls, params, kind = FAMILIES[name]
            if kind == "hybrid":
                params = {**params, "sequence_shape": (args.length, args.channels)}
            X, y = data(10_000, args.length, args.channels, kind)
            failures += not cuda_checks(name, cls, params, X, y, 2, 512)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
