"""The torch base's training loop: skfam's lean per-batch loop against skorch's own."""

from __future__ import annotations

import numpy as np
import pytest
from skorch import NeuralNet

from skfam import MLPClassifier, MLPRegressor, TransformerRegressor
from skfam._torch import WeightedNet, rowwise_float32


def _data(n: int = 600, seed: int = 0, sequence: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8, 2) if sequence else (n, 6))
    first = X[:, -1, 0] if sequence else X[:, 0]
    y = first - X.reshape(n, -1)[:, 1] ** 2 + rng.normal(scale=0.1, size=n)
    return X, y, rng.uniform(0.2, 3.0, size=n)


def _fit_both(monkeypatch, cls, X, y, params, **fit_kwargs):
    params = {"variant": "fast", "device": "cpu", "random_state": 4, "max_epochs": 6, **params}
    ours = cls(**params).fit(X, y, **fit_kwargs)
    with monkeypatch.context() as patch:
        # skorch's own loop: a loss .item() (a device sync) per batch, modes set per batch,
        # on_grad_computed notified per batch.
        patch.setattr(WeightedNet, "run_single_epoch", NeuralNet.run_single_epoch)
        patch.setattr(WeightedNet, "train_step", NeuralNet.train_step)
        patch.setattr(WeightedNet, "_set_training", NeuralNet._set_training)
        theirs = cls(**params).fit(X, y, **fit_kwargs)
    return ours, theirs


def _assert_same_history(ours, theirs, prefixes):
    a, b = ours.net_.history, theirs.net_.history
    for prefix in prefixes:
        for key in (f"{prefix}_loss", f"{prefix}_batch_count"):
            assert a[:, key] == b[:, key], key
        for key in (f"{prefix}_loss", f"{prefix}_batch_size"):
            assert a[:, "batches", :, key] == b[:, "batches", :, key], key


@pytest.mark.parametrize("weighted", [False, True], ids=["unit-weights", "weights"])
@pytest.mark.parametrize("early_stopping", [False, True], ids=["no-split", "validation"])
def test_the_lean_loop_trains_and_records_exactly_as_skorch(monkeypatch, weighted, early_stopping):
    X, y, w = _data()
    kwargs = {"sample_weight": w} if weighted else {}
    params = {"early_stopping": early_stopping, "dropout": 0.2}
    ours, theirs = _fit_both(monkeypatch, MLPRegressor, X, y, params, **kwargs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    _assert_same_history(ours, theirs, ["train", "valid"] if early_stopping else ["train"])
    assert ours.n_iter_ == theirs.n_iter_


def test_the_lean_loop_matches_skorch_for_a_classifier_and_a_sequence_net(monkeypatch):
    X, y, _ = _data()
    labels = np.where(y > np.median(y), "up", "down")
    params = {"early_stopping": True, "dropout": 0.2}
    ours, theirs = _fit_both(monkeypatch, MLPClassifier, X, labels, params)
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    _assert_same_history(ours, theirs, ["train", "valid"])
    X, y, _ = _data(n=300, sequence=True)
    ours, theirs = _fit_both(monkeypatch, TransformerRegressor, X, y, {"dropout": 0.2})
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    _assert_same_history(ours, theirs, ["train"])


def test_unit_weights_take_the_plain_mean_and_learn_the_same_model():
    # All weights 1 skip the weighting (two kernels per batch); the loss is the same number
    # up to the order of a float32 sum.
    X, y, _ = _data()
    params = {"variant": "fast", "device": "cpu", "random_state": 1, "max_epochs": 4}
    plain = MLPRegressor(**params).fit(X, y)
    assert plain.net_.unit_weights
    weighted = MLPRegressor(**params).fit(X, y, sample_weight=np.full(len(y), 2.0))
    assert not weighted.net_.unit_weights
    np.testing.assert_allclose(
        plain.net_.history[:, "train_loss"], weighted.net_.history[:, "train_loss"], rtol=1e-4
    )
    np.testing.assert_allclose(plain.predict(X), weighted.predict(X), rtol=1e-3, atol=1e-4)


def test_a_row_predicts_the_same_alone_and_among_many_passes():
    # Prediction sends rows to the device in blocks of whole 512-row passes: 70,000 rows
    # span three blocks; each row's output is the one it gets when predicted alone.
    X, y, _ = _data()
    model = MLPRegressor(variant="fast", device="cpu", random_state=0).fit(X, y)
    rng = np.random.default_rng(5)
    many = rng.normal(size=(70_000, X.shape[1]))
    out = model.predict(many)
    for row in (0, 511, 512, 32_767, 32_768, 69_999):
        assert model.predict(many[row : row + 1])[0] == out[row]


@pytest.mark.parametrize("shape", [(0, 3), (1, 3), (9_000, 7), (5_000, 6, 2)])
def test_rowwise_float32_has_the_bits_of_the_whole_array_arithmetic(shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=shape) * 1e3 + 7.0
    mean, scale = rng.normal(size=shape[1:]), rng.uniform(0.5, 2.0, size=shape[1:])

    def fn(rows):
        return (rows - mean) / scale

    out = rowwise_float32(X, fn, rows=4096)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == X.shape
    assert np.array_equal(out, fn(X).astype(np.float32))
