"""Behaviour of the xgboost family, including how it behaves when xgboost is missing.

Also what the xgboost and lightgbm families share as tree boosters: predict from many
threads at once, and NaN handed to the library with ``imputation.native_missing``.
"""

from __future__ import annotations

import json
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer, make_regression

import skfam
from skfam import (
    LightGBMClassifier,
    LightGBMRegressor,
    QuantileLightGBMRegressor,
    XGBoostClassifier,
    XGBoostRegressor,
)
from skfam._seeds import derive_seed
from skfam.models import lightgbm as lightgbm_module
from skfam.models import xgboost as family_module


def test_matches_raw_xgboost_with_the_same_parameters():
    X, y = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
    reg = XGBoostRegressor(variant="fast", device="cpu", random_state=1).fit(X, y)
    # The settings come from the SST, read through the registry (not copied from the YAML).
    sst = skfam.load_model_config("xgboost", "fast")
    assert reg.params_ == sst
    raw = xgboost.XGBRegressor(
        n_estimators=sst["n_estimators"],
        **{name: sst[name] for name in family_module._CORE_NAMES},
        tree_method="hist",
        random_state=derive_seed(1, "model"),
        n_jobs=1,
    ).fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), raw.predict(X))
    assert reg.device_ == "cpu"
    # 300 rows: below early_stopping.auto_min_samples, so every round is kept.
    assert reg.best_iteration_ == reg.n_iter_ == sst["n_estimators"]


def test_early_stopping_on_internal_split():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    y = X[:, 0] + rng.normal(size=2000)
    reg = XGBoostRegressor(n_estimators=500, learning_rate=0.3, early_stopping=True).fit(X, y)
    assert reg.n_iter_ < 500
    assert reg.best_iteration_ <= reg.n_iter_
    assert reg.n_iter_ - reg.best_iteration_ == reg.params_["early_stopping_rounds"]


def test_classifier_accuracy_and_proba():
    X, y = load_breast_cancer(return_X_y=True)
    clf = XGBoostClassifier(variant="fast", device="cpu").fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.95


def test_booster_json_round_trip(tmp_path):
    X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    X[::5, 0] = np.nan
    reg = XGBoostRegressor(variant="fast", device="cpu").fit(X, y)
    state = reg._model_state()[2]
    assert state["booster.json"].startswith(b"{")
    path = tmp_path / "x.skfam"
    reg.save_model(path)
    np.testing.assert_array_equal(skfam.load_model(path).predict(X), reg.predict(X))


def test_device_rules(monkeypatch):
    assert family_module.resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        family_module.resolve_device("tpu")
    monkeypatch.setattr(family_module, "_cuda_available", lambda: False)
    assert family_module.resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="CUDA"):
        family_module.resolve_device("cuda")
    with skfam.config_context(device="cpu"):
        assert family_module.resolve_device(None) == "cpu"
    monkeypatch.setattr(family_module, "_cuda_available", lambda: True)
    assert family_module.resolve_device("auto") == "cuda"
    assert family_module.resolve_device("cuda:1") == "cuda:1"


def test_module_does_not_import_torch_for_devices():
    source = Path(family_module.__file__).read_text(encoding="utf-8")
    assert "import torch" not in source


def test_without_xgboost_the_family_is_unavailable_with_a_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # "import xgboost" now fails
    info = skfam.families()["xgboost"]
    assert info.available is False
    assert "pip install 'skfam[xgboost]'" in info.install_hint
    assert info.regressor is XGBoostRegressor
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    with pytest.raises(ImportError, match=r"pip install 'skfam\[xgboost\]'"):
        XGBoostRegressor(variant="fast", device="cpu").fit(X, y)
    with pytest.raises(ImportError, match=r"pip install 'skfam\[xgboost\]'"):
        XGBoostClassifier(variant="fast", device="cpu").fit(X, y > 0)


def test_with_xgboost_the_family_is_available():
    info = skfam.families()["xgboost"]
    assert info.available is True
    assert info.install_hint is None
    assert info.gpu_capable is True


