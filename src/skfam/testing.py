"""Helpers for testing skfam estimators with scikit-learn's common checks."""

from __future__ import annotations

from sklearn.base import BaseEstimator

__all__ = ["expected_failed_checks", "stochastic_params"]

# Parameters (on top of the "fast" variant) under which a family's randomness shows, so a
# test can check that another random_state gives another model. Families whose fast
# variant is already random need no entry.
_STOCHASTIC_PARAMS: dict[str, dict[str, object]] = {
    "lightgbm": {"subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.7},
    "quantile_lightgbm": {"subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.7},
    "xgboost": {"subsample": 0.7, "colsample_bytree": 0.7},
    "ngboost": {"minibatch_frac": 0.7, "col_sample": 0.7},
    # The nets' "fast" variants train without dropout; dropout draws random masks and takes
    # other kernels (e.g. attention without the fused path), so the properties need it on.
    "mlp": {"dropout": 0.2},
    "lstm": {"dropout": 0.2, "num_layers": 2},
    "cnn1d": {"dropout": 0.2},
    "transformer": {"dropout": 0.2},
    "hybrid": {"dropout": 0.2, "encoder": "transformer"},
    "tab_transformer": {"dropout": 0.2},
    "tab_cnn": {"dropout": 0.2},
    "tab_lstm": {"dropout": 0.2},
    "multi_task": {"dropout": 0.2},
    # The latent noise of training is random already; dropout adds its masks.
    "vae": {"dropout": 0.2},
    # The detection and the ridge experts draw nothing; experts of a subsampling family do.
    "change_point": {
        "expert": "lightgbm",
        "expert_params": {"variant": "fast", "subsample": 0.7, "subsample_freq": 1},
    },
}

# Checks a family is known to fail, each with its reason. Keyed by family key, then by
# check name; tasks share a family's entry unless a check only runs for one task. A check
# that fails for one class of a family only is keyed by that class's name instead.
_EXPECTED: dict[str, dict[str, str]] = {
    "lightgbm": {
        "check_sample_weight_equivalence_on_dense_data": (
            "LightGBM bins features and counts min_child_samples on rows, not on weights, "
            "so a weight of 2 is not the same as a duplicated row."
        ),
    },
    "quantile_lightgbm": {
        "check_sample_weight_equivalence_on_dense_data": (
            "LightGBM bins features and counts min_child_samples on rows, not on weights, "
            "so a weight of 2 is not the same as a duplicated row."
        ),
    },
    "XGBoostClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "XGBoost sums gradients in float32: a weight of 2 and a duplicated row give "
            "probabilities that differ in the 7th digit, beyond the check's rtol=1e-7 (the "
            "regressor happens to pass on the check's data)."
        ),
    },
    # The classifier passes this check since it follows the reference line search.
    "NGBoostRegressor": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The check's data (15 rows, 30 features) makes many splits equally good; "
            "scikit-learn's splitter breaks such ties by a random feature order whose draws "
            "depend on the features it finds constant in a node, which differs between "
            "weighted, zero-weight and duplicated rows, so the stage trees (depth >= 2) and "
            "the predictions on some rows differ."
        ),
    },
    "ensemble": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The default members are not weight/repeat equivalent themselves: the random "
            "forest draws bootstrap samples by row and HistGradientBoosting bins features "
            "and counts min_samples_leaf on rows."
        ),
    },
    "mlp": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD: duplicated rows change the batches and their order, so a "
            "weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "lstm": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "cnn1d": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "transformer": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "hybrid": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "tab_transformer": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "tab_cnn": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "multi_task": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "vae": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path; the latent noise "
            "drawn for a duplicated row differs from that of its first copy."
        ),
    },
    "meta_learning": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp), inside each task: duplicated rows change a task's "
            "drawn rows and its minibatches, so a weight of 2 gives a different (equally "
            "valid) optimisation path."
        ),
    },
    "gan": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path; the noise "
            "drawn per row also differs."
        ),
    },
    "tab_lstm": {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch SGD (as mlp): duplicated rows change the batches and their order, so "
            "a weight of 2 gives a different (equally valid) optimisation path."
        ),
    },
    "rocket": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The biases are quantiles of series drawn at random by row index, so repeated "
            "rows change which series are drawn; the feature scaling counts rows (as aeon's), "
            "and the ridge's leave-one-out selection of its penalty leaves out one copy of a "
            "repeated row, not the whole weight."
        ),
    },
    "ftrl_proximal": {
        check: (
            "Online learning: a weight of 2 is one step with twice the gradient, a repeated "
            "row two steps, and FTRL's per-coordinate learning rates depend on the gradients "
            "seen; the shuffled order of the passes also differs with repeated rows."
        )
        for check in (
            "check_sample_weight_equivalence_on_dense_data",
            "check_sample_weight_equivalence_on_sparse_data",
        )
    },
}


def expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    """Return the scikit-learn checks ``estimator`` is known to fail, with reasons.

    Parameters
    ----------
    estimator : skfam estimator
        An instance of a skfam estimator.

    Returns
    -------
    failures : dict of str to str
        Check name -> why it fails. Pass this function as ``expected_failed_checks`` to
        :func:`sklearn.utils.estimator_checks.parametrize_with_checks`.

    Examples
    --------
    >>> from skfam import LightGBMRegressor
    >>> from skfam.testing import expected_failed_checks
    >>> sorted(expected_failed_checks(LightGBMRegressor()))
    ['check_sample_weight_equivalence_on_dense_data']
    """
    family = getattr(estimator, "_family", None)
    return {**_EXPECTED.get(family, {}), **_EXPECTED.get(type(estimator).__name__, {})}


def stochastic_params(estimator: BaseEstimator | type) -> dict[str, object]:
    """Return parameters under which ``estimator``'s randomness shows (for tests).

    Parameters
    ----------
    estimator : skfam estimator or class
        The estimator (or its class) whose family is looked up.

    Returns
    -------
    params : dict
        Constructor arguments to add to the "fast" variant.

    Examples
    --------
    >>> from skfam import LightGBMRegressor
    >>> from skfam.testing import stochastic_params
    >>> stochastic_params(LightGBMRegressor)["subsample_freq"]
    1
    """
    return dict(_STOCHASTIC_PARAMS.get(getattr(estimator, "_family", None), {}))
