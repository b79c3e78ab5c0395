"""The gmm_regime family: weighted EM, regimes, experts, BIC, PCA, bad input, model files.

The common suites (check_estimator, determinism, model files, contract) run on it through
the registry; here is what the family itself promises.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import GMMRegimeRegressor
from skfam.models.gmm_regime import WeightedGaussianMixture, weighted_pca

BETAS = np.array([[1.0, -2.0, 0.5], [-1.5, 1.0, 2.0]])
LEVELS = np.array([1.0, -2.0])


def _two_regimes(rng: np.random.Generator, n: int):
    """Rows of two linear regimes separated in feature space (x0 centred at -3 and 3)."""
    truth = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, 3))
    X[:, 0] += np.where(truth == 0, -3.0, 3.0)
    y = LEVELS[truth] + np.einsum("ij,ij->i", X, BETAS[truth]) + rng.normal(scale=0.5, size=n)
    return X, y, truth


# ------------------------------------------------------------------ known answer
@pytest.mark.parametrize(
    "params", [{}, {"n_regimes": "bic"}, {"covariance_type": "diag"}, {"mixture_rows": 300}]
)
def test_two_separated_linear_regimes_are_found_and_predicted_as_by_an_oracle(params):
    rng = np.random.default_rng(0)
    X, y, truth = _two_regimes(rng, 1000)
    X_test, y_test, truth_test = _two_regimes(rng, 1000)
    model = GMMRegimeRegressor(random_state=0, **params).fit(X, y)
    assert model.n_regimes_ == 2 and model.single_regime_reason_ is None
    assert adjusted_rand_score(truth, model.predict_regime(X)) >= 0.9
    assert adjusted_rand_score(truth_test, model.predict_regime(X_test)) >= 0.9
    # The oracle knows each row's regime: a ridge per true regime.
    oracle = [Ridge(alpha=1.0).fit(X[truth == k], y[truth == k]) for k in (0, 1)]
    best = np.where(truth_test == 0, oracle[0].predict(X_test), oracle[1].predict(X_test))
    mse = np.mean((model.predict(X_test) - y_test) ** 2)
    assert mse <= 1.1 * np.mean((best - y_test) ** 2)
    assert mse <= 0.2 * np.mean((Ridge().fit(X, y).predict(X_test) - y_test) ** 2)


def test_experts_are_ridges_weighted_by_responsibilities_and_predict_mixes_them():
    rng = np.random.default_rng(1)
    X, y, _ = _two_regimes(rng, 400)
    weight = rng.uniform(0.5, 2.0, size=400)
    model = GMMRegimeRegressor(alpha=0.3, random_state=1).fit(X, y, sample_weight=weight)
    proba = model.predict_regime_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for k in range(2):
        ridge = Ridge(alpha=0.3).fit(X, y, sample_weight=proba[:, k] * weight)
        np.testing.assert_allclose(model.experts_[k].coef_, ridge.coef_, rtol=1e-8)
    experts = np.column_stack([e.predict(X) for e in model.experts_])
    np.testing.assert_allclose(model.predict(X), (proba * experts).sum(axis=1), rtol=1e-12)
    assert np.array_equal(model.predict_regime(X), proba.argmax(axis=1))


# ------------------------------------------------------------------ weighted EM
def _mixture(k: int, seed: int = 0) -> WeightedGaussianMixture:
    return WeightedGaussianMixture(n_components=k, tol=1e-10, max_iter=500, random_state=seed)


def _same_mixture(a, b, rtol=1e-7):
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=rtol)
    np.testing.assert_allclose(a.means_, b.means_, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=rtol, atol=1e-10)


def test_unit_weights_give_scikit_learns_gaussian_mixture():
    X, _, _ = _two_regimes(np.random.default_rng(2), 300)
    ours = _mixture(3).fit_weighted(X, np.ones(300))
    theirs = GaussianMixture(n_components=3, tol=1e-10, max_iter=500, random_state=0).fit(X)
    _same_mixture(ours, theirs)
    assert ours.weighted_bic(X, np.ones(300)) == pytest.approx(theirs.bic(X), rel=1e-10)


def test_integer_weights_are_repeated_rows_in_the_mixture():
    # The oracle: sklearn's unweighted EM on the rows repeated as many times as their weight
    # (the rows in the same order, so that the k-means initialisations draw the same rows).
    X, _, _ = _two_regimes(np.random.default_rng(3), 200)
    weight = np.random.default_rng(4).integers(1, 4, size=200).astype(float)
    rows = np.repeat(np.arange(200), weight.astype(int))
    weighted = _mixture(2).fit_weighted(X, weight)
    repeated = GaussianMixture(n_components=2, tol=1e-10, max_iter=500, random_state=0).fit(
        X[rows]
    )
    _same_mixture(weighted, repeated)
    assert weighted.weighted_bic(X, weight) == pytest.approx(repeated.bic(X[rows]), rel=1e-9)


@pytest.mark.parametrize("kind", ["repeat", "zero"])
def test_sample_weight_means_repeated_or_removed_rows_for_the_whole_model(kind):
    # Shuffled on purpose: the mixture sorts its rows, so the order given does not matter.
    rng = np.random.default_rng(5)
    X, y, _ = _two_regimes(rng, 300)
    if kind == "repeat":
        weight = rng.integers(1, 4, size=300).astype(float)
        rows = rng.permutation(np.repeat(np.arange(300), weight.astype(int)))
    else:
        weight = np.where(rng.random(300) < 0.3, 0.0, 1.0)
        rows = rng.permutation(np.flatnonzero(weight))
    weighted = GMMRegimeRegressor(random_state=0).fit(X, y, sample_weight=weight)
    plain = GMMRegimeRegressor(random_state=0).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.predict(X), plain.predict(X), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        weighted.predict_regime_proba(X), plain.predict_regime_proba(X), atol=1e-9
    )


def test_the_mixture_is_fitted_on_a_seeded_draw_of_mixture_rows():
    rng = np.random.default_rng(6)
    X, y, truth = _two_regimes(rng, 3000)
    every = GMMRegimeRegressor(mixture_rows="all", random_state=0).fit(X, y)
    enough = GMMRegimeRegressor(mixture_rows=3000, random_state=0).fit(X, y)
    assert np.array_equal(every.predict(X), enough.predict(X))
    drawn = GMMRegimeRegressor(mixture_rows=500, random_state=0).fit(X, y)
    other = GMMRegimeRegressor(mixture_rows=500, random_state=1).fit(X, y)
    assert not np.array_equal(drawn.predict(X), every.predict(X))
    assert not np.array_equal(drawn.mixture_.means_, other.mixture_.means_)
    # A draw of 500 rows finds the same regimes.
    assert adjusted_rand_score(truth, drawn.predict_regime(X)) >= 0.9


# ------------------------------------------------------------------ BIC and PCA
def test_bic_chooses_the_number_of_regimes_and_lists_each_candidate():
    rng = np.random.default_rng(7)
    X, y, _ = _two_regimes(rng, 600)
    model = GMMRegimeRegressor(n_regimes="bic", regime_range=[1, 4], random_state=0).fit(X, y)
    assert sorted(model.bic_) == [1, 2, 3, 4]
    assert model.n_regimes_ == min(model.bic_, key=model.bic_.get) == 2
    one_cloud = rng.normal(size=(600, 3))
    single = GMMRegimeRegressor(n_regimes="bic", regime_range=[1, 3], random_state=0).fit(
        one_cloud, one_cloud[:, 0]
    )
    assert single.n_regimes_ == 1
    assert "BIC is lowest for one regime" in single.single_regime_reason_


def test_weighted_pca_with_unit_weights_is_scikit_learns_and_counts_repeats():
    rng = np.random.default_rng(8)
    Z = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    _, axes, ratio = weighted_pca(Z, np.ones(200), 3)
    pca = PCA(n_components=3).fit(Z)
    np.testing.assert_allclose(np.abs(axes), np.abs(pca.components_), atol=1e-8)
    np.testing.assert_allclose(ratio, pca.explained_variance_ratio_, rtol=1e-8)
    weight = rng.integers(1, 4, size=200).astype(float)
    rows = np.repeat(np.arange(200), weight.astype(int))
    for a, b in zip(
        weighted_pca(Z, weight, 0.9), weighted_pca(Z[rows], np.ones(len(rows)), 0.9), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    # A share of variance keeps the fewest axes reaching it.
    _, axes, ratio = weighted_pca(Z, np.ones(200), 0.9)
    assert ratio.sum() >= 0.9 and ratio[:-1].sum() < 0.9


def test_pca_components_are_fitted_attributes_and_survive_the_model_file(tmp_path):
    rng = np.random.default_rng(9)
    X, y, _ = _two_regimes(rng, 300)
    model = GMMRegimeRegressor(pca_components=0.5, random_state=0).fit(X, y)
    assert model.pca_components_.shape[1] == 3
    assert model.pca_explained_variance_ratio_.sum() >= 0.5
    model.save_model(tmp_path / "gmm.skfam")
    loaded = skfam.load_model(tmp_path / "gmm.skfam")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.pca_components_, model.pca_components_)
    assert loaded.bic_ == model.bic_ and loaded.n_iter_ == model.n_iter_


# ------------------------------------------------------------------ bad input
def test_more_regimes_than_rows_is_a_clear_error():
    X = np.random.default_rng(10).normal(size=(3, 2))
    model = GMMRegimeRegressor(n_regimes=5)
    with pytest.raises(ValueError, match="n_regimes=5 is more than the 3 rows of positive weight"):
        model.fit(X, X[:, 0])
    assert not hasattr(model, "mixture_")
    with pytest.raises(ValueError, match="regime_range's low=4 is more than the 3 rows"):
        GMMRegimeRegressor(n_regimes="bic", regime_range=[4, 6]).fit(X, X[:, 0])


def test_fewer_distinct_rows_than_regimes_is_a_clear_error():
    X = np.repeat(np.array([[0.0, 1.0], [1.0, 0.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="X has 2 distinct rows .standardised., fewer than the 3"):
        GMMRegimeRegressor(n_regimes=3).fit(X, np.arange(20.0))


def test_identical_rows_are_one_regime_stated():
    X = np.ones((50, 3))
    y = np.random.default_rng(11).normal(size=50)
    with pytest.warns(skfam.DegenerateModelWarning):
        model = GMMRegimeRegressor().fit(X, y)
    assert model.n_regimes_ == 1
    assert "the features are the same on every row" in model.single_regime_reason_
    np.testing.assert_allclose(model.predict(X[:2]), np.mean(y))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_regimes": "bic", "regime_range": [3, 2]}, "regime_range must be"),
        ({"n_regimes": "bic", "regime_range": [0, 2]}, "regime_range must be"),
        ({"n_regimes": "bic", "regime_range": [1]}, "regime_range must be"),
        ({"pca_components": 7}, "pca_components=7 is more than the 3 features"),
        ({"expert": "rocket"}, "must be a family of tabular input"),
    ],
)
def test_bad_settings_are_refused(params, match):
    X, y, _ = _two_regimes(np.random.default_rng(12), 60)
    with pytest.raises(ValueError, match=match):
        GMMRegimeRegressor(variant="fast", **params).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [
        {"n_regimes": 0},
        {"pca_components": 1.5},
        {"pca_components": 0.0},
        {"reg_covar": -1.0},
        {"covariance_type": "block"},
        {"mixture_rows": 0},
        {"tol": 0.0},
    ],
)
def test_invalid_parameters_are_refused(params):
    X, y, _ = _two_regimes(np.random.default_rng(13), 60)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        GMMRegimeRegressor(variant="fast", **params).fit(X, y)


# ------------------------------------------------------------------ experts of a family
def test_skfam_experts_with_pandas_input_survive_the_model_file(tmp_path):
    rng = np.random.default_rng(14)
    X, y, _ = _two_regimes(rng, 400)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = GMMRegimeRegressor(
        expert="lightgbm", expert_params={"variant": "fast"}, random_state=2
    ).fit(frame, y)
    assert [type(e).__name__ for e in model.experts_] == ["LightGBMRegressor"] * 2
    model.save_model(tmp_path / "gmm.skfam")
    loaded = skfam.load_model(tmp_path / "gmm.skfam")
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    assert np.array_equal(loaded.predict_regime_proba(frame), model.predict_regime_proba(frame))


def test_the_thread_count_does_not_change_the_model_of_many_rows():
    # As for change_point: at 50,000 x 30 OpenBLAS on 2 threads rounded the scaling, the EM
    # and the ridges differently, before the family's own work ran on one thread.
    rng = np.random.default_rng(15)
    X, y, _ = _two_regimes(rng, 50_000)
    X = np.hstack([X, rng.normal(size=(50_000, 27))])
    one = GMMRegimeRegressor(n_jobs=1, mixture_rows="all").fit(X, y)
    two = GMMRegimeRegressor(n_jobs=2, mixture_rows="all").fit(X, y)
    assert np.array_equal(one.predict(X), two.predict(X))
    assert np.array_equal(one.predict_regime_proba(X), two.predict_regime_proba(X))
