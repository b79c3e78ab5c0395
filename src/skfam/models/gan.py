"""The ``gan`` family: a conditional GAN whose generator draws predictive samples of y."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docs import fill_doc
from .._progress import DOC_VERBOSE
from .._seeds import derive_seed, resolve_random_state
from .._threads import thread_limit
from .._torch import DOC_FITTED_ATTRIBUTES, DOC_TRAINING_PARAMETERS, TorchEstimator, WeightedNet
from ..base import SkfamRegressorMixin
from ..model_file import ModelFileError
from ..nn.gan import ConditionalGAN, energy_score
from ..nn.mlp import ACTIVATIONS

__all__ = ["ConditionalGANRegressor"]

#: Noise vectors per generator pass at predict: every pass reads exactly this many (the
#: last padded with zeros), so a draw does not depend on how many draws are asked for.
NOISE_CHUNK = 64
#: Draws per validation row for the early-stopping score (the CRPS estimate).
VALID_SAMPLES = 32
#: Draws per row whose mean the optional supervised term compares with the target.
SUPERVISED_DRAWS = 4
#: Most draws per row a model file may ask ``predict`` for (a file's values are not trusted).
_MAX_STORED_DRAWS = 1 << 20
#: Adam's betas of both networks (the usual GAN setting: a short first-moment memory).
BETAS = (0.5, 0.999)


class AdversarialNet(WeightedNet):
    """skorch net of the conditional GAN: a discriminator step, then a generator step.

    One optimizer holds both networks' parameters; torch's Adam-family step skips a
    parameter without a gradient, so each step updates only the network whose loss it
    differentiates: the discriminator's step sees the generator's draws detached, and the
    discriminator's gradients from the generator's loss are dropped before its step.

    Parameters
    ----------
    *args, **kwargs
        Those of :class:`~skfam._torch.WeightedNet`.
    supervised_weight : float, default=0.0
        Weight of the optional squared error of the mean of ``SUPERVISED_DRAWS`` draws.
    valid_seed : int, default=0
        Seed of the fixed noise the validation score draws with.
    """

    def __init__(self, *args: Any, supervised_weight: float = 0.0, valid_seed: int = 0, **kw):
        super().__init__(*args, **kw)
        self.supervised_weight = supervised_weight
        self.valid_seed = valid_seed

    def _mean(self, values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.unit_weights:
            return values.mean()
        total = weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
        return (values * weight).sum() / total

    def train_step(self, batch: Any, **fit_params: Any) -> dict[str, torch.Tensor]:
        """Run one discriminator step, then one generator step, on a batch.

        Returns the generator's loss (non-saturating, plus the supervised term if any).
        """
        self._set_training(True)
        X, (target, weight) = batch
        gan = self.module_
        optimizer = self.optimizer_
        n = X.shape[0]
        # Discriminator: sample-weighted BCE of real pairs (label 1) and generated (label 0).
        noise = torch.randn((n, gan.noise_dim), device=X.device)
        with torch.no_grad():
            fake = gan(X, noise)
        real_logit = gan.discriminate(X, target)
        fake_logit = gan.discriminate(X, fake)
        d_loss = self._mean(F.softplus(-real_logit) + F.softplus(fake_logit), weight)
        optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        optimizer.step()
        # Generator: non-saturating loss -log D(x, G(x, z)).
        draws = SUPERVISED_DRAWS if self.supervised_weight > 0 else 1
        noise = torch.randn((n, draws, gan.noise_dim), device=X.device)
        pairs = torch.cat([X[:, None, :].expand(n, draws, X.shape[1]), noise], dim=2)
        fake = gan.generator(pairs.reshape(n * draws, -1))
        logit = gan.discriminate(X.repeat_interleave(draws, dim=0), fake)
        g_loss = self._mean(F.softplus(-logit).reshape(n, draws).mean(dim=1), weight)
        fake = fake.reshape(n, draws, -1)
        if self.supervised_weight > 0:
            error = ((fake.mean(dim=1) - target) ** 2).mean(dim=1)
            g_loss = g_loss + self.supervised_weight * self._mean(error, weight)
        optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        for parameter in gan.discriminator.parameters():
            parameter.grad = None
        optimizer.step()
        return {"loss": g_loss.detach(), "y_pred": fake[:, 0].detach()}

    def validation_step(self, batch: Any, **fit_params: Any) -> dict[str, torch.Tensor]:
        """Return the weighted mean CRPS of ``VALID_SAMPLES`` draws per row (fixed noise)."""
        self._set_training(False)
        X, (target, weight) = batch
        gan = self.module_
        if getattr(self, "valid_noise_", None) is None:
            generator = torch.Generator().manual_seed(self.valid_seed)
            noise = torch.randn((VALID_SAMPLES, gan.noise_dim), generator=generator)
            self.valid_noise_ = noise
        with torch.no_grad():
            samples = gan.sample(X, self.valid_noise_.to(X.device))[:, :, 0]
            loss = self._mean(energy_score(samples, target[:, 0]), weight)
        return {"loss": loss, "y_pred": samples.mean(dim=1, keepdim=True)}


_DOC_PARAMETERS = (
    """
    A generator ``G(x, z)`` maps the inputs and a noise vector ``z ~ N(0, I)`` to a draw of
    the target; a discriminator ``D(x, y)`` scores whether a pair is real. They train
    adversarially with the non-saturating GAN loss (Goodfellow et al., 2014): per batch one
    discriminator step on the sample-weighted binary cross-entropy of real pairs against
    generated ones, then one generator step on ``-log D(x, G(x, z))`` (sample-weighted),
    both with Adam(W) of betas (0.5, 0.999). The generator's draws are the model's
    predictive distribution of ``y`` given ``x``: :meth:`sample` returns them, ``predict``
    their mean or median and :meth:`predict_quantiles` their quantiles, from a fixed noise
    matrix drawn from the estimator's seed, so every prediction is deterministic. Early
    stopping is off in the SST (the GAN's losses do not measure the fit, and stopping on the
    validation CRPS cut the spread short: docs/families/gan.md); turned on, it monitors the
    CRPS (a proper scoring rule of the predictive distribution) estimated from 32 draws per
    validation row with fixed noise. Inputs are imputed and
    standardised inside the estimator (``imputer_``, ``scaler_``); the target is
    standardised for training and mapped back. Every hyperparameter defaults to None,
    meaning "take it from the SST" (``configs/models/gan.yaml``, its ``variant``, then
    ``configs/defaults.yaml``). The values used are in ``params_``.

    Parameters
    ----------
    noise_dim : int, default=None
        Length of the noise vector the generator reads beside the inputs.
    generator_sizes : sequence of int, default=None
        Width of each hidden layer of the generator.
    discriminator_sizes : sequence of int, default=None
        Width of each hidden layer of the discriminator.
    activation : {"relu", "gelu", "tanh", "silu", "elu"}, default=None
        Activation after each hidden layer of both networks.
    supervised_weight : float, default=None
        Weight of an optional supervised term of the generator's loss: the sample-weighted
        squared error of the mean of 4 draws per row (of the standardised target). 0 (the
        SST's default) trains a pure GAN; a positive weight pulls the draws' mean toward
        the conditional mean, at some cost to the spread the adversarial loss learns.
    point : {"mean", "median"}, default=None
        What ``predict`` returns: the mean or the median of the ``n_predict_samples`` draws.
    n_predict_samples : int, default=None
        Draws per row behind ``predict`` and ``predict_quantiles``.
    quantiles : array-like of float, default=None
        Levels in (0, 1) that ``predict_quantiles`` returns when it gets none.
"""
    + DOC_TRAINING_PARAMETERS
    + """
    variant : str, default=None
        A named variant of ``configs/models/gan.yaml`` (e.g. "fast").
    random_state : int, RandomState instance or None, default=None
        Seed of weight init, batch order, the training noise, the validation split and the
        predictive noise; None takes ``base_seed`` from the SST.
    n_jobs : int, default=None
        Threads for fit and predict (torch and BLAS); None takes the SST's ``n_jobs``.
    device : {"auto", "cpu", "cuda"} or "cuda:N", default=None
        Where to train; None takes the SST's ``device``, "auto" uses CUDA when present.
"""
    + DOC_VERBOSE
    + """        A line shows the generator's loss (``train_loss``), the validation CRPS of the
        standardised target (``valid_loss``) and the learning rate.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        The target's standardisation.
    net_ : skorch.NeuralNet
        The fitted net; ``net_.module_`` is the :class:`~skfam.nn.gan.ConditionalGAN`
        (``.generator`` and ``.discriminator``).
    params_ : dict
        The hyperparameters (and callback settings) actually used.
"""
    + DOC_FITTED_ATTRIBUTES
)


def _check_levels(quantiles: Any) -> np.ndarray:
    """Return ``quantiles`` as a 1-D float array of levels in (0, 1), or raise."""
    try:
        levels = np.asarray(quantiles, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantiles must be numbers in (0, 1), got {quantiles!r}.") from exc
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"quantiles must be a non-empty 1-D sequence of levels, got shape {levels.shape}."
        )
    if not (np.isfinite(levels).all() and (levels > 0).all() and (levels < 1).all()):
        raise ValueError(f"quantiles must lie in the open interval (0, 1), got {levels.tolist()}.")
    return levels


def _check_count(n_samples: Any) -> int:
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}.")
    return int(n_samples)


@fill_doc(parameters=_DOC_PARAMETERS)
class ConditionalGANRegressor(RegressorMixin, SkfamRegressorMixin, TorchEstimator):
    """Conditional GAN regressor: predictive samples, their mean/median and quantiles.

    %(parameters)s

    Examples
    --------
    >>> import numpy as np
    >>> from skfam import ConditionalGANRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(300, 2))
    >>> y = X[:, 0] + (0.1 + X[:, 0]) * rng.normal(size=300)
    >>> reg = ConditionalGANRegressor(variant="fast", device="cpu").fit(X, y)
    >>> reg.sample(X[:3], 100).shape
    (3, 100)
    >>> reg.predict_quantiles(X[:3], [0.1, 0.9]).shape
    (3, 2)
    """

    _family: ClassVar[str] = "gan"
    _module_class = ConditionalGAN
    _net_class = AdversarialNet
    _parameter_constraints: ClassVar[dict[str, list]] = {
        **TorchEstimator._parameter_constraints,
        "noise_dim": [Interval(Integral, 1, None, closed="left"), None],
        "generator_sizes": [list, tuple, None],
        "discriminator_sizes": [list, tuple, None],
        "activation": [StrOptions(set(ACTIVATIONS)), None],
        "supervised_weight": [Interval(Real, 0, None, closed="left"), None],
        "point": [StrOptions({"mean", "median"}), None],
        "n_predict_samples": [Interval(Integral, 1, None, closed="left"), None],
        "quantiles": ["array-like", None],
    }

    def __init__(
        self,
        *,
        noise_dim: int | None = None,
        generator_sizes: Sequence[int] | None = None,
        discriminator_sizes: Sequence[int] | None = None,
        activation: str | None = None,
        supervised_weight: float | None = None,
        point: str | None = None,
        n_predict_samples: int | None = None,
        quantiles: Sequence[float] | None = None,
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
        self.noise_dim = noise_dim
        self.generator_sizes = generator_sizes
        self.discriminator_sizes = discriminator_sizes
        self.activation = activation
        self.supervised_weight = supervised_weight
        self.point = point
        self.n_predict_samples = n_predict_samples
        self.quantiles = quantiles
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

    # ------------------------------------------------------------ training hooks
    def _fit_model(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, defaults: dict
    ) -> bool | None:
        _check_levels(self.params_["quantiles"])
        return super()._fit_model(X, y, sample_weight, defaults)

    def _module_kwargs(self, n_in: int, n_out: int) -> dict[str, Any]:
        p = self.params_
        sizes = {}
        for name in ("generator_sizes", "discriminator_sizes"):
            value = p[name]
            if not all(
                isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in value
            ):
                raise ValueError(f"{name} must be positive ints, got {value!r}.")
            sizes[name] = [int(s) for s in value]
        return {
            "n_in": int(n_in),
            "n_out": int(n_out),
            "noise_dim": int(p["noise_dim"]),
            **sizes,
            "activation": p["activation"],
        }

    def _optimizer(self) -> tuple[type[torch.optim.Optimizer], dict[str, Any]]:
        return torch.optim.AdamW, {"weight_decay": self.params_["weight_decay"], "betas": BETAS}

    def _net_kwargs(self) -> dict[str, Any]:
        return {
            "supervised_weight": float(self.params_["supervised_weight"]),
            "valid_seed": derive_seed(self.random_state_, "noise", index=1),
        }

    def _degenerate_hint(self) -> str:
        return (
            super()._degenerate_hint()
            + "; an adversarial run can also collapse: try another random_state, a smaller "
            "learning_rate, or a small supervised_weight"
        )

    # ------------------------------------------------------------ model files
    def _restore_model_state(
        self, meta: dict, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> None:
        super()._restore_model_state(meta, arrays, blobs)
        p = self.params_
        count = p.get("n_predict_samples")
        if type(count) is not int or not 1 <= count <= _MAX_STORED_DRAWS:
            raise ModelFileError(
                f"n_predict_samples = {count!r} is not an int in [1, {_MAX_STORED_DRAWS}]."
            )
        if p.get("point") not in ("mean", "median"):
            raise ModelFileError(f"point = {p.get('point')!r} is not 'mean' or 'median'.")
        try:
            _check_levels(p.get("quantiles"))
        except ValueError as exc:
            raise ModelFileError(f"the stored quantile levels are invalid: {exc}") from exc

    # ------------------------------------------------------------ prediction
    def _draws(self, X: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        """Return (n_rows, n_samples) draws on the target's scale for imputed rows ``X``.

        The noise matrix (n_samples, noise_dim) is drawn on the CPU from ``seed`` and shared
        by every row; passes have fixed shapes (512 rows by ``NOISE_CHUNK`` noise vectors),
        the last block's unused vectors are drawn and dropped.
        """
        noise_dim = int(self.module_kwargs_["noise_dim"])
        # Blocks of NOISE_CHUNK vectors, drawn one after another: draw j is the same for any
        # n_samples > j (one randn call of another size would fill in another order).
        generator = torch.Generator().manual_seed(seed)
        blocks = -(-n_samples // NOISE_CHUNK)
        noise = torch.cat(
            [torch.randn((NOISE_CHUNK, noise_dim), generator=generator) for _ in range(blocks)]
        )

        def draw(module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
            z = noise.to(batch.device)
            parts = [
                module.sample(batch, z[lo : lo + NOISE_CHUNK])[:, :, 0]
                for lo in range(0, len(z), NOISE_CHUNK)
            ]
            return torch.cat(parts, dim=1)[:, :n_samples]

        out = self._module_outputs(X, draw)
        return out * self.target_scale_ + self.target_mean_

    def _predict_draws(self, X: np.ndarray) -> np.ndarray:
        seed = derive_seed(self.random_state_, "noise")
        return self._draws(X, int(self.params_["n_predict_samples"]), seed)

    def _raw_outputs(self, X: np.ndarray) -> np.ndarray:
        draws = self._predict_draws(X)
        if self.params_["point"] == "median":
            return np.median(draws, axis=1)
        return draws.mean(axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """Predict the mean (or median, ``point``) of ``n_predict_samples`` draws per row.

        The draws come from the estimator's seed, so the prediction is deterministic; it
        equals the mean (median) of ``sample(X, n_predict_samples)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data; NaN is imputed with the training statistics.

        Returns
        -------
        y_pred : ndarray of float64, shape (n_samples,)
        """
        return super().predict(X)

    def sample(self, X: Any, n_samples: int, random_state: Any = None) -> np.ndarray:
        """Draw from the predictive distribution of each row's target.

        Every row uses the same noise matrix (``n_samples`` vectors), so a row's draws do
        not depend on the other rows, nor on how many rows are predicted, and draw ``j``
        is the same for any ``n_samples`` > ``j``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Data; NaN is imputed with the training statistics.
        n_samples : int
            Draws per row, at least 1.
        random_state : int, RandomState instance or None, default=None
            Seed of the noise; None uses the estimator's ``random_state_`` (the draws
            ``predict`` averages), an int gives the noise of an estimator of that seed.

        Returns
        -------
        samples : ndarray of float64, shape (n_rows, n_samples)
            On the target's scale.
        """
        check_is_fitted(self)
        n_samples = _check_count(n_samples)
        seed = self.random_state_ if random_state is None else resolve_random_state(random_state)
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            return self._draws(X, n_samples, derive_seed(seed, "noise"))

    def predict_quantiles(self, X: Any, quantiles: Any = None) -> np.ndarray:
        """Predict quantiles of each row's predictive distribution.

        They are the empirical quantiles (numpy's linear interpolation) of the
        ``n_predict_samples`` draws of the estimator's seed (those behind ``predict``).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Data; NaN is imputed with the training statistics.
        quantiles : array-like of float, default=None
            Levels in (0, 1), in the order wanted; None takes ``params_["quantiles"]``.

        Returns
        -------
        quantiles : ndarray of float64, shape (n_rows, n_quantiles)
            Column ``j`` is the level ``quantiles[j]``.
        """
        check_is_fitted(self)
        levels = _check_levels(self.params_["quantiles"] if quantiles is None else quantiles)
        X = self._checked_predict_input(X)
        with thread_limit(self._threads()):
            draws = self._predict_draws(X)
        return np.quantile(draws, levels, axis=1).T
