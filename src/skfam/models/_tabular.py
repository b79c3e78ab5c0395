"""What the tabular nets (tab_transformer, tab_cnn, tab_lstm) share: docs, categorical input.

The categorical columns of ``tab_transformer`` are handled here: which columns they are
(:func:`resolve_categorical`), an imputer that leaves them alone
(:class:`CategoricalAwareImputer`), and their encoding to embedding indices
(:func:`fit_categories`, :func:`encode_categories`).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np

from .._impute import FeatureImputer
from .._progress import DOC_VERBOSE
from .._torch import DOC_TRAINING_PARAMETERS

__all__ = [
    "CategoricalAwareImputer",
    "doc_parameters",
    "encode_categories",
    "fit_categories",
    "resolve_categorical",
]


def doc_parameters(family: str, own: str, attributes: str = "", intro: str = "") -> str:
    """Return a tabular net's Parameters and Attributes sections (numpydoc, indented)."""
    return (
        """
    Inputs are imputed and standardised inside the estimator (``imputer_``, ``scaler_``);
    regression targets are standardised for training and mapped back at predict. Every
    hyperparameter defaults to None, meaning "take it from the SST"
    """
        + f"(``configs/models/{family}.yaml``, its ``variant``,"
        + """
    then ``configs/defaults.yaml``); early stopping and learning-rate reduction on plateau
    come from ``configs/callbacks.yaml``. The values used are in ``params_``.
"""
        + intro
        + """
    Parameters
    ----------"""
        + own.rstrip("\n")
        + DOC_TRAINING_PARAMETERS
        + f"""    variant : str, default=None
        A named variant of ``configs/models/{family}.yaml`` ("fast", "small", "medium",
        "large", "reference").
"""
        + """    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order, dropout and the validation split; None takes
        ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (torch and BLAS); None takes the SST's ``n_jobs``.
        The fitted model is the same for any value.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
        + DOC_VERBOSE
        + """        A line shows the losses (of the standardised target, for regressors) and the
        learning rate of the epoch; ``(best)`` marks a new best validation loss.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the torch module.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
    random_state_ : int
        The seed actually used.
    device_ : str
        The device the net was trained on.
    n_iter_ : int
        Epochs run.
    imputer_ : FeatureImputer
        The imputation step fitted on the training data.
    scaler_ : StandardScaler
        Standardisation of the (numeric) inputs, fitted on the training data.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""
        + attributes
    )


# ---------------------------------------------------------------------- categorical columns
def resolve_categorical(
    spec: Any, n_features: int, feature_names: np.ndarray | None, owner: str
) -> np.ndarray:
    """Return the boolean mask of the categorical columns that ``spec`` names.

    ``spec`` is a list or tuple of column indices (``0 <= i < n_features``), of column names
    (``feature_names_in_``, from a DataFrame), or of ``n_features`` booleans (a mask); an
    empty one names no column. Anything else, a repeated column, an index out of range or
    an unknown name is a ValueError saying so.
    """
    where = f"{owner}: categorical_features"
    if not isinstance(spec, (list, tuple)):
        raise ValueError(
            f"{where} must be a list or tuple of column indices, names or booleans, got "
            f"{spec!r} (convert an array with .tolist())."
        )
    mask = np.zeros(n_features, dtype=bool)
    if not spec:
        return mask
    kinds = {_kind(v) for v in spec}
    if len(kinds) != 1 or None in kinds:
        raise ValueError(
            f"{where} must hold only column indices (int), only names (str) or only "
            f"booleans (bool), got {list(spec)!r}."
        )
    kind = kinds.pop()
    if kind == "bool":
        if len(spec) != n_features:
            raise ValueError(
                f"{where} as a boolean mask needs one entry per feature ({n_features}), got "
                f"{len(spec)}."
            )
        return np.array(spec, dtype=bool)
    if kind == "str":
        if feature_names is None:
            raise ValueError(
                f"{where} names columns ({list(spec)!r}), but X has no column names; pass "
                "a DataFrame with string column names, or column indices."
            )
        names = list(feature_names)
        unknown = [v for v in spec if v not in names]
        if unknown:
            raise ValueError(f"{where}: {unknown!r} are not columns of X (columns: {names}).")
        indices = [names.index(v) for v in spec]
    else:
        indices = [int(v) for v in spec]
        wrong = [i for i in indices if not 0 <= i < n_features]
        if wrong:
            raise ValueError(
                f"{where}: indices {wrong} are not columns of X, which has {n_features} "
                f"feature(s) (indices 0 to {n_features - 1})."
            )
    if len(set(indices)) != len(indices):
        raise ValueError(f"{where} names a column twice: {list(spec)!r}.")
    mask[indices] = True
    return mask


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Integral) and not isinstance(value, np.bool_):
        return "int"
    if isinstance(value, str):
        return "str"
    return None


