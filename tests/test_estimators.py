"""Behaviour every feature-input estimator promises, beyond scikit-learn's common checks."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sklearn
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skfam
from skfam import LightGBMClassifier, LightGBMRegressor, MLPClassifier, MLPRegressor
from skfam.base import NonFinitePredictionError

from ._strategies import FAMILIES, estimator_cases, fast_params, predictions

FEATURE_CASES = [c for c in estimator_cases() if FAMILIES[c[0]].input_mode == "features"]
IDS = [cls.__name__ for _, _, cls in FEATURE_CASES]


def _data(task, n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    signal = X[:, 0] - X[:, 1]
    if task == "classification":
        return X, np.where(signal > 0.5, "high", np.where(signal < -0.5, "low", "mid"))
    return X, 10 * signal + rng.normal(size=n)


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_all_nan_training_column_is_kept_and_handled(family, task, cls):
    X, y = _data(task)
    X[:, 2] = np.nan
    model = cls(**fast_params(cls)).fit(X, y)
    if model.imputer_.strategy != "passthrough":  # (no statistics: nothing to record)
        assert model.imputer_.empty_features_.tolist() == [False, False, True, False, False]
    X_new = X.copy()
    X_new[:, 2] = 5.0  # values in a column that was empty in training are ignored
    assert np.array_equal(predictions(model, X_new), predictions(model, X))
    # Sporadic NaN at predict are imputed with the training statistics; a family without
    # imputation statistics (ftrl_proximal: NaN is an absent feature) reads them as 0.
    X_gap = X.copy()
    X_gap[::3, 0] = np.nan
    filled = X.copy()
    filled[::3, 0] = _fill_value(model)
    assert np.array_equal(predictions(model, X_gap), predictions(model, filled))


def _fill_value(model) -> float:
    """The value a NaN in column 0 stands for at predict."""
    if model.imputer_.strategy == "passthrough":
        return 0.0
    return model.imputer_.statistics_[0]


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_imputer_statistics_come_from_training_data_only(family, task, cls):
    X, y = _data(task)
    X[:10, 0] = np.nan
    model = cls(**fast_params(cls)).fit(X, y)
    expected = 0.0 if model.imputer_.strategy == "passthrough" else np.nanmedian(X[:, 0])
    assert _fill_value(model) == expected


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (lambda X: np.where(X > 1.5, np.inf, X), ValueError, "infinity"),
        (lambda X: X[:0], ValueError, "0 sample"),
        (lambda X: X[:, :3], ValueError, "features"),
        (lambda X: X.astype(str).astype(object), ValueError, "could not convert|[Ss]tring"),
    ],
    ids=["inf", "empty", "width", "strings"],
)
def test_bad_input_at_predict_gets_clear_errors(family, task, cls, bad, error, match):
    X, y = _data(task)
    model = cls(**fast_params(cls)).fit(X, y)
    bad_X = bad(X)
    if bad_X.dtype == object:
        bad_X = bad_X.copy()
        bad_X[0, 0] = "abc"
    with pytest.raises(error, match=match):
        model.predict(bad_X)


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_sparse_input_is_refused_or_fitted_like_dense_as_the_tags_say(family, task, cls):
    from scipy import sparse

    X, y = _data(task)
    model = cls(**fast_params(cls))
    if not model.__sklearn_tags__().input_tags.sparse:
        with pytest.raises(TypeError, match="[Ss]parse"):
            model.fit(sparse.csr_matrix(X), y)
        return
    fitted = model.fit(sparse.csr_matrix(X), y)
    dense = cls(**fast_params(cls)).fit(X, y)
    assert np.array_equal(predictions(fitted, sparse.csr_matrix(X)), predictions(dense, X))


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_sample_weight_is_used(family, task, cls):
    X, y = _data(task)
    plain = cls(**fast_params(cls)).fit(X, y)
    ones = cls(**fast_params(cls)).fit(X, y, sample_weight=np.ones(len(y)))
    assert np.array_equal(predictions(plain, X), predictions(ones, X))
    weights = np.where(np.arange(len(y)) % 2 == 0, 5.0, 0.2)
    weighted = cls(**fast_params(cls)).fit(X, y, sample_weight=weights)
    assert not np.array_equal(predictions(plain, X), predictions(weighted, X))
    with pytest.raises(ValueError, match="sample_weight"):
        cls(**fast_params(cls)).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="[Nn]egative"):
        cls(**fast_params(cls)).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="at least one non-zero"):
        cls(**fast_params(cls)).fit(X, y, sample_weight=np.zeros(len(y)))


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_outputs_types(family, task, cls):
    X, y = _data(task)
    model = cls(**fast_params(cls)).fit(X, y)
    predicted = model.predict(X)
    if task == "regression":
        assert predicted.dtype == np.float64 and predicted.shape == (len(X),)
    else:
        assert list(model.classes_) == ["high", "low", "mid"]
        assert set(predicted) <= {"high", "low", "mid"}
        proba = model.predict_proba(X)
        assert proba.shape == (len(X), 3) and proba.dtype == np.float64
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()
        assert (predicted == y).mean() > 0.6


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_pandas_input_and_set_output_do_not_leak(family, task, cls):
    import pandas as pd

    X, y = _data(task)
    frame = pd.DataFrame(X, columns=list("abcde"))
    with sklearn.config_context(transform_output="pandas"):
        model = cls(**fast_params(cls)).fit(frame, pd.Series(y))
        in_pandas_mode = predictions(model, frame)
    assert list(model.feature_names_in_) == list("abcde")
    assert np.array_equal(in_pandas_mode, predictions(model, frame))
    assert np.array_equal(
        predictions(model, frame), predictions(cls(**fast_params(cls)).fit(X, y), X)
    )


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_memory_layout_of_X_does_not_change_the_model(family, task, cls):
    # pandas 3 hands scikit-learn column-major (Fortran-ordered) arrays; BLAS sums a
    # product over such an array in another order than over a row-major one, so the
    # regime and reward families fitted other bits from the same frame before skfam
    # made every input row-major. The same numbers must give the same model.
    X, y = _data(task)
    rows = cls(**fast_params(cls)).fit(X, y)
    columns = cls(**fast_params(cls)).fit(np.asfortranarray(X), y)
    assert np.array_equal(predictions(columns, X), predictions(rows, X))
    assert np.array_equal(predictions(rows, np.asfortranarray(X)), predictions(rows, X))


@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_thread_settings_are_restored(family, task, cls):
    from threadpoolctl import threadpool_info

    X, y = _data(task)
    torch_threads = torch.get_num_threads()
    pools = [p["num_threads"] for p in threadpool_info()]
    model = cls(**fast_params(cls), n_jobs=1).fit(X, y)
    model.predict(X)
    assert torch.get_num_threads() == torch_threads
    assert [p["num_threads"] for p in threadpool_info()] == pools


def test_non_finite_training_predictions_fail_fit_with_the_family_name():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] * 1e30
    model = MLPRegressor(variant="fast", device="cpu", learning_rate=1e30, max_epochs=5)
    with pytest.raises(NonFinitePredictionError, match="'mlp' model"):
        model.fit(X, y)


def test_lightgbm_post_fit_check_sees_nan_scores(monkeypatch):
    from skfam.models import lightgbm as module

    monkeypatch.setattr(module, "_booster_outputs_finite", lambda booster, valid: False)
    X, y = _data("regression")
    with pytest.raises(NonFinitePredictionError, match="'lightgbm' model"):
        LightGBMRegressor(variant="fast").fit(X, y)


def test_lightgbm_early_stopping_uses_internal_split():
    X, y = _data("regression", n=2000)
    auto = LightGBMRegressor(variant="fast", n_estimators=500, learning_rate=0.5).fit(X, y)
    assert auto.best_iteration_ < auto.n_iter_ <= 500  # auto: on from 1000 rows
    off = LightGBMRegressor(variant="fast", early_stopping=False).fit(X, y)
    assert off.best_iteration_ == off.n_iter_ == 20
    with pytest.raises(ValueError, match="leave an empty part"):
        LightGBMRegressor(variant="fast", early_stopping=True).fit(X[:1], y[:1])


def test_mlp_early_stopping_stops_and_keeps_best():
    X, y = _data("regression", n=1200)
    model = MLPRegressor(variant="fast", device="cpu", max_epochs=300).fit(X, y)
    assert model.n_iter_ < 300
    assert model.params_["patience"] == 10  # from configs/callbacks.yaml
    assert "early_stopping" in dict(model.net_.callbacks_)


def test_mlp_learns_regression_and_classification():
    from sklearn.metrics import accuracy_score, r2_score

    X, y = _data("regression", n=600)
    reg = MLPRegressor(variant="fast", device="cpu").fit(X[:400], y[:400])
    assert r2_score(y[400:], reg.predict(X[400:])) > 0.9
    X, y = _data("classification", n=600)
    clf = MLPClassifier(variant="fast", device="cpu").fit(X[:400], y[:400])
    assert accuracy_score(y[400:], clf.predict(X[400:])) > 0.85


def test_works_in_pipeline_gridsearch_with_processes():
    X, y = _data("classification", n=150)
    pipe = make_pipeline(StandardScaler(), LightGBMClassifier(variant="fast"))
    search = GridSearchCV(pipe, {"lightgbmclassifier__num_leaves": [3, 7]}, cv=3, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["lightgbmclassifier__num_leaves"] in (3, 7)
    sequential = GridSearchCV(pipe, {"lightgbmclassifier__num_leaves": [3, 7]}, cv=3)
    sequential.fit(X, y)
    assert np.array_equal(
        search.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


def test_cross_val_score_with_mlp():
    X, y = _data("regression", n=150)
    scores = cross_val_score(MLPRegressor(variant="fast", device="cpu"), X, y, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_fresh_interpreter_reproduces_predictions(tmp_path):
    X, y = _data("regression")
    Xc, yc = _data("classification")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "yc.npy", yc)
    script = textwrap.dedent(f"""
        import numpy as np
        import skfam
        X = np.load({str(tmp_path / "X.npy")!r})
        y = np.load({str(tmp_path / "y.npy")!r})
        yc = np.load({str(tmp_path / "yc.npy")!r})
        out = [skfam.LightGBMRegressor(variant="fast").fit(X, y).predict(X),
               skfam.MLPRegressor(variant="fast", device="cpu").fit(X, y).predict(X),
               skfam.MLPClassifier(variant="fast", device="cpu").fit(X, yc).predict_proba(X)]
        np.savez({str(tmp_path / "out.npz")!r}, *out)
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    out = np.load(tmp_path / "out.npz")
    here = [
        LightGBMRegressor(variant="fast").fit(X, y).predict(X),
        MLPRegressor(variant="fast", device="cpu").fit(X, y).predict(X),
        MLPClassifier(variant="fast", device="cpu").fit(Xc, yc).predict_proba(X),
    ]
    for i, expected in enumerate(here):
        assert np.array_equal(out[f"arr_{i}"], expected)


