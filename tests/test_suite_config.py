"""The test suite's own rules: which warnings fail a test (pyproject's ``filterwarnings``)."""

from __future__ import annotations

import warnings

import pytest

import skfam


def _warn_from(module: str, category: type[Warning] = DeprecationWarning) -> None:
    """Raise a warning attributed to ``module``, as that module's own code would."""
    warnings.warn_explicit(
        f"a warning raised in {module}", category, filename="x.py", lineno=1, module=module
    )


def test_another_package_warning_from_its_own_code_is_not_an_error():
    # As torch's "torch.jit.script is deprecated" at import: shown, never an error.
    with warnings.catch_warnings(record=True) as seen:
        # catch_warnings keeps the suite's filters; only the "default" action records.
        _warn_from("torch.jit._script")
    assert [str(w.message) for w in seen] == ["a warning raised in torch.jit._script"]


@pytest.mark.parametrize("module", ["skfam.base", "skfam", "tests.test_suite_config"])
def test_a_warning_from_skfam_or_the_tests_is_an_error(module):
    with pytest.raises(DeprecationWarning):
        _warn_from(module)


def test_skfam_warnings_are_errors_wherever_they_are_raised():
    # skfam warns with the caller's frame (stacklevel): a fit called from scikit-learn's
    # code still fails the test unless the test expects the warning.
    with pytest.raises(skfam.DegenerateModelWarning):
        _warn_from("sklearn.utils.estimator_checks", skfam.DegenerateModelWarning)
