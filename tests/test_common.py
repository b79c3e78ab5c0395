"""scikit-learn's common checks over every public estimator of the registry."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import skfam
from skfam.testing import expected_failed_checks

from ._strategies import SUITE_CLASSES


def _fast_instances():
    for _, registered in skfam.all_estimators():
        cls = SUITE_CLASSES.get(registered, registered)  # a fit(X, y) that can fit
        params = {"variant": "fast"}
        if "device" in cls._get_param_names():
            params["device"] = "cpu"
        yield cls(**params)


# scikit-learn's checks fit tiny random data, on which a constant model is often the right
# answer: the DegenerateModelWarning that says so is tested in tests/test_training_defaults.py.
@pytest.mark.filterwarnings("ignore::skfam.DegenerateModelWarning")
@parametrize_with_checks(
    list(_fast_instances()),
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