def test_device_errors_are_clear():
    X, y = _data("regression")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPRegressor(variant="fast", device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="device"):
        MLPRegressor(variant="fast", device="tpu").fit(X, y)


def test_invalid_hyperparameter_is_rejected_at_fit():
    X, y = _data("regression")
    with pytest.raises(ValueError, match="num_leaves"):
        LightGBMRegressor(num_leaves=1).fit(X, y)
    with pytest.raises(ValueError, match="hidden_sizes"):
        MLPRegressor(variant="fast", device="cpu", hidden_sizes=[8, -1]).fit(X, y)


def test_families_are_reachable_by_attribute():
    assert skfam.LightGBMRegressor is LightGBMRegressor
    with pytest.raises(AttributeError):
        skfam.NoSuchRegressor  # noqa: B018


def test_torch_post_fit_check_reads_the_weights_then_one_prediction_pass(monkeypatch):
    X, y = _data("regression", n=2000)
    seen = []
    raw_outputs = MLPRegressor._raw_outputs

    def spy(self, X):
        seen.append(len(X))
        return raw_outputs(self, X)

    monkeypatch.setattr(MLPRegressor, "_raw_outputs", spy)
    MLPRegressor(variant="fast", device="cpu", max_epochs=2).fit(X, y)
    assert seen == [512]  # evenly spaced training rows, one padded pass

    # A diverged weight fails the fit from the weights alone, before any prediction.
    from skfam import _torch

    partial_fit = _torch.WeightedNet.partial_fit

    def diverging(self, *args, **kwargs):
        out = partial_fit(self, *args, **kwargs)
        with torch.no_grad():
            next(self.module_.parameters()).view(-1)[0] = float("nan")
        return out

    seen.clear()
    monkeypatch.setattr(_torch.WeightedNet, "partial_fit", diverging)
    with pytest.raises(NonFinitePredictionError, match="'mlp' model"):
        MLPRegressor(variant="fast", device="cpu", max_epochs=2).fit(X, y)
    assert seen == []