def fit_categories(X: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Return the sorted distinct values (NaN left out) of each categorical column of ``X``."""
    return [np.unique(column[~np.isnan(column)]) for column in X[:, mask].T]


def encode_categories(
    X: np.ndarray, mask: np.ndarray, categories: Sequence[np.ndarray]
) -> np.ndarray:
    """Return the codes of the categorical columns of ``X``, shape (n_samples, n_categorical).

    A value found in its column's ``categories`` gets ``1 +`` its position there; NaN and a
    value not seen in fit get 0, the reserved "missing or unknown" code.
    """
    codes = np.zeros((len(X), len(categories)), dtype=np.float64)
    for k, (column, known) in enumerate(zip(X[:, mask].T, categories, strict=True)):
        if not len(known):
            continue
        at = np.searchsorted(known, column).clip(max=len(known) - 1)
        found = known[at] == column  # NaN compares unequal: code 0
        codes[:, k] = np.where(found, at + 1, 0)
    return codes


class CategoricalAwareImputer(FeatureImputer):
    """A :class:`~skfam._impute.FeatureImputer` that leaves categorical columns untouched.

    Numeric columns are filled as the base imputer does; a categorical column keeps its
    NaN (they become the reserved "missing or unknown" category, code 0) and has the fill
    value 0.0 in ``statistics_`` (unused).

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent"}, default="median"
        The statistic of the observed values of each numeric column.
    categorical : ndarray of bool or None, default=None
        The categorical columns (None: none).

    Examples
    --------
    >>> import numpy as np
    >>> from skfam.models._tabular import CategoricalAwareImputer
    >>> X = np.array([[1.0, np.nan], [3.0, 2.0], [np.nan, np.nan]])
    >>> CategoricalAwareImputer(categorical=np.array([False, True])).fit_transform(X)
    array([[ 1., nan],
           [ 3.,  2.],
           [ 2., nan]])
    """

    def __init__(self, strategy: str = "median", categorical: np.ndarray | None = None):
        super().__init__(strategy=strategy)
        self.categorical = categorical

    def _mask(self, n_features: int) -> np.ndarray:
        if self.categorical is None:
            return np.zeros(n_features, dtype=bool)
        mask = np.asarray(self.categorical, dtype=bool)
        if mask.shape != (n_features,):
            raise ValueError(
                f"categorical has shape {mask.shape}; one entry per feature ({n_features}) "
                "was expected."
            )
        return mask

    def fit(self, X: np.ndarray, y: object = None) -> CategoricalAwareImputer:
        """Learn the fill value of each numeric column (categorical columns get 0.0)."""
        super().fit(X, y)
        self.statistics_[self._mask(self.n_features_in_)] = 0.0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return ``X`` with NaN filled in numeric columns; categorical columns as given."""
        X = np.asarray(X, dtype=np.float64)
        filled = super().transform(X)
        mask = self._mask(X.shape[1])
        if not mask.any() or filled is X:
            return filled
        filled[:, mask] = X[:, mask]
        return filled
