"""Behaviour of the ensemble family (stacking)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, cross_validate
from sklearn.utils._param_validation import InvalidParameterError

import skfam
from skfam import EnsembleClassifier, EnsembleRegressor, LightGBMRegressor
from skfam._seeds import derive_seed

# How far the stack may trail its best member on a small, nearly linear data set: its final
# RidgeCV is fitted on out-of-fold predictions of 4/5 of each outer training fold, so on 442
# rows the weaker tree members add noise to the combination (measured on diabetes: stack
# R^2 0.471, linear member 0.490). The stack must not fall further behind than this; doing
# better is welcome and passes.
STACK_MARGIN_R2 = 0.03


def test_stack_on_diabetes_is_at_least_as_good_as_its_best_member_minus_a_margin():
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    stack = EnsembleRegressor(random_state=0)
    stack_score = cross_val_score(stack, X, y, cv=cv, scoring="r2").mean()
    fitted = stack.fit(X, y)
    member_scores = {
        name: cross_val_score(member, X, y, cv=cv, scoring="r2").mean()
        for name, member in fitted.members_
    }
    assert stack_score >= max(member_scores.values()) - STACK_MARGIN_R2, member_scores


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


# Log loss the stack may trail its best member by on breast cancer (measured: stack 0.0763,
# linear member 0.0738): its logistic final model sees out-of-fold probabilities, slightly
# less sharp than the best member's own. Doing better is welcome and passes.
STACK_MARGIN_LOG_LOSS = 0.005


def test_stack_on_breast_cancer_ranks_best_and_is_nearly_as_sharp_as_its_best_member():
    X, y = load_breast_cancer(return_X_y=True)
    scoring = ["roc_auc", "neg_log_loss"]
    stack = EnsembleClassifier(random_state=0)
    stack_scores = _cv_scores(stack, X, y, scoring)
    members = {name: _cv_scores(m, X, y, scoring) for name, m in stack.fit(X, y).members_}
    assert stack_scores["roc_auc"] >= max(s["roc_auc"] for s in members.values())
    best_log_loss = max(s["neg_log_loss"] for s in members.values())
    assert stack_scores["neg_log_loss"] >= best_log_loss - STACK_MARGIN_LOG_LOSS


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


@pytest.mark.parametrize(
    ("member_params", "message"),
    [
        ({"linear": {"alpha": -1.0}}, "'alpha' parameter of Ridge"),
        ({"hist_gradient_boosting": {"learning_rate": -0.1}}, "'learning_rate' parameter of Hist"),
        ({"lightgbm": {"learning_rate": -0.1}}, "'learning_rate' parameter of LightGBMRegressor"),
    ],
)
def test_invalid_member_parameters_are_refused_at_fit(member_params, message):
    # The ensemble used to skip the members' parameter validation (a negative learning rate
    # or alpha trained silently); scikit-learn's StackingRegressor validates them.
    X, y = load_diabetes(return_X_y=True)
    reg = EnsembleRegressor(
        variant="fast",
        members=["linear", "hist_gradient_boosting", "lightgbm"],
        member_params=member_params,
    )
    with pytest.raises(InvalidParameterError, match=message):
        reg.fit(X[:80], y[:80])


def test_member_params_of_unknown_names_are_refused():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match=r"unknown member\(s\) \['randomforest'\]"):
        EnsembleRegressor(variant="fast", member_params={"randomforest": {}}).fit(X[:50], y[:50])


def test_final_estimator_settings_come_from_the_sst():
    X, y = load_diabetes(return_X_y=True)
    sst = skfam.load_model_config("ensemble")["final_params"]
    reg = EnsembleRegressor(variant="fast").fit(X[:100], y[:100])
    assert list(reg.final_estimator_.alphas) == sst["ridge_cv"]["alphas"]
    Xc, yc = load_iris(return_X_y=True)
    clf = EnsembleClassifier(variant="fast").fit(Xc, yc)
    assert clf.final_estimator_.max_iter == sst["logistic_regression"]["max_iter"]
    # Passed explicitly, they change the final model: a huge alpha shrinks it to the mean.
    strong = EnsembleRegressor(variant="fast", final_params={"ridge_cv": {"alphas": [1e12]}})
    with pytest.warns(
        skfam.DegenerateModelWarning, match="same value for each of the 100 training rows"
    ):
        strong.fit(X[:100], y[:100])
    np.testing.assert_allclose(strong.predict(X[:5]), y[:100].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"final_params has unknown entries \['ridge'\]"):
        EnsembleRegressor(variant="fast", final_params={"ridge": {}}).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="must be a dict"):
        EnsembleRegressor(variant="fast", final_params={"ridge_cv": [1.0]}).fit(X[:50], y[:50])
