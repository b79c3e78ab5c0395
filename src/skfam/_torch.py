"""Shared machinery of the torch families: devices, determinism, batches, the skorch net.

Estimators compose a skorch :class:`~skorch.NeuralNet` (``net_``); they never inherit from
skorch. Everything random in training (weight init, batch order, dropout) runs inside a
forked torch RNG seeded from streams of ``random_state_``, so the global RNG is untouched.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import is_classifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.helper import predefined_split

from ._mkl import check_mkl_strict
from ._progress import Progress, format_metrics
from ._seeds import derive_seed
from ._split import windows_overlap
from ._sst import load_callbacks, load_defaults
from ._torch_state import rng_section
from .base import SkfamEstimator
from .model_file import ModelFileError, _whole, dump_sklearn, load_sklearn

__all__ = [
    "PREDICT_CHUNK",
    "TensorBatches",
    "TensorDataset",
    "TorchEstimator",
    "WeightedNet",
    "resolve_device",
    "rowwise_float32",
]

#: Rows per forward pass at predict. Every pass has exactly this many rows (the last one is
#: padded with zeros), so a row's output does not depend on how many rows are predicted
#: with it: float32 kernels pick other accumulation orders for other batch shapes.
PREDICT_CHUNK = 512
#: Rows sent to the device at once at predict (whole passes of ``PREDICT_CHUNK``).
_PREDICT_BLOCK = 64 * PREDICT_CHUNK


def resolve_device(device: str | None) -> str:
    """Return the torch device for ``device`` (None takes the SST's, "auto" picks CUDA)."""
    if device is None:
        device = load_defaults()["device"]
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but CUDA is not available.")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    return device


@contextmanager
def seeded_torch(seed: int, device: str) -> Iterator[None]:
    """Run the block under a forked torch RNG seeded with ``seed``.

    On CUDA the block also runs with deterministic algorithms. The global RNG states and the
    determinism flags are restored afterwards. Both are process-wide, so one thread at a
    time runs such a block (:func:`skfam._torch_state.rng_section`): a fit draws the same
    init and dropout masks whatever trains in other threads.
    """
    cuda = device.startswith("cuda")
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with ExitStack() as stack:
        stack.enter_context(rng_section())
        stack.enter_context(torch.random.fork_rng(devices=devices))
        if cuda:
            # cuBLAS needs this before its first handle to be deterministic.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            fill = torch.utils.deterministic
            previous = (
                torch.are_deterministic_algorithms_enabled(),
                torch.backends.cudnn.deterministic,
                torch.backends.cudnn.benchmark,
                fill.fill_uninitialized_memory,
            )
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            # Deterministic mode also fills every new uninitialised tensor with NaN, a guard
            # against kernels that read memory they never wrote: one more kernel for each
            # allocation (an LSTM's workspace and gradients, every batch). The kernels skfam
            # runs write what they read, and run-to-run identity on the GPU is checked
            # without the fill (benchmarks/bench_sequences_gpu.py, docs/performance.md).
            fill.fill_uninitialized_memory = False

            def restore() -> None:
                torch.use_deterministic_algorithms(previous[0])
                torch.backends.cudnn.deterministic = previous[1]
                torch.backends.cudnn.benchmark = previous[2]
                fill.fill_uninitialized_memory = previous[3]

            stack.callback(restore)
        torch.manual_seed(seed)
        yield


class TensorDataset(torch.utils.data.Dataset):
    """Inputs, targets and sample weights held as tensors on the training device.

    Parameters
    ----------
    X : ndarray
        Inputs (any shape with samples first), converted to float32.
    y : ndarray, default=None
        Targets (float32 for regression, int64 for classes).
    weight : ndarray, default=None
        Per-sample weights.
    device : str, default="cpu"
        Where the tensors live; batches are slices of them.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        weight: np.ndarray | None = None,
        device: str = "cpu",
    ):
        self.X = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32), device=device)
        self.y = None if y is None else torch.as_tensor(y, device=device)
        self.weight = (
            None
            if weight is None
            else torch.as_tensor(np.asarray(weight, dtype=np.float32), device=device)
        )
        #: Every weight is 1: a batch's weights are then a view, not a gather.
        self.unit_weight = weight is None or bool(np.all(np.asarray(weight) == 1))

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        if self.y is None:
            return self.X[index], None
        return self.X[index], (self.y[index], self.weight[index])


#: Rows of a block in :func:`rowwise_float32` (4,096 windows of 60 x 5 values: float64
#: temporaries of 10 MB instead of the whole array's).
_TRANSFORM_ROWS = 4096


def rowwise_float32(
    X: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], rows: int = _TRANSFORM_ROWS
) -> np.ndarray:
    """Return ``fn(X)`` rounded to float32, computed on blocks of ``rows`` rows.

    ``fn`` must work row by row and keep the shape (a standardisation, say). The result has
    the bits of ``fn(X).astype(np.float32)``: the same arithmetic on each value, without
    the whole-array float64 temporaries whose memory traffic made the inputs' scaling cost
    more than the module's passes at predict on a GPU.
    """
    out = np.empty(X.shape, dtype=np.float32)
    for start in range(0, len(X), rows):
        out[start : start + rows] = fn(X[start : start + rows])
    return out


def batch_bounds(n: int, batch_size: int) -> list[int]:
    """Return the batch boundaries of ``n`` rows (a last batch of one row is merged)."""
    bounds = [*range(0, n, batch_size), n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return bounds


class TensorBatches:
    """A batch iterator that slices tensors instead of collating sample by sample.

    skorch's default DataLoader collates each batch from single samples, which costs a
    large share of the training time of small nets; slicing a tensor already on the device
    does not. Shuffling draws from ``generator`` only. A last batch of a single row is
    merged into the one before it (batch normalisation cannot train on one row).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 128,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        **_: Any,
    ):
        if not isinstance(dataset, TensorDataset):
            dataset = TensorDataset(np.asarray(dataset.X))
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def _bounds(self) -> list[int]:
        return batch_bounds(len(self.dataset), self.batch_size)

    def __len__(self) -> int:
        return len(self._bounds()) - 1

    def __iter__(self) -> Iterator[tuple[torch.Tensor, Any]]:
        data = self.dataset
        order = None
        if self.shuffle:
            order = torch.randperm(len(data), generator=self.generator).to(data.X.device)
        bounds = self._bounds()
        for start, stop in itertools.pairwise(bounds):
            index = slice(start, stop) if order is None else order[start:stop]
            target = None
            if data.y is not None:
                weight = data.weight[: stop - start] if data.unit_weight else data.weight[index]
                target = (data.y[index], weight)
            yield data.X[index], target


