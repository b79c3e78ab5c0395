"""FTRL-Proximal (the ``ftrl_proximal`` family) against oracles that are not ours.

* The paper's Algorithm 1 (McMahan et al. 2013, "Ad Click Prediction: a View from the
  Trenches"), written plainly below with dicts, for the squared, logistic and softmax
  losses, with l1, l2, the intercept, sample weights and absent (NaN) features.
* river's ``optim.FTRLProximal`` inside river's linear models, intercept off. river's
  ``GLM`` takes the gradient with the weights the optimizer left at its previous step
  (``FTRLProximal`` sets ``w`` from ``z`` and ``n`` inside ``step``, after the gradient
  was taken, and does not implement the ``Optimizer.look_ahead`` hook that river calls
  "before a prediction is made"), which is one update behind Algorithm 1. The test adds
  that hook with river's own code: a step with a zero gradient, which sets ``w`` from the
  current ``z`` and ``n`` and changes neither.
"""

from __future__ import annotations

import contextlib
import io
import math
import tracemalloc
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from river import linear_model, optim
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import FTRLClassifier, FTRLRegressor, NonFinitePredictionError
from skfam._seeds import derive_seed
from skfam.model_file import ModelFileError

from ._forge import forge

ONE_PASS = {"max_iter": 1, "shuffle": False}


# ---------------------------------------------------------------------- oracles
def _present(row: np.ndarray) -> dict[int, float]:
    """The features of a row that Algorithm 1 sees: NaN and 0 are absent."""
    return {i: float(v) for i, v in enumerate(row) if not math.isnan(v) and v != 0.0}


def paper_ftrl(X, y, *, loss, n_outputs, alpha, beta, l1, l2, intercept, weights=None, passes=1):
    """McMahan et al. (2013), Algorithm 1, per coordinate, in plain Python.

    ``loss``: "squared" (gradient p - y), "logistic" (sigmoid(p) - y, y in {0, 1}) or
    "softmax" (one z and n per class; y the class index). The intercept is the coordinate
    "bias" of value 1, without l1 and l2. Returns (z, n, w) as dicts keyed (i, k).
    """
    z: dict = defaultdict(float)
    n: dict = defaultdict(float)
    weights = np.ones(len(y)) if weights is None else weights

    def weight(i, k):
        reg1, reg2 = (0.0, 0.0) if i == "bias" else (l1, l2)
        if abs(z[i, k]) <= reg1:
            return 0.0
        return -(z[i, k] - math.copysign(reg1, z[i, k])) / (
            (beta + math.sqrt(n[i, k])) / alpha + reg2
        )

    for _ in range(passes):
        for row, target, s in zip(X, y, weights, strict=True):
            x = _present(row)
            if intercept:
                x["bias"] = 1.0
            w = {(i, k): weight(i, k) for i in x for k in range(n_outputs)}
            p = [sum(w[i, k] * v for i, v in x.items()) for k in range(n_outputs)]
            if loss == "squared":
                grad = [p[0] - target]
            elif loss == "logistic":
                grad = [1.0 / (1.0 + math.exp(-p[0])) - target]
            else:
                top = max(p)
                e = [math.exp(v - top) for v in p]
                grad = [e[k] / sum(e) - (k == target) for k in range(n_outputs)]
            for i, v in x.items():
                for k in range(n_outputs):
                    g = s * grad[k] * v
                    sigma = (math.sqrt(n[i, k] + g * g) - math.sqrt(n[i, k])) / alpha
                    z[i, k] += g - sigma * w[i, k]
                    n[i, k] += g * g
    final = {key: weight(*key) for key in list(z)}
    return z, n, final


def _as_arrays(table: dict, n_features: int, n_outputs: int) -> np.ndarray:
    """Lay a dict keyed (i, k) out as our (n_features + 1, K) arrays (bias last)."""
    out = np.zeros((n_features + 1, n_outputs))
    for (i, k), value in table.items():
        out[n_features if i == "bias" else i, k] = value
    return out


