"""Hypothesis strategies and helpers shared by the property tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import skfam

FAMILIES = skfam.families()

#: ``sequence_shape`` of the hybrid estimators in the tests: data of input mode "hybrid" has
#: 1 to 3 tabular features in front of a flattened (3, 2) sequence.
HYBRID_SEQUENCE_SHAPE = (3, 2)


def fast_params(cls: type) -> dict:
    """Constructor arguments of the fast, CPU-only instance of ``cls`` used by the tests."""
    params = {"variant": "fast"}
    if "device" in cls._get_param_names():
        params["device"] = "cpu"
    if "sequence_shape" in cls._get_param_names():
        params["sequence_shape"] = HYBRID_SEQUENCE_SHAPE
    return params


def estimator_cases() -> list[tuple[str, str, type]]:
    """(family key, task, class) for every public estimator of the registry."""
    cases = []
    for key, info in sorted(FAMILIES.items()):
        for task, cls in (("regression", info.regressor), ("classification", info.classifier)):
            if cls is not None:
                cases.append((key, task, cls))
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
