"""The ``meta_learning`` family: Reptile (Nichol, Achiam & Schulman, 2018) in PyTorch.

Reptile learns an initialisation of a network from many related tasks (the ``groups`` of
``fit``): each outer step adapts the current weights ``phi`` to one task with a few plain
SGD steps, giving ``W``, then moves ``phi`` a step toward them, ``phi += eps * (W - phi)``.
A new task is then learned from a few rows by :meth:`ReptileRegressor.adapt`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from .._docs import fill_doc
from .._limits import check_target_range
from .._progress import DOC_VERBOSE
from .._seeds import derive_seed
from .._settings import with_carried_settings
from .._split import resolve_early_stopping
from .._threads import thread_limit
from .._torch import (
    DOC_FITTED_ATTRIBUTES,
    TensorDataset,
    TorchEstimator,
    WeightedNet,
    seeded_torch,
)
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError, _whole
from ..nn.mlp import ACTIVATIONS, MLPModule

__all__ = ["ReptileRegressor"]


def _weighted_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Return the ``weight``-weighted mean over rows of the squared error (0 for no weight)."""
    loss = ((pred - target) ** 2).flatten(1).mean(dim=1)
    return (loss * weight).sum() / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)


def _inner_sgd(
    module: torch.nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    order: Iterator[torch.Tensor | slice],
) -> None:
    """Run ``steps`` plain SGD steps of the weighted squared error on ``module``, in place.

    Minibatch ``k`` holds the rows ``order`` gives for it (an index tensor or a slice of
    at most ``batch_size`` rows). Plain SGD keeps no state: its steps depend only on the weights
    and the rows.
    """
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    for _ in range(steps):
        rows = next(order)
        loss = _weighted_mse(module(X[rows]), target[rows], weight[rows])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(g, alpha=lr)


def _cycle(n: int, batch_size: int, draw: Any = None) -> Iterator[torch.Tensor | slice]:
    """Yield minibatches of ``batch_size`` of ``n`` rows, pass after pass.

    Each pass covers every row once; ``draw(n)`` gives each pass's order, an index tensor
    on the rows' device (None: the rows in their given order each time, as slices). A last
    minibatch of a pass may be smaller.
    """
    while True:
        order = None if draw is None else draw(n)
        for lo in range(0, n, batch_size):
            yield slice(lo, lo + batch_size) if order is None else order[lo : lo + batch_size]