def _data(n=300, d=6, seed=0, nan=0.0, task="regression", n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random(X.shape) < 0.2] = 0.0
    X[rng.random(X.shape) < nan] = np.nan
    signal = np.nan_to_num(X) @ rng.normal(size=d)
    if task == "regression":
        return X, signal + 0.5 + rng.normal(scale=0.3, size=n)
    if n_classes == 2:
        return X, (signal + rng.normal(scale=0.5, size=n) > 0).astype(np.int64)
    scores = np.nan_to_num(X) @ rng.normal(size=(d, n_classes))
    return X, np.argmax(scores + rng.normal(scale=0.3, size=scores.shape), axis=1)


HYPER = {"alpha": 0.3, "beta": 0.7, "l2": 0.4}


# ---------------------------------------------------------------------- Algorithm 1
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("l1", [0.0, 0.8])
def test_one_output_models_follow_algorithm_1(loss, intercept, l1):
    task = "regression" if loss == "squared" else "classification"
    X, y = _data(task=task, nan=0.1)
    weights = np.random.default_rng(1).uniform(0.0, 2.0, size=len(y))
    cls = FTRLRegressor if task == "regression" else FTRLClassifier
    model = cls(**HYPER, l1=l1, fit_intercept=intercept, max_iter=2, shuffle=False)
    model.fit(X, y, sample_weight=weights)
    z, n, w = paper_ftrl(
        X,
        y,
        loss=loss,
        n_outputs=1,
        **HYPER,
        l1=l1,
        intercept=intercept,
        weights=weights,
        passes=2,
    )
    np.testing.assert_allclose(model.z_, _as_arrays(z, 6, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.n_, _as_arrays(n, 6, 1), rtol=1e-12, atol=1e-12)
    expected = _as_arrays(w, 6, 1)
    np.testing.assert_allclose(model.coef_.ravel(), expected[:-1, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, expected[-1], rtol=0, atol=1e-9)
    # l1 gives exact zeros, exactly where Algorithm 1 does (|z| <= l1).
    assert np.array_equal(model.coef_.ravel() == 0.0, expected[:-1, 0] == 0.0)


@pytest.mark.parametrize("intercept", [True, False])
def test_softmax_follows_algorithm_1_with_one_z_and_n_per_class(intercept):
    X, y = _data(task="classification", n_classes=3, nan=0.1)
    model = FTRLClassifier(**HYPER, l1=0.3, fit_intercept=intercept, **ONE_PASS).fit(X, y)
    z, n, w = paper_ftrl(X, y, loss="softmax", n_outputs=3, **HYPER, l1=0.3, intercept=intercept)
    np.testing.assert_allclose(model.z_, _as_arrays(z, 6, 3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.n_, _as_arrays(n, 6, 3), rtol=1e-12, atol=1e-12)
    expected = _as_arrays(w, 6, 3)
    assert model.coef_.shape == (3, 6) and model.intercept_.shape == (3,)
    np.testing.assert_allclose(model.coef_, expected[:-1].T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, expected[-1], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- river
class _HalfSquared(optim.losses.RegressionLoss):
    """(p - y)^2 / 2: river's Squared is (p - y)^2, whose gradient is twice ours."""

    def __call__(self, y_true, y_pred):
        return 0.5 * (y_pred - y_true) ** 2

    def gradient(self, y_true, y_pred):
        return y_pred - y_true


class _FTRLLookingAhead(optim.FTRLProximal):
    """river's FTRLProximal with the weights of the current z and n before each prediction."""

    def look_ahead(self, w):
        self._step_with_dict(w, dict.fromkeys(self.z, 0.0))
        return w


def _river_weights(optimizer, n_features):
    w: dict = {}
    optimizer._step_with_dict(w, dict.fromkeys(optimizer.z, 0.0))
    return np.array([w.get(i, 0.0) for i in range(n_features)])


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_coefficients_agree_with_river(task):
    X, y = _data(n=400, task=task)
    optimizer = _FTRLLookingAhead(**HYPER, l1=0.0)
    if task == "regression":
        river_model = linear_model.LinearRegression(
            optimizer=optimizer, loss=_HalfSquared(), intercept_lr=0.0
        )
        ours = FTRLRegressor(**HYPER, l1=0.0, fit_intercept=False, **ONE_PASS).fit(X, y)
    else:
        river_model = linear_model.LogisticRegression(optimizer=optimizer, intercept_lr=0.0)
        ours = FTRLClassifier(**HYPER, l1=0.0, fit_intercept=False, **ONE_PASS).fit(X, y)
    for row, target in zip(X, y, strict=True):
        river_model.learn_one(
            dict(enumerate(row)), target if task == "regression" else bool(target)
        )
    assert river_model.intercept == 0.0
    np.testing.assert_allclose(
        ours.coef_.ravel(), _river_weights(optimizer, X.shape[1]), rtol=0, atol=1e-9
    )
    river_z = np.array([optimizer.z[i] for i in range(X.shape[1])])
    river_n = np.array([optimizer.n[i] for i in range(X.shape[1])])
    np.testing.assert_allclose(ours.z_[:-1, 0], river_z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.n_[:-1, 0], river_n, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- online learning
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("sparse", [False, True])
def test_partial_fit_over_batches_is_one_pass_of_fit_bit_for_bit(task, sparse):
    X, y = _data(
        task="regression" if task == "regression" else "classification",
        n_classes=3 if task == "multiclass" else 2,
        nan=0.05,
    )
    if task != "regression":
        y = np.array(["a", "b", "c"])[y]
    data = sp.csr_matrix(np.nan_to_num(X)) if sparse else X
    cls = FTRLRegressor if task == "regression" else FTRLClassifier
    whole = cls(variant="fast", l1=0.2, **ONE_PASS, random_state=3).fit(data, y)
    stream = cls(variant="fast", l1=0.2, **ONE_PASS, random_state=3)
    extra = {} if task == "regression" else {"classes": np.unique(y)}
    for rows in np.array_split(np.arange(len(y)), 7):
        stream.partial_fit(data[rows], y[rows], **extra)
    for name in ("z_", "n_", "coef_", "intercept_"):
        assert np.array_equal(getattr(stream, name), getattr(whole, name)), name
    assert np.array_equal(stream.predict(data), whole.predict(data))
    assert stream.params_ == whole.params_ and stream.random_state_ == whole.random_state_


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_reading_rows_on_a_second_thread_changes_no_bit(task):
    # 6,000 rows of 30 entries: several chunks, so n_jobs=2 reads the next chunk's rows on
    # a second thread while the current chunk is learned.
    rng = np.random.default_rng(0)
    X = sp.random(6000, 5000, density=30 / 5000, format="csr", random_state=rng)
    signal = X @ rng.normal(size=5000)
    if task == "regression":
        cls, y, extra = FTRLRegressor, signal, {}
    else:
        cls, y = FTRLClassifier, np.digitize(signal, [-0.5, 0.5])
        extra = {"classes": [0, 1, 2]}
    models = []
    for n_jobs in (1, 2):
        model = cls(variant="fast", max_iter=2, n_jobs=n_jobs).fit(X, y)
        model.partial_fit(X[::-1], y[::-1], **extra)
        models.append(model)
    assert np.array_equal(models[0].z_, models[1].z_)
    assert np.array_equal(models[0].n_, models[1].n_)


def test_fit_learns_each_pass_in_the_order_drawn_from_the_seed():
    X, y = _data()
    model = FTRLRegressor(variant="fast", max_iter=3, shuffle=True, random_state=5).fit(X, y)
    rng = np.random.default_rng(derive_seed(5, "order"))
    stream = FTRLRegressor(variant="fast", max_iter=3, shuffle=True, random_state=5)
    for _ in range(3):
        order = rng.permutation(len(y))
        stream.partial_fit(X[order], y[order])
    assert np.array_equal(stream.z_, model.z_) and np.array_equal(stream.n_, model.n_)
    assert model.n_iter_ == 3
    # Another seed, another order, another model; the same seed, the same bits.
    other = FTRLRegressor(variant="fast", max_iter=3, random_state=6).fit(X, y)
    again = FTRLRegressor(variant="fast", max_iter=3, random_state=5).fit(X, y)
    assert not np.array_equal(other.coef_, model.coef_)
    assert np.array_equal(again.coef_, model.coef_)


def test_partial_fit_continues_a_fit_and_fit_starts_over():
    X, y = _data()
    model = FTRLRegressor(variant="fast", **ONE_PASS).fit(X[:150], y[:150])
    held = model.coef_
    model.partial_fit(X[150:], y[150:])
    # coef_ is a read-only copy: one read earlier keeps its values.
    assert not np.array_equal(held, model.coef_)
    with pytest.raises(ValueError, match="read-only"):
        held[0] = 1.0
    whole = FTRLRegressor(variant="fast", **ONE_PASS).fit(X, y)
    assert np.array_equal(model.coef_, whole.coef_)
    model.fit(X[:150], y[:150])
    assert np.array_equal(
        model.coef_, FTRLRegressor(variant="fast", **ONE_PASS).fit(X[:150], y[:150]).coef_
    )


def test_a_loaded_sparse_model_keeps_learning_bit_for_bit(tmp_path):
    X, y = _data(n=400, task="classification", n_classes=3)
    X = sp.csr_matrix(X)
    model = FTRLClassifier(variant="fast").partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    model.save_model(tmp_path / "m.skfam")
    loaded = skfam.load_model(tmp_path / "m.skfam")
    for part in (slice(200, 300), slice(300, 400)):
        model.partial_fit(X[part], y[part])
        loaded.partial_fit(X[part], y[part])
    assert np.array_equal(loaded.z_, model.z_) and np.array_equal(loaded.n_, model.n_)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_sample_weight_scales_the_gradient_and_zero_removes_the_row():
    X, y = _data()
    weights = np.ones(len(y))
    weights[::4] = 0.0
    weighted = FTRLRegressor(variant="fast", **ONE_PASS).fit(X, y, sample_weight=weights)
    kept = FTRLRegressor(variant="fast", **ONE_PASS).fit(X[weights > 0], y[weights > 0])
    assert np.array_equal(weighted.z_, kept.z_) and np.array_equal(weighted.n_, kept.n_)
    # A weight of 2 is one step with twice the gradient (Algorithm 1 with g = 2 (p - y) x).
    twice = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    model = FTRLRegressor(**HYPER, l1=0.0, **ONE_PASS).fit(X, y, sample_weight=twice)
    _, _, w = paper_ftrl(
        X, y, loss="squared", n_outputs=1, **HYPER, l1=0.0, intercept=True, weights=twice
    )
    np.testing.assert_allclose(model.coef_, _as_arrays(w, 6, 1)[:-1, 0], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- l1
def test_l1_gives_exact_zeros_and_more_l1_more_zeros():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 30))
    y = X[:, :3] @ np.array([2.0, -1.5, 1.0]) + rng.normal(scale=0.5, size=600)
    zeros = []
    for l1 in (0.0, 2.0, 50.0, 200.0):
        model = FTRLRegressor(alpha=0.5, l1=l1, max_iter=5, random_state=0).fit(X, y)
        coef = model.coef_
        assert np.array_equal(coef == 0.0, np.abs(model.z_[:-1, 0]) <= l1)
        assert np.all(coef[:3] != 0.0)  # the informative features survive
        zeros.append(int(np.sum(coef == 0.0)))
    # From none to every one of the 27 noise features.
    assert 0 == zeros[0] < zeros[1] < zeros[2] < zeros[3] == 27


# ---------------------------------------------------------------------- sparse input, NaN
def _messy_csr(X: np.ndarray) -> sp.csr_matrix:
    """CSR with unsorted indices, each value stored as two halves, and explicit zeros."""
    data, indices, indptr = [], [], [0]
    for row in X:
        cols = np.flatnonzero(row)[::-1]
        for c in cols:
            data += [row[c] / 2, row[c] / 2]
            indices += [c, c]
        data.append(0.0)
        indices.append(0)
        indptr.append(len(data))
    messy = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=X.shape)
    assert not messy.has_canonical_format
    return messy


def _formats(X: np.ndarray) -> dict:
    wide = sp.csr_matrix(X)
    wide.indices = wide.indices.astype(np.int64)
    wide.indptr = wide.indptr.astype(np.int64)
    return {
        "csr": sp.csr_matrix(X),
        "csr_array": sp.csr_array(X),
        "csc": sp.csc_matrix(X),
        "coo": sp.coo_matrix(X),
        "csr_int64": wide,
        "csr_unsorted_duplicates": _messy_csr(X),
    }


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_sparse_and_dense_input_give_identical_models(task):
    X, y = _data(
        task="regression" if task == "regression" else "classification",
        n_classes=3 if task == "multiclass" else 2,
    )
    X = np.round(X, 1)  # halves that add up exactly for the duplicated entries
    cls = FTRLRegressor if task == "regression" else FTRLClassifier
    dense = cls(variant="fast", l1=0.1, random_state=1).fit(X, y)
    outputs = dense.predict_proba if task != "regression" else dense.predict
    for name, data in _formats(X).items():
        model = cls(variant="fast", l1=0.1, random_state=1).fit(data, y)
        assert np.array_equal(model.z_, dense.z_), name
        assert np.array_equal(model.coef_, dense.coef_), name
        again = model.predict_proba if task != "regression" else model.predict
        assert np.array_equal(again(data), outputs(X)), name


def test_nan_is_an_absent_feature():
    X, y = _data(task="classification", nan=0.15)
    X[:, 4] = np.nan  # a feature never observed
    model = FTRLClassifier(variant="fast", random_state=2).fit(X, y)
    zeros = FTRLClassifier(variant="fast", random_state=2).fit(np.nan_to_num(X), y)
    assert np.array_equal(model.z_, zeros.z_) and np.array_equal(model.n_, zeros.n_)
    assert np.all(model.z_[4] == 0.0) and np.all(model.n_[4] == 0.0) and model.coef_[0, 4] == 0
    # NaN stored in a sparse matrix is absent too, at fit and at predict.
    stored = sp.csr_matrix(np.where(np.isnan(X), 0.0, X))
    stored.data[::7] = np.nan
    dense_same = stored.toarray()
    sparse_model = FTRLClassifier(variant="fast", random_state=2).fit(stored, y)
    assert np.array_equal(
        sparse_model.coef_,
        FTRLClassifier(variant="fast", random_state=2).fit(np.nan_to_num(dense_same), y).coef_,
    )
    assert np.array_equal(model.predict_proba(X), model.predict_proba(np.nan_to_num(X)))
    assert np.array_equal(
        sparse_model.decision_function(stored),
        sparse_model.decision_function(np.nan_to_num(dense_same)),
    )
    # No statistics are learned: the imputation step passes every value through.
    assert model.imputer_.strategy == "passthrough"
    assert not model.imputer_.statistics_.any() and not model.imputer_.empty_features_.any()


def test_sparse_input_is_never_densified():
    rng = np.random.default_rng(0)
    rows, width, per_row = 3000, 2**20, 30
    # 30 entries per row among 2000 columns spread over 2**20 (hashed features).
    pool = rng.choice(width, size=2000, replace=False)
    indices = np.sort(rng.choice(pool, size=(rows, per_row)), axis=1).ravel()
    X = sp.csr_matrix(
        (np.ones(rows * per_row), indices, np.arange(0, rows * per_row + 1, per_row)),
        shape=(rows, width),
    )
    X.sum_duplicates()
    truth = np.zeros(width)
    truth[pool] = rng.normal(size=2000)
    y = (X @ truth > 0).astype(int)
    dense_bytes = rows * width * 8  # 25 GB
    tracemalloc.start()
    try:
        model = FTRLClassifier(variant="fast").fit(X, y)
        model.partial_fit(X[:100], y[:100])
        model.predict_proba(X)
        model.decision_function(X.tocsc())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    state = model.z_.nbytes + model.n_.nbytes + model._w_.nbytes  # 3 x 8 MB
    assert peak < state + 40 * 2**20 < dense_bytes / 100
    assert model.score(X, y) > 0.9


# ---------------------------------------------------------------------- learning
def test_multiclass_learns_separable_classes_far_above_chance():
    rng = np.random.default_rng(0)
    centers = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0], [0.0, -4.0]])
    labels = rng.integers(0, 4, size=800)
    X = centers[labels] + rng.normal(size=(800, 2))
    y = np.array(["east", "west", "north", "south"])[labels]
    model = FTRLClassifier(random_state=0).fit(X[:600], y[:600])
    assert model.score(X[600:], y[600:]) > 0.9  # chance: 0.25
    proba = model.predict_proba(X[600:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = model.decision_function(X[600:])
    assert scores.shape == (200, 4)
    assert np.array_equal(model.classes_[np.argmax(scores, axis=1)], model.predict(X[600:]))


def test_binary_decision_function_is_the_log_odds_of_the_second_class():
    X, y = _data(task="classification")
    model = FTRLClassifier(random_state=0).fit(X, np.where(y == 1, "yes", "no"))
    scores = model.decision_function(X)
    assert scores.shape == (len(y),) and model.coef_.shape == (1, 6)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1.0 / (1.0 + np.exp(-scores)))
    assert model.score(X, np.where(y == 1, "yes", "no")) > 0.8


def test_regressor_recovers_a_linear_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0
    model = FTRLRegressor(l1=0.0, l2=0.0, random_state=0).fit(X, y)
    assert model.coef_.shape == (4,) and model.intercept_.shape == (1,)
    np.testing.assert_allclose(model.coef_, [1.0, -2.0, 0.5, 0.0], atol=0.05)
    np.testing.assert_allclose(model.intercept_, [3.0], atol=0.05)


def test_pandas_input_keeps_feature_names_across_batches():
    X, y = _data(task="classification")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    model = FTRLClassifier(variant="fast").partial_fit(frame[:100], y[:100], classes=[0, 1])
    model.partial_fit(frame[100:], pd.Series(y[100:]))
    assert list(model.feature_names_in_) == list(frame.columns)
    arrays = FTRLClassifier(variant="fast").partial_fit(X[:100], y[:100], classes=[0, 1])
    arrays.partial_fit(X[100:], y[100:])
    assert np.array_equal(model.predict_proba(frame), arrays.predict_proba(X))
    renamed = frame.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        model.partial_fit(renamed, y)


def test_verbose_reports_each_pass_with_its_progressive_loss():
    X, y = _data()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        loud = FTRLRegressor(variant="fast", max_iter=4, verbose=2).fit(X, y)
    lines = err.getvalue().splitlines()
    passes = [line for line in lines if ": pass " in line]
    assert [line.split()[2] for line in passes] == ["1/4", "2/4", "3/4", "4/4"]
    losses = [float(line.split()[-1]) for line in passes]
    assert losses[-1] < losses[0]
    assert np.array_equal(loud.coef_, FTRLRegressor(variant="fast", max_iter=4).fit(X, y).coef_)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": -0.1}, "'alpha' parameter"),
        ({"alpha": 0.0}, "'alpha' parameter"),
        ({"alpha": float("inf")}, "'alpha' parameter"),
        ({"l2": float("nan")}, "'l2' parameter"),
        ({"beta": -1.0}, "'beta' parameter"),
        ({"l1": -1.0}, "'l1' parameter"),
        ({"l2": -1.0}, "'l2' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
    ],
)
def test_invalid_parameters_are_refused(params, match):
    X, y = _data()
    for fit in (
        lambda: FTRLRegressor(**params).fit(X, y),
        lambda: FTRLRegressor(**params).partial_fit(X, y),
    ):
        with pytest.raises(InvalidParameterError, match=match):
            fit()


