"""Helpers for testing skfam estimators with scikit-learn's common checks."""

from __future__ import annotations

from sklearn.base import BaseEstimator

__all__ = ["expected_failed_checks", "stochastic_params"]

# Parameters (on top of the "fast" variant) under which a family's randomness shows, so a
# test can check that another random_state gives another model. Families whose fast
# variant is already random need no entry.
_STOCHASTIC_PARAMS: dict[str, dict[str, object]] = {
    "lightgbm": {"subsample": 0.7, "subsample_freq": 1, "colsample_bytree": 0.7},
}

# Checks a family is known to fail, each with its reason. Keyed by family key, then by
# check name; tasks share a family's entry unless a check only runs for one task.
_EXPECTED: dict[str, dict[str, str]] = {
    "lightgbm": {
        "check_sample_weight_equivalence_on_dense_data": (
            "LightGBM bins features and counts min_child_samples on rows, not on weights, "
            "so a weight of 2 is not the same as a duplicated row."
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
    return dict(_EXPECTED.get(family, {}))


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
