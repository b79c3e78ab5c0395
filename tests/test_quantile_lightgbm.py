"""Behaviour of the quantile_lightgbm family."""

from __future__ import annotations

import numpy as np
import pytest

import skfam
from skfam import QuantileLightGBMRegressor


def _heteroscedastic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = X[:, 0] + (0.5 + np.abs(X[:, 0])) * rng.normal(size=n)
    return X, y


def test_registry_entry():
    info = skfam.families()["quantile_lightgbm"]
    assert info.regressor is QuantileLightGBMRegressor
    assert info.classifier is None
    assert info.tasks == ("regression",)
    assert "fast" in info.variants


def test_coverage_on_heteroscedastic_data():
    X, y = _heteroscedastic(4000)
    reg = QuantileLightGBMRegressor(variant="small_data").fit(X[:3000], y[:3000])
    q = reg.predict_quantiles(X[3000:])
    coverage = (y[3000:, None] <= q).mean(axis=0)
    np.testing.assert_allclose(coverage, reg.quantiles_, atol=0.04)
    # The intervals adapt to the noise: wider where |x0| is large.
    width = q[:, -1] - q[:, 0]
    wide = np.abs(X[3000:, 0]) > 1.5
    narrow = np.abs(X[3000:, 0]) < 0.5
    assert width[wide].mean() > 2 * width[narrow].mean()


def test_quantiles_sorted_non_crossing_and_median():
    X, y = _heteroscedastic(300)
    reg = QuantileLightGBMRegressor(variant="fast", quantiles=[0.9, 0.2, 0.5, 0.45]).fit(X, y)
    np.testing.assert_array_equal(reg.quantiles_, [0.2, 0.45, 0.5, 0.9])
    q = reg.predict_quantiles(X)
    assert q.shape == (300, 4)
    assert (np.diff(q, axis=1) >= 0).all()
    assert reg.median_index_ == 2
    np.testing.assert_array_equal(reg.predict(X), q[:, 2])
    assert len(reg.boosters_) == 4


def test_crossing_boosters_are_rearranged():
    # Nearly equal levels fitted separately cross often; the output never does.
    X, y = _heteroscedastic(200, seed=3)
    reg = QuantileLightGBMRegressor(variant="fast", quantiles=[0.49, 0.5, 0.51]).fit(X, y)
    raw = np.column_stack(
        [
            b.predict(X, num_iteration=k)
            for b, k in zip(reg.boosters_, reg.best_iterations_, strict=True)
        ]
    )
    q = reg.predict_quantiles(X)
    np.testing.assert_array_equal(q, np.sort(raw, axis=1))
    assert (np.diff(q, axis=1) >= 0).all()


def test_booster_seeds_come_from_the_model_stream():
    from skfam._seeds import derive_seed

    X, y = _heteroscedastic(100)
    reg = QuantileLightGBMRegressor(variant="fast", random_state=5).fit(X, y)
    seeds = [int(b.params["seed"]) for b in reg.boosters_]
    assert seeds == [derive_seed(5, "model", index=i) for i in range(3)]
    assert [b.params["alpha"] for b in reg.boosters_] == [0.1, 0.5, 0.9]


@pytest.mark.parametrize(
    ("quantiles", "message"),
    [
        ([], "at least one level"),
        ([0.1, 0.1], "unique"),
        ([0.0, 0.5], r"strictly in \(0, 1\)"),
        ([0.5, 1.0], r"strictly in \(0, 1\)"),
        ([0.5, float("nan")], r"strictly in \(0, 1\)"),
        ("0.5", "array-like"),
    ],
)
def test_invalid_quantiles_raise(quantiles, message):
    X, y = _heteroscedastic(50)
    with pytest.raises(ValueError, match=message):
        QuantileLightGBMRegressor(variant="fast", quantiles=quantiles).fit(X, y)


def test_model_file_round_trip_of_quantiles(tmp_path):
    X, y = _heteroscedastic(200)
    X[::7, 1] = np.nan
    reg = QuantileLightGBMRegressor(variant="fast", quantiles=(0.05, 0.5, 0.95)).fit(X, y)
    path = tmp_path / "q.skfam"
    reg.save_model(path)
    loaded = skfam.load_model(path)
    np.testing.assert_array_equal(loaded.predict_quantiles(X), reg.predict_quantiles(X))
    np.testing.assert_array_equal(loaded.quantiles_, reg.quantiles_)
    assert loaded.median_index_ == reg.median_index_


def test_predict_quantiles_needs_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        QuantileLightGBMRegressor().predict_quantiles(np.zeros((2, 3)))


def test_lightgbm_family_is_unchanged_by_the_refactor():
    from skfam import LightGBMRegressor
    from skfam._seeds import derive_seed

    X, y = _heteroscedastic(200)
    reg = LightGBMRegressor(variant="fast", random_state=3).fit(X, y)
    assert int(reg.booster_.params["seed"]) == derive_seed(3, "model")
    assert reg.booster_.params["objective"] == "regression"
