"""The ``vae`` family: a supervised variational autoencoder in PyTorch, also a transformer."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, RegressorMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from .._docs import fill_doc
from .._progress import DOC_VERBOSE
from .._threads import thread_limit
from .._torch import DOC_FITTED_ATTRIBUTES, DOC_TRAINING_PARAMETERS, TorchEstimator, WeightedNet
from ..base import SkfamRegressorMixin
from ..nn.mlp import ACTIVATIONS
from ..nn.vae import VAEModule

__all__ = ["VAENet", "VAERegressor"]


class VAENet(WeightedNet):
    """skorch net of the supervised VAE: target, reconstruction and KL terms per row.

    Each row's loss is ``target_weight * (y_hat - y)**2 + reconstruction_weight *
    mean_j (x_hat_j - x_j)**2 + beta_t * KL(q(z|x) || N(0, I))``, on the standardised target
    and inputs, with the KL summed over the latent dimensions; the batch's loss is the
    ``sample_weight``-weighted mean of the rows' losses. In training ``beta_t`` rises
    linearly from ``beta / kl_warmup_epochs`` in the first epoch to ``beta`` (KL warm-up;
    0 epochs: ``beta`` throughout); the validation loss always uses ``beta``, so every
    epoch's validation loss measures the same objective and early stopping compares like
    with like.

    Parameters
    ----------
    *args, **kwargs
        Those of :class:`~skfam._torch.WeightedNet`.
    beta : float, default=1.0
        Weight of the KL term.
    reconstruction_weight : float, default=1.0
        Weight of the reconstruction term.
    target_weight : float, default=1.0
        Weight of the target term.
    kl_warmup_epochs : int, default=0
        Epochs over which the training loss's KL weight rises to ``beta``.
    """

    def __init__(
        self,
        *args: Any,
        beta: float = 1.0,
        reconstruction_weight: float = 1.0,
        target_weight: float = 1.0,
        kl_warmup_epochs: int = 0,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.reconstruction_weight = reconstruction_weight
        self.target_weight = target_weight
        self.kl_warmup_epochs = kl_warmup_epochs

    def _kl_weight(self, training: bool) -> float:
        warmup = self.kl_warmup_epochs
        if not training or warmup <= 0:
            return self.beta
        epoch = len(self.history)  # 1 in the first epoch (skorch records it at its start)
        return self.beta * min(1.0, epoch / warmup)

    def get_loss(
        self, y_pred: Any, y_true: Any, X: Any = None, training: bool = False
    ) -> torch.Tensor:
        """Return the weighted mean over rows of the supervised VAE loss."""
        target, weight = y_true
        y_hat, x_hat, mu, logvar = y_pred
        target_loss = self.criterion_(y_hat, target).flatten(1).mean(dim=1)
        reconstruction = ((x_hat - X) ** 2).mean(dim=1)
        kl = 0.5 * (mu * mu + torch.exp(logvar) - 1.0 - logvar).sum(dim=1)
        loss = (
            self.target_weight * target_loss
            + self.reconstruction_weight * reconstruction
            + self._kl_weight(training) * kl
        )
        if self.unit_weights:
            return loss.mean()
        total = weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
        return (loss * weight).sum() / total


_DOC_PARAMETERS = (
    """
    A supervised variational autoencoder: an encoder maps the standardised inputs to a
    latent Gaussian (mean ``mu`` and log-variance, ``latent_dim`` wide), a decoder
    reconstructs the standardised inputs from a latent sample ``z``, and a head predicts the
    standardised target from it. Each row's training loss is ``target_weight * (y_hat -
    y)**2 + reconstruction_weight * mean over features of (x_hat - x)**2 + beta * KL(q(z|x)
    || N(0, I))`` (the KL summed over the latent dimensions), and the loss of a batch is
    the ``sample_weight``-weighted mean over its rows. The validation loss of early
    stopping is the same loss with ``z = mu`` (eval mode: no sampling, no dropout) and the
    full ``beta``. ``predict`` and ``transform`` use the latent mean: nothing is drawn
    after fit. Inputs are imputed and standardised inside the estimator (``imputer_``,
    ``scaler_``); the target is standardised for training and mapped back at predict.
    Every hyperparameter defaults to None, meaning "take it from the SST"
    (``configs/models/vae.yaml``, its ``variant``, then ``configs/defaults.yaml``). The
    values used are in ``params_``.

    Parameters
    ----------
    encoder_sizes : sequence of int, default=None
        Width of each hidden layer of the encoder.
    decoder_sizes : "mirror" or sequence of int, default=None
        Width of each hidden layer of the decoder; "mirror": ``encoder_sizes`` reversed.
    head_sizes : sequence of int, default=None
        Width of each hidden layer of the target head; empty: a linear head on the latent.
    latent_dim : int, default=None
        Width of the latent Gaussian (at least 1), and columns of ``transform``.
    activation : {"relu", "gelu", "tanh", "silu", "elu"}, default=None
        Activation after each hidden layer.
    dropout : float, default=None
        Dropout probability after each hidden layer (encoder, decoder and head).
    beta : float, default=None
        Weight of the KL term (>= 0). With the reconstruction a mean over the ``n``
        features, ``reconstruction_weight / beta`` plays the part of ``n / (2 sigma**2)``
        in a Gaussian decoder of noise variance ``sigma**2``: a large ``beta`` shrinks the
        latent towards the prior and can leave latent dimensions unused.
    reconstruction_weight : float, default=None
        Weight of the reconstruction term (>= 0).
    target_weight : float, default=None
        Weight of the target term (>= 0); with 0 the latent learns from X alone (the head
        is then untrained). ``reconstruction_weight`` and ``target_weight`` must not both
        be 0.
    kl_warmup_epochs : int, default=None
        KL warm-up: the training loss's KL weight rises linearly to ``beta`` over this
        many epochs (``beta / kl_warmup_epochs`` in the first); 0 turns it off.
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of ``configs/models/vae.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order, dropout, the latent noise of training and the
        validation split; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit, predict and transform (torch and BLAS); None takes the SST's
        ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
    + DOC_VERBOSE
    + """        A line shows the losses (the whole VAE loss, on the standardised data) and the
        learning rate of the epoch; ``(best)`` marks a new best validation loss.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.vae.VAEModule`.
    params_ : dict
        The hyperparameters (and callback settings) actually used.
    target_mean_, target_scale_ : float
        The target's standardisation.
"""
    + DOC_FITTED_ATTRIBUTES
)