def _masked_column_loss(
    criterion: torch.nn.Module, y_pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Return the mean over target columns of each column's weighted loss over its known rows.

    ``target`` is (batch, columns) with NaN where a value is missing: the criterion sees 0
    there and the element's weight is 0, so a missing value adds nothing to the loss or to
    its gradient, and a row with every value missing adds nothing at all. Column ``j``'s
    loss is ``sum_i w_i m_ij l_ij / sum_i w_i m_ij`` (``m`` the mask of known values); a
    column without a known value in the batch adds 0.
    """
    observed = ~torch.isnan(target)
    loss = criterion(y_pred, torch.where(observed, target, torch.zeros_like(target)))
    if loss.shape != target.shape:
        raise ValueError(
            f"A target with missing values needs a loss per element {tuple(target.shape)}, "
            f"the criterion gave {tuple(loss.shape)}."
        )
    mask = weight[:, None] * observed.to(weight.dtype)
    total = mask.sum(dim=0).clamp_min(torch.finfo(weight.dtype).tiny)
    return ((loss * mask).sum(dim=0) / total).mean()


class WeightedNet(NeuralNet):
    """skorch net whose loss is the sample-weighted mean of a per-sample criterion.

    ``masked_targets`` (set once at fit, from the whole target: several columns or missing
    values) switches to the per-column loss over known values, without a check per batch.

    A torch family that trains differently subclasses it (its ``_net_class``) and overrides
    skorch's own methods: ``get_loss`` (a loss that also reads the inputs ``X`` or a module
    output of several parts), ``train_step`` (several optimizer steps per batch, two
    networks, an inner loop) or ``validation_step``. A batch is ``(X, (target, weight))``
    as :class:`TensorBatches` yields it (or what the family's own iterator yields); a step
    returns ``{"loss": tensor, "y_pred": tensor}``. Extra constructor arguments come from
    the estimator's ``_net_kwargs()``.
    """

    masked_targets = False
    #: Every sample weight is 1 (set once at fit): the loss is then the plain mean, two
    #: kernels fewer per batch than the weighted mean.
    unit_weights = False

    def get_loss(
        self, y_pred: torch.Tensor, y_true: Any, X: Any = None, training: bool = False
    ) -> torch.Tensor:
        target, weight = y_true
        if self.masked_targets:
            # Several target columns, or missing values: each column's loss over its
            # known values (TorchEstimator._fit_targets).
            return _masked_column_loss(self.criterion_, y_pred, target, weight)
        loss = self.criterion_(y_pred, target)
        if self.unit_weights:
            return loss.mean()  # the mean of the rows' means: every row has as many values
        if loss.ndim > 1:
            loss = loss.flatten(1).mean(dim=1)
        total = weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
        return (loss * weight).sum() / total

    def run_single_epoch(
        self, iterator: Any, training: bool, prefix: str, step_fn: Any, **fit_params: Any
    ) -> None:
        """Run one training or validation pass, with one device sync per pass.

        skorch's own loop reads each batch's loss with ``.item()``, which waits for the
        device after every batch. Here the losses stay on the device until the pass ends and
        are then copied in one transfer into the same history entries (``<prefix>_loss``
        and ``<prefix>_batch_size`` of every batch), before ``on_epoch_end``. Callbacks get
        the batch's ``loss`` tensor in ``on_batch_end`` as before; only a callback that reads
        the batch's loss from the history inside ``on_batch_end`` would see it missing.
        The modules are put in training (or evaluation) mode once per pass, not per batch.
        """
        if iterator is None:
            return
        NeuralNet._set_training(self, training)
        self._mode_set = training
        self._grad_hooks = any(
            type(cb).on_grad_computed is not Callback.on_grad_computed for _, cb in self.callbacks_
        )
        losses = []
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                losses.append(step["loss"].detach())
                self.history.record_batch(prefix + "_batch_size", len(batch[0]))
                self.notify("on_batch_end", batch=batch, training=training, **step)
        finally:
            self._mode_set = self._grad_hooks = None
        if losses:
            values = torch.stack([loss.reshape(()) for loss in losses]).float().cpu().tolist()
            rows = self.history[-1]["batches"][-len(losses) :]
            for row, value in zip(rows, values, strict=True):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(losses))

    #: Set for the length of a pass: the modules' mode, and whether a callback defines
    #: ``on_grad_computed`` (None outside a pass: skorch's behaviour).
    _mode_set: bool | None = None
    _grad_hooks: bool | None = None

    def train_step(self, batch: Any, **fit_params: Any) -> dict[str, Any]:
        """Take one optimizer step on ``batch`` (skorch's step, leaner per batch).

        As skorch's: zero the gradients, ``train_step_single`` (forward, loss, backward)
        inside the optimizer's closure, ``on_grad_computed`` for callbacks, the step.
        The callbacks' ``on_grad_computed`` is only called when one of them defines it
        (listing the parameters for it costs more per batch than a small net's step).
        """
        if self._grad_hooks is not False:
            return super().train_step(batch, **fit_params)
        steps = []

        def closure() -> torch.Tensor:
            self._zero_grad_optimizer()
            step = self.train_step_single(batch, **fit_params)
            steps.append(step)
            return step["loss"]

        self._step_optimizer(closure)
        return steps[0]

    def _set_training(self, training: bool = True) -> None:
        # Inside a pass the mode was set at its start; a family's step that switches
        # modes itself (module.eval() on a part) switches them back itself.
        if self._mode_set is not training:
            NeuralNet._set_training(self, training)


class EpochProgress(Callback):
    """skorch callback writing a progress line after the epochs ``progress.due`` picks.

    It only reads the net's history and the optimizer's learning rate (the one the epoch
    trained with), so it never changes the training. Lines go to stderr through
    :class:`~skfam._progress.Progress`; skorch's own ``PrintLog`` stays silent (the net's
    ``verbose`` is 0), so nothing is written to stdout.

    Parameters
    ----------
    progress : Progress
        Where the lines go, and at which verbosity.
    total : int
        Epochs allowed.
    """

    def __init__(self, progress: Progress, total: int):
        self.progress = progress
        self.total = total

    def on_epoch_begin(self, net: NeuralNet, **kwargs: Any) -> None:
        """Note the learning rate this epoch trains with."""
        self.lr_ = float(net.optimizer_.param_groups[0]["lr"])

    def on_epoch_end(self, net: NeuralNet, **kwargs: Any) -> None:
        """Write the epoch's losses and learning rate when the epoch is due."""
        row = net.history[-1]
        epoch = int(row["epoch"])
        if not self.progress.due(epoch, self.total):
            return
        metrics = [(key, row[key]) for key in ("train_loss", "valid_loss") if key in row]
        metrics.append(("lr", self.lr_))
        best = "  (best)" if row.get("valid_loss_best") else ""
        self.progress.say(f"epoch {epoch}/{self.total}  {format_metrics(metrics)}{best}")


_TORCH_CONSTRAINTS = {
    "device": [StrOptions({"auto", "cpu", "cuda"}), str, None],
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "weight_decay": [Interval(Real, 0, None, closed="left"), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
    "early_stopping": [StrOptions({"auto"}), "boolean", None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "validation_split": [StrOptions({"auto", "time", "shuffle", "stratified"}), None],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "lr_schedule": [StrOptions({"auto", "plateau", "cosine", "constant"}), None],
    "lr_patience": [Interval(Integral, 1, None, closed="left"), None],
    "min_steps": [Interval(Integral, 0, None, closed="left"), None],
}

#: Docstring fragment of the training parameters every torch family shares.
DOC_TRAINING_PARAMETERS = """
    learning_rate : float, default=None
        AdamW learning rate (the schedule starts from it).
    weight_decay : float, default=None
        AdamW weight decay.
    batch_size : int, default=None
        Rows per training batch (a set smaller than it trains in one batch per epoch).
    max_epochs : int, default=None
        Passes over the training data, raised where needed to reach ``min_steps``.
    min_steps : int, default=None
        Fewest optimizer steps of the run: ``max_epochs`` is raised to
        ``ceil(min_steps / batches per epoch)`` when it gives fewer, so a small data set
        trains as many steps as a large one (SST: ``torch.min_steps``; 0 turns it off).
        A ``max_epochs`` passed here is kept as given unless ``min_steps`` is passed too.
        Early stopping still ends a run early. ``params_["max_epochs"]`` holds the epochs
        allowed.
    lr_schedule : {"auto", "plateau", "cosine", "constant"}, default=None
        "plateau": multiply the learning rate by ``lr_on_plateau.factor`` after
        ``lr_patience`` epochs without improvement of the validation loss (of the training
        loss when there is no validation split). "cosine": cosine decay to
        ``lr_on_plateau.min_lr`` over the run. "auto" (the SST's ``lr_schedule``): plateau
        when early stopping holds out a validation split, cosine otherwise.
        ``params_["lr_schedule"]`` holds the schedule used.
    lr_patience : int, default=None
        Epochs without improvement before the plateau schedule lowers the learning rate.
    early_stopping : {"auto", True, False}, default=None
        Stop when the validation loss has not improved for ``patience`` epochs and keep
        the best weights; "auto" turns it on from ``early_stopping.auto_min_samples`` rows.
    patience : int, default=None
        Epochs without improvement of the validation loss before early stopping ends the
        run (SST: ``configs/callbacks.yaml``).
    validation_fraction : float, default=None
        Share of rows held out for early stopping.
    validation_split : {"auto", "time", "shuffle", "stratified"}, default=None
        How the validation rows are chosen. "time": the last rows, after a purge gap of
        one window length for sequence input. "auto" (the SST's ``validation.split``):
        "time" for windows that overlap (cut from one series, recognised from the data),
        otherwise "stratified" for classifiers and "shuffle" for regressors (e.g. a set
        of independent labelled series). ``params_["validation_split"]`` holds the kind
        used when early stopping was on.
"""


#: Docstring fragment of the fitted attributes every torch family on tabular rows shares
#: (the last entries of its Attributes section).
DOC_FITTED_ATTRIBUTES = """    random_state_ : int
        The seed actually used.
    device_ : str
        The device the net was trained on.
    n_iter_ : int
        Epochs run.
    imputer_ : FeatureImputer
        The imputation step fitted on the training data.
    scaler_ : StandardScaler
        Input standardisation fitted on the training data.
    n_features_in_ : int
        Features seen in fit.
    feature_names_in_ : ndarray of str
        Column names, when fit got a DataFrame with string column names.
"""


class TorchEstimator(SkfamEstimator):
    """Base of the torch families: a module trained by skorch with SST callbacks.

    A family sets ``_module_class`` and implements ``_module_kwargs(n_in, n_out)``; the
    input hooks ``_fit_inputs`` / ``_transform_inputs`` default to standardising 2-D
    features (the fitted ``scaler_``).
    """

    _module_class: ClassVar[type[torch.nn.Module]]
    #: The skorch net class that trains the module (a family's own training step or loss:
    #: a subclass of :class:`WeightedNet`).
    _net_class: ClassVar[type[WeightedNet]] = WeightedNet
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **SkfamEstimator._parameter_constraints,
        **_TORCH_CONSTRAINTS,
    }
    #: The post-fit check first requires every weight to be finite, then predicts on one
    #: padded prediction pass of training rows: a forward pass over 10,000 rows would cost
    #: a large share of a short training run.
    _sanity_rows: ClassVar[int] = PREDICT_CHUNK

    # ------------------------------------------------------------ input hooks
    def _fit_inputs(self, X: np.ndarray) -> np.ndarray:
        self.scaler_ = StandardScaler().set_output(transform="default").fit(X)
        return self._transform_inputs(X)

    def _transform_inputs(self, X: np.ndarray) -> np.ndarray:
        """Return the module's input for imputed rows ``X`` (float32, row-major).

        The scaler's arithmetic (``(X - mean_) / scale_`` in float64), rounded to float32
        once, block by block of rows (:func:`rowwise_float32`).
        """
        mean, scale = self.scaler_.mean_, self.scaler_.scale_
        return rowwise_float32(X, lambda rows: (rows - mean) / scale)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        raise NotImplementedError

    def _split_gap(self) -> int:
        return 0

    def _windows(self, X: np.ndarray) -> np.ndarray | None:
        """Return the (n, L, C) windows of imputed rows ``X`` (None: not sequence input)."""
        return None

    def _fit_anchor(self, X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """Return the per-row value regression learns the change from (None: y itself)."""
        return None

    def _anchor(self, X: np.ndarray) -> np.ndarray | None:
        """Return the fitted anchor of imputed rows ``X`` (see ``_fit_anchor``)."""
        return None

    # ------------------------------------------------------------ training hooks
    def _validation_rows(
        self, X: np.ndarray, target: np.ndarray, defaults: dict, **fit_data: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Family hook: the (training, validation) rows of early stopping, or None.

        ``X`` are the imputed rows, ``target`` what :meth:`_fit_targets` returned and
        ``fit_data`` the family's extra fit data (e.g. ``groups``). Default: the base's
        split (``_early_stopping_split``), stratified for classifiers, by time for
        overlapping windows.
        """
        windows = self._windows(X)
        return self._early_stopping_split(
            target,
            defaults,
            stratify=is_classifier(self),
            sequence=windows is not None and windows_overlap(windows),
            gap=self._split_gap(),
        )

    def _dataset(
        self,
        inputs: np.ndarray,
        target: np.ndarray,
        weight: np.ndarray,
        rows: np.ndarray,
        **fit_data: np.ndarray | None,
    ) -> TensorDataset:
        """Family hook: the training (or validation) set of the rows ``rows``.

        Default: a :class:`TensorDataset` of inputs, targets and weights on the device. A
        family with data beyond them (task ids, say) returns a subclass holding it, and
        reads it in its own iterator (:meth:`_train_iterator`).
        """
        return TensorDataset(inputs[rows], target[rows], weight[rows], self.device_)

    def _train_iterator(self) -> tuple[type, dict[str, Any]]:
        """Family hook: the iterator class over training batches and its extra arguments.

        skorch builds it as ``cls(dataset, batch_size=..., shuffle=True,
        generator=..., **kwargs)``; the generator is seeded from the stream "loader", and
        every draw of the iterator must come from it. Default: :class:`TensorBatches`.
        """
        return TensorBatches, {}

    def _batches_per_epoch(self, n_train: int) -> int:
        """Family hook: optimizer steps in one epoch over ``n_train`` training rows.

        It sets how many epochs ``min_steps`` asks for; it must agree with the iterator of
        :meth:`_train_iterator`.
        """
        return len(batch_bounds(n_train, int(self.params_["batch_size"]))) - 1

    def _net_kwargs(self) -> dict[str, Any]:
        """Family hook: extra constructor arguments of the family's ``_net_class``."""
        return {}

    def _predict_pass(self, module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """Family hook: the raw outputs of one padded prediction pass (rows first).

        Default: ``module(batch)``. A module whose ``forward`` returns several parts for
        training returns here the one that predicts (it runs in eval mode, without
        gradients).
        """
        return module(batch)

    # ------------------------------------------------------------ building
    def _criterion(self) -> tuple[type[torch.nn.Module], dict[str, Any]]:
        """Family hook: the loss, as its class and constructor arguments.

        It is built with ``reduction="none"`` and called as ``loss(output, target)`` on a
        batch, with ``output`` what the module's ``forward`` returns and ``target`` the
        encoded labels (classifiers) or the float targets; its per-row values (a value per
        element is averaged over the row) are weighted by ``sample_weight``. Default:
        cross-entropy for classifiers, squared error for regressors.
        """
        if is_classifier(self):
            return torch.nn.CrossEntropyLoss, {}
        return torch.nn.MSELoss, {}

    def _optimizer(self) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
        """Family hook: the optimizer, as its class and constructor arguments.

        skorch builds it over the module's parameters with ``lr=params_["learning_rate"]``
        (the schedule starts from it). Default: AdamW with ``params_["weight_decay"]``.
        """
        return torch.optim.AdamW, {"weight_decay": self.params_["weight_decay"]}

    def _fit_targets(self, y: np.ndarray, anchor: np.ndarray | None) -> np.ndarray:
        """Family hook: the training targets the loss compares the module's output with.

        Classifiers: the encoded labels as int64. Regressors: the target (less ``anchor``
        where the family has one) standardised to float32, of shape (n, 1) for a 1-D ``y``
        (``target_mean_`` and ``target_scale_`` floats) or (n, k) for a 2-D ``y``, each
        column standardised on its known values (``target_mean_`` and ``target_scale_``
        arrays of k values). NaN stays NaN: the loss then masks it out (a loss per element
        is required), so a missing target is never imputed. :meth:`_outputs_to_predictions`
        maps outputs back.
        """
        if is_classifier(self):
            return y.astype(np.int64)
        change = y if anchor is None else y - anchor
        if change.ndim == 2:
            known = ~np.isnan(change)
            empty = np.flatnonzero(~known.any(axis=0))
            if len(empty):
                raise ValueError(
                    f"Target column(s) {empty.tolist()} of y hold no value (all NaN): a "
                    "column needs at least one known target."
                )
            mean = np.nanmean(change, axis=0)
            scale = np.nanstd(change, axis=0)
            scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
            self.target_mean_, self.target_scale_ = mean, scale
            return ((change - mean) / scale).astype(np.float32)
        self.target_mean_ = float(np.mean(change))
        scale = float(np.std(change))
        self.target_scale_ = scale if scale > 0 and np.isfinite(scale) else 1.0
        target = ((change - self.target_mean_) / self.target_scale_).astype(np.float32)
        return target[:, None]

    def _outputs_to_predictions(self, out: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Family hook: map the module's raw outputs (float64) of imputed rows ``X`` back.

        Default: class probabilities (a softmax) for classifiers; for regressors the inverse
        of :meth:`_fit_targets`' standardisation (one column, or one per target column of a
        2-D ``y``) plus the family's anchor.
        """
        if is_classifier(self):
            return softmax(out, axis=1)
        if isinstance(self.target_mean_, np.ndarray):
            return out * self.target_scale_ + self.target_mean_
        pred = out[:, 0] * self.target_scale_ + self.target_mean_
        anchor = self._anchor(X)
        return pred if anchor is None else pred + anchor

    def _build_net(
        self, module_kwargs: dict[str, Any], callbacks: list, train_split: Any
    ) -> NeuralNet:
        p = self.params_
        criterion, criterion_kwargs = self._criterion()
        optimizer, optimizer_kwargs = self._optimizer()
        loader = torch.Generator().manual_seed(derive_seed(self.random_state_, "loader"))
        iterator, iterator_kwargs = self._train_iterator()
        return self._net_class(
            module=self._module_class,
            criterion=criterion,
            criterion__reduction="none",
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
            optimizer=optimizer,
            **{f"optimizer__{k}": v for k, v in optimizer_kwargs.items()},
            lr=p["learning_rate"],
            max_epochs=p["max_epochs"],
            batch_size=p["batch_size"],
            iterator_train=iterator,
            iterator_train__shuffle=True,
            iterator_train__generator=loader,
            **{f"iterator_train__{k}": v for k, v in iterator_kwargs.items()},
            iterator_valid=iterator,
            **{f"iterator_valid__{k}": v for k, v in iterator_kwargs.items()},
            train_split=train_split,
            callbacks=callbacks,
            device=self.device_,
            verbose=0,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **self._net_kwargs(),
        )

    def _callbacks(self, with_validation: bool, threshold: float) -> list:
        """Return the learning-rate schedule and early stopping; record them in ``params_``."""
        p = self.params_
        settings = load_callbacks(self._family)
        p.update(lr_factor=settings["lr_factor"], min_lr=settings["min_lr"])
        schedule = p["lr_schedule"]
        if schedule == "auto":
            schedule = "plateau" if with_validation else "cosine"
        p["lr_schedule"] = schedule
        callbacks: list = []
        if schedule == "plateau":
            scheduler = LRScheduler(
                policy="ReduceLROnPlateau",
                monitor="valid_loss" if with_validation else "train_loss",
                patience=p["lr_patience"],
                factor=settings["lr_factor"],
                min_lr=settings["min_lr"],
            )
            callbacks.append(("lr_plateau", scheduler))
        elif schedule == "cosine":
            scheduler = LRScheduler(
                policy="CosineAnnealingLR", T_max=p["max_epochs"], eta_min=settings["min_lr"]
            )
            callbacks.append(("lr_cosine", scheduler))
        if with_validation:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=p["patience"],
                        threshold=threshold,
                        threshold_mode="abs",
                        load_best=True,
                    ),
                )
            )
        return callbacks

    def _budget_epochs(self, n_train: int) -> int:
        """Return the epochs allowed: ``max_epochs``, raised to reach ``min_steps`` steps.

        A ``max_epochs`` passed to the constructor is kept as given, unless ``min_steps``
        is passed too: only the SST's budget adapts to the data.
        """
        p = self.params_
        if self.max_epochs is not None and self.min_steps is None:
            return int(p["max_epochs"])
        batches = self._batches_per_epoch(n_train)
        needed = -(-int(p["min_steps"]) // max(batches, 1))
        return max(int(p["max_epochs"]), needed)

    # ------------------------------------------------------------ fit / predict
    def _fit_model(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray,
        defaults: dict,
        **fit_data: np.ndarray | None,
    ) -> bool | None:
        self.device_ = resolve_device(self.device)
        if self.device_ == "cpu":
            check_mkl_strict()
        anchor = self._fit_anchor(X, y)
        inputs = self._fit_inputs(X)
        target = self._fit_targets(y, anchor)
        stopping = defaults["early_stopping"]
        split = self._validation_rows(X, target, defaults, **fit_data)
        if split is not None:
            train_idx, valid_idx = split
            train = self._dataset(inputs, target, sample_weight, train_idx, **fit_data)
            valid = self._dataset(inputs, target, sample_weight, valid_idx, **fit_data)
            train_split = predefined_split(valid)
        else:
            rows = np.arange(len(inputs))
            train = self._dataset(inputs, target, sample_weight, rows, **fit_data)
            train_split = None
        self.module_kwargs_ = self._module_kwargs(inputs.shape[-1], self._n_outputs())
        self.params_["max_epochs"] = self._budget_epochs(len(train))
        callbacks = self._callbacks(split is not None, float(stopping["threshold"]))
        progress = self._progress()
        if progress:
            # Before early stopping, whose on_epoch_end ends the run by raising.
            names = [name for name, _ in callbacks]
            at = names.index("early_stopping") if "early_stopping" in names else len(names)
            callbacks.insert(at, ("progress", EpochProgress(progress, self.params_["max_epochs"])))
        net = self._build_net(self.module_kwargs_, callbacks, train_split)
        net.masked_targets = bool(
            target.dtype.kind == "f"
            and target.ndim == 2
            and (target.shape[1] > 1 or np.isnan(target).any())
        )
        net.unit_weights = bool(np.all(sample_weight == 1))
        with seeded_torch(derive_seed(self.random_state_, "init"), self.device_), self._kernels():
            net.initialize()
            torch.manual_seed(derive_seed(self.random_state_, "dropout"))
            net.partial_fit(train, None)
        self.net_ = net
        self.n_iter_ = len(net.history)
        weights = itertools.chain(net.module_.parameters(), net.module_.buffers())
        if not all(bool(torch.isfinite(w).all()) for w in weights if w.is_floating_point()):
            return False  # diverged: the post-fit check raises NonFinitePredictionError
        return None

    def _kernels(self) -> AbstractContextManager[None]:
        """Return the context that picks the CPU kernels for training and prediction."""
        return nullcontext()

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        """Return probabilities (classifiers) or predictions on the target's scale."""
        out = self._module_outputs(X, self._predict_pass)
        return self._outputs_to_predictions(out, X)

    def _module_outputs(
        self,
        X: np.ndarray,
        fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    ) -> np.ndarray:
        """Return ``fn(module, batch)`` over the inputs of imputed rows ``X`` (float64).

        The module runs in eval mode without gradients, in fixed passes of
        ``PREDICT_CHUNK`` rows, so a row's output does not depend on how many rows are
        predicted with it (its position in a pass can still matter in the last bit for
        some layer shapes: see docs/determinism.md). ``fn`` returns rows first.
        """
        return self._module_passes(self._transform_inputs(X), fn)

    def _module_passes(
        self,
        inputs: np.ndarray,
        fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    ) -> np.ndarray:
        """Return ``fn(module, batch)`` over ``inputs`` as the module reads them (float64).

        :meth:`_module_outputs` without the input transformation: for a method whose
        inputs are not rows of ``X`` (a VAE's latent codes, say). No rows: an empty array.
        """
        if not len(inputs):
            return np.empty(0)
        module = self.net_.module_
        module.eval()
        data = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
        n = len(data)
        outs = []
        with torch.inference_mode(), self._kernels():
            # Rows go to the device in blocks of whole passes (the last padded with zeros)
            # and the outputs come back in one transfer: no wait for the device per pass.
            for start in range(0, n, _PREDICT_BLOCK):
                block = data[start : start + _PREDICT_BLOCK]
                short = -len(block) % PREDICT_CHUNK
                if short:
                    block = torch.cat([block, block.new_zeros((short, *block.shape[1:]))])
                block = block.to(self.net_.device)
                outs += [
                    fn(module, block[lo : lo + PREDICT_CHUNK])
                    for lo in range(0, len(block), PREDICT_CHUNK)
                ]
            out = torch.cat(outs)[:n].cpu()
        return out.numpy().astype(np.float64)

    def _fit_summary(self) -> str:
        text = f"{self.n_iter_} of {self.params_['max_epochs']} epochs"
        stopping = dict(self.net_.callbacks_).get("early_stopping")
        if stopping is not None:
            if self.n_iter_ < self.params_["max_epochs"]:
                text += ", stopped early"
            text += f", weights of the best epoch {stopping.best_epoch_}"
        return text

    def _stopped_at_first_iteration(self) -> bool:
        history = self.net_.history
        if not history or "valid_loss" not in history[0]:
            return False
        losses = history[:, "valid_loss"]
        return len(losses) > 1 and int(np.argmin(losses)) == 0

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            f"it trained {self.n_iter_} epoch(s) of batch_size={p['batch_size']} with "
            f"learning_rate={p['learning_rate']} and lr_schedule={p['lr_schedule']!r}; "
            "try more steps (min_steps, max_epochs), another learning_rate, or "
            "early_stopping=False on a small data set"
        )

    # ------------------------------------------------------------ model files
    def _model_state(self) -> tuple[dict, dict[str, np.ndarray], dict[str, bytes]]:
        from safetensors.torch import save

        state = {
            k: v.detach().cpu().contiguous() for k, v in self.net_.module_.state_dict().items()
        }
        meta = {
            "module_kwargs": self.module_kwargs_,
            "device": self.device_,
            "n_iter": self.n_iter_,
        }
        if not is_classifier(self):
            mean, scale = self.target_mean_, self.target_scale_
            if isinstance(mean, np.ndarray):  # one per target column
                mean, scale = [float(v) for v in mean], [float(v) for v in scale]
            meta.update(target_mean=mean, target_scale=scale)
        blobs = {"module.safetensors": save(state)}
        blobs.update(self._input_state())
        return meta, {}, blobs

    def _input_state(self) -> dict[str, bytes]:
        return {"scaler.skops": dump_sklearn(self.scaler_)}

    def _restore_input_state(self, blobs: dict[str, bytes]) -> None:
        scaler = load_sklearn(
            blobs["scaler.skops"], trusted=["sklearn.preprocessing._data.StandardScaler"]
        )
        n = self.n_features_in_
        parts = [getattr(scaler, name, None) for name in ("mean_", "scale_")]
        if getattr(scaler, "n_features_in_", None) != n or not all(
            isinstance(v, np.ndarray) and v.shape == (n,) and np.isfinite(v).all() for v in parts
        ):
            raise ModelFileError(f"'scaler.skops' is not a fitted scaler of {n} features.")
        self.scaler_ = scaler

    def _module_layout(self) -> dict[str, int]:
        """Return the module arguments that the data's layout fixes (files must agree)."""
        return {"n_in": self.n_features_in_, "n_out": self._n_outputs()}

    def _n_outputs(self) -> int:
        return len(self.classes_) if is_classifier(self) else 1

    def _check_module(self, kwargs: Any, state: dict[str, torch.Tensor]) -> None:
        """Check a model file's module arguments against its weights, building nothing real.

        Sizes are bounded by what the weights hold before any module is built, the module
        is then built on the "meta" device (shapes only, no memory), and its state's keys,
        shapes and dtypes must be exactly those of the stored weights.
        """
        name = self._module_class.__name__
        if not isinstance(kwargs, dict):
            raise ModelFileError(f"module_kwargs = {kwargs!r} is not a dict.")
        elements = sum(t.numel() for t in state.values())
        _check_sizes(kwargs, "module_kwargs", elements, len(state))
        wrong = {
            k: (kwargs[k], v)
            for k, v in self._module_layout().items()
            if k in kwargs and kwargs[k] != v
        }
        if wrong:
            listed = ", ".join(f"{k}={a!r} (the data says {b})" for k, (a, b) in wrong.items())
            raise ModelFileError(f"module_kwargs do not fit the model's input: {listed}.")
        try:
            with torch.device("meta"):
                module = self._module_class(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"module_kwargs {kwargs!r} do not build a {name}: {exc}") from exc
        expected = module.state_dict()
        differ = [f"{k} missing" for k in expected if k not in state]
        differ += [f"{k} unexpected" for k in state if k not in expected]
        differ += [
            f"{k} is {tuple(state[k].shape)} {state[k].dtype}, not {tuple(v.shape)} {v.dtype}"
            for k, v in expected.items()
            if k in state and (state[k].shape != v.shape or state[k].dtype != v.dtype)
        ]
        if differ:
            more = f" (and {len(differ) - 5} more)" if len(differ) > 5 else ""
            raise ModelFileError(
                f"the stored weights do not fit a {name} built from module_kwargs: "
                f"{'; '.join(differ[:5])}{more}."
            )
        unstored = sum(b.numel() for k, b in module.named_buffers() if k not in expected)
        if unstored > _UNSTORED_CAP:
            raise ModelFileError(
                f"module_kwargs ask for tables of {unstored} values that the file does not "
                f"store, more than the {_UNSTORED_CAP} allowed."
            )

    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        from safetensors import SafetensorError
        from safetensors.torch import load

        self.device_ = _loading_device(meta["device"])
        self.n_iter_ = _whole(meta["n_iter"], "n_iter", 0)
        if not is_classifier(self):
            mean, scale = meta["target_mean"], meta["target_scale"]
            if isinstance(mean, list) and isinstance(scale, list):  # one per target column
                if not (
                    len(mean) == len(scale) == self._n_outputs()
                    and all(_finite(v) for v in (*mean, *scale))
                    and all(v > 0 for v in scale)
                ):
                    raise ModelFileError(
                        f"target_mean = {mean!r} and target_scale = {scale!r} are not "
                        f"{self._n_outputs()} finite means and positive scales."
                    )
                self.target_mean_ = np.array(mean, dtype=np.float64)
                self.target_scale_ = np.array(scale, dtype=np.float64)
            else:
                if not all(_finite(v) for v in (mean, scale)) or scale <= 0:
                    raise ModelFileError(
                        f"target_mean = {mean!r} and target_scale = {scale!r} are not a finite "
                        "mean and a positive scale."
                    )
                self.target_mean_, self.target_scale_ = float(mean), float(scale)
        self._restore_input_state(blobs)
        try:
            state = load(blobs["module.safetensors"])
        except SafetensorError as exc:
            raise ModelFileError(f"'module.safetensors' is not valid safetensors: {exc}") from exc
        self._check_module(meta["module_kwargs"], state)
        self.module_kwargs_ = meta["module_kwargs"]
        net = self._build_net(self.module_kwargs_, [], None)
        with seeded_torch(0, self.device_):
            net.initialize()
        net.module_.load_state_dict({k: v.to(self.device_) for k, v in state.items()})
        self.net_ = net


#: Most values of the tables a module builds that a model file does not store (the
#: transformer's sine/cosine positions): 2**24 float32 values are 64 MiB.
_UNSTORED_CAP = 1 << 24


def _finite(value: Any) -> bool:
    return type(value) in (int, float) and bool(np.isfinite(value))


def _check_sizes(value: Any, where: str, elements: int, tensors: int) -> None:
    """Refuse module arguments larger than the stored weights could belong to.

    Every size is at most the number of stored values (each unit of a layer owns weights),
    every list and ``num_layers`` at most the number of stored tensors (each layer owns
    one), and rates lie in [0, 1) (the LSTM's ``forget_bias``, a start value, in [-10, 10]).
    ``seq_len`` is checked against the data's layout.
    """
    key = where.rsplit(".", 1)[-1]
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ModelFileError(f"{where} has a non-string key {k!r}.")
            _check_sizes(v, f"{where}.{k}", elements, tensors)
    elif isinstance(value, (list, tuple)):
        if len(value) > tensors:
            raise ModelFileError(f"{where} has {len(value)} entries for {tensors} tensors.")
        for i, v in enumerate(value):
            _check_sizes(v, f"{where}[{i}]", elements, tensors)
    elif key == "forget_bias":
        # A start value of the LSTM's forget gates, or None (torch's initialisation).
        if value is not None and not (type(value) is float and -10 <= value <= 10):
            raise ModelFileError(f"{where} = {value!r} is not None or a float in [-10, 10].")
    elif isinstance(value, bool) or (isinstance(value, str) and len(value) <= 32):
        return
    elif type(value) is int:
        high = tensors if key == "num_layers" else elements
        if value < 0 or (key != "seq_len" and value > high):
            raise ModelFileError(
                f"{where} = {value} does not fit weights of {elements} values in {tensors} "
                "tensors."
            )
    elif type(value) is float:
        if not 0 <= value < 1:
            raise ModelFileError(f"{where} = {value!r} is not a rate in [0, 1).")
    else:
        raise ModelFileError(f"{where} = {value!r} is not a valid module argument.")


def _loading_device(saved: Any) -> str:
    """Return where a loaded net lives: the saved device if present here, else the CPU."""
    if not isinstance(saved, str) or not re.fullmatch(r"cpu|cuda(:\d{1,3})?", saved):
        raise ModelFileError(f"device = {saved!r} is not 'cpu', 'cuda' or 'cuda:N'.")
    if saved == "cpu" or not torch.cuda.is_available():
        return "cpu"
    index = int(saved.partition(":")[2] or 0)
    return saved if index < torch.cuda.device_count() else "cpu"
