"""The meta_learning family: Reptile over tasks given as groups, and adapt to a new task.

The common suites (check_estimator, determinism properties, model files, sample weights)
test it through ``tests._strategies.ReptileOnBlocks``, whose ``fit(X, y)`` makes tasks of
row blocks; this file adds the known-answer test of issue #12 and what is the family's
own: the outer update, the task iterator, groups, adapt, early stopping on held-out tasks.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skfam
from skfam.models.meta_learning import TaskBatches, TaskDataset

FAST = {"variant": "fast", "device": "cpu"}


def _sinusoids(n_tasks: int, n_rows: int, rng: np.random.Generator):
    """The paper's task family: y = A sin(x + p), A ~ U[0.1, 5], p ~ U[0, pi], x ~ U[-5, 5]."""
    amplitude = rng.uniform(0.1, 5.0, n_tasks)
    phase = rng.uniform(0.0, np.pi, n_tasks)
    tasks = np.repeat(np.arange(n_tasks), n_rows)
    X = rng.uniform(-5.0, 5.0, size=(len(tasks), 1))
    return X, amplitude[tasks] * np.sin(X[:, 0] + phase[tasks]), tasks


def _small(seed: int = 0, n_tasks: int = 8, n_rows: int = 20):
    return _sinusoids(n_tasks, n_rows, np.random.default_rng(seed))


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.net_.module_.state_dict().items()}


# ------------------------------------------------------------------ known answer (issue #12)
@pytest.mark.slow
def test_few_shot_adaptation_beats_pooled_training_and_training_from_scratch():
    # One thread: the nets are tiny, and the steps many.
    cpu = {"device": "cpu", "random_state": 0, "n_jobs": 1}
    X, y, tasks = _sinusoids(600, 50, np.random.default_rng(0))
    meta = skfam.ReptileRegressor(**cpu, min_steps=8000).fit(X, y, groups=tasks)
    pooled = skfam.MLPRegressor(variant="fast", **cpu).fit(X, y)
    adapted, from_pooled, from_scratch = [], [], []
    for k in range(10):
        X_new, y_new, _ = _sinusoids(1, 210, np.random.default_rng(100 + k))
        shots, test = slice(0, 10), slice(10, None)

        def mse(model, X_new=X_new, y_new=y_new, test=test):
            return np.mean((model.predict(X_new[test]) - y_new[test]) ** 2)

        adapted.append(mse(meta.adapt(X_new[shots], y_new[shots])))
        from_pooled.append(mse(pooled))
        scratch = skfam.MLPRegressor(**cpu)
        from_scratch.append(mse(scratch.fit(X_new[shots], y_new[shots])))
    assert np.mean(adapted) <= 0.5 * np.mean(from_pooled)
    assert np.mean(adapted) <= 0.5 * np.mean(from_scratch)


# ------------------------------------------------------------------ the algorithm
def test_a_training_step_moves_the_weights_toward_the_task_adapted_ones():
    X, y, tasks = _small()
    model = skfam.ReptileRegressor(**FAST, random_state=0).fit(X, y, groups=tasks)
    net = model.net_
    eps = 0.3
    for group in net.optimizer_.param_groups:
        group["lr"] = eps
    rng = np.random.default_rng(1)
    batch_X = torch.tensor(rng.normal(size=(12, 1)), dtype=torch.float32)
    batch_y = torch.tensor(rng.normal(size=(12, 1)), dtype=torch.float32)
    batch_w = torch.tensor(rng.uniform(0.5, 2.0, size=12), dtype=torch.float32)
    phi = _weights(model)
    # W: inner_steps plain SGD steps of the weighted squared error, minibatches in order.
    inner = copy.deepcopy(net.module_)
    p = model.params_
    size = p["inner_batch_size"]
    starts = [(k * size) % 12 for k in range(p["inner_steps"])]
    for start in starts:
        rows = slice(start, start + size)
        err = ((inner(batch_X[rows]) - batch_y[rows]) ** 2)[:, 0]
        loss = (err * batch_w[rows]).sum() / batch_w[rows].sum()
        inner.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in inner.parameters():
                param -= p["inner_learning_rate"] * param.grad
    W = {k: v.detach() for k, v in inner.state_dict().items()}
    before = ((net.module_(batch_X) - batch_y) ** 2)[:, 0]
    step = net.train_step((batch_X, (batch_y, batch_w)))
    after = _weights(model)
    for name in phi:
        expected = phi[name] + eps * (W[name] - phi[name])
        torch.testing.assert_close(after[name], expected)
        assert not torch.equal(after[name], phi[name])
    # The step's loss is that of the weights before adaptation, on all the task's rows.
    torch.testing.assert_close(step["loss"], (before * batch_w).sum() / batch_w.sum())


def test_an_epoch_visits_each_task_once_with_at_most_task_batch_rows_of_it():
    tasks = np.repeat([3, 1, 2, 0], [5, 30, 12, 2])
    X = np.arange(len(tasks), dtype=float)[:, None]
    data = TaskDataset(X, X.astype(np.float32), np.ones(len(X)), tasks=tasks)
    generator = torch.Generator().manual_seed(0)
    batches = list(TaskBatches(data, batch_size=10, shuffle=True, generator=generator))
    assert len(batches) == len(TaskBatches(data)) == 4
    seen = []
    for batch_X, (batch_y, _) in batches:
        labels = np.unique(tasks[batch_X[:, 0].long().numpy()])
        assert len(labels) == 1  # one task per batch
        rows = batch_X[:, 0].long().numpy()
        assert len(rows) == min(10, int((tasks == labels[0]).sum()))
        assert len(np.unique(rows)) == len(rows)  # drawn without replacement
        assert torch.equal(batch_y, batch_X)
        seen.append(int(labels[0]))
    assert sorted(seen) == [0, 1, 2, 3]
    # Validation: every row of every task, in row order.
    valid = list(TaskBatches(data, batch_size=10))
    assert [len(b[0]) for b in valid] == [2, 30, 12, 5]
    assert all(torch.equal(b[0][:, 0], b[0][:, 0].sort().values) for b in valid)


def test_the_seed_changes_the_task_order_and_the_model_and_nothing_else_does():
    X, y, tasks = _small()
    a = skfam.ReptileRegressor(**FAST, random_state=4).fit(X, y, groups=tasks)
    b = skfam.ReptileRegressor(**FAST, random_state=4).fit(X, y, groups=tasks)
    c = skfam.ReptileRegressor(**FAST, random_state=5).fit(X, y, groups=tasks)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.array_equal(a.predict(X), c.predict(X))
    # Task labels are only labels: renaming them gives the same model.
    renamed = skfam.ReptileRegressor(**FAST, random_state=4)
    renamed.fit(X, y, groups=np.array([f"task-{t:02d}" for t in tasks]))
    np.testing.assert_array_equal(renamed.predict(X), a.predict(X))
    assert a.n_tasks_ == a.n_train_tasks_ == 8


