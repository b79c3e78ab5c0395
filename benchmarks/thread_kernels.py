"""Which of torch's CPU kernels give other bits for another thread count, on this machine.

skfam promises a fit that is the same for any ``n_jobs``. Whether that holds depends on the
kernels torch picks on the machine at hand (MKL's matrix products, oneDNN's convolutions
and LSTM, torch's own reductions), and those differ between CPUs and builds. This script
runs each layer skfam's nets use, forward and backward, at the SST's default widths, with
1, 2 and 4 threads, and prints whether the outputs and gradients are bitwise identical.
Then it fits the sequence families with dropout (as the test suite does) with ``n_jobs`` 1
and 2 and compares their predictions.

Run: ``python benchmarks/thread_kernels.py [--no-fits]``. Run it once with ``MKL_CBWR``
unset and once with ``MKL_CBWR=AUTO,STRICT`` (what ``import skfam`` sets) to see what MKL's
strict reproducibility mode changes; the variable is read at MKL's first call, so each run
is its own process, and the layers run before ``skfam`` is imported.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable

import torch
import torch.nn.functional as F

THREADS = (1, 2, 4)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _run(make: Callable[[], torch.nn.Module], inputs: torch.Tensor, threads: int, mkldnn: bool):
    """Forward and backward of a fresh copy of a module; every output and gradient."""
    previous = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = mkldnn
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = make()
            x = inputs.clone().requires_grad_(True)
            out = module(x)
            out = out[0] if isinstance(out, tuple) else out
            weights = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
            (out * weights).sum().backward()
        grads = [p.grad.clone() for p in module.parameters() if p.grad is not None]
        return [out.detach().clone(), x.grad.clone(), *grads]
    finally:
        torch.set_num_threads(previous[0])
        torch.backends.mkldnn.enabled = previous[1]


class _Lambda(torch.nn.Module):
    def __init__(self, fn: Callable, *params: torch.nn.Parameter):
        super().__init__()
        self.fn = fn
        self.params = torch.nn.ParameterList(params)

    def forward(self, x):
        return self.fn(x, *self.params)


def layers() -> dict[str, tuple[Callable[[], torch.nn.Module], torch.Tensor]]:
    """Name -> (module factory, input), at the widths of the SST's defaults and larger."""
    g = torch.Generator().manual_seed(1)
    rows = torch.randn(256 * 20, 32, generator=g)
    wide = torch.randn(256 * 60, 128, generator=g)
    windows = torch.randn(256, 20, 3, generator=g)
    long_windows = torch.randn(256, 60, 5, generator=g)
    heads = torch.randn(256 * 4, 20, 8, generator=g)
    return {
        "linear 32->64, 5120 rows": (lambda: torch.nn.Linear(32, 64), rows),
        "linear 128->128, 15360 rows": (lambda: torch.nn.Linear(128, 128), wide),
        "bmm attention scores": (
            lambda: _Lambda(lambda x: torch.bmm(x, x.transpose(1, 2))),
            heads,
        ),
        "softmax (native)": (lambda: _Lambda(lambda x: torch.softmax(x, -1)), heads),
        "layer_norm (native)": (lambda: torch.nn.LayerNorm(32), rows),
        "conv1d 3->64 k5": (
            lambda: _Lambda(
                lambda x, w: F.conv1d(x.transpose(1, 2), w),
                torch.nn.Parameter(
                    torch.randn(64, 3, 5, generator=torch.Generator().manual_seed(2))
                ),
            ),
            windows,
        ),
        "lstm 3->64 x2": (lambda: torch.nn.LSTM(3, 64, 2, batch_first=True), windows),
        "lstm 5->128 x2": (lambda: torch.nn.LSTM(5, 128, 2, batch_first=True), long_windows),
        "sum over rows": (lambda: _Lambda(lambda x: x.sum(0)), wide),
        "dropout 0.3": (lambda: torch.nn.Dropout(0.3), wide),
    }


def probe() -> int:
    print(f"CPU: {_cpu_name()}; {os.cpu_count()} cores; torch {torch.__version__}")
    print(
        f"MKL_CBWR={os.environ.get('MKL_CBWR', '(unset)')}; MKL available: "
        f"{torch.backends.mkl.is_available()}; capability: "
        f"{torch.backends.cpu.get_cpu_capability()}"
    )
    config = torch.__config__.show()
    for line in config.splitlines():
        if any(k in line for k in ("BLAS_INFO", "LAPACK_INFO", "oneDNN", "Math Kernel", "MKL")):
            print("  " + line.strip()[:140])
    differs = 0
    print(f"{'layer':32s} {'oneDNN':7s} " + " ".join(f"{t}thr" for t in THREADS[1:]))
    for name, (make, inputs) in layers().items():
        for mkldnn in (False, True):
            base = _run(make, inputs, 1, mkldnn)
            marks = []
            for threads in THREADS[1:]:
                other = _run(make, inputs, threads, mkldnn)
                same = all(torch.equal(a, b) for a, b in zip(base, other, strict=True))
                differs += not same
                marks.append("same" if same else "DIFF")
            print(f"{name:32s} {'on' if mkldnn else 'off':7s} " + " ".join(marks))
    return differs


def fits() -> int:
    import numpy as np

    import skfam

    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 20, 3))
    y = X[:, -1, 0] + rng.normal(scale=0.1, size=400)
    cases = [
        (skfam.CNN1DRegressor, {}),
        (skfam.LSTMRegressor, {}),
        (skfam.TransformerRegressor, {}),
        (skfam.HybridRegressor, {"encoder": "lstm", "sequence_shape": (20, 3)}),
    ]
    differs = 0
    for cls, params in cases:
        data = X.reshape(400, -1) if "Hybrid" in cls.__name__ else X
        common = {**params, "device": "cpu", "dropout": 0.3, "max_epochs": 2, "batch_size": 64}
        one = cls(**common, n_jobs=1).fit(data, y).predict(data)
        two = cls(**common, n_jobs=2).fit(data, y).predict(data)
        same = np.array_equal(one, two)
        differs += not same
        gap = float(np.max(np.abs(one - two)))
        verdict = "same" if same else "DIFF"
        print(f"fit {cls.__name__:24s} n_jobs 1 vs 2: {verdict} (gap {gap:.1e})")
    return differs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-fits", action="store_true", help="the layers only")
    args = parser.parse_args()
    differs = probe()
    if not args.no_fits:
        differs += fits()
    print(f"{differs} comparisons differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