def test_partial_fit_with_another_number_of_features_is_refused():
    X, y = _data()
    model = FTRLRegressor(variant="fast").partial_fit(X, y)
    before = model.z_.copy()
    with pytest.raises(ValueError, match="X has 5 features, but FTRLRegressor is expecting 6"):
        model.partial_fit(X[:, :5], y)
    assert np.array_equal(model.z_, before)


def test_classes_are_required_first_and_unseen_labels_are_refused():
    X, y = _data(task="classification")
    labels = np.array(["no", "yes"])[y]
    model = FTRLClassifier(variant="fast")
    with pytest.raises(ValueError, match="pass classes= .* on the first call"):
        model.partial_fit(X, labels)
    assert not hasattr(model, "z_")
    with pytest.raises(ValueError, match="2 or more distinct labels"):
        model.partial_fit(X, labels, classes=["yes"])
    with pytest.raises(ValueError, match=r"labels \['no'\] that are not in classes_"):
        model.partial_fit(X, labels, classes=["maybe", "yes"])
    assert not hasattr(model, "classes_")
    model.partial_fit(X[:50], labels[:50], classes=["no", "yes"])
    before = model.z_.copy()
    with pytest.raises(ValueError, match=r"labels \['maybe'\] that are not in classes_"):
        model.partial_fit(X[:2], np.array(["maybe", "yes"]))
    with pytest.raises(ValueError, match="differs from the classes_"):
        model.partial_fit(X[:2], labels[:2], classes=["no", "yes", "maybe"])
    # Labels that only look alike are not the same label.
    with pytest.raises(ValueError, match="not in classes_"):
        FTRLClassifier(variant="fast").partial_fit(X, y.astype(str), classes=[0, 1])
    assert np.array_equal(model.z_, before)


