"""The multi_task family: shared trunk, masked per-task losses, task weights, bad targets.

The common suites (check_estimator with its multi-output checks, determinism properties,
model files, sample weights) pick the family up from the registry; this file adds the
known-answer test of issue #12 and what is the family's own: missing targets, 1-D targets,
task weights, 2-D targets in model files and across thread counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import skfam
from skfam._torch import _masked_column_loss
from skfam.nn.multi_task import MultiTaskModule, TaskWeightedMSELoss

FAST = {"variant": "fast", "device": "cpu"}


def _low_rank_tasks(seed: int, n_train: int = 200, n_test: int = 2000, missing: float = 0.0):
    """Four tasks, each a different mix of the same two nonlinear features of X."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(10, 2)) * (2 / np.sqrt(10))
    mixes = rng.normal(size=(2, 4))
    X = rng.normal(size=(n_train + n_test, 10))
    Y = np.tanh(X @ directions) @ mixes + 0.1 * rng.normal(size=(n_train + n_test, 4))
    X_train, Y_train = X[:n_train], Y[:n_train].copy()
    if missing:
        Y_train[rng.random(Y_train.shape) < missing] = np.nan
    return X_train, Y_train, X[n_train:], Y[n_train:]


def _small(seed: int = 0, n: int = 150):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 0] - X[:, 2], np.sin(X[:, 3])]
    return X, Y


# ------------------------------------------------------------------ known answer (issue #12)
@pytest.mark.slow
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_shared_trunk_beats_separate_mlps_on_related_tasks(missing):
    X_train, Y_train, X_test, Y_test = _low_rank_tasks(0, missing=missing)
    multi = skfam.MultiTaskRegressor(device="cpu", random_state=0).fit(X_train, Y_train)
    mse_multi = np.mean((multi.predict(X_test) - Y_test) ** 2)
    separate = []
    for task in range(Y_train.shape[1]):
        known = ~np.isnan(Y_train[:, task])
        if missing:
            assert 0 < known.sum() < len(known)
        mlp = skfam.MLPRegressor(device="cpu", random_state=0)
        mlp.fit(X_train[known], Y_train[known, task])
        separate.append(np.mean((mlp.predict(X_test) - Y_test[:, task]) ** 2))
    assert mse_multi < np.mean(separate)


# ------------------------------------------------------------------ the masked loss
def test_masked_loss_is_each_task_mean_over_its_known_values():
    rng = np.random.default_rng(1)
    pred = torch.tensor(rng.normal(size=(6, 3)), dtype=torch.float32, requires_grad=True)
    target = torch.tensor(rng.normal(size=(6, 3)), dtype=torch.float32)
    target[[0, 2, 5], 1] = torch.nan
    target[3, :] = torch.nan  # a row without any target
    weight = torch.tensor([1.0, 2.0, 1.0, 5.0, 0.5, 1.0])
    loss = _masked_column_loss(TaskWeightedMSELoss([1.0, 1.0, 1.0]), pred, target, weight)
    expected = []
    for task in range(3):
        known = ~torch.isnan(target[:, task])
        w = weight[known]
        err = (pred[known, task] - target[known, task]) ** 2
        expected.append((w * err).sum() / w.sum())
    assert torch.allclose(loss, torch.stack(expected).mean())
    loss.backward()
    grad = pred.grad
    assert torch.isfinite(grad).all()
    assert (grad[[0, 2, 5], 1] == 0).all() and (grad[3] == 0).all()
    assert (grad[1] != 0).all()


def test_module_has_one_head_per_task_on_a_shared_trunk():
    module = MultiTaskModule(4, 3, [8, 6], [5])
    assert len(module.heads) == 3
    assert module(torch.zeros(2, 4)).shape == (2, 3)
    # Heads share nothing but the trunk's output.
    assert all(h[0].in_features == 6 for h in module.heads)


# ------------------------------------------------------------------ targets
def test_missing_targets_are_not_imputed_and_rows_without_targets_are_kept():
    X, Y = _small()
    Y[::3, 1] = np.nan
    Y[5] = np.nan
    reg = skfam.MultiTaskRegressor(**FAST, random_state=0).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == Y.shape and np.isfinite(pred).all()
    # The known values set each task's standardisation, the missing ones do not.
    np.testing.assert_allclose(reg.target_mean_, np.nanmean(Y, axis=0))
    # Missing targets are predicted from X, not filled with the column's mean.
    assert np.std(pred[::3, 1]) > 0.5 * np.nanstd(Y[:, 1])


