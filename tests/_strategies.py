"""Hypothesis strategies and helpers shared by the property tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.utils.validation import _num_samples

import skfam

FAMILIES = skfam.families()

#: ``sequence_shape`` of the hybrid estimators in the tests: data of input mode "hybrid" has
#: 1 to 3 tabular features in front of a flattened (3, 2) sequence.
HYBRID_SEQUENCE_SHAPE = (3, 2)


def _contiguous_tasks(X) -> np.ndarray | None:
    """Task labels of up to 4 contiguous blocks of the rows of ``X`` (None: X unreadable)."""
    try:
        n = _num_samples(X)
    except TypeError:
        return None  # fit's own validation of X says what is wrong
    tasks = min(4, n)
    return (np.arange(n) * tasks) // max(n, 1)


class ReptileOnBlocks(skfam.ReptileRegressor):
    """ReptileRegressor whose ``fit(X, y)`` makes tasks of contiguous row blocks.

    The common suites fit with ``fit(X, y)``, which ReptileRegressor refuses (it needs
    ``groups``): they test this subclass instead, so they cover everything else of the
    family. Its model files load with ``skfam.load_model(path, classes=SUITE_CLASSES)``.
    """

    def fit(self, X, y, sample_weight=None, groups=None):
        if groups is None:
            groups = _contiguous_tasks(X)
        return super().fit(X, y, sample_weight=sample_weight, groups=groups)


# The suites check that the docstring documents verbose.
ReptileOnBlocks.__doc__ += skfam.ReptileRegressor.__doc__

#: Registry class -> the subclass the common suites fit in its place (a family whose
#: ``fit`` needs more than X and y).
SUITE_CLASSES = {skfam.ReptileRegressor: ReptileOnBlocks}


def fast_params(cls: type) -> dict:
    """Constructor arguments of the fast, CPU-only instance of ``cls`` used by the tests."""
    params = {"variant": "fast"}
    if "device" in cls._get_param_names():
        params["device"] = "cpu"
    if "sequence_shape" in cls._get_param_names():
        params["sequence_shape"] = HYBRID_SEQUENCE_SHAPE
    return params


def estimator_cases() -> list[tuple[str, str, type]]:
    """(family key, task, class) for every public estimator of the registry.

    A class whose ``fit(X, y)`` cannot fit comes as its subclass of :data:`SUITE_CLASSES`.
    """
    cases = []
    for key, info in sorted(FAMILIES.items()):
        for task, cls in (("regression", info.regressor), ("classification", info.classifier)):
            if cls is not None:
                cases.append((key, task, SUITE_CLASSES.get(cls, cls)))
    return cases


@st.composite
def datasets(draw: st.DrawFn, task: str, input_mode: str = "features") -> tuple:
    """Draw ``(X, y)``: small finite data with a random NaN pattern.

    Features: (n, f). Sequences: (n, L, C). Hybrid: (n, f + L * C), ``[features |
    flattened sequence]`` with (L, C) = :data:`HYBRID_SEQUENCE_SHAPE`. Classification
    labels are strings, with every class present at least twice.
    """
    n = draw(st.integers(min_value=24, max_value=60))
    if input_mode == "sequence":
        shape = (n, draw(st.integers(3, 6)), draw(st.integers(1, 3)))
    elif input_mode == "hybrid":
        shape = (n, draw(st.integers(1, 3)) + HYBRID_SEQUENCE_SHAPE[0] * HYBRID_SEQUENCE_SHAPE[1])
    else:
        shape = (n, draw(st.integers(2, 6)))
    values = st.floats(-1e3, 1e3, allow_nan=False, width=32)
    X = draw(hnp.arrays(np.float64, shape, elements=values))
    nan_mask = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    keep = draw(st.floats(0.0, 0.3))
    X = np.where(nan_mask & (np.arange(X.size).reshape(shape) % 10 < keep * 10), np.nan, X)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if task == "classification":
        n_classes = draw(st.integers(2, 3))
        labels = np.array(["a", "b", "c"][:n_classes])
        y = labels[np.arange(n) % n_classes]
        y = y[rng.permutation(n)]
    else:
        y = rng.normal(size=n) * draw(st.floats(0.1, 100.0))
    return X, y


def predictions(estimator, X: np.ndarray) -> np.ndarray:
    """The estimator's most detailed output: probabilities for classifiers."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)