def test_changed_learning_parameters_are_refused_by_a_later_partial_fit():
    X, y = _data()
    model = FTRLRegressor(variant="fast").partial_fit(X, y)
    model.set_params(alpha=0.01)
    with pytest.raises(ValueError, match=r"alpha=0.01 \(learned with 0.5\)"):
        model.partial_fit(X, y)
    model.set_params(alpha=None, variant="sparse")
    with pytest.raises(ValueError, match=r"variant='sparse' \(learned with 'fast'\)"):
        model.partial_fit(X, y)
    model.set_params(variant="fast", max_iter=3)  # max_iter does not change partial_fit
    model.partial_fit(X, y)


def test_an_overflowing_update_leaves_a_partial_fit_model_unchanged():
    X, y = _data()
    model = FTRLRegressor(variant="fast").partial_fit(X, y)
    state = (model.z_.copy(), model.n_.copy(), model.coef_.copy())
    huge = X.copy()
    huge[5:] *= 1e140
    with pytest.raises(NonFinitePredictionError, match="the model is unchanged"):
        model.partial_fit(huge, y * 1e140)
    assert np.array_equal(model.z_, state[0]) and np.array_equal(model.n_, state[1])
    assert np.array_equal(model.coef_, state[2])
    # The softmax model too (its gradients are bounded by |x|: a huge weight overflows).
    Xc, yc = _data(task="classification", n_classes=3)
    clf = FTRLClassifier(variant="fast").partial_fit(Xc, yc, classes=[0, 1, 2])
    before = (clf.z_.copy(), clf.n_.copy(), clf.predict_proba(Xc))
    weights = np.where(np.arange(len(yc)) < 5, 1.0, 1e200)
    with pytest.raises(NonFinitePredictionError, match="the model is unchanged"):
        clf.partial_fit(Xc, yc, sample_weight=weights)
    assert np.array_equal(clf.z_, before[0]) and np.array_equal(clf.n_, before[1])
    assert np.array_equal(clf.predict_proba(Xc), before[2])
    # fit and a first partial_fit that overflow leave the estimator unfitted.
    for call in (
        lambda m: m.fit(huge, y * 1e140),
        lambda m: m.partial_fit(huge, y * 1e140),
    ):
        fresh = FTRLRegressor(variant="fast")
        with pytest.raises(NonFinitePredictionError, match="non-finite update"):
            call(fresh)
        assert not hasattr(fresh, "z_") and not hasattr(fresh, "params_")


def test_a_crafted_model_file_is_refused(tmp_path):
    X, y = _data()
    FTRLRegressor(variant="fast").fit(X, y).save_model(tmp_path / "m.skfam")
    buffer = io.BytesIO()
    bad = np.full((7, 1), -1.0)
    np.save(buffer, bad, allow_pickle=False)
    forge(
        tmp_path / "m.skfam", tmp_path / "bad.skfam", replace={"arrays/n.npy": buffer.getvalue()}
    )
    with pytest.raises(ModelFileError, match="negative sum of squares"):
        skfam.load_model(tmp_path / "bad.skfam")
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 1)), allow_pickle=False)
    forge(
        tmp_path / "m.skfam", tmp_path / "short.skfam", replace={"arrays/z.npy": buffer.getvalue()}
    )
    with pytest.raises(ModelFileError, match=r"shape \(7, 1\)"):
        skfam.load_model(tmp_path / "short.skfam")