def test_one_dimensional_y_is_one_task_and_predicts_1d():
    X, Y = _small()
    y = Y[:, 0]
    one = skfam.MultiTaskRegressor(**FAST, random_state=0).fit(X, y)
    column = skfam.MultiTaskRegressor(**FAST, random_state=0).fit(X, y[:, None])
    assert one.n_tasks_ == column.n_tasks_ == 1
    assert one.predict(X).shape == (len(X),)
    assert column.predict(X).shape == (len(X), 1)
    np.testing.assert_array_equal(one.predict(X), column.predict(X)[:, 0])
    assert one.score(X, y) > 0.8


def test_one_dimensional_y_with_missing_values_trains_on_the_known_ones():
    X, Y = _small()
    y = Y[:, 0].copy()
    y[::4] = np.nan
    reg = skfam.MultiTaskRegressor(**FAST, random_state=0).fit(X, y)
    known = ~np.isnan(y)
    assert reg.score(X[~known], Y[~known, 0]) > 0.8


def test_a_task_of_weight_zero_leaves_the_others_untouched():
    X, Y = _small()
    other = Y.copy()
    other[:, 2] = np.random.default_rng(5).normal(size=len(Y))
    weights = [1.0, 1.0, 0.0]
    a = skfam.MultiTaskRegressor(**FAST, task_weights=weights, random_state=0).fit(X, Y)
    b = skfam.MultiTaskRegressor(**FAST, task_weights=weights, random_state=0).fit(X, other)
    np.testing.assert_allclose(a.task_weights_, [1.5, 1.5, 0.0])
    np.testing.assert_array_equal(a.predict(X)[:, :2], b.predict(X)[:, :2])
    # With equal weights the third task shapes the shared trunk.
    c = skfam.MultiTaskRegressor(**FAST, random_state=0).fit(X, other)
    assert not np.array_equal(a.predict(X)[:, :2], c.predict(X)[:, :2])


def test_two_dimensional_targets_with_missing_values_round_trip_and_ignore_threads(tmp_path):
    X, Y = _small()
    Y[::4, 0] = np.nan
    one = skfam.MultiTaskRegressor(**FAST, random_state=3, n_jobs=1).fit(X, Y)
    two = skfam.MultiTaskRegressor(**FAST, random_state=3, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
    path = tmp_path / "multi.skfam"
    one.save_model(path)
    loaded = skfam.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), one.predict(X))
    np.testing.assert_array_equal(loaded.task_weights_, one.task_weights_)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("make_y", "match"),
    [
        (lambda Y: np.c_[Y[:, :1], np.full(len(Y), np.nan)], r"column\(s\) \[1\].*all NaN"),
        (lambda Y: np.full(len(Y), np.nan), r"no value \(all NaN\)"),
        (lambda Y: Y[:, :0], "0 columns"),
        (lambda Y: np.where(np.arange(len(Y))[:, None] == 3, np.inf, Y), "infinit"),
        (lambda Y: Y[:, :, None], "1-D or 2-D"),
        (lambda Y: None, "requires y"),
    ],
    ids=["all-nan-column", "all-nan-1d", "no-columns", "infinite", "3-d", "none"],
)
def test_bad_targets_are_refused(make_y, match):
    X, Y = _small()
    reg = skfam.MultiTaskRegressor(**FAST)
    with pytest.raises(ValueError, match=match):
        reg.fit(X, make_y(Y))
    assert not hasattr(reg, "n_tasks_")


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, 1.0], "one weight per task"),
        ([1.0, -1.0, 1.0], "non-negative"),
        ([0.0, 0.0, 0.0], "at least one positive"),
        ([1.0, np.nan, 1.0], "finite"),
    ],
)
def test_bad_task_weights_are_refused(weights, match):
    X, Y = _small()
    with pytest.raises(ValueError, match=match):
        skfam.MultiTaskRegressor(**FAST, task_weights=weights).fit(X, Y)


def test_thread_count_does_not_change_the_model_at_the_sst_widths():
    # The fast variant's tiny shapes run every kernel on one thread whatever n_jobs says:
    # here the SST's default trunk and heads train 2 epochs on 4,000 rows with dropout on,
    # missing targets included, so the matrix products are big enough to be split.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(4000, 20))
    Y = X[:, :4] @ rng.normal(size=(4, 3)) + rng.normal(scale=0.1, size=(4000, 3))
    Y[rng.random(Y.shape) < 0.2] = np.nan
    params = {"max_epochs": 2, "dropout": 0.2, "device": "cpu", "random_state": 5}
    one = skfam.MultiTaskRegressor(n_jobs=1, **params).fit(X, Y)
    two = skfam.MultiTaskRegressor(n_jobs=2, **params).fit(X, Y)
    assert one.params_["hidden_sizes"] == skfam.load_model_config("multi_task")["hidden_sizes"]
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