class _VAEBase(TorchEstimator):
    """Shared parameters and training of the VAE estimators."""

    _family: ClassVar[str] = "vae"
    _module_class = VAEModule
    _net_class = VAENet
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "encoder_sizes": [list, tuple, None],
        "decoder_sizes": [StrOptions({"mirror"}), list, tuple, None],
        "head_sizes": [list, tuple, None],
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "beta": [Interval(Real, 0, None, closed="left"), None],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left"), None],
        "target_weight": [Interval(Real, 0, None, closed="left"), None],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        encoder_sizes: Sequence[int] | None = None,
        decoder_sizes: str | Sequence[int] | None = None,
        head_sizes: Sequence[int] | None = None,
        latent_dim: int | None = None,
        activation: str | None = None,
        dropout: float | None = None,
        beta: float | None = None,
        reconstruction_weight: float | None = None,
        target_weight: float | None = None,
        kl_warmup_epochs: int | None = None,
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
        self.encoder_sizes = encoder_sizes
        self.decoder_sizes = decoder_sizes
        self.head_sizes = head_sizes
        self.latent_dim = latent_dim
        self.activation = activation
        self.dropout = dropout
        self.beta = beta
        self.reconstruction_weight = reconstruction_weight
        self.target_weight = target_weight
        self.kl_warmup_epochs = kl_warmup_epochs
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

    # ------------------------------------------------------------ training
    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool | None:
        p = self.params_
        if p["reconstruction_weight"] == 0 and p["target_weight"] == 0:
            raise ValueError(
                "reconstruction_weight and target_weight are both 0: the VAE would learn "
                "from neither X nor y; make at least one of them positive."
            )
        return super()._fit_model(X, y, sample_weight, defaults)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        sizes = {}
        for name in ("encoder_sizes", "decoder_sizes", "head_sizes"):
            value = p[name]
            if name == "decoder_sizes" and isinstance(value, str):  # "mirror"
                value = list(reversed(sizes["encoder_sizes"]))
            if not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in value
            ):
                raise ValueError(f"{name} must be positive ints, got {value!r}.")
            sizes[name] = [int(s) for s in value]
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "latent_dim": int(p["latent_dim"]),
            **sizes,
            "activation": p["activation"],
            "dropout": float(p["dropout"]),
        }

    def _net_kwargs(self) -> dict[str, Any]:
        p = self.params_
        return {
            "beta": float(p["beta"]),
            "reconstruction_weight": float(p["reconstruction_weight"]),
            "target_weight": float(p["target_weight"]),
            "kl_warmup_epochs": int(p["kl_warmup_epochs"]),
        }

    def _predict_pass(self, module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return module.predict_target(batch)

    def _degenerate_hint(self) -> str:
        p = self.params_
        return (
            super()._degenerate_hint()
            + f"; with target_weight={p['target_weight']} and beta={p['beta']}, a smaller "
            "beta or a larger target_weight gives the head more to learn from"
        )

    # ------------------------------------------------------------ the latent
    @property
    def _n_features_out(self) -> int:
        """Columns of ``transform``: the latent's width (raises AttributeError unfitted)."""
        return int(self.module_kwargs_["latent_dim"])

    def _latent_outputs(self, Z: np.ndarray) -> np.ndarray:
        """Decode latents ``Z`` to standardised inputs in fixed padded passes (float64)."""
        return self._module_passes(Z, lambda module, batch: module.decode(batch))


@fill_doc(parameters=_DOC_PARAMETERS)
class VAERegressor(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    RegressorMixin,
    SkfamRegressorMixin,
    _VAEBase,
):
    """Supervised variational autoencoder for regression, and a latent-feature transformer.

    ``predict`` gives the target from the latent mean; ``transform`` gives the latent means
    themselves (columns ``vaeregressor0``, ``vaeregressor1``, ... from
    ``get_feature_names_out``), so the estimator can be a feature-extraction step of a
    :class:`~sklearn.pipeline.Pipeline` (``fit_transform`` needs ``y``);
    ``inverse_transform`` decodes latents back to rows of X on their original scale.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import VAERegressor
    >>> rng = np.random.default_rng(0)
    >>> factors = rng.normal(size=(300, 2))
    >>> X = factors @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(300, 6))
    >>> y = factors[:, 0] - factors[:, 1]
    >>> vae = VAERegressor(variant="fast", latent_dim=2, device="cpu").fit(X, y)
    >>> vae.predict(X[:3]).shape, vae.transform(X[:3]).shape
    ((3,), (3, 2))
    >>> vae.get_feature_names_out().tolist()
    ['vaeregressor0', 'vaeregressor1']
    >>> vae.inverse_transform(vae.transform(X[:3])).shape
    (3, 6)
    """

    def transform(self, X: Any) -> np.ndarray:
        """Return the latent means of the rows of ``X``.

        Nothing is drawn: each row gets the mean of its latent Gaussian, computed in the
        fixed padded passes of ``predict`` (a row's value does not depend on the rows sent
        with it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        Z : ndarray of float64, shape (n_samples, latent_dim)
            The latent means (a DataFrame under ``set_output(transform="pandas")``).
        """
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return self._module_outputs(X, lambda module, batch: module.encode(batch)[0])

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent rows back to rows of X, on the original scale of X.

        ``inverse_transform(transform(X))`` is the VAE's reconstruction of ``X`` from its
        latent means (imputed values of missing cells included).

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Latent values (e.g. the output of ``transform``); finite.

        Returns
        -------
        X_original : ndarray of float64, shape (n_samples, n_features_in_)
            The decoder's output, mapped back through the input standardisation.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float64, ensure_min_samples=0, input_name="X")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} columns, but {type(self).__name__} decodes latents of "
                f"{self._n_features_out} columns (latent_dim)."
            )
        with thread_limit(self._threads()):
            standardised = self._latent_outputs(Z)
        if not len(standardised):
            return np.empty((0, self.n_features_in_))
        return self.scaler_.inverse_transform(standardised)
