"""Behaviour of the ngboost family (natural gradient boosting implemented in skfam)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.metrics import log_loss

import skfam
from skfam import NGBoostClassifier, NGBoostRegressor
from skfam.models._ngboost_dists import Categorical, Normal


def _heteroscedastic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = X[:, 0] + (0.3 + np.abs(X[:, 0])) * rng.normal(size=n)
    return X, y


def test_heteroscedastic_nll_and_interval_coverage():
    X, y = _heteroscedastic(4000)
    reg = NGBoostRegressor().fit(X[:3000], y[:3000])
    dist = reg.predict_dist(X[3000:])
    y_test = y[3000:]
    nll = -norm.logpdf(y_test, dist["loc"], dist["scale"]).mean()
    constant = np.std(y[:3000] - reg.predict(X[:3000]))
    nll_constant = -norm.logpdf(y_test, dist["loc"], constant).mean()
    assert nll < nll_constant - 0.1
    interval = reg.predict_interval(X[3000:], alpha=0.2)
    covered = ((y_test >= interval[:, 0]) & (y_test <= interval[:, 1])).mean()
    assert abs(covered - 0.8) < 0.04


def test_predict_dist_and_interval_shapes():
    X, y = _heteroscedastic(200)
    reg = NGBoostRegressor(variant="fast").fit(X, y)
    dist = reg.predict_dist(X)
    assert set(dist) == {"loc", "scale"}
    np.testing.assert_array_equal(dist["loc"], reg.predict(X))
    assert (dist["scale"] > 0).all()
    interval = reg.predict_interval(X, alpha=0.2)
    assert interval.shape == (200, 2)
    np.testing.assert_allclose(interval.mean(axis=1), dist["loc"])
    np.testing.assert_allclose(interval[:, 1] - interval[:, 0], 2 * norm.ppf(0.9) * dist["scale"])
    for alpha in (0.0, 1.0, -0.1, True):
        with pytest.raises(ValueError, match="alpha"):
            reg.predict_interval(X, alpha=alpha)


def test_normal_natural_gradient_is_fisher_inverse_times_gradient():
    rng = np.random.default_rng(0)
    theta = np.column_stack([rng.normal(size=5), rng.normal(size=5)])
    y = rng.normal(size=5)
    sigma = np.exp(theta[:, 1])
    grad = np.column_stack([-(y - theta[:, 0]) / sigma**2, 1 - (y - theta[:, 0]) ** 2 / sigma**2])
    natural = np.column_stack([grad[:, 0] * sigma**2, grad[:, 1] / 2])
    np.testing.assert_allclose(Normal.natural_gradient(theta, y), natural)
    # The gradient is the derivative of the score.
    eps = 1e-6
    for j in range(2):
        step = np.zeros_like(theta)
        step[:, j] = eps
        numeric = (Normal.nll(theta + step, y) - Normal.nll(theta - step, y)) / (2 * eps)
        np.testing.assert_allclose(numeric, grad[:, j], rtol=1e-5, atol=1e-7)


def test_categorical_natural_gradient_matches_a_linear_solve():
    rng = np.random.default_rng(1)
    dist = Categorical(4)
    theta = rng.normal(size=(6, 3))
    y = rng.integers(0, 4, size=6)
    p = dist.proba(theta)
    grad = p[:, 1:] - np.eye(4)[y][:, 1:]
    for i in range(6):
        fisher = np.diag(p[i, 1:]) - np.outer(p[i, 1:], p[i, 1:])
        np.testing.assert_allclose(
            dist.natural_gradient(theta, y)[i],
            np.linalg.solve(fisher, grad[i]),
            rtol=1e-8,
            atol=1e-10,
        )


def test_classifier_binary_and_multiclass():
    X, y = load_breast_cancer(return_X_y=True)
    clf = NGBoostClassifier(n_estimators=100, learning_rate=0.1).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.95
    assert log_loss(y, proba) < log_loss(y, np.tile(np.bincount(y) / len(y), (len(y), 1)))
    X, y = load_iris(return_X_y=True)
    clf = NGBoostClassifier(variant="fast").fit(X, y)
    assert clf.predict_proba(X).shape == (150, 3)
    assert len(clf.trees_[0]) == 2  # K - 1 logits


def test_line_search_and_early_stopping():
    X, y = _heteroscedastic(1500)
    reg = NGBoostRegressor(n_estimators=2000, learning_rate=0.1, early_stopping=True).fit(X, y)
    assert reg.n_iter_ < 2000
    assert len(reg.trees_) == reg.n_iter_ - reg.params_["early_stopping_rounds"]
    assert ((reg.scalings_ > 0) & (reg.scalings_ <= 1)).all()
    assert np.argmin(reg.validation_loss_) + 1 == len(reg.trees_)


def test_subsampling_uses_its_own_stream():
    X, y = _heteroscedastic(300)
    params = {"variant": "fast", "minibatch_frac": 0.5, "col_sample": 0.67}
    a = NGBoostRegressor(**params, random_state=0).fit(X, y)
    b = NGBoostRegressor(**params, random_state=0).fit(X, y)
    c = NGBoostRegressor(**params, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.array_equal(a.predict(X), c.predict(X))
    assert a.columns_.shape == (len(a.trees_), 2)


def test_model_file_round_trip_of_distributions(tmp_path):
    X, y = _heteroscedastic(200)
    X[::9, 2] = np.nan
    reg = NGBoostRegressor(variant="fast").fit(X, y)
    path = tmp_path / "ng.skfam"
    reg.save_model(path)
    loaded = skfam.load_model(path)
    for key, value in reg.predict_dist(X).items():
        np.testing.assert_array_equal(loaded.predict_dist(X)[key], value)
    np.testing.assert_array_equal(loaded.predict_interval(X, 0.3), reg.predict_interval(X, 0.3))


def test_model_file_holds_no_pickle(tmp_path):
    import zipfile

    X, y = load_iris(return_X_y=True)
    clf = NGBoostClassifier(variant="fast").fit(X, y)
    path = tmp_path / "c.skfam"
    clf.save_model(path)
    with zipfile.ZipFile(path) as archive:
        assert "blobs/trees.skops" in archive.namelist()
    np.testing.assert_array_equal(skfam.load_model(path).predict_proba(X), clf.predict_proba(X))