# ------------------------------------------------------------------ adapt
def test_adapt_returns_a_new_deterministic_model_and_leaves_the_meta_model_untouched(tmp_path):
    X, y, tasks = _small()
    meta = skfam.ReptileRegressor(**FAST, random_state=0).fit(X, y, groups=tasks)
    before = _weights(meta)
    predicted = meta.predict(X)
    X_new, y_new, _ = _small(seed=9, n_tasks=1, n_rows=10)
    adapted = meta.adapt(X_new, y_new, n_steps=6)
    again = meta.adapt(X_new, y_new, n_steps=6)
    assert adapted is not meta and adapted.net_.module_ is not meta.net_.module_
    after = _weights(meta)
    assert all(torch.equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(meta.predict(X), predicted)
    assert meta.adapted_steps_ == 0 and adapted.adapted_steps_ == 6
    np.testing.assert_array_equal(adapted.predict(X_new), again.predict(X_new))
    assert not np.array_equal(adapted.predict(X_new), predicted[: len(X_new)])
    # Fine-tuning fits the task's rows better than the meta-model does.
    assert np.mean((adapted.predict(X_new) - y_new) ** 2) < np.mean(
        (meta.predict(X_new) - y_new) ** 2
    )
    # The same scaling as the meta-model; n_steps=None takes adapt_steps.
    assert adapted.target_mean_ == meta.target_mean_
    assert meta.adapt(X_new, y_new).adapted_steps_ == meta.params_["adapt_steps"]
    # The adapted model saves and loads like any.
    path = tmp_path / "adapted.skfam"
    adapted.save_model(path)
    loaded = skfam.load_model(path)
    assert type(loaded) is skfam.ReptileRegressor and loaded.adapted_steps_ == 6
    np.testing.assert_array_equal(loaded.predict(X), adapted.predict(X))
    # A loaded meta-model adapts exactly like the saved one.
    meta.save_model(tmp_path / "meta.skfam")
    reloaded = skfam.load_model(tmp_path / "meta.skfam")
    np.testing.assert_array_equal(
        reloaded.adapt(X_new, y_new, n_steps=6).predict(X), adapted.predict(X)
    )


def test_adapt_weights_rows_and_takes_nan_inputs():
    X, y, tasks = _small()
    meta = skfam.ReptileRegressor(**FAST, random_state=0).fit(X, y, groups=tasks)
    X_new, y_new, _ = _small(seed=9, n_tasks=1, n_rows=10)
    ones = meta.adapt(X_new, y_new, sample_weight=np.ones(10))
    np.testing.assert_array_equal(ones.predict(X_new), meta.adapt(X_new, y_new).predict(X_new))
    weighted = meta.adapt(X_new, y_new, sample_weight=np.r_[np.ones(5), np.zeros(5)])
    assert not np.array_equal(weighted.predict(X_new), ones.predict(X_new))
    gaps = X_new.copy()
    gaps[0, 0] = np.nan
    assert np.isfinite(meta.adapt(gaps, y_new).predict(gaps)).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_steps": 0}, ValueError, "n_steps must be an int >= 1"),
        ({"n_steps": 2.5}, ValueError, "n_steps must be an int >= 1"),
        ({"n_steps": True}, ValueError, "n_steps must be an int >= 1"),
        ({"y": "2d"}, ValueError, "1-D"),
        ({"y": "short"}, ValueError, "inconsistent numbers of samples"),
        ({"sample_weight": -1}, ValueError, "Negative values"),
    ],
)
def test_adapt_refuses_bad_input(kwargs, error, match):
    kwargs = dict(kwargs)
    X, y, tasks = _small()
    meta = skfam.ReptileRegressor(**FAST, random_state=0).fit(X, y, groups=tasks)
    X_new, y_new, _ = _small(seed=9, n_tasks=1, n_rows=10)
    target = {"2d": y_new[:, None], "short": y_new[:5]}.get(kwargs.pop("y", None), y_new)
    if "sample_weight" in kwargs:
        kwargs["sample_weight"] = np.full(10, kwargs["sample_weight"])
    with pytest.raises(error, match=match):
        meta.adapt(X_new, target, **kwargs)


def test_adapt_needs_a_fitted_model():
    with pytest.raises(sklearn.exceptions.NotFittedError):
        skfam.ReptileRegressor(**FAST).adapt(np.zeros((3, 1)), np.zeros(3))


# ------------------------------------------------------------------ groups
@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (None, "pass groups to fit"),
        ("one", r"at least 2 tasks, but groups hold a single task"),
        ("short", r"groups must hold one value per row"),
        ("mixed", "sortable labels"),
        ("nan", "groups hold NaN"),
    ],
)
def test_fit_refuses_missing_or_bad_groups(groups, match):
    X, y, tasks = _small()
    given = {
        None: None,
        "one": np.zeros(len(X)),
        "short": tasks[:-1],
        "mixed": np.array([1 if i % 2 else "a" for i in range(len(X))], dtype=object),
        "nan": np.where(np.arange(len(X)) == 3, np.nan, tasks),
    }[groups]
    model = skfam.ReptileRegressor(**FAST)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, groups=given)
    assert not hasattr(model, "net_")
    with pytest.raises(ValueError, match="pass groups to fit"):
        model.fit(X, y)