# ---------------------------------------------------------------- value ranges
REGRESSION_FEATURE_CASES = [c for c in FEATURE_CASES if c[1] == "regression"]
REGRESSION_IDS = [cls.__name__ for _, _, cls in REGRESSION_FEATURE_CASES]


def _unit_target(n=300, seed=0):
    """Data whose target's largest magnitude is exactly 1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y / np.abs(y).max()


def _relative_r2(model, X, y, scale):
    from sklearn.metrics import r2_score

    return r2_score(y, model.predict(X) / scale)


@pytest.mark.parametrize(("family", "task", "cls"), REGRESSION_FEATURE_CASES, ids=REGRESSION_IDS)
def test_target_beyond_the_library_range_is_refused_at_fit(family, task, cls):
    # y ~ 1e300 gave silently constant predictions (LightGBM, XGBoost: all equal) or a raw
    # OverflowError / LinAlgError (NGBoost, the ensemble's RidgeCV).
    X, y = _unit_target(60)
    bound = cls._target_limit.bound
    model = cls(**fast_params(cls))
    with pytest.raises(
        ValueError,
        match=r"y holds a value of magnitude 1e\+300.*\|y\| <= " + re.escape(f"{bound:.3g}"),
    ):
        model.fit(X, y * 1e300)
    with pytest.raises(NotFittedError):
        model.predict(X)


@pytest.mark.parametrize(
    "cls",
    [LightGBMRegressor, skfam.QuantileLightGBMRegressor, MLPRegressor, skfam.XGBoostRegressor],
)
def test_targets_up_to_the_bound_fit_as_well_as_on_unit_scale(cls):
    # The bound refuses nothing that works: just inside it, the model is as good as on unit
    # scale; just outside, a clear error instead of the degraded model seen there today.
    X, y = _unit_target()
    unit = _relative_r2(cls(**fast_params(cls)).fit(X, y), X, y, 1.0)
    limit = cls._target_limit
    scale = 0.9 * limit.bound
    if limit.weighted_range is not None:  # XGBoost: also the weighted range of the target
        scale = min(scale, 0.9 * limit.weighted_range / (len(y) * np.ptp(y)))
    inside = cls(**fast_params(cls)).fit(X, y * scale)
    assert _relative_r2(inside, X, y, scale) >= unit - 0.005
    with pytest.raises(ValueError, match="[Rr]escale the target"):
        cls(**fast_params(cls)).fit(X, y * scale * 1.2)


def test_xgboost_refuses_targets_whose_weighted_range_overflows_its_gains():
    # XGBoost squares per-node sums of weighted residuals in float32: at |y| ~ 1e20 with 300
    # rows today's fit predicts one constant (R^2 0) although |y| is far inside float32.
    X, y = _unit_target()
    with pytest.raises(ValueError, match=r"sum\(sample_weight\) \* \(max\(y\) - min\(y\)\)"):
        skfam.XGBoostRegressor(variant="fast").fit(X, y * 1e20)
    # The weights count: a target refused with unit weights fits with weights 0.5.
    scale = 1.5 * skfam.XGBoostRegressor._target_limit.weighted_range / (len(y) * np.ptp(y))
    with pytest.raises(ValueError, match="sum"):
        skfam.XGBoostRegressor(variant="fast").fit(X, y * scale)
    half = skfam.XGBoostRegressor(variant="fast").fit(
        X, y * scale, sample_weight=np.full(len(y), 0.5)
    )
    assert _relative_r2(half, X, y, scale) > 0.9


@pytest.mark.parametrize(
    ("cls", "scale"),
    [
        (skfam.XGBoostRegressor, 1e39),  # a C++ stack trace today (float32 features)
        (skfam.NGBoostRegressor, 1e39),  # scikit-learn trees: float32 features
        (MLPRegressor, 1e160),  # NonFinitePredictionError today (standardisation overflows)
    ],
)
def test_features_beyond_the_library_range_get_a_clear_error(cls, scale):
    X, y = _unit_target(80)
    with pytest.raises(ValueError, match=rf"X holds a value .*beyond what {cls.__name__}"):
        cls(**fast_params(cls)).fit(X * scale, y)
    model = cls(**fast_params(cls)).fit(X, y)
    with pytest.raises(ValueError, match=r"X holds a value .*Rescale the features"):
        model.predict(X * scale)


def test_lightgbm_takes_any_finite_feature_values():
    # LightGBM bins in float64: features near the float64 maximum must keep working.
    X, y = _unit_target()
    plain = LightGBMRegressor(variant="fast").fit(X, y)
    huge = LightGBMRegressor(variant="fast").fit(X * 1e300, y)
    assert _relative_r2(huge, X * 1e300, y, 1.0) >= _relative_r2(plain, X, y, 1.0) - 0.005


# ---------------------------------------------------------------- failed fits
@pytest.mark.parametrize(("family", "task", "cls"), FEATURE_CASES, ids=IDS)
def test_a_fit_that_fails_leaves_the_estimator_unfitted(family, task, cls):
    # The sample weights are checked after X was validated (n_features_in_ set): predict
    # used to pass check_is_fitted and fail with "AttributeError: ... imputer_".
    X, y = _data(task)
    model = cls(**fast_params(cls))
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X, y, sample_weight=np.ones(3))
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_a_fit_that_fails_late_discards_the_earlier_model(monkeypatch):
    from skfam.models import lightgbm as module

    X, y = _data("regression")
    model = LightGBMRegressor(variant="fast").fit(X, y)
    monkeypatch.setattr(module, "_booster_outputs_finite", lambda booster, valid: False)
    with pytest.raises(NonFinitePredictionError):
        model.fit(X, y)  # fails after the new booster was trained and stored
    with pytest.raises(NotFittedError):
        model.predict(X)
    monkeypatch.undo()
    refitted = model.fit(X, y)
    assert np.array_equal(
        refitted.predict(X), LightGBMRegressor(variant="fast").fit(X, y).predict(X)
    )
    # A refit refused for an invalid parameter does not leave the old model either.
    with pytest.raises(ValueError, match="num_leaves"):
        model.set_params(num_leaves=1).fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)


# ---------------------------------------------------------------- native missing values
def _informative_nan(n=600, seed=0):
    # x0 in {-1, 0, 1} and y = x0, but a missing x0 means y = 10. The median fills NaN with
    # 0, so an imputing model cannot tell a missing x0 from a zero (both predict about 5.6);
    # a model that sees NaN predicts 0 and 10.
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    X[:, 0] = rng.integers(-1, 2, size=n)
    y = X[:, 0].copy()
    gone = rng.random(n) < 0.3
    X[gone, 0] = np.nan
    y[gone] = 10.0
    return X, y, gone


def _as_zero(X):
    X = X.copy()
    X[:, 0] = 0.0
    return X


@pytest.fixture
def native_missing(tmp_path):
    (tmp_path / "defaults.yaml").write_text("imputation:\n  native_missing: true\n")
    with skfam.config_context(config_dir=str(tmp_path)):
        yield


@pytest.mark.parametrize(
    "cls", [LightGBMRegressor, skfam.QuantileLightGBMRegressor, skfam.XGBoostRegressor]
)
def test_native_missing_passes_nan_to_the_library(cls, native_missing, tmp_path):
    X, y, gone = _informative_nan()
    model = cls(variant="fast").fit(X, y)
    assert model.imputer_.strategy == "passthrough"
    assert np.all(np.abs(model.predict(X[gone]) - 10.0) < 1.0)
    assert np.all(np.abs(model.predict(_as_zero(X[gone]))) < 1.0)
    path = tmp_path / "native.skfam"
    model.save_model(path)
    assert np.array_equal(skfam.load_model(path).predict(X), model.predict(X))


def test_other_families_keep_imputing_with_native_missing(native_missing):
    X, y, _ = _informative_nan()
    mlp = MLPRegressor(variant="fast", device="cpu").fit(X, y)
    assert mlp.imputer_.strategy == "median"
    ensemble = skfam.EnsembleRegressor(
        variant="fast",
        members=["lightgbm", "linear"],
        member_params={"lightgbm": {"variant": "fast"}},
    ).fit(X, y)
    assert ensemble.imputer_.strategy == "median"  # its linear member needs values


def test_native_missing_is_off_by_default():
    X, y, gone = _informative_nan()
    imputing = LightGBMRegressor(variant="fast").fit(X, y)
    assert imputing.imputer_.strategy == "median"
    # Imputed with the median, a missing x0 is a zero.
    assert np.array_equal(imputing.predict(X[gone]), imputing.predict(_as_zero(X[gone])))


def test_native_missing_must_be_a_bool(tmp_path):
    (tmp_path / "defaults.yaml").write_text("imputation:\n  native_missing: 'yes'\n")
    X, y, _ = _informative_nan()
    with skfam.config_context(config_dir=str(tmp_path)):
        with pytest.raises(skfam.ConfigError, match="native_missing"):
            LightGBMRegressor(variant="fast").fit(X, y)


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 3.0],
        [1.0, np.nan, 3.0],
        [1e308, 1e308, -1e308, -1e308],  # the sum overflows to inf - inf = NaN
        [1e308, 1e308, np.nan],
        [],
    ],
)
def test_has_nan_answers_as_the_elementwise_check(values):
    from skfam._impute import has_nan

    X = np.array(values, dtype=np.float64).reshape(-1, 1)
    assert has_nan(X) is bool(np.isnan(X).any())
