"""The ``multi_task`` family: a shared trunk and one head per target column, in PyTorch."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from .._docs import fill_doc
from .._limits import check_target_range
from .._progress import DOC_VERBOSE
from .._settings import with_carried_settings
from .._torch import DOC_FITTED_ATTRIBUTES, DOC_TRAINING_PARAMETERS, TorchEstimator
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError, _whole
from ..nn.mlp import ACTIVATIONS
from ..nn.multi_task import MultiTaskModule, TaskWeightedMSELoss

__all__ = ["MultiTaskRegressor"]

#: Relative spread of a task's training-row predictions below which it is called constant.
_CONSTANT_SPREAD = 1e-6

_DOC_PARAMETERS = (
    """
    ``y`` may be 2-D, one column per task, or 1-D (one task; ``predict`` then returns 1-D).
    A missing target (NaN in ``y``) is left out of its task's loss, never imputed: each
    task's loss is the ``sample_weight``-weighted mean squared error over its known values
    (of the task's standardised target), and the training loss is the mean over tasks of
    ``task_weights`` times it. A row whose targets are all NaN adds nothing; a column with no
    known value is refused. Inputs are imputed and standardised inside the estimator
    (``imputer_``, ``scaler_``); each target column is standardised on its known values and
    mapped back at predict. Every hyperparameter defaults to None, meaning "take it from the
    SST" (``configs/models/multi_task.yaml``, its ``variant``, then
    ``configs/defaults.yaml``). The values used are in ``params_``.

    Parameters
    ----------
    hidden_sizes : sequence of int, default=None
        Width of each layer of the shared trunk.
    head_sizes : sequence of int, default=None
        Width of each hidden layer of every task's head; empty: linear heads.
    activation : {"relu", "gelu", "tanh", "silu", "elu"}, default=None
        Activation after each hidden layer.
    dropout : float, default=None
        Dropout probability after each hidden layer.
    batch_norm : bool, default=None
        Batch normalisation after each trunk layer
        (:class:`~skfam.nn.mlp.ColumnBatchNorm`: the same model for any ``n_jobs``).
    task_weights : "equal" or array-like of shape (n_tasks,), default=None
        Weight of each task's loss: non-negative, finite, at least one positive, one per
        column of ``y``; rescaled to mean 1 (``task_weights_``). "equal" (the SST's
        default): 1 each. A task of weight 0 does not train its head.
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of ``configs/models/multi_task.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order, dropout and the validation split; None takes
        ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (torch and BLAS); None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (of the standardised targets) and the learning rate.

    Attributes
    ----------
    n_tasks_ : int
        Tasks: columns of ``y`` (1 for a 1-D ``y``).
    task_weights_ : ndarray of shape (n_tasks_,)
        The loss weight of each task, rescaled to mean 1.
    target_mean_, target_scale_ : ndarray of shape (n_tasks_,)
        Each task's standardisation (over its known values).
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.multi_task.MultiTaskModule`.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
"""
    + DOC_FITTED_ATTRIBUTES
)


class _MultiTaskBase(TorchEstimator):
    """Shared parameters and target handling of the multi-task estimators."""

    _family: ClassVar[str] = "multi_task"
    _module_class = MultiTaskModule
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "hidden_sizes": [list, tuple, None],
        "head_sizes": [list, tuple, None],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "batch_norm": ["boolean", None],
        "task_weights": [StrOptions({"equal"}), "array-like", None],
    }

    def __init__(
        self,
        *,
        hidden_sizes: Sequence[int] | None = None,
        head_sizes: Sequence[int] | None = None,
        activation: str | None = None,
        dropout: float | None = None,
        batch_norm: bool | None = None,
        task_weights: str | Sequence[float] | None = None,
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
        self.hidden_sizes = hidden_sizes
        self.head_sizes = head_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.task_weights = task_weights
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        # A 1-D y is one task (and predict returns 1-D), so single-output targets work too.
        tags.target_tags.single_output = True
        return tags

    # ------------------------------------------------------------ targets
    def _validate_fit_input(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = validate_data(self, X, dtype=np.float64, order="C", ensure_all_finite="allow-nan")
        y = check_array(
            y,
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            ensure_min_samples=0,
            ensure_min_features=0,
            allow_nd=True,
            input_name="y",
            estimator=self,
        )
        check_consistent_length(X, y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D (one column per task), got shape {y.shape}.")
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError(f"y has 0 columns (shape {y.shape}): there is no task to learn.")
        columns = y.reshape(len(y), -1)
        empty = np.flatnonzero(np.isnan(columns).all(axis=0))
        if len(empty):
            which = "y" if y.ndim == 1 else f"Target column(s) {empty.tolist()} of y"
            raise ValueError(f"{which} hold(s) no value (all NaN): each task needs known targets.")
        self.y_ndim_ = y.ndim
        self.n_tasks_ = columns.shape[1]
        return X, y

    def _resolve_task_weights(self) -> np.ndarray:
        value = self.params_["task_weights"]
        if isinstance(value, str):  # "equal", checked by the parameter constraints
            return np.ones(self.n_tasks_)
        weights = np.asarray(value, dtype=np.float64)
        if weights.shape != (self.n_tasks_,):
            raise ValueError(
                f"task_weights must hold one weight per task ({self.n_tasks_}), got shape "
                f"{weights.shape}."
            )
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(
                "task_weights must be finite and non-negative with at least one positive, "
                f"got {weights.tolist()}."
            )
        return weights * (len(weights) / weights.sum())

    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool | None:
        self.task_weights_ = self._resolve_task_weights()
        return super()._fit_model(X, y, sample_weight, defaults)

    def _n_outputs(self) -> int:
        return self.n_tasks_

    def _criterion(self) -> tuple[type[torch.nn.Module], dict[str, Any]]:
        return TaskWeightedMSELoss, {"task_weights": [float(w) for w in self.task_weights_]}

    def _outputs_to_predictions(self, out: np.ndarray, X: np.ndarray) -> np.ndarray:
        pred = super()._outputs_to_predictions(out, X)
        return pred[:, 0] if self.y_ndim_ == 1 else pred

    def _degenerate(self, outputs: np.ndarray, y: np.ndarray) -> str | None:
        if self._stopped_at_first_iteration():
            return super()._degenerate(outputs, y)
        outputs = outputs.reshape(len(outputs), -1)
        varied = []
        for task in range(y.shape[1]):
            known = ~np.isnan(y[:, task])
            if known.sum() < 2:
                continue
            target_spread = float(np.ptp(y[known, task]))
            if target_spread > 0:
                varied.append(float(np.ptp(outputs[:, task])) / target_spread)
        if varied and max(varied) <= _CONSTANT_SPREAD:
            return (
                f"predicts the same values for each of the {len(y)} training rows checked, "
                "although their targets vary"
            )
        return None

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        sizes = {}
        for name in ("hidden_sizes", "head_sizes"):
            value = p[name]
            if not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in value
            ):
                raise ValueError(f"{name} must be positive ints, got {value!r}.")
            sizes[name] = [int(s) for s in value]
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            **sizes,
            "activation": p["activation"],
            "dropout": float(p["dropout"]),
            "batch_norm": bool(p["batch_norm"]),
        }

    # ------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        meta.update(
            n_tasks=self.n_tasks_,
            y_ndim=self.y_ndim_,
            task_weights=[float(w) for w in self.task_weights_],
        )
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self.n_tasks_ = _whole(meta["n_tasks"], "n_tasks", 1)
        self.y_ndim_ = meta["y_ndim"]
        if type(self.y_ndim_) is not int or self.y_ndim_ not in (1, 2):
            raise ModelFileError(f"y_ndim = {self.y_ndim_!r} is not 1 or 2.")
        if self.y_ndim_ == 1 and self.n_tasks_ != 1:
            raise ModelFileError(f"a 1-D target has one task, the file says {self.n_tasks_}.")
        weights = meta["task_weights"]
        if not (
            isinstance(weights, list)
            and len(weights) == self.n_tasks_
            and all(type(w) in (int, float) and np.isfinite(w) and w >= 0 for w in weights)
        ):
            raise ModelFileError(
                f"task_weights = {weights!r} are not {self.n_tasks_} non-negative weights."
            )
        self.task_weights_ = np.array(weights, dtype=np.float64)
        super()._restore_model_state(meta, arrays, blobs)
        if not isinstance(self.target_mean_, np.ndarray):
            raise ModelFileError("target_mean and target_scale must be lists, one per task.")


@fill_doc(parameters=_DOC_PARAMETERS)
class MultiTaskRegressor(RegressorMixin, SkfamRegressorMixin, _MultiTaskBase):
    """Multi-task network: a shared trunk, one head per target column (masked MSE).

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import MultiTaskRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> Y = np.c_[X[:, 0] + X[:, 1], X[:, 0] - X[:, 2]]
    >>> Y[::4, 1] = np.nan  # a missing target is left out of its task's loss
    >>> reg = MultiTaskRegressor(variant="fast", device="cpu").fit(X, Y)
    >>> reg.predict(X[:3]).shape
    (3, 2)
    """

    # SkfamRegressorMixin comes before the family base in the class's MRO: these two
    # replace its target hooks.
    def _prepare_target(self, y: np.ndarray) -> np.ndarray:
        # Always (n, n_tasks): the per-column path of TorchEstimator._fit_targets.
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _check_target(self, y: np.ndarray, sample_weight: np.ndarray) -> None:
        check_target_range(y[~np.isnan(y)], sample_weight, self._target_limit, type(self).__name__)

    @with_carried_settings
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MultiTaskRegressor:
        """Fit the shared trunk and the task heads.

        A fit that raises leaves the estimator unfitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed and imputed inside the estimator.
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
            Targets, one column per task (1-D: one task); NaN marks a missing target,
            left out of its task's loss. Each column needs a known value.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights (of every task's loss); None weighs every row 1.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_discard(X, y, sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        """Predict every task's target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        y_pred : ndarray of float64, shape (n_samples, n_tasks_) or (n_samples,)
            1-D when fit got a 1-D ``y``.
        """
        return super().predict(X)