# ---------------------------------------------------------------------- concurrent predict
def _rows(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    return X, X[:, 0] + np.sin(2 * X[:, 1]) + 0.5 * rng.normal(size=n)


_CONCURRENT = {
    "xgboost-regressor": (lambda: XGBoostRegressor(device="cpu"), "predict"),
    "xgboost-classifier": (lambda: XGBoostClassifier(device="cpu"), "predict_proba"),
    "lightgbm-regressor": (lambda: LightGBMRegressor(), "predict"),
    "lightgbm-classifier": (lambda: LightGBMClassifier(), "predict_proba"),
    "quantile-lightgbm": (lambda: QuantileLightGBMRegressor(), "predict_quantiles"),
}


@pytest.mark.parametrize("name", list(_CONCURRENT))
def test_predict_from_many_threads_matches_sequential_predict(name):
    # Before: XGBoost's predict set the booster's nthread on every call, and 8 threads
    # predicting with one estimator failed ("Check failed: !this->need_configuration_").
    make, method = _CONCURRENT[name]
    X, y = _rows(3000)
    if "classifier" in name:
        y = np.digitize(y, [-0.5, 0.5])  # three classes
    # The SST's tree sizes, fewer rounds: the test is about sharing, not size.
    model = make().set_params(n_estimators=30, early_stopping=False, n_jobs=2)
    model.fit(X[:2000], y[:2000])
    predict = getattr(model, method)
    expected = predict(X[2000:])

    def twenty_predicts(_: int) -> list[np.ndarray]:
        return [predict(X[2000:]) for _ in range(20)]

    with ThreadPoolExecutor(8) as pool:
        results = [p for batch in pool.map(twenty_predicts, range(8)) for p in batch]
    assert len(results) == 160
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_xgboost_predict_keeps_the_thread_cap(monkeypatch):
    X, y = _rows(500)
    reg = XGBoostRegressor(variant="fast", device="cpu", n_jobs=2).fit(X, y)
    threads = []
    original = xgboost.Booster.predict

    def recording_predict(self, *args, **kwargs):
        config = json.loads(self.save_config())
        threads.append(int(config["learner"]["generic_param"]["nthread"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(xgboost.Booster, "predict", recording_predict)
    expected = reg.predict(X)
    assert threads[-1] == 2
    for n_jobs in (1, 3, 2):
        np.testing.assert_array_equal(reg.set_params(n_jobs=n_jobs).predict(X), expected)
        assert threads[-1] == n_jobs
    with skfam.config_context(n_jobs=1):
        reg.set_params(n_jobs=None).predict(X)
    assert threads[-1] == 1
    # A pickled estimator (with its boosters for each thread count) predicts the same.
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), expected)


# ---------------------------------------------------------------------- native missing values
def test_native_missing_hands_nan_to_the_library(tmp_path):
    (tmp_path / "defaults.yaml").write_text("imputation:\n  native_missing: true\n")
    X, y = _rows(600)
    X[np.random.default_rng(1).random(X.shape) < 0.2] = np.nan
    X[::3, 0] = np.nan  # missingness that carries information
    y = np.where(np.isnan(X[:, 0]), 3.0, y)
    seed = derive_seed(7, "model")
    lgb_sst = skfam.load_model_config("lightgbm", "fast")
    raw_lgb = lightgbm.LGBMRegressor(
        n_estimators=lgb_sst["n_estimators"],
        **{name: lgb_sst[name] for name in lightgbm_module._CORE_NAMES},
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbosity=-1,
    ).fit(X, y)
    xgb_sst = skfam.load_model_config("xgboost", "fast")
    raw_xgb = xgboost.XGBRegressor(
        n_estimators=xgb_sst["n_estimators"],
        **{name: xgb_sst[name] for name in family_module._CORE_NAMES},
        tree_method="hist",
        random_state=seed,
        n_jobs=1,
    ).fit(X, y)
    common = {"variant": "fast", "random_state": 7, "early_stopping": False, "n_jobs": 1}
    pairs = [
        (LightGBMRegressor(**common), raw_lgb),
        (XGBoostRegressor(**common, device="cpu"), raw_xgb),
    ]
    for estimator, raw in pairs:
        with skfam.config_context(config_dir=tmp_path):
            native = type(estimator)(**estimator.get_params()).fit(X, y)
        np.testing.assert_array_equal(native.predict(X), raw.predict(X))
        # The SST's default imputes, and the library then sees other data.
        imputed = type(estimator)(**estimator.get_params()).fit(X, y)
        assert not np.array_equal(imputed.predict(X), raw.predict(X))
