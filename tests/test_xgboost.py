"""Behaviour of the xgboost family, including how it behaves when xgboost is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer, make_regression

import skfam
from skfam import XGBoostClassifier, XGBoostRegressor
from skfam._seeds import derive_seed
from skfam.models import xgboost as family_module


def test_matches_raw_xgboost_with_the_same_parameters():
    X, y = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
    reg = XGBoostRegressor(variant="fast", device="cpu", random_state=1).fit(X, y)
    raw = xgboost.XGBRegressor(
        n_estimators=20,
        learning_rate=0.3,
        max_depth=4,
        min_child_weight=1.0,
        subsample=1.0,
        colsample_bytree=1.0,
        reg_alpha=0.0,
        reg_lambda=1.0,
        gamma=0.0,
        max_bin=256,
        tree_method="hist",
        random_state=derive_seed(1, "model"),
        n_jobs=1,
    ).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), raw.predict(X), rtol=1e-6, atol=1e-3)
    assert reg.device_ == "cpu"
    assert reg.best_iteration_ == reg.n_iter_ == 20


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
