"""A conditional GAN for regression: a generator G(x, noise) -> y and a discriminator D(x, y)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import ACTIVATIONS

__all__ = ["ConditionalGAN", "energy_score"]


def _network(n_in: int, sizes: Sequence[int], n_out: int, activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for size in sizes:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class ConditionalGAN(nn.Module):
    """A generator and a discriminator, both feed-forward networks, in one container.

    The generator maps the inputs concatenated with a noise vector to a draw of the
    (standardised) target; the discriminator maps the inputs concatenated with a target
    value to one logit, high for a real pair. Each is a ``Linear -> activation`` stack.

    Parameters
    ----------
    n_in : int
        Input features.
    n_out : int, default=1
        Target columns the generator draws.
    noise_dim : int, default=8
        Length of the noise vector the generator reads beside the inputs.
    generator_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer of the generator.
    discriminator_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer of the discriminator.
    activation : str, default="relu"
        A key of :data:`skfam.nn.mlp.ACTIVATIONS`.

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.gan import ConditionalGAN
    >>> gan = ConditionalGAN(3, noise_dim=2, generator_sizes=[8], discriminator_sizes=[8])
    >>> gan.sample(torch.zeros(5, 3), torch.randn(7, 2, generator=torch.Generator())).shape
    torch.Size([5, 7, 1])
    >>> gan.discriminate(torch.zeros(5, 3), torch.zeros(5, 1)).shape
    torch.Size([5])
    """

    def __init__(
        self,
        n_in: int,
        n_out: int = 1,
        noise_dim: int = 8,
        generator_sizes: Sequence[int] = (64, 64),
        discriminator_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
    ):
        super().__init__()
        self.n_in = n_in
        self.n_out = n_out
        self.noise_dim = noise_dim
        self.generator = _network(n_in + noise_dim, generator_sizes, n_out, activation)
        self.discriminator = _network(n_in + n_out, discriminator_sizes, 1, activation)

    def forward(self, X: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Return one draw per row, (batch, n_out), from the rows' noise (batch, noise_dim).

        Without ``noise`` the generator reads zeros (the centre of its noise).
        """
        if noise is None:
            noise = X.new_zeros((X.shape[0], self.noise_dim))
        return self.generator(torch.cat([X, noise], dim=1))

    def sample(self, X: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Return (batch, k, n_out) draws: every row with each of the k noise vectors.

        ``noise`` is (k, noise_dim), shared by every row, so a row's draws depend only on
        the row and the noise, not on the other rows.
        """
        n, k = X.shape[0], noise.shape[0]
        pairs = torch.cat(
            [X[:, None, :].expand(n, k, X.shape[1]), noise[None].expand(n, k, noise.shape[1])],
            dim=2,
        )
        return self.generator(pairs.reshape(n * k, -1)).reshape(n, k, self.n_out)

    def discriminate(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the discriminator's logit (batch,) that the pair (x, y) is real."""
        return self.discriminator(torch.cat([X, y], dim=1))[:, 0]


def energy_score(samples: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return each row's CRPS estimated from its draws (the energy score of one dimension).

    ``mean_j |s_j - y| - sum_{j<l} |s_j - s_l| / (k (k - 1))``: the unbiased ("fair")
    estimate of the continuous ranked probability score, a proper scoring rule: its
    expectation is smallest when the draws come from the target's distribution. The pair
    sum is taken over the sorted draws in O(k log k).

    Parameters
    ----------
    samples : Tensor of shape (batch, k)
        k >= 2 draws per row.
    target : Tensor of shape (batch,)
        The observed values.

    Returns
    -------
    score : Tensor of shape (batch,)

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.gan import energy_score
    >>> energy_score(torch.tensor([[0.0, 2.0]]), torch.tensor([1.0])).tolist()
    [0.0]
    """
    k = samples.shape[1]
    accuracy = (samples - target[:, None]).abs().mean(dim=1)
    ordered = torch.sort(samples, dim=1).values
    rank = torch.arange(k, device=samples.device, dtype=samples.dtype)
    spread = (ordered * (2 * rank - k + 1)).sum(dim=1) / (k * (k - 1))
    return accuracy - spread
