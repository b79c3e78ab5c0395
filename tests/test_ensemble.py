"""Behaviour of the ensemble family (stacking)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, cross_validate

import skfam
from skfam import EnsembleClassifier, EnsembleRegressor, LightGBMRegressor
from skfam._seeds import derive_seed


def test_stack_on_diabetes_beats_the_tree_members_but_not_ridge():
    # Measured with the defaults (RidgeCV final model): stack R^2 0.471; members
    # hist_gradient_boosting 0.395, random_forest 0.430, linear 0.490. On this small,
    # nearly linear data set the stack does NOT reach its best member (linear, by 0.018):
    # the out-of-fold predictions of the weaker tree members add noise to the final fit.
    # This test pins that honest result instead of a weakened "at least as good" claim.
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    stack = EnsembleRegressor(random_state=0)
    stack_score = cross_val_score(stack, X, y, cv=cv, scoring="r2").mean()
    fitted = stack.fit(X, y)
    member_scores = {
        name: cross_val_score(member, X, y, cv=cv, scoring="r2").mean()
        for name, member in fitted.members_
    }
    assert stack_score > member_scores["hist_gradient_boosting"]
    assert stack_score > member_scores["random_forest"]
    assert member_scores["linear"] - 0.03 < stack_score < member_scores["linear"]


def _cv_scores(estimator, X, y, scoring):
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_validate(estimator, X, y, cv=cv, scoring=scoring)
    return {name: scores[f"test_{name}"].mean() for name in scoring}


def test_stack_is_at_least_as_good_as_its_best_member_on_wine():
    X, y = load_wine(return_X_y=True)
    scoring = ["neg_log_loss", "accuracy"]
    stack = EnsembleClassifier(random_state=0)
    stack_scores = _cv_scores(stack, X, y, scoring)
    members = {name: _cv_scores(m, X, y, scoring) for name, m in stack.fit(X, y).members_}
    for metric in scoring:
        best = max(scores[metric] for scores in members.values())
        assert stack_scores[metric] >= best, (metric, stack_scores, members)


def test_stack_on_breast_cancer_ranks_best_but_trails_in_log_loss():
    # Measured: ROC AUC stack 0.9957 vs members 0.9939 / 0.9904 / 0.9955 (linear); log loss
    # stack 0.0763 vs linear 0.0738, i.e. the stack orders the cases best but its
    # probabilities are slightly less sharp than its best member's. Pinned as measured.
    X, y = load_breast_cancer(return_X_y=True)
    scoring = ["roc_auc", "neg_log_loss"]
    stack = EnsembleClassifier(random_state=0)
    stack_scores = _cv_scores(stack, X, y, scoring)
    members = {name: _cv_scores(m, X, y, scoring) for name, m in stack.fit(X, y).members_}
    assert stack_scores["roc_auc"] >= max(s["roc_auc"] for s in members.values())
    best_log_loss = max(s["neg_log_loss"] for s in members.values())
    assert best_log_loss - 0.005 < stack_scores["neg_log_loss"] < best_log_loss


def test_members_seeds_threads_and_folds():
    X, y = load_diabetes(return_X_y=True)
    reg = EnsembleRegressor(variant="fast", random_state=3, n_jobs=2).fit(X, y)
    members = dict(reg.members_)
    assert members["hist_gradient_boosting"].random_state == derive_seed(3, "members", index=0)
    assert members["random_forest"].random_state == derive_seed(3, "members", index=1)
    assert members["random_forest"].n_jobs == 2
    assert members["random_forest"].n_estimators == 5  # fast variant, deep-merged
    assert members["hist_gradient_boosting"].learning_rate == 0.05  # family YAML
    assert reg.params_["cv"] == 3


def test_skfam_members_by_family_key():
    X, y = load_diabetes(return_X_y=True)
    reg = EnsembleRegressor(
        members=["lightgbm", "linear"],
        member_params={"lightgbm": {"variant": "fast"}},
        cv=3,
        random_state=4,
    ).fit(X, y)
    lgbm = dict(reg.members_)["lightgbm"]
    assert isinstance(lgbm, LightGBMRegressor)
    assert lgbm.variant == "fast"
    assert lgbm.random_state_ == derive_seed(4, "members", index=0)
    assert reg.final_estimator_.coef_.shape == (2,)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["nope"], "Unknown ensemble member 'nope'"),
        (["linear", "linear"], "unique"),
        ([], "non-empty"),
        (["ensemble"], "Unknown ensemble member 'ensemble'"),
    ],
)
def test_invalid_members_raise(members, message):
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        EnsembleRegressor(variant="fast", members=members).fit(X[:50], y[:50])


def test_regressor_unavailable_for_classification_family():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="no estimator for classification"):
        EnsembleClassifier(variant="fast", members=["quantile_lightgbm"]).fit(X[:60], y[:60] > 140)


def test_model_file_with_sklearn_and_skfam_members(tmp_path):
    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[::11, 0] = np.nan
    clf = EnsembleClassifier(
        variant="fast",
        members=["hist_gradient_boosting", "random_forest", "linear", "lightgbm"],
        member_params={
            "hist_gradient_boosting": {"max_iter": 5},
            "random_forest": {"n_estimators": 3},
            "lightgbm": {"variant": "fast"},
        },
    ).fit(X, y)
    path = tmp_path / "ens.skfam"
    clf.save_model(path)
    loaded = skfam.load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert isinstance(dict(loaded.members_)["lightgbm"], skfam.LightGBMClassifier)


def test_small_classes_reduce_the_folds():
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:3, 50:53, 100:103]  # 3 rows per class, cv=5 asks for more
    clf = EnsembleClassifier(variant="fast", cv=5).fit(X[keep], y[keep])
    assert clf.predict(X[keep]).shape == (9,)
