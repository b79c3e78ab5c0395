"""The ``tab_transformer`` family: the FT-Transformer for a table of features."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval

from .._docs import fill_doc
from .._torch import TorchEstimator
from ..base import SkfamClassifierMixin, SkfamRegressorMixin
from ..model_file import ModelFileError, _vector, dump_sklearn, load_sklearn
from ..nn.tab_transformer import TabTransformerModule
from ._tabular import (
    CategoricalAwareImputer,
    doc_parameters,
    encode_categories,
    fit_categories,
    resolve_categorical,
)

__all__ = ["TabTransformerClassifier", "TabTransformerRegressor"]

_DOC_PARAMETERS = doc_parameters(
    "tab_transformer",
    """
    categorical_features : list or tuple, default=None
        The categorical columns, as in scikit-learn's ``HistGradientBoostingRegressor``:
        column indices, column names (of a DataFrame's string columns) or one boolean per
        feature; empty (the SST's ``[]``): none. A list or tuple, so that model files can
        store it. Each categorical column gets an embedding table instead of a linear map.
        Any finite values are allowed: each distinct value seen in fit (NaN apart) is one
        category (``categories_``). NaN, and at predict a value not seen in fit, get the
        reserved category "missing or unknown", whose embedding starts at zero and is
        trained only by the NaN of the training data (otherwise the token holds the
        feature's bias alone). Categorical columns are neither imputed nor standardised.
        Strings are not numbers: encode string categories first (e.g. with
        :class:`~sklearn.preprocessing.OrdinalEncoder`, its unknown value NaN).
    d_token : int, default=None
        Width of each feature's token (a multiple of ``n_heads``).
    n_heads : int, default=None
        Attention heads.
    num_layers : int, default=None
        Encoder layers (pre-norm).
    dim_feedforward : int, default=None
        Width of each layer's feed-forward block.
    dropout : float, default=None
        Dropout on the attention weights, in the feed-forward block and on the residual
        branches.
""",
    attributes="""    is_categorical_ : ndarray of bool, shape (n_features_in_,)
        Which columns were taken as categorical.
    categories_ : list of ndarray
        The sorted categories of each categorical column, in column order; category
        ``categories_[k][i]`` has embedding row ``i + 1`` (row 0: missing or unknown).
""",
    intro="""
    The FT-Transformer of Gorishniy et al. (2021, "Revisiting Deep Learning Models for
    Tabular Data"): every feature becomes a token (a per-feature linear map of a numeric
    value, a per-feature embedding of a category), a learned [CLS] token joins them,
    pre-norm Transformer layers (skfam's :class:`~skfam.nn.transformer.EncoderLayer`) mix
    them, and the head reads the [CLS] token
    (:class:`~skfam.nn.tab_transformer.TabTransformerModule`). Attention costs grow with the
    square of the number of features.
""",
)


class _TabTransformerBase(TorchEstimator):
    """Shared parameters of the FT-Transformer estimators."""

    _family: ClassVar[str] = "tab_transformer"
    _module_class = TabTransformerModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "categorical_features": [list, tuple, None],
        "d_token": [Interval(Integral, 1, None, closed="left"), None],
        "n_heads": [Interval(Integral, 1, None, closed="left"), None],
        "num_layers": [Interval(Integral, 1, None, closed="left"), None],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
    }

    def __init__(
        self,
        *,
        categorical_features: list | tuple | None = None,
        d_token: int | None = None,
        n_heads: int | None = None,
        num_layers: int | None = None,
        dim_feedforward: int | None = None,
        dropout: float | None = None,
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        batch_size: int | None = None,
        max_epochs: int | None = None,
        min_steps: int | None = None,
        lr_schedule: str | None = None,
        lr_patience: int | None = None,
        early_stopping: bool | str | None = None,
        patience: int | None = None,
        validation_fraction: float | None = None,
        validation_split: str | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        self.categorical_features = categorical_features
        self.d_token = d_token
        self.n_heads = n_heads
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------ categorical columns
    def _validate_fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = super()._validate_fit_input(X, y)
        # The imputer (made next by the base) must know the categorical columns.
        spec = self._resolve_params()["categorical_features"]
        self.is_categorical_ = resolve_categorical(
            spec, X.shape[1], getattr(self, "feature_names_in_", None), type(self).__name__
        )
        return X, y

    def _make_imputer(self, strategy: str) -> CategoricalAwareImputer:
        # A model file rebuilds the imputer before the family's state is read: its mask is
        # set again in _restore_model_state.
        return CategoricalAwareImputer(strategy, getattr(self, "is_categorical_", None))

    def _fit_inputs(self, X: np.ndarray) -> np.ndarray:
        self.categories_ = fit_categories(X, self.is_categorical_)
        numeric = X[:, ~self.is_categorical_]
        self.scaler_ = None
        if numeric.shape[1]:
            self.scaler_ = StandardScaler().set_output(transform="default").fit(numeric)
        return self._transform_inputs(X)

    def _transform_inputs(self, X: np.ndarray) -> np.ndarray:
        """Return the module's input: standardised numeric columns, then category codes."""
        mask = self.is_categorical_
        numeric = X[:, ~mask]
        if self.scaler_ is not None:
            numeric = self.scaler_.transform(numeric)
        return np.hstack([numeric, encode_categories(X, mask, self.categories_)])

    def _cardinalities(self) -> list[int]:
        return [len(c) + 1 for c in self.categories_]

    # ------------------------------------------------------------ module
    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        d_token, n_heads = int(p["d_token"]), int(p["n_heads"])
        if d_token % n_heads:
            raise ValueError(f"d_token ({d_token}) must be a multiple of n_heads ({n_heads}).")
        return {
            "n_num": int(n_in) - len(self.categories_),
            "n_out": int(n_out),
            "cardinalities": self._cardinalities(),
            "d_token": d_token,
            "n_heads": n_heads,
            "num_layers": int(p["num_layers"]),
            "dim_feedforward": int(p["dim_feedforward"]),
            "dropout": float(p["dropout"]),
        }

    def _module_layout(self) -> dict[str, Any]:
        return {
            "n_num": int(np.count_nonzero(~self.is_categorical_)),
            "n_out": self._n_outputs(),
            "cardinalities": self._cardinalities(),
        }

    # ------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        arrays = {
            **arrays,
            "is_categorical": self.is_categorical_,
            "categories.counts": np.array([len(c) for c in self.categories_], dtype=np.int64),
            "categories.values": np.concatenate([np.zeros(0), *self.categories_]),
        }
        return meta, arrays, blobs

    def _input_state(self) -> dict[str, bytes]:
        return {} if self.scaler_ is None else {"scaler.skops": dump_sklearn(self.scaler_)}

    def _restore_input_state(self, blobs: dict[str, bytes]) -> None:
        n = int(np.count_nonzero(~self.is_categorical_))
        self.scaler_ = None
        if n == 0:
            return
        scaler = load_sklearn(
            blobs["scaler.skops"], trusted=["sklearn.preprocessing._data.StandardScaler"]
        )
        parts = [getattr(scaler, name, None) for name in ("mean_", "scale_")]
        if getattr(scaler, "n_features_in_", None) != n or not all(
            isinstance(v, np.ndarray) and v.shape == (n,) and np.isfinite(v).all() for v in parts
        ):
            raise ModelFileError(f"'scaler.skops' is not a fitted scaler of {n} features.")
        self.scaler_ = scaler

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        n = self.n_features_in_
        mask = _vector(arrays, "is_categorical", "b", n)
        counts = _vector(arrays, "categories.counts", "i", int(mask.sum()))
        values = _vector(arrays, "categories.values", "f")
        if (counts < 0).any() or int(counts.sum()) != len(values):
            raise ModelFileError(
                f"'categories.counts' ({counts.tolist()}) do not split the "
                f"{len(values)} values of 'categories.values'."
            )
        categories = np.split(values.astype(np.float64), np.cumsum(counts)[:-1])
        if len(counts) == 0:
            categories = []
        if not all(np.isfinite(c).all() and (np.diff(c) > 0).all() for c in categories):
            raise ModelFileError("'categories.values' are not finite sorted distinct values.")
        self.is_categorical_ = mask
        self.categories_ = categories
        imputer = self.imputer_
        self.imputer_ = CategoricalAwareImputer(imputer.strategy, mask)
        for name in ("statistics_", "empty_features_", "n_features_in_"):
            setattr(self.imputer_, name, getattr(imputer, name))
        super()._restore_model_state(meta, arrays, blobs)


@fill_doc(parameters=_DOC_PARAMETERS)
class TabTransformerRegressor(RegressorMixin, SkfamRegressorMixin, _TabTransformerBase):
    """FT-Transformer for regression (MSE loss), trained with skorch.

    %(parameters)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skfam import TabTransformerRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = TabTransformerRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """


@fill_doc(parameters=_DOC_PARAMETERS)
class TabTransformerClassifier(ClassifierMixin, SkfamClassifierMixin, _TabTransformerBase):
    """FT-Transformer for binary and multiclass classification (cross-entropy).

    %(parameters)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import TabTransformerClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([rng.normal(size=200), rng.integers(0, 3, size=200)])
    >>> y = np.where(X[:, 0] + (X[:, 1] == 2) > 0.5, "yes", "no")
    >>> clf = TabTransformerClassifier(
    ...     categorical_features=[1], variant="fast", device="cpu"
    ... ).fit(X, y)
    >>> [len(c) for c in clf.categories_]
    [3]
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """
