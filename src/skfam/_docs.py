"""Shared numpydoc fragments, filled into class docstrings in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: The fitted attributes every skfam estimator has, for the end of an Attributes section.
FITTED_ATTRIBUTES = """    params_ : dict
        The hyperparameters actually used.
    random_state_ : int
        The seed actually used.
    imputer_ : FeatureImputer
        The imputation step fitted on the training data.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""


def fill_doc(**fragments: str) -> Callable[[T], T]:
    """Replace ``%(name)s`` in the decorated object's docstring by ``fragments[name]``."""

    def decorate(obj: T) -> T:
        obj.__doc__ = (obj.__doc__ or "") % {
            name: text.strip() for name, text in fragments.items()
        }
        return obj

    return decorate
