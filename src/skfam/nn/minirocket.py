"""MiniRocket's transform (Dempster, Schmidt & Webb, 2021) in torch, on CPU or CUDA.

MINIROCKET convolves each series with 84 fixed kernels of length 9 (weight -1 everywhere
and 2 at three of the nine positions: the ``C(9, 3) = 84`` choices) at several dilations,
and counts the proportion of positive values (PPV) of each convolution output minus a bias.
This module holds the transform alone, no estimator logic: :func:`fit_minirocket` draws
the parameters (dilations, features per dilation, channel combinations, biases) from
training series, :func:`minirocket_features` computes the features. It follows the
reference code (https://github.com/angus924/minirocket, as adapted in aeon 1.6's
``MiniRocket``) step for step:

* dilations ``floor(2 ** e)`` for ``max_dilations_per_kernel`` exponents ``e`` evenly
  spaced in ``[0, log2((L - 1) / 8)]``, repeated dilations merged, the features of each
  kernel split over them in proportion (:func:`fit_dilations`);
* the convolution written as the reference writes it, with the alpha = -1 / gamma = +3
  trick: ``C_alpha`` is ``-x`` summed over the nine shifted copies (zero outside the
  series), ``C_gamma[i]`` is ``3 x`` shifted to tap ``i``, and kernel ``(a, b, c)`` gives
  ``((C_alpha + C_gamma[a]) + C_gamma[b]) + C_gamma[c]``, per channel; a multivariate
  kernel adds the outputs of its channels in the order they were drawn;
* biases: for each (dilation, kernel), the quantiles ``(i * golden ratio) mod 1`` of the
  convolution output (whole length) of one training series drawn at random;
* padding alternating over (dilation, kernel): when ``(dilation index + kernel index)`` is
  even the PPV is taken over the whole output (zero padded), when odd over the positions
  whose nine taps all lie inside the series;
* multivariate input: each (dilation, kernel) sums ``floor(2 ** u)`` channels, ``u``
  uniform in ``[0, log2(min(C, 9) + 1))``, drawn without replacement.

Every step is an elementwise float32 operation in a fixed order (no ``conv1d``, no
reduction of floats: the PPV counts booleans), so the features are the same bits for any
thread count, any chunking of the series, and on CUDA as on CPU. The quantiles are computed
on the CPU in float64, as numba's ``np.quantile`` computes them in the reference.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "KERNEL_INDICES",
    "KERNEL_LENGTH",
    "MAX_CHANNELS_PER_COMBINATION",
    "N_KERNELS",
    "MiniRocketParameters",
    "fit_dilations",
    "fit_minirocket",
    "minirocket_features",
    "quantiles",
]

#: Length of every kernel.
KERNEL_LENGTH = 9
#: Positions (0..8) of the three weights 2 of each kernel; the other six weigh -1.
KERNEL_INDICES = np.array(list(itertools.combinations(range(KERNEL_LENGTH), 3)), dtype=np.int64)
#: Number of kernels, ``C(9, 3)``.
N_KERNELS = len(KERNEL_INDICES)
#: Most channels one kernel combines.
MAX_CHANNELS_PER_COMBINATION = 9
#: Bytes of intermediate tensors one chunk of series may take (the result does not depend
#: on it: every series is computed on its own).
CHUNK_BYTES = 1 << 28


@dataclass(frozen=True, eq=False)
class MiniRocketParameters:
    """The fitted parameters of a MiniRocket transform.

    Attributes
    ----------
    n_timesteps : int
        Length ``L`` of the series it transforms (at least 9).
    n_channels : int
        Channels ``C`` of the series it transforms.
    dilations : ndarray of int32, shape (n_dilations,)
        Strictly increasing dilations, each with ``8 * d <= L - 1``.
    features_per_dilation : ndarray of int32, shape (n_dilations,)
        Features (biases) of each kernel at each dilation.
    channels_per_combination : ndarray of int32, shape (84 * n_dilations,)
        Channels summed by each (dilation, kernel), dilation-major.
    channel_indices : ndarray of int32, shape (channels_per_combination.sum(),)
        Those channels, combination after combination, in the order they are summed.
    biases : ndarray of float32, shape (n_features,)
        One bias per feature: for each dilation, for each kernel, its
        ``features_per_dilation`` biases.
    """

    n_timesteps: int
    n_channels: int
    dilations: np.ndarray
    features_per_dilation: np.ndarray
    channels_per_combination: np.ndarray
    channel_indices: np.ndarray
    biases: np.ndarray

    @property
    def n_features(self) -> int:
        """Number of features the transform outputs."""
        return len(self.biases)

    def channel_slots(self) -> np.ndarray:
        """Return (84 * n_dilations, max channels) channel indices, -1 where unused."""
        return _channel_slots(self.channels_per_combination, self.channel_indices)


def _channel_slots(counts: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Return each combination's channels as a row of a matrix padded with -1."""
    counts = counts.astype(np.int64)
    slots = np.full((len(counts), max(int(counts.max()), 1)), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for row, (start, count) in enumerate(zip(starts, counts, strict=True)):
        slots[row, :count] = indices[start : start + count]
    return slots


def fit_dilations(
    n_timesteps: int, n_features: int, max_dilations_per_kernel: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the dilations and the features of each kernel at each dilation.

    As the reference's ``_fit_dilations``: ``n_features // 84`` features per kernel, at most
    ``max_dilations_per_kernel`` exponentially spaced dilations up to ``(L - 1) / 8``.

    Parameters
    ----------
    n_timesteps : int
        Series length ``L`` (at least 9).
    n_features : int
        Total features asked for (at least 84; rounded down to a multiple of 84).
    max_dilations_per_kernel : int
        Most dilations.

    Returns
    -------
    dilations, features_per_dilation : ndarray of int32
        Of equal length; ``84 * features_per_dilation.sum() == 84 * (n_features // 84)``.

    Examples
    --------
    >>> from skfam.nn.minirocket import fit_dilations
    >>> dilations, counts = fit_dilations(150, 9996, 32)
    >>> int(dilations[0]), int(dilations[-1]), int(counts.sum())
    (1, 18, 119)
    """
    per_kernel = n_features // N_KERNELS
    true_max = min(per_kernel, max_dilations_per_kernel)
    multiplier = per_kernel / true_max
    max_exponent = np.log2((n_timesteps - 1) / (KERNEL_LENGTH - 1))
    dilations, counts = np.unique(
        np.logspace(0, max_exponent, true_max, base=2).astype(np.int32), return_counts=True
    )
    counts = (counts * multiplier).astype(np.int32)
    remainder = per_kernel - int(np.sum(counts))
    i = 0
    while remainder > 0:
        counts[i] += 1
        remainder -= 1
        i = (i + 1) % len(counts)
    return dilations.astype(np.int32), counts.astype(np.int32)


def quantiles(n: int) -> np.ndarray:
    """Return the reference's low-discrepancy quantiles ``(i * golden ratio) mod 1``, i = 1..n.

    Examples
    --------
    >>> from skfam.nn.minirocket import quantiles
    >>> quantiles(3)
    array([0.618034  , 0.23606798, 0.85410196], dtype=float32)
    """
    phi = (np.sqrt(5) + 1) / 2
    return np.array([(i * phi) % 1 for i in range(1, n + 1)], dtype=np.float32)


def _draw_channels(
    n_channels: int, n_combinations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the channels of each combination as the reference's multivariate MiniRocket."""
    max_exponent = np.log2(min(n_channels, MAX_CHANNELS_PER_COMBINATION) + 1)
    counts = (2 ** rng.uniform(0, max_exponent, n_combinations)).astype(np.int32)
    indices = [rng.choice(n_channels, int(count), replace=False) for count in counts]
    return counts, np.concatenate(indices).astype(np.int32)


def _shifted_sums(X: torch.Tensor, dilation: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``C_alpha`` (..., L) and ``C_gamma`` (9, ..., L) of ``X`` (..., L) at ``dilation``.

    The reference's order: ``C_alpha`` starts at ``-x`` and adds the shifted ``-x`` of taps
    0, 1, 2, 3, then 5, 6, 7, 8; positions a tap does not reach keep their sum (zero
    padding adds nothing).
    """
    length = X.shape[-1]
    A = -X
    G = 3 * X
    C_alpha = A.clone()
    C_gamma = torch.zeros((KERNEL_LENGTH, *X.shape), dtype=X.dtype, device=X.device)
    C_gamma[KERNEL_LENGTH // 2] = G
    start = dilation
    end = length - (KERNEL_LENGTH - 1) * dilation // 2
    for tap in range(KERNEL_LENGTH // 2):
        C_alpha[..., -end:] = C_alpha[..., -end:] + A[..., :end]
        C_gamma[tap, ..., -end:] = G[..., :end]
        end += dilation
    for tap in range(KERNEL_LENGTH // 2 + 1, KERNEL_LENGTH):
        C_alpha[..., :-start] = C_alpha[..., :-start] + A[..., start:]
        C_gamma[tap, ..., :-start] = G[..., start:]
        start += dilation
    return C_alpha, C_gamma


def _batch_outputs(X: torch.Tensor, dilation: int, slots: np.ndarray) -> torch.Tensor:
    """Return the 84 kernels' outputs (84, B, L) on series ``X`` (B, C, L) at ``dilation``.

    ``slots`` (84, S) holds each kernel's channels in summing order, -1 where unused.
    """
    used, remapped = np.unique(np.maximum(slots, 0), return_inverse=True)
    remapped = remapped.reshape(slots.shape)
    C_alpha, C_gamma = _shifted_sums(X[:, torch.as_tensor(used, device=X.device)], dilation)
    out = torch.empty((N_KERNELS, X.shape[0], X.shape[-1]), dtype=X.dtype, device=X.device)
    term = torch.empty_like(out[0]) if slots.shape[1] > 1 else None
    for k, (a, b, c) in enumerate(KERNEL_INDICES.tolist()):
        for s in range(slots.shape[1]):
            if slots[k, s] < 0:
                break
            ch = int(remapped[k, s])
            target = out[k] if s == 0 else term
            torch.add(C_alpha[:, ch], C_gamma[a, :, ch], out=target)
            target.add_(C_gamma[b, :, ch])
            target.add_(C_gamma[c, :, ch])
            if s > 0:
                out[k].add_(term)
    return out


def _paired_outputs(X: torch.Tensor, dilation: int, slots: np.ndarray) -> torch.Tensor:
    """Return kernel ``k``'s output on series ``X[k]`` (84, C, L), as (84, L), at ``dilation``."""
    out = torch.empty((N_KERNELS, X.shape[-1]), dtype=X.dtype, device=X.device)
    for s in range(slots.shape[1]):
        rows = np.flatnonzero(slots[:, s] >= 0)
        index = torch.as_tensor(rows, device=X.device)
        C_alpha, C_gamma = _shifted_sums(
            X[index, torch.as_tensor(slots[rows, s], device=X.device)], dilation
        )
        taps = torch.as_tensor(KERNEL_INDICES[rows], device=X.device)
        within = torch.arange(len(rows), device=X.device)
        term = C_alpha + C_gamma[taps[:, 0], within]
        term = term + C_gamma[taps[:, 1], within]
        term = term + C_gamma[taps[:, 2], within]
        out[index] = term if s == 0 else out[index] + term
    return out


def _quantiles_like_reference(C: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Return the quantiles ``q[k]`` (K, f) of each row ``C[k]`` (K, n) as numba computes them.

    numba (the reference's compiler) implements ``np.quantile`` as a linear interpolation,
    in float64, between the order statistics around rank ``1 + (n - 1) * q``; the
    reference stores the result as float32.
    """
    values = np.sort(C.astype(np.float64), axis=1)
    n = values.shape[1]
    if n == 1:
        return np.repeat(values, q.shape[1], axis=1).astype(np.float32)
    rank = 1 + (n - 1) * np.true_divide(q.astype(np.float64) * 100.0, 100.0)
    floor = np.floor(rank)
    m = rank - floor
    k = floor.astype(np.int64) - 1
    lower = np.take_along_axis(values, k, axis=1)
    upper = np.take_along_axis(values, k + 1, axis=1)
    return (lower * (1 - m) + upper * m).astype(np.float32)


def fit_minirocket(
    X: np.ndarray,
    n_features: int,
    max_dilations_per_kernel: int,
    channel_rng: np.random.Generator,
    series_rng: np.random.Generator,
    device: str = "cpu",
) -> MiniRocketParameters:
    """Fit MiniRocket's parameters to training series.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_channels, L)
        Training series, ``L >= 9`` (converted to float32).
    n_features : int
        Features asked for: ``84 * (n_features // 84)`` are made.
    max_dilations_per_kernel : int
        Most dilations of each kernel.
    channel_rng, series_rng : numpy.random.Generator
        Draw the channel combinations, and the training series each (dilation, kernel)
        takes its biases from.
    device : str, default="cpu"
        Torch device of the convolutions.

    Returns
    -------
    params : MiniRocketParameters
    """
    n_series, n_channels, length = X.shape
    if length < KERNEL_LENGTH:
        raise ValueError(f"MiniRocket needs series of at least 9 steps, got {length}.")
    if n_features < N_KERNELS:
        raise ValueError(f"n_features must be at least {N_KERNELS}, got {n_features}.")
    dilations, per_dilation = fit_dilations(length, n_features, max_dilations_per_kernel)
    n_combinations = N_KERNELS * len(dilations)
    counts, channel_indices = _draw_channels(n_channels, n_combinations, channel_rng)
    qs = quantiles(N_KERNELS * int(per_dilation.sum()))
    draws = series_rng.integers(n_series, size=n_combinations)
    slots = _channel_slots(counts, channel_indices)
    biases = []
    start = 0
    with torch.inference_mode():
        for j, dilation in enumerate(dilations):
            rows = slice(j * N_KERNELS, (j + 1) * N_KERNELS)
            chosen = torch.as_tensor(
                np.ascontiguousarray(X[draws[rows]], dtype=np.float32), device=device
            )
            C = _paired_outputs(chosen, int(dilation), slots[rows]).cpu().numpy()
            f = int(per_dilation[j])
            levels = qs[start : start + N_KERNELS * f].reshape(N_KERNELS, f)
            biases.append(_quantiles_like_reference(C, levels).reshape(-1))
            start += N_KERNELS * f
    return MiniRocketParameters(
        n_timesteps=int(length),
        n_channels=int(n_channels),
        dilations=dilations,
        features_per_dilation=per_dilation,
        channels_per_combination=counts,
        channel_indices=channel_indices,
        biases=np.concatenate(biases).astype(np.float32),
    )


def _chunk_size(n_channels: int, length: int) -> int:
    """Series per chunk so that one dilation's intermediate tensors fit in CHUNK_BYTES."""
    used = min(n_channels, N_KERNELS * MAX_CHANNELS_PER_COMBINATION)
    per_series = 4 * length * (14 * used + 6 * N_KERNELS)
    return max(1, CHUNK_BYTES // per_series)


def minirocket_features(
    X: np.ndarray, params: MiniRocketParameters, device: str = "cpu"
) -> np.ndarray:
    """Return MiniRocket's PPV features of series ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_channels, L)
        Series of the length and channels ``params`` was fitted on (converted to float32).
    params : MiniRocketParameters
        From :func:`fit_minirocket`.
    device : str, default="cpu"
        Torch device of the convolutions; the features are the same bits on every device.

    Returns
    -------
    features : ndarray of float32, shape (n_series, params.n_features)
        Proportions of positive values, in [0, 1]: for each dilation, for each kernel, its
        ``features_per_dilation`` biases.

    Examples
    --------
    >>> import numpy as np
    >>> from skfam.nn.minirocket import fit_minirocket, minirocket_features
    >>> X = np.random.default_rng(0).normal(size=(20, 1, 50))
    >>> rng = np.random.default_rng(1)
    >>> params = fit_minirocket(X, 840, 32, rng, rng)
    >>> minirocket_features(X, params).shape
    (20, 840)
    """
    n_series, n_channels, length = X.shape
    if (length, n_channels) != (params.n_timesteps, params.n_channels):
        raise ValueError(
            f"series of {length} steps and {n_channels} channel(s) given to a transform "
            f"fitted on {params.n_timesteps} steps and {params.n_channels} channel(s)."
        )
    out = np.zeros((n_series, params.n_features), dtype=np.float32)
    if n_series == 0:
        return out
    slots = params.channel_slots()
    chunk = _chunk_size(n_channels, length)
    with torch.inference_mode():
        for begin in range(0, n_series, chunk):
            series = torch.as_tensor(
                np.ascontiguousarray(X[begin : begin + chunk], dtype=np.float32), device=device
            )
            out[begin : begin + len(series)] = _chunk_features(series, params, slots)
    return out


def _count_above(C: torch.Tensor, biases: torch.Tensor) -> np.ndarray:
    """Return how many values of each row of ``C`` (K, B, n) exceed each of its biases (K, f).

    Exact integer counts, from the sorted rows: numpy's sort on the CPU (much faster there
    than torch's), torch's sort and ``searchsorted`` on CUDA.
    """
    n = C.shape[-1]
    if C.device.type == "cpu":
        ordered = np.sort(C.numpy(), axis=-1)
        bound = np.broadcast_to(biases.numpy()[:, None, :], (*C.shape[:2], biases.shape[1]))
        at_most = np.zeros(bound.shape, dtype=np.int64)
        step = 1 << (n.bit_length() - 1)
        while step:
            candidate = at_most + step
            value = np.take_along_axis(ordered, np.minimum(candidate, n) - 1, axis=-1)
            at_most = np.where((candidate <= n) & (value <= bound), candidate, at_most)
            step >>= 1
    else:
        ordered = torch.sort(C, dim=-1).values
        bound = biases[:, None, :].expand(*C.shape[:2], biases.shape[1]).contiguous()
        at_most = torch.searchsorted(ordered, bound, right=True).cpu().numpy()
    return n - at_most


def _chunk_features(
    series: torch.Tensor, params: MiniRocketParameters, slots: np.ndarray
) -> np.ndarray:
    """Return the features (B, n_features) of one chunk of series (B, C, L)."""
    n, length = series.shape[0], series.shape[-1]
    out = np.empty((n, params.n_features), dtype=np.float32)
    biases = torch.as_tensor(params.biases, device=series.device)
    start = 0
    for j, dilation in enumerate(params.dilations.tolist()):
        f = int(params.features_per_dilation[j])
        C = _batch_outputs(series, dilation, slots[j * N_KERNELS : (j + 1) * N_KERNELS])
        b = biases[start : start + N_KERNELS * f].reshape(N_KERNELS, f)
        padding = (KERNEL_LENGTH - 1) * dilation // 2
        counts = np.empty((N_KERNELS, n, f), dtype=np.float64)
        # (j + k) even: the whole (zero padded) output; odd: the positions without padding.
        for first, view, positions in (
            ((j + 0) % 2, C, length),
            ((j + 1) % 2, C[..., padding : length - padding], length - 2 * padding),
        ):
            kernels = slice(first, N_KERNELS, 2)
            # float64 proportions, as the reference's mean of 0/1 values
            counts[kernels] = _count_above(view[kernels], b[kernels]) / positions
        out[:, start : start + N_KERNELS * f] = counts.transpose(1, 0, 2).reshape(n, -1)
        start += N_KERNELS * f
    return out
