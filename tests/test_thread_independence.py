"""n_jobs=1 and n_jobs=2 give the same model, at sizes where kernels split their work.

``tests/test_determinism.py`` checks the thread-count property on the ``fast`` variant's
tiny shapes, where every kernel runs on one thread whatever ``n_jobs`` says. Here every
module option of every torch family trains at the SST's default widths on a few thousand
rows (2 epochs), so that batch statistics, matrix products and elementwise kernels are big
enough to be split between threads. ``n_jobs`` is passed explicitly (the test processes run
with ``OMP_NUM_THREADS=1``, tests/conftest.py).

At these sizes MKL's float32 matrix products split their inner dimension between threads;
the property holds because ``import skfam`` turns on MKL's strict conditional numerical
reproducibility (``MKL_CBWR=AUTO,STRICT``, docs/determinism.md) before the process's first
product. Each family's cases run in a fresh interpreter whose environment has no
``MKL_CBWR``, so what is tested is skfam's own default (without strict mode every case fails
but the MLP ones at the SST's default widths, by up to 2e-5 in the predictions; the MLP with
torch's own batch norm fails either way, by 2e-3).

Not covered: the LSTM's ``cpu_kernels="onednn"``, which is documented as reproducible for
the same ``n_jobs`` only (oneDNN sums gradients per thread); that weaker promise is
checked by ``test_onednn_kernels_repeat_bit_for_bit_for_the_same_n_jobs`` in
``tests/test_sequence_families.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import skfam

from ._strategies import predictions

ROOT = Path(__file__).resolve().parent.parent

ROWS = 3000
#: (L, C) of the sequences; the hybrid rows put 4 tabular features in front.
SEQUENCE = (12, 3)
N_TABULAR = 4


def _data(input_mode: str, task: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    length, channels = SEQUENCE
    if input_mode == "features":
        X = rng.normal(size=(ROWS, 40))
        signal = X[:, 0] + np.sin(X[:, 1]) + X[:, 2] * X[:, 3]
    else:
        X = rng.normal(size=(ROWS, length, channels)).cumsum(axis=1)
        signal = X[:, -1, 0] - X[:, -4, 1]
        if input_mode == "hybrid":
            tabular = rng.normal(size=(ROWS, N_TABULAR))
            signal = signal + tabular[:, 0]
            X = np.hstack([tabular, X.reshape(ROWS, -1)])
    y = signal + rng.normal(scale=0.3, size=ROWS)
    if task == "classification":
        y = np.where(y > np.median(y), "up", "down")
    return X, y


def _case(name: str, params: dict | None = None) -> pytest.param:
    label = ",".join(f"{k}={v}" for k, v in (params or {}).items()) or "sst"
    return pytest.param(name, params or {}, id=f"{name}[{label}]")


_HYBRID = {"sequence_shape": SEQUENCE}
_PORTABLE = {"cpu_kernels": "portable"}

CASES = [
    # mlp: batch norm on and off, every activation, dropout (the SST's 0.1, and 0.2),
    # classification, and the "large" variant (batches of 1024 rows, widths up to 512).
    _case("MLPRegressor"),
    _case("MLPRegressor", {"batch_norm": True, "dropout": 0.2}),
    *(_case("MLPRegressor", {"activation": a}) for a in ("gelu", "tanh", "silu", "elu")),
    _case("MLPClassifier", {"batch_norm": True}),
    _case("MLPRegressor", {"variant": "large"}),
    # lstm (portable kernels): one and two directions (classification: the hybrid's below).
    _case("LSTMRegressor", _PORTABLE),
    _case("LSTMRegressor", {**_PORTABLE, "bidirectional": True}),
    # cnn1d: every pooling, classification.
    _case("CNN1DRegressor", {"pooling": "mean"}),
    _case("CNN1DRegressor", {"pooling": "max"}),
    _case("CNN1DClassifier", {"pooling": "last"}),
    # transformer: every positional encoding and pooling, classification.
    _case("TransformerRegressor", {"positional_encoding": "sinusoidal", "pooling": "mean"}),
    _case("TransformerRegressor", {"positional_encoding": "learned", "pooling": "last"}),
    _case("TransformerClassifier", {"positional_encoding": "learned", "pooling": "cls"}),
    # hybrid: every encoder (lstm with portable kernels), classification.
    _case("HybridRegressor", {**_HYBRID, **_PORTABLE, "encoder": "lstm"}),
    _case("HybridRegressor", {**_HYBRID, "encoder": "cnn1d"}),
    _case("HybridRegressor", {**_HYBRID, "encoder": "transformer"}),
    _case("HybridClassifier", {**_HYBRID, **_PORTABLE, "encoder": "lstm"}),
]


def fit_and_predict(name: str, params: dict) -> dict[str, np.ndarray]:
    """Fit with n_jobs=1 and n_jobs=2; predict 1024 rows with both, and with the first at 2."""
    cls = getattr(skfam, name)
    info = skfam.families()[cls._family]
    task = "classification" if "Classifier" in name else "regression"
    X, y = _data(info.input_mode, task)
    settings = {"device": "cpu", "max_epochs": 2, **params}
    one = cls(**settings, n_jobs=1).fit(X, y)
    two = cls(**settings, n_jobs=2).fit(X, y)
    rows = X[:1024]  # two full prediction passes of 512 rows
    out = {"one": predictions(one, rows), "two": predictions(two, rows)}
    one.set_params(n_jobs=2)  # the same model, predicting with another thread count
    out["one_at_two"] = predictions(one, rows)
    return out


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from tests.test_thread_independence import CASES, fit_and_predict
    family, path = sys.argv[1], sys.argv[2]
    arrays = {}
    for case in CASES:
        name, params = case.values
        if name.lower().startswith(family):
            for key, value in fit_and_predict(name, params).items():
                arrays[f"{case.id}/{key}"] = value
    np.savez(path, **arrays)
""")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["mlp", "lstm", "cnn1d", "transformer", "hybrid"])
def test_thread_count_does_not_change_the_model(family, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    path = tmp_path / "out.npz"
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, family, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = np.load(path)
    ids = sorted({key.split("/")[0] for key in out.files})
    assert ids == sorted(c.id for c in CASES if c.values[0].lower().startswith(family))
    failures = []
    for case_id in ids:
        expected = out[f"{case_id}/one"]
        for other in ("two", "one_at_two"):
            got = out[f"{case_id}/{other}"]
            if not np.array_equal(got, expected):
                failures.append(f"{case_id} {other}: max diff {np.abs(got - expected).max():.3g}")
    assert not failures, "\n".join(failures)


_MATMUL = textwrap.dedent("""
    import os
    import torch
    import skfam  # after torch, before the first matrix product
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5120, 256, generator=g), torch.randn(5120, 3, generator=g)
    torch.set_num_threads(1)
    one = a.t() @ b
    torch.set_num_threads(2)
    two = a.t() @ b
    print(os.environ["MKL_CBWR"], bool(torch.equal(one, two)))
""")


@pytest.mark.parametrize(
    ("given", "expected"), [(None, "AUTO,STRICT True"), ("COMPATIBLE", "COMPATIBLE")]
)
def test_import_skfam_makes_matrix_products_independent_of_threads(given, expected):
    # The product's inner size (5120) is split between 2 threads; without strict mode MKL
    # rounds it differently than with 1 thread. A value the user set is kept as it is.
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    if given is not None:
        env["MKL_CBWR"] = given
    run = subprocess.run(
        [sys.executable, "-c", _MATMUL], env=env, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip().startswith(expected)


_WARNED = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    import torch
    if sys.argv[1] == "product first":
        torch.ones(256, 256) @ torch.ones(256, 256)  # MKL starts here, in its default mode
    import skfam
    from skfam._mkl import mkl_strict
    X = np.random.default_rng(0).normal(size=(100, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skfam.MLPRegressor(variant="fast", device="cpu").fit(X, X[:, 0])
    found = [str(w.message) for w in caught if w.category is skfam.ReproducibilityWarning]
    print(mkl_strict(), "|".join(found))
""")


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="torch was built without MKL")
@pytest.mark.parametrize(
    ("order", "given", "strict", "cause"),
    [
        ("skfam first", None, "True", None),
        ("product first", None, "False", "before skfam was imported"),
        ("skfam first", "COMPATIBLE", "False", "MKL_CBWR=COMPATIBLE is set"),
    ],
)
def test_a_cpu_fit_warns_where_mkl_runs_without_strict_mode(order, given, strict, cause):
    # MKL fixes its mode when it starts: a process that ran a product before importing
    # skfam keeps MKL's default mode, and its fits are not thread-count independent.
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    if given is not None:
        env["MKL_CBWR"] = given
    run = subprocess.run(
        [sys.executable, "-c", _WARNED, order], env=env, capture_output=True, text=True, check=True
    )
    answer, _, message = run.stdout.strip().partition(" ")
    assert answer == strict
    if cause is None:
        assert message == ""
    else:
        assert cause in message and "n_jobs" in message and "MKL_CBWR=AUTO,STRICT" in message


def test_deterministic_cuda_sections_skip_the_nan_fill_and_restore_it():
    # seeded_torch's CUDA branch sets only process-wide flags, so it runs without a GPU too.
    from skfam._torch import seeded_torch

    fill = torch.utils.deterministic
    before = (torch.are_deterministic_algorithms_enabled(), fill.fill_uninitialized_memory)
    with seeded_torch(0, "cuda"):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert fill.fill_uninitialized_memory is False
    assert (torch.are_deterministic_algorithms_enabled(), fill.fill_uninitialized_memory) == before
