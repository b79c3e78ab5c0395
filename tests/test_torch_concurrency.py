"""Torch families in parallel threads: the same bits as alone, and no process-wide flag leaks.

Two pieces of torch state are process-wide: the default random generator (weight init and
dropout draw from it) and ``torch.backends.mkldnn.enabled`` (it picks the CPU LSTM
kernels). These tests run fits and predictions in several threads at once, at the SST's
default widths and with thousands of rows, and compare with the same work done alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

import skfam
from skfam._sequence import CPU_KERNELS
from skfam._torch_state import mkldnn_section

# Short training at the SST's default widths (no "fast" variant): with dropout, so that
# every fit draws masks from torch's random generator all through training.
MLP = {"device": "cpu", "dropout": 0.2, "max_epochs": 3, "early_stopping": False, "n_jobs": 1}
LSTM = {**MLP, "max_epochs": 2, "num_layers": 2}


def _tabular(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20))
    return X, X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.3, size=n)


def _windows(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20, 3))
    return X, X[:, -1, 0] + rng.normal(scale=0.1, size=n)


def _in_threads(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job in its own thread, all started at the same moment."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> object:
        start.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_fits_in_parallel_threads_equal_fits_alone():
    X, y = _tabular()
    W, z = _windows()
    jobs = [
        lambda: skfam.MLPRegressor(**MLP, random_state=1).fit(X, y).predict(X),
        lambda: skfam.MLPRegressor(**MLP, random_state=2).fit(X, y).predict(X),
        lambda: skfam.LSTMRegressor(**LSTM, random_state=1).fit(W, z).predict(W),
        lambda: skfam.LSTMRegressor(**LSTM, random_state=2).fit(W, z).predict(W),
    ]
    alone = [job() for job in jobs]
    assert not np.array_equal(alone[0], alone[1])  # the seeds matter: dropout is on
    together = _in_threads(jobs)
    for one, other in zip(alone, together, strict=True):
        np.testing.assert_array_equal(other, one)


def test_loading_model_files_beside_a_fit_leaves_the_fit_alone(lstms, tmp_path):
    # Loading builds a net (its init draws from torch's generator, seeded for that):
    # it must not reseed the generator a fit in another thread is drawing dropout from.
    fitted = lstms[2]
    fitted["portable"].save_model(tmp_path / "lstm.skfam")
    X, y = _tabular()
    alone = skfam.MLPRegressor(**MLP).fit(X, y).predict(X)
    done = threading.Event()

    def fit() -> np.ndarray:
        try:
            return skfam.MLPRegressor(**MLP).fit(X, y).predict(X)
        finally:
            done.set()

    def load() -> int:
        loads = 0
        while not done.is_set() or not loads:
            skfam.load_model(tmp_path / "lstm.skfam")
            loads += 1
        return loads

    beside, loads = _in_threads([fit, load])
    assert loads >= 1
    np.testing.assert_array_equal(beside, alone)


def test_grid_search_with_threads_scores_like_one_job():
    X, y = _tabular(n=1500)
    grid = {"learning_rate": [0.01, 0.003]}
    cv = KFold(2, shuffle=True, random_state=0)

    def scores(n_jobs: int) -> dict[str, np.ndarray]:
        search = GridSearchCV(skfam.MLPRegressor(**MLP), grid, cv=cv, n_jobs=n_jobs)
        with joblib.parallel_config(backend="threading"):
            search.fit(X, y)
        return {k: v for k, v in search.cv_results_.items() if k.startswith("split")}

    one, two = scores(1), scores(2)
    assert one.keys() == two.keys()
    for key, value in one.items():
        np.testing.assert_array_equal(two[key], value, err_msg=key)


@pytest.fixture(scope="module")
def lstms() -> tuple[np.ndarray, np.ndarray, dict]:
    """Windows, targets and an LSTM fitted with each choice of ``cpu_kernels``."""
    W, z = _windows()
    fitted = {k: skfam.LSTMRegressor(**LSTM, cpu_kernels=k).fit(W, z) for k in CPU_KERNELS}
    return W, z, fitted


@pytest.mark.parametrize("original", [True, False])
@pytest.mark.parametrize("kernels", CPU_KERNELS)
def test_mkldnn_flag_is_restored_after_predictions_in_threads(lstms, kernels, original):
    W, _, fitted = lstms
    reg = fitted[kernels]
    expected = reg.predict(W)
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = original
    try:
        outputs = _in_threads([lambda: reg.predict(W)] * 8)
        assert torch.backends.mkldnn.enabled is original
    finally:
        torch.backends.mkldnn.enabled = before
    for out in outputs:
        np.testing.assert_array_equal(out, expected)


def test_portable_predictions_beside_an_onednn_fit_are_the_bits_of_alone(lstms):
    W, z, fitted = lstms
    portable = fitted["portable"]
    expected = portable.predict(W)
    onednn = clone(fitted["onednn"])
    outputs: list[np.ndarray] = []
    done = threading.Event()

    def train() -> None:
        try:
            onednn.fit(W, z)
        finally:
            done.set()

    def predict() -> None:
        outputs.append(portable.predict(W))
        while not done.is_set():
            outputs.append(portable.predict(W))

    _in_threads([train, predict, predict, predict])
    assert len(outputs) >= 3
    for out in outputs:
        np.testing.assert_array_equal(out, expected)
    # and the onednn fit beside the predictions is the fit alone
    np.testing.assert_array_equal(onednn.predict(W), fitted["onednn"].predict(W))


def test_the_flag_gate_lets_equal_sections_nest_and_refuses_the_other_value():
    before = torch.backends.mkldnn.enabled
    with mkldnn_section(not before):
        assert torch.backends.mkldnn.enabled is (not before)
        with mkldnn_section(not before):
            assert torch.backends.mkldnn.enabled is (not before)
        with pytest.raises(RuntimeError, match="cannot nest"), mkldnn_section(before):
            pass
        assert torch.backends.mkldnn.enabled is (not before)
    assert torch.backends.mkldnn.enabled is before


def test_the_flag_gate_makes_the_other_value_wait():
    before = torch.backends.mkldnn.enabled
    inside, seen = threading.Event(), []

    def other() -> None:
        inside.wait()
        with mkldnn_section(before):
            seen.append(("other", torch.backends.mkldnn.enabled))

    thread = threading.Thread(target=other)
    thread.start()
    with mkldnn_section(not before):
        inside.set()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # it waits for this section to end
        seen.append(("first", torch.backends.mkldnn.enabled))
    thread.join()
    assert seen == [("first", not before), ("other", before)]
    assert torch.backends.mkldnn.enabled is before
