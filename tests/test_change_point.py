"""The change_point family: detection, experts, gate, bad input, model files.

The common suites (check_estimator, determinism, model files, contract) run on it through
the registry; here is what the family itself promises.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import ruptures as rpt
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import ChangePointRegressor
from skfam.models._change_points import Binseg, CostL2, CostNormal, Pelt, refine
from skfam.models.change_point import fit_gate, gate_proba

# ------------------------------------------------------------------ known answer
#: Three linear regimes: their own coefficients and level, and the location of x0.
BETAS = np.array([[1.0, 2.0, 0.0], [-2.0, 0.0, 1.0], [0.5, -1.0, -2.0]])
LEVELS = np.array([0.0, 6.0, -3.0])
SIZES = [600, 450, 450]
TRUE_CHANGES = np.cumsum(SIZES)[:-1]  # rows 600 and 1050


def _regimes(rng: np.random.Generator, sizes: list[int]):
    """Rows of each regime in turn: X (x0 centred at -3, 0, 3), y, the true regime."""
    X, y = [], []
    for k, m in enumerate(sizes):
        Xk = rng.normal(size=(m, 3))
        Xk[:, 0] += 3.0 * (k - 1)
        X.append(Xk)
        y.append(LEVELS[k] + Xk @ BETAS[k] + rng.normal(scale=0.3, size=m))
    return np.vstack(X), np.concatenate(y), np.repeat(np.arange(len(sizes)), sizes)


@pytest.mark.parametrize(
    "params",
    [{}, {"cost": "l2"}, {"method": "binseg"}, {"jump": 25}],
    ids=["pelt-normal", "pelt-l2", "binseg", "jump25"],
)
def test_three_linear_regimes_are_found_and_beat_one_ridge(params):
    # The training series: 3 regimes in time order, changing at rows 600 and 1050. The
    # regimes differ in their coefficients and level (which the detection on the target
    # sees) and in the location of x0 (which the gate needs, to tell a new row's regime).
    # The test rows are fresh draws of each regime: a forecast of rows whose regime is
    # known only through their features.
    rng = np.random.default_rng(0)
    X, y, _ = _regimes(rng, SIZES)
    X_test, y_test, _ = _regimes(rng, [300, 300, 300])
    model = ChangePointRegressor(**params).fit(X, y)
    assert model.n_regimes_ == 3 and model.single_regime_reason_ is None
    assert np.abs(model.change_points_ - TRUE_CHANGES).max() <= 0.02 * len(y)
    mse = np.mean((model.predict(X_test) - y_test) ** 2)
    single = np.mean((Ridge(alpha=1.0).fit(X, y).predict(X_test) - y_test) ** 2)
    assert mse <= 0.7 * single


def test_the_experts_are_ridges_of_their_segments_and_predict_mixes_them():
    rng = np.random.default_rng(1)
    X, y, _ = _regimes(rng, SIZES)
    weight = rng.uniform(0.5, 2.0, size=len(y))
    model = ChangePointRegressor(alpha=0.5).fit(X, y, sample_weight=weight)
    edges = [0, *model.change_points_, len(y)]
    for k, (a, b) in enumerate(pairwise(edges)):
        ridge = Ridge(alpha=0.5).fit(X[a:b], y[a:b], sample_weight=weight[a:b])
        np.testing.assert_allclose(model.experts_[k].coef_, ridge.coef_, rtol=1e-10)
    proba = model.predict_regime_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    experts = np.column_stack([e.predict(X) for e in model.experts_])
    np.testing.assert_allclose(model.predict(X), (proba * experts).sum(axis=1), rtol=1e-12)
    assert np.array_equal(model.predict_regime(X), proba.argmax(axis=1))
    # The gate tells the training rows' regimes from their features.
    truth = np.repeat(np.arange(3), np.diff(edges))
    assert np.mean(model.predict_regime(X) == truth) > 0.85


def test_detection_reads_every_row_whatever_its_weight():
    rng = np.random.default_rng(2)
    X, y, _ = _regimes(rng, SIZES)
    weight = np.where(rng.random(len(y)) < 0.3, 0.0, 1.0)
    plain = ChangePointRegressor().fit(X, y)
    weighted = ChangePointRegressor().fit(X, y, sample_weight=weight)
    assert np.array_equal(plain.change_points_, weighted.change_points_)
    # ... while the experts leave the rows of weight 0 out.
    kept = weight > 0
    a, b = 0, int(weighted.change_points_[0])
    ridge = Ridge(alpha=1.0).fit(X[a:b][kept[a:b]], y[a:b][kept[a:b]])
    np.testing.assert_allclose(weighted.experts_[0].coef_, ridge.coef_, rtol=1e-10)


def test_detect_on_columns_by_name_or_index():
    # x0 shifts at the changes; the target alone changes nowhere (same relation everywhere).
    rng = np.random.default_rng(3)
    X, _, _ = _regimes(rng, SIZES)
    y = X @ np.array([1.0, -1.0, 0.5]) + rng.normal(scale=0.3, size=len(X))
    frame = pd.DataFrame(X, columns=["level", "a", "b"])
    by_name = ChangePointRegressor(detect_on=["level"]).fit(frame, y)
    by_index = ChangePointRegressor(detect_on=[0]).fit(X, y)
    assert np.abs(by_name.change_points_ - TRUE_CHANGES).max() <= 0.02 * len(y)
    assert np.array_equal(by_name.change_points_, by_index.change_points_)
    on_target = ChangePointRegressor(cost="l2").fit(X, y)
    assert len(on_target.change_points_) < 2 or not np.array_equal(
        on_target.change_points_, by_index.change_points_
    )


@pytest.mark.parametrize(
    ("detect_on", "frame", "match"),
    [
        (["nope"], True, r"names the column 'nope', which X does not have; its columns are"),
        (["level"], False, "X has no column names"),
        ([5], False, "column index 5, outside X's 3 columns"),
        ([0, 0], False, "names a column twice"),
        ([], False, "non-empty list of columns"),
        ([1.5], False, r"column names \(str\) or indices \(int\)"),
    ],
)
def test_bad_detect_on_is_refused(detect_on, frame, match):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 3))
    data = pd.DataFrame(X, columns=["level", "a", "b"]) if frame else X
    model = ChangePointRegressor(variant="fast", detect_on=detect_on)
    with pytest.raises(ValueError, match=match):
        model.fit(data, X[:, 0])
    assert not hasattr(model, "experts_")


def test_auto_jump_keeps_the_candidates_to_a_thousand_and_says_so():
    rng = np.random.default_rng(5)
    X, y, _ = _regimes(rng, [3000, 2500, 2500])
    model = ChangePointRegressor().fit(X, y)
    assert model.params_["jump"] == 8  # ceil(8000 / 1000)
    # The change points are refined to the row, off the grid of multiples of 8.
    assert np.array_equal(model.change_points_, [3000, 5500])
    assert ChangePointRegressor(jump=3).fit(X[:200], y[:200]).params_["jump"] == 3


# ------------------------------------------------------------------ one regime
def test_a_constant_target_is_one_regime_stated():
    X = np.random.default_rng(6).normal(size=(200, 2))
    model = ChangePointRegressor(variant="fast").fit(X, np.full(200, 3.0))
    assert model.n_regimes_ == 1 and len(model.change_points_) == 0
    assert "the target is constant" in model.single_regime_reason_
    assert model.penalty_ is None
    np.testing.assert_allclose(model.predict(X), 3.0)


def test_fewer_rows_than_two_segments_is_one_regime_stated():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(39, 2)), rng.normal(size=39)
    model = ChangePointRegressor(variant="fast").fit(X, y)  # min_size 20
    assert model.n_regimes_ == 1
    assert model.single_regime_reason_ == "39 rows are fewer than 2 x min_size = 40"
    ridge = Ridge(alpha=1.0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), ridge.predict(X), rtol=1e-12)
    np.testing.assert_array_equal(model.predict_regime_proba(X), np.ones((39, 1)))


def test_noise_without_changes_is_one_regime_stated():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(2000, 2)), rng.normal(size=2000)
    model = ChangePointRegressor().fit(X, y)
    assert model.n_regimes_ == 1
    assert model.single_regime_reason_.startswith("the search found no change of the target")
    assert model.penalty_ == pytest.approx(3 * np.log(2000))  # normal: a mean, a variance, a start


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"penalty": 0.0}, "penalty"),
        ({"penalty": -1.0}, "penalty"),
        ({"min_size": 0}, "min_size"),
        ({"jump": 0}, "jump"),
        ({"method": "dynp"}, "method"),
        ({"cost": "rbf"}, "cost"),
        ({"gate_shrinkage": 0.0}, "gate_shrinkage"),
        ({"alpha": -1.0}, "alpha"),
        ({"detect_on": "features"}, "detect_on"),
    ],
)
def test_invalid_parameters_are_refused(params, name):
    X = np.random.default_rng(9).normal(size=(50, 2))
    with pytest.raises(InvalidParameterError, match=name):
        ChangePointRegressor(variant="fast", **params).fit(X, X[:, 0])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"expert": "nope"}, "Unknown expert 'nope'"),
        ({"expert": "lstm"}, "must be a family of tabular input"),
        ({"expert": "gmm_regime", "expert_params": {"random_state": 1}}, "must not set"),
        ({"expert_params": {"alpha": 2.0}}, "set the estimator's alpha instead"),
        ({"expert_params": {"fit_intercepts": False}}, "not parameters of scikit-learn's Ridge"),
    ],
)
def test_bad_expert_settings_are_refused_before_fitting(params, match):
    X = np.random.default_rng(10).normal(size=(50, 2))
    model = ChangePointRegressor(variant="fast", **params)
    with pytest.raises(ValueError, match=match):
        model.fit(X, X[:, 0])
    assert not hasattr(model, "change_points_")


def test_a_regime_without_weight_is_an_error_naming_it():
    rng = np.random.default_rng(11)
    X, y, _ = _regimes(rng, SIZES)
    weight = np.ones(len(y))
    weight[1050:] = 0.0
    with pytest.raises(ValueError, match="Regime 2 has no rows of positive weight"):
        ChangePointRegressor().fit(X, y, sample_weight=weight)


# ------------------------------------------------------------------ experts of a family
def test_skfam_experts_get_derived_seeds_and_survive_the_model_file(tmp_path):
    rng = np.random.default_rng(12)
    X, y, _ = _regimes(rng, SIZES)
    model = ChangePointRegressor(
        expert="lightgbm", expert_params={"variant": "fast"}, random_state=3
    ).fit(X, y)
    assert [type(e).__name__ for e in model.experts_] == ["LightGBMRegressor"] * 3
    seeds = [e.random_state for e in model.experts_]
    assert len(set(seeds)) == 3 and all(
        s == skfam._seeds.derive_seed(3, "experts", index=k) for k, s in enumerate(seeds)
    )
    assert model.experts_[0].params_["n_estimators"] == 20  # the fast variant
    model.save_model(tmp_path / "cp.skfam")
    loaded = skfam.load_model(tmp_path / "cp.skfam")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert np.array_equal(loaded.change_points_, model.change_points_)
    assert np.array_equal(loaded.predict_regime_proba(X), model.predict_regime_proba(X))


def test_expert_params_merge_over_the_sst_dict(tmp_path):
    # configs/models/change_point.yaml sets expert_params {}; a variant of a config_dir copy
    # sets one key, the user another: both reach the experts.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "change_point.yaml").write_text(
        "variants:\n  mine:\n    expert_params: {fit_intercept: false}\n"
    )
    X = np.random.default_rng(13).normal(size=(60, 2))
    with skfam.config_context(config_dir=tmp_path):
        model = ChangePointRegressor(variant="mine", expert_params={"tol": 1e-6}).fit(X, X[:, 0])
    assert model.params_["expert_params"] == {"fit_intercept": False, "tol": 1e-6}
    assert model.experts_[0].fit_intercept is False and model.experts_[0].tol == 1e-6


def test_ridge_model_file_round_trip_and_crafted_change_points(tmp_path):
    from skfam.model_file import npy_bytes

    from ._forge import forge

    rng = np.random.default_rng(14)
    X, y, _ = _regimes(rng, SIZES)
    model = ChangePointRegressor().fit(pd.DataFrame(X, columns=["x0", "x1", "x2"]), y)
    path = tmp_path / "cp.skfam"
    model.save_model(path)
    loaded = skfam.load_model(path)
    frame = pd.DataFrame(X, columns=["x0", "x1", "x2"])
    assert np.array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.single_regime_reason_ is None and loaded.penalty_ == model.penalty_
    forged = tmp_path / "forged.skfam"
    forge(path, forged, replace={"arrays/change_points.npy": npy_bytes(np.array([1050, 600]))})
    with pytest.raises(skfam.ModelFileError, match="increasing positive int64"):
        skfam.load_model(forged)


# ------------------------------------------------------------------ search and costs
def _series(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    levels = np.repeat(rng.normal(scale=2.0, size=4), n // 4 + 1)[:n]
    scales = np.repeat(rng.uniform(0.5, 2.0, size=4), n // 4 + 1)[:n]
    return np.column_stack([levels + scales * rng.normal(size=n), rng.normal(size=n)])


@pytest.mark.parametrize("cost_class", [CostL2, CostNormal])
@pytest.mark.parametrize("seed", range(6))
def test_the_vectorised_searches_find_what_ruptures_finds(cost_class, seed):
    rng = np.random.default_rng(100 + seed)
    signal = _series(seed, int(rng.integers(80, 300)))
    jump, min_size = int(rng.integers(1, 6)), int(rng.integers(2, 12))
    pen = float(rng.uniform(2.0, 30.0))
    for ours, theirs in ((Pelt, rpt.Pelt), (Binseg, rpt.Binseg)):
        mine = ours(custom_cost=cost_class(), min_size=min_size, jump=jump).fit(signal)
        reference = theirs(custom_cost=cost_class(), min_size=min_size, jump=jump).fit(signal)
        assert mine.predict(pen=pen) == reference.predict(pen=pen)


@pytest.mark.parametrize("cost_class", [CostL2, CostNormal])
def test_cumulative_costs_equal_their_definitions(cost_class):
    signal = _series(0, 200)
    cost = cost_class().fit(signal)
    z = (signal - signal.mean(axis=0)) / signal.std(axis=0)
    if cost_class is CostL2:
        diffs = np.diff(signal, axis=0)
        mad = np.median(np.abs(diffs - np.median(diffs, axis=0)), axis=0)
        z = (signal - signal.mean(axis=0)) / (1.4826 * mad / np.sqrt(2.0))
    for start, end in [(0, 200), (10, 37), (150, 152), (3, 4)]:
        if end - start < cost.min_size:
            continue
        seg = z[start:end]
        if cost_class is CostL2:
            expected = ((seg - seg.mean(axis=0)) ** 2).sum()
        else:
            expected = (end - start) * np.log(seg.var(axis=0)).sum()
        assert cost.error(start, end) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_refining_never_raises_the_penalised_cost():
    signal = _series(7, 2000)
    cost = CostNormal().fit(signal)
    pen = cost.penalty_bic(2000)

    def penalised(points):
        edges = [0, *points, 2000]
        return sum(cost.error(a, b) for a, b in pairwise(edges)) + (pen * len(points))

    found = Pelt(custom_cost=cost, min_size=10, jump=40).fit(signal).predict(pen=pen)[:-1]
    refined = refine(cost, found, 2000, 40, 10, pen)
    exact = Pelt(custom_cost=cost, min_size=10, jump=1).fit(signal).predict(pen=pen)[:-1]
    assert penalised(refined) < penalised(found)
    # Here the search on a grid of 40 rows, refined, finds the exact optimum at every row.
    assert found != exact and refined == exact


def test_the_gate_weighs_rows_as_repeated_rows():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(90, 3)) + np.repeat(np.arange(3), 30)[:, None]
    labels = np.repeat(np.arange(3), 30)
    weight = rng.integers(0, 4, size=90).astype(float)
    weighted = fit_gate(X, labels, weight, 3, 0.1)
    rows = np.repeat(np.arange(90), weight.astype(int))
    repeated = fit_gate(X[rows], labels[rows], np.ones(len(rows)), 3, 0.1)
    for a, b in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    proba = gate_proba(X, *weighted)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_the_thread_count_does_not_change_the_model_of_many_rows():
    # The determinism properties fit a few dozen rows, where BLAS never splits its work; at
    # 50,000 x 30, OpenBLAS on 2 threads rounded the gate and the ridges differently
    # (before the family's own products ran on one thread).
    rng = np.random.default_rng(16)
    X = rng.normal(size=(50_000, 30))
    X[25_000:, :3] += 2.0
    y = X @ rng.normal(size=30) + np.where(np.arange(50_000) < 25_000, 0.0, 3.0)
    one = ChangePointRegressor(n_jobs=1).fit(X, y)
    two = ChangePointRegressor(n_jobs=2).fit(X, y)
    assert one.n_regimes_ == 2
    assert np.array_equal(one.predict(X), two.predict(X))
    assert np.array_equal(one.predict_regime_proba(X), two.predict_regime_proba(X))
