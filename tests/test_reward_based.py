"""The ``reward_based`` family: a ridge whose rows are weighted by their reward ``|y|``.

The oracle is scikit-learn's ``Ridge`` (SVD solver, not the family's Cholesky) fitted with
row weights computed plainly in each test from the documented formula.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import DegenerateModelWarning, RewardWeightedRegressor
from skfam.model_file import ModelFileError
from skfam.models.reward_based import reward_weights

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _data(n: int = 300, seed: int = 0, p: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + 0.5 * rng.normal(size=n)
    return X, y


def _regimes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows with a large first feature follow slope 3 on it (and so have large |y|)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    large = np.abs(X[:, 0]) > 1.5
    y = np.where(large, 3.0 * X[:, 0], X @ np.array([1.0, 0.5, -0.5]))
    return X, y + 0.3 * rng.normal(size=n)


def _plain_factors(y, weighting, power=1.0, beta=1.0):
    if weighting == "power":
        return np.abs(y) ** power
    return np.exp(beta * np.abs(y))


def _oracle(X, y, weights, alpha=1.0, fit_intercept=True):
    return Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(
        X, y, sample_weight=weights
    )


def _same_model(model, other, X):
    np.testing.assert_allclose(model.coef_, other.coef_, **TOL)
    np.testing.assert_allclose(model.intercept_, other.intercept_, **TOL)
    np.testing.assert_allclose(model.predict(X), other.predict(X), **TOL)


# ---------------------------------------------------------------------- what it is for
def test_weighted_fit_beats_plain_ridge_on_the_large_rewards():
    X, y = _regimes(2000, 0)
    X_test, y_test = _regimes(20000, 1)
    large = np.abs(y_test) >= np.quantile(np.abs(y_test), 0.9)
    plain = Ridge(alpha=1.0).fit(X, y).predict(X_test)
    for params in ({"power": 1.0}, {"power": 2.0}, {"weighting": "exp", "beta": 1.0}):
        weighted = RewardWeightedRegressor(**params).fit(X, y).predict(X_test)
        error = ((weighted - y_test) ** 2)[large].mean()
        plain_error = ((plain - y_test) ** 2)[large].mean()
        assert error < 0.5 * plain_error, params
        # The price, as the docs say: the rows of small |y| are fitted worse.
        assert ((weighted - y_test) ** 2)[~large].mean() > ((plain - y_test) ** 2)[~large].mean()


# ---------------------------------------------------------------------- the formula
@pytest.mark.parametrize(
    "params",
    [
        {"weighting": "power", "power": 1.0},
        {"weighting": "power", "power": 2.5},
        {"weighting": "power", "power": 0.0},
        {"weighting": "exp", "beta": 0.7},
        {"weighting": "exp", "beta": 0.0},
    ],
)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_fit_is_ridge_with_the_plainly_computed_weights(params, fit_intercept, with_sample_weight):
    X, y = _data()
    rng = np.random.default_rng(5)
    s = rng.uniform(0.2, 3.0, size=len(y)) if with_sample_weight else np.ones(len(y))
    model = RewardWeightedRegressor(alpha=2.0, fit_intercept=fit_intercept, **params).fit(
        X, y, sample_weight=s if with_sample_weight else None
    )
    w = s * _plain_factors(y, **params)
    w = w / w.sum() * s.sum()
    if not with_sample_weight:
        np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-12)
    oracle = _oracle(X, y, w, alpha=2.0, fit_intercept=fit_intercept)
    _same_model(model, oracle, X)
    if not fit_intercept:
        assert model.intercept_ == 0.0
    np.testing.assert_allclose(model.effective_n_, w.sum() ** 2 / (w**2).sum(), rtol=1e-12)
    assert model.n_zero_weight_ == 0


def test_reward_weights_function_matches_the_formula():
    y = np.array([0.5, -2.0, 3.0, 0.0, -0.1])
    s = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    for weighting, f in (("power", np.abs(y) ** 1.5), ("exp", np.exp(0.3 * np.abs(y)))):
        w = reward_weights(y, s, weighting=weighting, power=1.5, beta=0.3)
        expected = s * f / np.sum(s * f) * s.sum()
        np.testing.assert_allclose(w, expected, rtol=1e-13)
        np.testing.assert_allclose(w.sum(), s.sum(), rtol=1e-13)


def test_no_reward_weighting_is_sklearn_ridge():
    X, y = _data()
    s = np.random.default_rng(1).uniform(0.0, 2.0, size=len(y))
    for params in ({"power": 0.0}, {"weighting": "exp", "beta": 0.0}):
        model = RewardWeightedRegressor(alpha=3.0, **params).fit(X, y, sample_weight=s)
        _same_model(model, _oracle(X, y, s, alpha=3.0), X)
        assert model.n_zero_weight_ == 0


# ---------------------------------------------------------------------- sample_weight
def test_sample_weight_multiplies_the_reward():
    # s = |y| ** q with power p is the reward |y| ** (p + q); the row weights then sum to
    # sum(s) instead of n, which scales the data term: alpha scales with it.
    X, y = _data()
    s = np.abs(y) ** 0.5
    weighted = RewardWeightedRegressor(power=1.0, alpha=2.0 * s.sum() / len(y))
    weighted.fit(X, y, sample_weight=s)
    combined = RewardWeightedRegressor(power=1.5, alpha=2.0).fit(X, y)
    _same_model(weighted, combined, X)


@pytest.mark.parametrize("params", [{"power": 2.0}, {"weighting": "exp", "beta": 0.5}])
def test_integer_sample_weight_is_repeated_rows(params):
    X, y = _data()
    k = np.random.default_rng(2).integers(1, 4, size=len(y))
    weighted = RewardWeightedRegressor(**params).fit(X, y, sample_weight=k.astype(float))
    rows = np.repeat(np.arange(len(y)), k)
    repeated = RewardWeightedRegressor(**params).fit(X[rows], y[rows])
    _same_model(weighted, repeated, X)


@pytest.mark.parametrize("params", [{"power": 2.0}, {"weighting": "exp", "beta": 0.5}])
def test_zero_sample_weight_is_a_removed_row(params):
    X, y = _data()
    keep = np.random.default_rng(3).random(len(y)) > 0.3
    weighted = RewardWeightedRegressor(**params).fit(X, y, sample_weight=keep.astype(float))
    removed = RewardWeightedRegressor(**params).fit(X[keep], y[keep])
    _same_model(weighted, removed, X)
    assert weighted.n_zero_weight_ == 0  # rows of sample_weight 0 are not counted


@pytest.mark.parametrize("params", [{"power": 2.0}, {"weighting": "exp", "beta": 0.5}])
def test_scaling_sample_weight_leaves_the_reward_factors_unchanged(params):
    X, y = _data()
    s = np.random.default_rng(4).uniform(0.5, 2.0, size=len(y))
    c = 1e3
    p = {"weighting": "power", "power": 1.0, "beta": 1.0, **params}
    np.testing.assert_allclose(
        reward_weights(y, c * s, **p), c * reward_weights(y, s, **p), rtol=1e-12
    )
    # So the fit with c * s is the fit with s under alpha / c (as scikit-learn's Ridge) ...
    scaled = RewardWeightedRegressor(alpha=1.0, **params).fit(X, y, sample_weight=c * s)
    _same_model(scaled, RewardWeightedRegressor(alpha=1.0 / c, **params).fit(X, y, s), X)
    assert scaled.effective_n_ == pytest.approx(
        RewardWeightedRegressor(**params).fit(X, y, s).effective_n_, rel=1e-12
    )
    # ... and without a penalty the scale of sample_weight does not matter at all.
    _same_model(
        RewardWeightedRegressor(alpha=0.0, **params).fit(X, y, sample_weight=c * s),
        RewardWeightedRegressor(alpha=0.0, **params).fit(X, y, sample_weight=s),
        X,
    )


# ---------------------------------------------------------------------- the reward's scale
def test_power_weighting_is_scale_free():
    X, y = _data()
    c = 1e3
    small = RewardWeightedRegressor(power=2.0, alpha=0.0).fit(X, y)
    large = RewardWeightedRegressor(power=2.0, alpha=0.0).fit(X, c * y)
    np.testing.assert_allclose(large.predict(X), c * small.predict(X), rtol=1e-10, atol=1e-7)
    assert large.effective_n_ == pytest.approx(small.effective_n_, rel=1e-12)


def test_huge_rewards_do_not_overflow():
    X, y = _data()
    # exp(1000) and 1e100 ** 4 are beyond float64: the weights come from log space.
    cases = [
        ({"weighting": "exp", "beta": 1.0}, y + 1000.0),
        ({"weighting": "power", "power": 4.0}, 1e100 * y),
    ]
    for params, target in cases:
        model = RewardWeightedRegressor(**params).fit(X, target)
        reward = np.abs(target)
        if params["weighting"] == "exp":
            factor = np.exp(reward - reward.max())
        else:
            factor = (reward / reward.max()) ** 4.0
        w = factor / factor.sum() * len(y)
        assert np.isfinite(w).all() and w.max() > 1
        _same_model(model, _oracle(X, target, w), X)
        assert np.isfinite(model.predict(X)).all()


# ---------------------------------------------------------------------- zero rewards
def test_rows_with_zero_reward_take_no_part_under_power():
    X, y = _data()
    zero = np.arange(len(y)) % 7 == 0
    y = np.where(zero, 0.0, y)
    model = RewardWeightedRegressor(power=1.0).fit(X, y)
    assert model.n_zero_weight_ == zero.sum()
    moved = X.copy()
    moved[zero] = np.random.default_rng(6).normal(scale=100.0, size=moved[zero].shape)
    _same_model(model, RewardWeightedRegressor(power=1.0).fit(moved, y), X)
    # exp keeps every row (exp(0) = 1), as does power=0.
    assert RewardWeightedRegressor(weighting="exp", beta=1.0).fit(X, y).n_zero_weight_ == 0
    assert RewardWeightedRegressor(power=0.0).fit(X, y).n_zero_weight_ == 0


def test_all_zero_rewards_are_an_error_under_power():
    X, _ = _data()
    y = np.zeros(len(X))
    with pytest.raises(ValueError, match=r"reward \|y\| = 0"):
        RewardWeightedRegressor(power=1.0).fit(X, y)
    # Rewards only on rows of sample_weight 0 count as none.
    y[:10] = 1.0
    s = np.r_[np.zeros(10), np.ones(len(X) - 10)]
    model = RewardWeightedRegressor(power=1.0)
    with pytest.raises(ValueError, match=r"reward \|y\| = 0"):
        model.fit(X, y, sample_weight=s)
    assert not hasattr(model, "coef_")
    # Under exp the rows weigh alike: a constant target gives a constant model.
    flat = RewardWeightedRegressor(weighting="exp", beta=1.0).fit(X, np.zeros(len(X)))
    assert np.array_equal(flat.predict(X), np.zeros(len(X)))


def test_weight_on_one_row_warns_with_the_cause():
    X, y = _data()
    y[0] = 1e3  # exp(5 * (|y| - 1e3)) underflows to 0 for every other row
    with pytest.warns(DegenerateModelWarning, match="effective_n_=1 "):
        model = RewardWeightedRegressor(weighting="exp", beta=5.0).fit(X, y)
    assert model.effective_n_ == 1.0
    assert model.n_zero_weight_ == len(y) - 1


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": -1.0}, "'alpha'"),
        ({"power": -0.5}, "'power'"),
        ({"weighting": "exp", "beta": -1.0}, "'beta'"),
        ({"power": np.inf}, "'power'"),
        ({"alpha": np.nan}, "'alpha'"),
        ({"weighting": "log"}, "'weighting'"),
        ({"fit_intercept": "yes"}, "'fit_intercept'"),
    ],
)
def test_invalid_parameters_are_refused(params, match):
    X, y = _data()
    with pytest.raises(InvalidParameterError, match=match):
        RewardWeightedRegressor(**params).fit(X, y)


def test_the_other_schemes_parameter_is_refused_not_ignored():
    X, y = _data()
    with pytest.raises(ValueError, match="beta=2.0 has no effect with weighting='power'"):
        RewardWeightedRegressor(beta=2.0).fit(X, y)
    with pytest.raises(ValueError, match="power=2.0 has no effect with weighting='exp'"):
        RewardWeightedRegressor(weighting="exp", power=2.0).fit(X, y)
    with pytest.raises(ValueError, match="power=2.0 has no effect"):
        RewardWeightedRegressor(variant="exp", power=2.0).fit(X, y)
    # The SST's value of the other parameter is no error.
    assert RewardWeightedRegressor(variant="exp").fit(X, y).params_["weighting"] == "exp"


def test_sst_defaults_and_variants():
    X, y = _data()
    model = RewardWeightedRegressor().fit(X, y)
    assert model.params_ == {
        "alpha": 1.0,
        "fit_intercept": True,
        "weighting": "power",
        "power": 1.0,
        "beta": 1.0,
    }
    plain = RewardWeightedRegressor(variant="plain").fit(X, y)
    _same_model(plain, _oracle(X, y, None), X)
    assert plain.effective_n_ == pytest.approx(len(y), rel=1e-12)


# ---------------------------------------------------------------------- model files
def test_model_file_keeps_the_fitted_attributes(tmp_path):
    X, y = _data()
    y[:5] = 0.0
    model = RewardWeightedRegressor(power=2.0).fit(X, y)
    path = tmp_path / "model.skfam"
    model.save_model(path)
    loaded = skfam.load_model(path)
    assert np.array_equal(loaded.coef_, model.coef_)
    assert loaded.intercept_ == model.intercept_
    assert loaded.effective_n_ == model.effective_n_
    assert loaded.n_zero_weight_ == model.n_zero_weight_ == 5
    assert np.array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(
    ("meta", "arrays", "match"),
    [
        ({}, {"coef": np.zeros(3)}, "'coef' is float64 of shape"),
        ({}, {"coef": np.full(4, np.nan)}, "not finite"),
        ({"intercept": "0"}, {}, "intercept"),
        ({"effective_n": -1.0}, {}, "effective_n"),
        ({"n_zero_weight": 1.5}, {}, "n_zero_weight"),
    ],
)
def test_model_file_state_is_checked(meta, arrays, match):
    X, y = _data()
    model = RewardWeightedRegressor().fit(X, y)
    good_meta, good_arrays, _ = model._model_state()
    with pytest.raises(ModelFileError, match=match):
        model._restore_model_state({**good_meta, **meta}, {**good_arrays, **arrays}, {})