class TaskDataset(TensorDataset):
    """A :class:`~skfam._torch.TensorDataset` whose rows belong to tasks.

    Parameters
    ----------
    X, y, weight, device
        As for :class:`~skfam._torch.TensorDataset`.
    tasks : ndarray of shape (n_samples,)
        The task label of each row (any sortable labels).
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray,
        device: str = "cpu",
        *,
        tasks: np.ndarray,
    ):
        super().__init__(X, y, weight, device)
        _, codes = np.unique(tasks, return_inverse=True)
        codes = codes.reshape(-1)
        #: Row indices of each task (in row order), on the device.
        self.task_rows = [
            torch.as_tensor(np.flatnonzero(codes == k), device=device)
            for k in range(int(codes.max()) + 1 if len(codes) else 0)
        ]


class TaskBatches:
    """Iterator over tasks: each batch is the rows of one task.

    Training (``shuffle=True``) visits the tasks in an order drawn from ``generator``, and
    takes ``batch_size`` rows of a task drawn without replacement (all of them, in a drawn
    order, when it has fewer). Validation (``shuffle=False``) yields each task's rows in
    row order, all of them, task after task.
    """

    def __init__(
        self,
        dataset: TaskDataset,
        batch_size: int = 50,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        **_: Any,
    ):
        if not isinstance(dataset, TaskDataset):
            raise TypeError(f"TaskBatches iterates over a TaskDataset, got {type(dataset)}.")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return len(self.dataset.task_rows)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, Any]]:
        data = self.dataset
        n = len(data.task_rows)
        tasks = torch.randperm(n, generator=self.generator) if self.shuffle else range(n)
        for task in tasks:
            rows = data.task_rows[int(task)]
            if self.shuffle:
                pick = torch.randperm(len(rows), generator=self.generator)[: self.batch_size]
                rows = rows[pick.to(rows.device)]
            yield data.X[rows], (data.y[rows], data.weight[rows])


class ReptileNet(WeightedNet):
    """skorch net whose training step is one Reptile outer step on one task's rows.

    ``train_step`` adapts the current weights ``phi`` with ``inner_steps`` plain SGD steps
    (learning rate ``inner_learning_rate``, minibatches of ``inner_batch_size`` rows taken
    in the batch's order, pass after pass) to ``W``, puts ``phi`` back, sets each
    parameter's gradient to ``phi - W`` and steps the net's optimizer (SGD of learning
    rate ``eps``): ``phi += eps * (W - phi)``. Its loss is that of ``phi`` on the task's
    rows before adaptation. ``validation_step`` adapts a copy of the weights on the first
    ``ceil(n / 2)`` rows of a held-out task (``inner_steps`` steps) and returns the loss on
    the others (on all of them for a task of one row).
    """

    def __init__(
        self,
        *args: Any,
        inner_learning_rate: float = 0.02,
        inner_steps: int = 5,
        inner_batch_size: int = 10,
        **kwargs: Any,
    ):
        self.inner_learning_rate = inner_learning_rate
        self.inner_steps = inner_steps
        self.inner_batch_size = inner_batch_size
        super().__init__(*args, **kwargs)

    def _adapt(self, X: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> None:
        _inner_sgd(
            self.module_,
            X,
            target,
            weight,
            steps=int(self.inner_steps),
            lr=float(self.inner_learning_rate),
            batch_size=int(self.inner_batch_size),
            order=_cycle(len(X), int(self.inner_batch_size)),
        )

    def train_step(self, batch: Any, **fit_params: Any) -> dict[str, torch.Tensor]:
        X, (target, weight) = batch
        module = self.module_
        params = [p for p in module.parameters() if p.requires_grad]
        phi = [p.detach().clone() for p in params]
        module.train()
        with torch.no_grad():
            y_pred = module(X)
            loss = _weighted_mse(y_pred, target, weight)
        self._adapt(X, target, weight)
        with torch.no_grad():
            for p, start in zip(params, phi, strict=True):
                p.grad = start - p  # phi - W: an SGD step of lr eps moves phi toward W
                p.copy_(start)
        self.optimizer_.step()
        self.optimizer_.zero_grad(set_to_none=True)
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict[str, torch.Tensor]:
        X, (target, weight) = batch
        module = self.module_
        saved = {k: v.detach().clone() for k, v in module.state_dict().items()}
        n = len(X)
        k = -(-n // 2)
        query = slice(k, None) if n > 1 else slice(None)
        try:
            self._adapt(X[:k], target[:k], weight[:k])
            module.eval()
            with torch.no_grad():
                y_pred = module(X[query])
                loss = _weighted_mse(y_pred, target[query], weight[query])
        finally:
            module.load_state_dict(saved)
        return {"loss": loss, "y_pred": y_pred}


_DOC_PARAMETERS = (
    """
    The tasks are the ``groups`` of ``fit`` (one label per row; at least 2 tasks): without
    them ``fit`` raises. Inputs are imputed and standardised inside the estimator
    (``imputer_``, ``scaler_``) and the target is standardised, on all the training rows;
    :meth:`adapt` uses the same scaling. ``predict`` of the fitted estimator uses the
    meta-learned weights as they are (the initialisation that adapts well, not a model of
    any one task: it predicts roughly the mean over tasks); ``adapt`` returns an estimator
    fine-tuned on a few rows of one task. Every hyperparameter defaults to None, meaning
    "take it from the SST" (``configs/models/meta_learning.yaml``, its ``variant``, then
    ``configs/defaults.yaml``). The values used are in ``params_``.

    Parameters
    ----------
    hidden_sizes : sequence of int, default=None
        Width of each hidden layer of the network.
    activation : {"relu", "gelu", "tanh", "silu", "elu"}, default=None
        Activation after each hidden layer.
    inner_learning_rate : float, default=None
        Learning rate of the inner (and :meth:`adapt`'s) plain SGD steps.
    inner_steps : int, default=None
        Inner SGD steps on one task per outer step.
    inner_batch_size : int, default=None
        Rows per inner SGD step (of the task's drawn rows, taken in their drawn order,
        pass after pass).
    task_batch_rows : int, default=None
        Rows of a task one outer step uses: a task with more rows is subsampled (without
        replacement, drawn anew each time the task is visited).
    adapt_steps : int, default=None
        SGD steps :meth:`adapt` takes when it gets ``n_steps=None``.
    learning_rate : float, default=None
        The outer step size ``eps`` (``phi += eps * (W - phi)``); the schedule anneals it.
    max_epochs : int, default=None
        Passes over the training tasks (one outer step per task, tasks in a random order),
        raised where needed to reach ``min_steps``.
    min_steps : int, default=None
        Fewest outer steps of the run: ``max_epochs`` is raised to
        ``ceil(min_steps / training tasks)`` when it gives fewer (0 turns it off). A
        ``max_epochs`` passed here is kept as given unless ``min_steps`` is passed too.
        ``params_["max_epochs"]`` holds the epochs allowed.
    lr_schedule : {"auto", "plateau", "cosine", "constant"}, default=None
        How ``eps`` changes, epoch by epoch. "cosine" (the SST's choice here): cosine decay
        to ``lr_on_plateau.min_lr`` over the run (the paper anneals linearly to 0 step by
        step). "plateau": multiply it by ``lr_on_plateau.factor`` after ``lr_patience``
        epochs without improvement of the validation loss (the training loss without
        validation). "auto": plateau with early stopping, cosine otherwise.
    lr_patience : int, default=None
        Epochs without improvement before the plateau schedule lowers ``eps``.
    early_stopping : {"auto", True, False}, default=None
        Hold out whole tasks, stop when their loss after adaptation has not improved for
        ``patience`` epochs and keep the best weights. A held-out task's loss: adapt a copy
        of the weights with ``inner_steps`` SGD steps on its first half of rows (in row
        order), then the squared error on the other half. "auto" turns it on from
        ``early_stopping.auto_min_samples`` rows when at least 3 tasks leave 2 or more
        for training; True with fewer tasks raises.
    patience : int, default=None
        Epochs without improvement of the validation loss before early stopping ends the
        run (SST: ``configs/callbacks.yaml``).
    validation_fraction : float, default=None
        Share of the tasks held out for early stopping (at least one task).
    variant : str, default=None
        A named variant of ``configs/models/meta_learning.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, task order and row draws, the held-out tasks and
        :meth:`adapt`'s minibatch order; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit, adapt and predict (torch and BLAS); None takes the SST's
        ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (of the standardised target: training, of the
        meta-weights before adaptation; validation, after adaptation) and ``eps``.

    Attributes
    ----------
    n_tasks_ : int
        Tasks (distinct ``groups``) in the training data.
    n_train_tasks_ : int
        Tasks the outer steps ran on (the others held out for early stopping).
    adapted_steps_ : int
        SGD steps :meth:`adapt` took to make this estimator (0 for a meta-model).
    target_mean_, target_scale_ : float
        The target's standardisation.
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.mlp.MLPModule`.
    params_ : dict
        The hyperparameters (and callback settings) actually used; its ``batch_size`` is
        ``task_batch_rows`` (the rows of one outer step).
"""
    + DOC_FITTED_ATTRIBUTES
)


class _ReptileBase(TorchEstimator):
    """Parameters, tasks and the training hooks of Reptile."""

    _family: ClassVar[str] = "meta_learning"
    _module_class = MLPModule
    _net_class = ReptileNet
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "hidden_sizes": [list, tuple, None],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "inner_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "inner_steps": [Interval(Integral, 1, None, closed="left"), None],
        "inner_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "task_batch_rows": [Interval(Integral, 1, None, closed="left"), None],
        "adapt_steps": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        hidden_sizes: Sequence[int] | None = None,
        activation: str | None = None,
        inner_learning_rate: float | None = None,
        inner_steps: int | None = None,
        inner_batch_size: int | None = None,
        task_batch_rows: int | None = None,
        adapt_steps: int | None = None,
        learning_rate: float | None = None,
        max_epochs: int | None = None,
        min_steps: int | None = None,
        lr_schedule: str | None = None,
        lr_patience: int | None = None,
        early_stopping: bool | str | None = None,
        patience: int | None = None,
        validation_fraction: float | None = None,
        variant: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
        device: str | None = None,
        verbose: int = 0,
    ):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.inner_learning_rate = inner_learning_rate
        self.inner_steps = inner_steps
        self.inner_batch_size = inner_batch_size
        self.task_batch_rows = task_batch_rows
        self.adapt_steps = adapt_steps
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.variant = variant
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------ tasks
    def _fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray,
        defaults: dict,
        groups: np.ndarray | None = None,
    ) -> bool | None:
        name = type(self).__name__
        if groups is None:
            raise ValueError(
                f"{name} learns from tasks: pass groups to fit (one task label per row of X), "
                "e.g. fit(X, y, groups=task_ids); in a Pipeline or a search, request them "
                "with set_fit_request(groups=True) under scikit-learn's metadata routing."
            )
        if len(X) < 2:
            raise ValueError(
                f"{name} needs at least 2 tasks of a row each, got n_samples = {len(X)}."
            )
        if groups.dtype.kind in "fc" and np.isnan(groups).any():
            raise ValueError("groups hold NaN: every row needs a task label.")
        try:
            labels = np.unique(groups)
        except TypeError as exc:
            raise ValueError(f"groups must be sortable labels of one kind: {exc}") from exc
        if len(labels) < 2:
            raise ValueError(
                f"{name} needs at least 2 tasks, but groups hold a single task "
                f"({labels.tolist()[0]!r}): Reptile moves the weights toward each task in turn."
            )
        self.n_tasks_ = len(labels)
        self.adapted_steps_ = 0
        p = self.params_
        # The base builds skorch's iterators with params_["batch_size"]: the rows of one
        # task per outer step.
        p["batch_size"] = int(p["task_batch_rows"])
        if not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0
            for s in p["hidden_sizes"]
        ):
            raise ValueError(f"hidden_sizes must be positive ints, got {p['hidden_sizes']!r}.")
        return super()._fit_model(X, y, sample_weight, defaults, groups=groups)

    def _validation_rows(
        self, X: np.ndarray, target: np.ndarray, defaults: dict, **fit_data: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Hold out whole tasks (``validation_fraction`` of them, at least one)."""
        p = self.params_
        _, codes = np.unique(fit_data["groups"], return_inverse=True)
        codes = codes.reshape(-1)
        n_tasks = self.n_tasks_
        self.n_train_tasks_ = n_tasks
        auto_min = defaults["early_stopping"]["auto_min_samples"]
        if not resolve_early_stopping(p["early_stopping"], len(target), auto_min):
            return None
        n_valid = max(1, round(float(p["validation_fraction"]) * n_tasks))
        if n_tasks - n_valid < 2:
            if not isinstance(p["early_stopping"], str):  # True, not "auto"
                raise ValueError(
                    f"early_stopping=True holds out whole tasks ({n_valid} of "
                    f"validation_fraction={p['validation_fraction']}) and needs 2 more "
                    f"for training, but groups hold {n_tasks} tasks; pass "
                    "early_stopping=False or more tasks."
                )
            return None
        rng = np.random.default_rng(derive_seed(self.random_state_, "split"))
        held = np.isin(codes, rng.choice(n_tasks, size=n_valid, replace=False))
        self.n_train_tasks_ = n_tasks - n_valid
        return np.flatnonzero(~held), np.flatnonzero(held)

    def _dataset(
        self,
        inputs: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray,
        rows: np.ndarray,
        **fit_data: np.ndarray | None,
    ) -> TaskDataset:
        return TaskDataset(
            inputs[rows],
            target[rows],
            weight[rows],
            self.device_,
            tasks=fit_data["groups"][rows],
        )

    def _train_iterator(self) -> tuple[type, dict[str, Any]]:
        return TaskBatches, {}

    def _batches_per_epoch(self, n_train: int) -> int:
        return self.n_train_tasks_

    def _net_kwargs(self) -> dict[str, Any]:
        p = self.params_
        return {
            "inner_learning_rate": float(p["inner_learning_rate"]),
            "inner_steps": int(p["inner_steps"]),
            "inner_batch_size": int(p["inner_batch_size"]),
        }

    def _optimizer(self) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
        # Each parameter's gradient is set to phi - W: plain SGD of lr eps is the outer step.
        return torch.optim.SGD, {}

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "hidden_sizes": [int(s) for s in p["hidden_sizes"]],
            "activation": p["activation"],
        }

    def _fit_summary(self) -> str:
        return f"{super()._fit_summary()}, {self.n_train_tasks_} training tasks"

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            f"it ran {self.n_iter_} epoch(s) over {self.n_train_tasks_} tasks with "
            f"learning_rate={p['learning_rate']}, inner_learning_rate="
            f"{p['inner_learning_rate']} and inner_steps={p['inner_steps']}; try more "
            "steps (min_steps, max_epochs) or other learning rates"
        )

    # ------------------------------------------------------------ adapt
    @with_carried_settings
    def adapt(
        self,
        X: Any,
        y: Any,
        n_steps: int | None = None,
        sample_weight: Any = None,
    ) -> _ReptileBase:
        """Return a new estimator: this one fine-tuned on a few rows of one task.

        Plain SGD of the weighted squared error, from this estimator's weights, with its
        ``inner_learning_rate`` and minibatches of ``inner_batch_size`` rows (in an order
        drawn from the stream "adapt" of ``random_state_``, anew each pass over the rows),
        on X imputed and standardised and y standardised as in fit. This estimator is left
        untouched; the new one predicts, saves and loads like any fitted estimator (its
        ``adapted_steps_`` counts the steps).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of the new task (a few: 10 in the paper); NaN is imputed.
        y : array-like of shape (n_samples,)
            Their targets.
        n_steps : int, default=None
            SGD steps (at least 1); None takes ``params_["adapt_steps"]``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of the loss; None weighs every row 1.

        Returns
        -------
        adapted : ReptileRegressor
            A new fitted estimator.
        """
        check_is_fitted(self)
        name = type(self).__name__
        if n_steps is None:
            n_steps = int(self.params_["adapt_steps"])
        elif not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"n_steps must be an int >= 1 or None, got {n_steps!r}.")
        X = self._checked_predict_input(X)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y", estimator=self)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}.")
        check_consistent_length(X, y)
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        check_target_range(y, weight, self._target_limit, name)
        adapted = copy.deepcopy(self)
        net = adapted.net_
        device = net.device
        inputs = torch.as_tensor(
            np.ascontiguousarray(self._transform_inputs(X), dtype=np.float32), device=device
        )
        target = ((y - self.target_mean_) / self.target_scale_).astype(np.float32)[:, None]
        target = torch.as_tensor(target, device=device)
        weights = torch.as_tensor(weight.astype(np.float32), device=device)
        generator = torch.Generator().manual_seed(derive_seed(self.random_state_, "adapt"))

        def draw(n: int) -> torch.Tensor:
            return torch.randperm(n, generator=generator).to(device)

        batch_size = int(self.params_["inner_batch_size"])
        # seeded_torch: deterministic kernels on CUDA; the draws come from ``generator``.
        seed = derive_seed(self.random_state_, "adapt")
        with thread_limit(self._threads()), seeded_torch(seed, device), self._kernels():
            _inner_sgd(
                net.module_,
                inputs,
                target,
                weights,
                steps=int(n_steps),
                lr=float(self.params_["inner_learning_rate"]),
                batch_size=batch_size,
                order=_cycle(len(inputs), batch_size, draw),
            )
        net.module_.eval()
        weights_now = list(net.module_.parameters())
        if not all(bool(torch.isfinite(w).all()) for w in weights_now):
            raise ValueError(
                f"{name}.adapt diverged (non-finite weights); try fewer n_steps or a smaller "
                "inner_learning_rate."
            )
        adapted.adapted_steps_ = self.adapted_steps_ + int(n_steps)
        return adapted

    # ------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        meta, arrays, blobs = super()._model_state()
        meta.update(
            n_tasks=self.n_tasks_,
            n_train_tasks=self.n_train_tasks_,
            adapted_steps=self.adapted_steps_,
        )
        return meta, arrays, blobs

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        self.n_tasks_ = _whole(meta["n_tasks"], "n_tasks", 2)
        self.n_train_tasks_ = _whole(meta["n_train_tasks"], "n_train_tasks", 2)
        if self.n_train_tasks_ > self.n_tasks_:
            raise ModelFileError(
                f"n_train_tasks = {self.n_train_tasks_} exceeds n_tasks = {self.n_tasks_}."
            )
        self.adapted_steps_ = _whole(meta["adapted_steps"], "adapted_steps", 0)
        super()._restore_model_state(meta, arrays, blobs)


@fill_doc(parameters=_DOC_PARAMETERS)
class ReptileRegressor(RegressorMixin, SkfamRegressorMixin, _ReptileBase):
    """Reptile meta-learning over tasks given as ``groups`` (first-order, plain SGD inside).

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import ReptileRegressor
    >>> rng = np.random.default_rng(0)
    >>> tasks = np.repeat(np.arange(20), 30)          # 20 tasks of 30 rows
    >>> X = rng.uniform(-5, 5, size=(len(tasks), 1))
    >>> y = rng.uniform(1, 3, 20)[tasks] * np.sin(X[:, 0])
    >>> meta = ReptileRegressor(variant="fast", device="cpu").fit(X, y, groups=tasks)
    >>> x_new = rng.uniform(-5, 5, size=(10, 1))
    >>> adapted = meta.adapt(x_new, 2.5 * np.sin(x_new[:, 0]), n_steps=16)
    >>> adapted.predict(x_new).shape, adapted.adapted_steps_, meta.adapted_steps_
    ((10,), 16, 0)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The meta-model is an initialisation that adapts well to any task, not a model
        # of the pooled rows: unadapted, it need not score well on them.
        tags.regressor_tags.poor_score = True
        return tags

    @with_carried_settings
    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None
    ) -> ReptileRegressor:
        """Meta-learn an initialisation from the tasks of ``groups``.

        A fit that raises leaves the estimator unfitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN is allowed and imputed inside the estimator.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of the inner steps' losses; None weighs every row 1.
        groups : array-like of shape (n_samples,)
            The task of each row (sortable labels); at least 2 tasks. Required: None
            raises. Inside a Pipeline, a search or ``cross_validate`` under scikit-learn's
            metadata routing, request it with ``set_fit_request(groups=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_discard(X, y, sample_weight, groups=groups)