def test_one_row_cannot_make_two_tasks():
    with pytest.raises(ValueError, match="n_samples = 1"):
        skfam.ReptileRegressor(**FAST).fit(np.zeros((1, 2)), [1.0], groups=[0])


def test_groups_are_routed_through_a_pipeline_and_a_grid_search():
    X, y, tasks = _small(n_tasks=6)
    with sklearn.config_context(enable_metadata_routing=True):
        reg = skfam.ReptileRegressor(**FAST, random_state=0).set_fit_request(groups=True)
        pipe = make_pipeline(StandardScaler(), reg)
        search = GridSearchCV(
            pipe, {"reptileregressor__inner_steps": [1, 2]}, cv=GroupKFold(n_splits=3)
        )
        search.fit(X, y, groups=tasks)
        best = search.best_estimator_
        assert best[-1].n_tasks_ == 6
        steps = search.best_params_["reptileregressor__inner_steps"]
        expected = make_pipeline(StandardScaler(), clone(reg).set_params(inner_steps=steps))
        expected.fit(X, y, groups=tasks)
        np.testing.assert_array_equal(best.predict(X), expected.predict(X))
        with pytest.raises(ValueError, match="pass groups to fit"):
            make_pipeline(StandardScaler(), skfam.ReptileRegressor(**FAST)).fit(X, y)


# ------------------------------------------------------------------ early stopping
def test_early_stopping_holds_out_whole_tasks():
    X, y, tasks = _small(n_tasks=10)
    model = skfam.ReptileRegressor(
        **FAST, early_stopping=True, validation_fraction=0.2, random_state=0
    ).fit(X, y, groups=tasks)
    assert model.n_tasks_ == 10 and model.n_train_tasks_ == 8
    losses = model.net_.history[:, "valid_loss"]
    assert len(losses) == model.n_iter_ and np.isfinite(losses).all()
    # Validation adapts a copy: the held-out tasks leave the weights as training left them.
    off = skfam.ReptileRegressor(**FAST, early_stopping=False, random_state=0)
    off.fit(X, y, groups=tasks)
    assert off.n_train_tasks_ == 10 and "valid_loss" not in off.net_.history[0]
    with pytest.raises(ValueError, match="holds out whole tasks"):
        skfam.ReptileRegressor(**FAST, early_stopping=True).fit(X[:40], y[:40], groups=tasks[:40])
    # "auto" with too few tasks trains without it.
    auto = skfam.ReptileRegressor(**FAST, early_stopping="auto").fit(
        np.tile(X[:40], (30, 1)), np.tile(y[:40], 30), groups=np.tile(tasks[:40], 30)
    )
    assert auto.n_train_tasks_ == 2 and "valid_loss" not in auto.net_.history[0]


def test_min_steps_counts_outer_steps_over_the_training_tasks():
    X, y, tasks = _small(n_tasks=8)
    model = skfam.ReptileRegressor(**FAST, min_steps=100, random_state=0).fit(X, y, groups=tasks)
    assert model.params_["max_epochs"] == 13  # ceil(100 / 8) epochs of 8 outer steps
    assert model.params_["batch_size"] == model.params_["task_batch_rows"]


# ------------------------------------------------------------------ threads
def test_thread_count_does_not_change_the_model_at_the_sst_widths():
    # The SST's widths on 5,000 rows (100 tasks of 50), with early stopping on held-out tasks.
    X, y, tasks = _sinusoids(100, 50, np.random.default_rng(3))
    params = {"max_epochs": 1, "device": "cpu", "random_state": 5}
    one = skfam.ReptileRegressor(n_jobs=1, **params).fit(X, y, groups=tasks)
    two = skfam.ReptileRegressor(n_jobs=2, **params).fit(X, y, groups=tasks)
    sst = skfam.load_model_config("meta_learning")
    assert one.params_["hidden_sizes"] == sst["hidden_sizes"]
    assert "valid_loss" in one.net_.history[0]
    np.testing.assert_array_equal(one.predict(X), two.predict(X))
    X_new, y_new, _ = _small(seed=9, n_tasks=1, n_rows=10)
    np.testing.assert_array_equal(
        one.adapt(X_new, y_new).predict(X), two.adapt(X_new, y_new).predict(X)
    )
