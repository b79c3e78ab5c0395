"""A supervised variational autoencoder: encoder, latent Gaussian, decoder and target head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .mlp import ACTIVATIONS

__all__ = ["VAEModule"]


def _stack(width: int, sizes: Sequence[int], activation: str, dropout: float) -> nn.Sequential:
    """Return ``Linear -> activation -> [Dropout]`` blocks of widths ``sizes`` from ``width``."""
    layers: list[nn.Module] = []
    for size in sizes:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    return nn.Sequential(*layers)


class VAEModule(nn.Module):
    """Encoder to a diagonal Gaussian latent, a decoder of the inputs and a head of the target.

    The encoder (``encoder_sizes`` hidden layers) gives the latent mean ``mu`` and
    log-variance ``logvar``, each ``latent_dim`` wide. In training mode the latent is
    sampled with the reparameterisation ``z = mu + exp(logvar / 2) * eps``, ``eps`` drawn
    from torch's default generator (the estimator seeds it inside its forked RNG); in eval
    mode ``z = mu`` and nothing is drawn. The decoder (``decoder_sizes`` hidden layers, then
    a linear layer of ``n_in`` outputs) reconstructs the inputs from ``z``, and the head
    (``head_sizes`` hidden layers, then a linear layer of ``n_out`` outputs) predicts the
    target from ``z``.

    Parameters
    ----------
    n_in : int
        Input features (and reconstructed outputs).
    n_out : int
        Target columns the head predicts.
    latent_dim : int
        Width of the latent Gaussian.
    encoder_sizes : sequence of int
        Width of each hidden layer of the encoder.
    decoder_sizes : sequence of int
        Width of each hidden layer of the decoder.
    head_sizes : sequence of int, default=()
        Width of each hidden layer of the target head; empty: a linear head.
    activation : str, default="relu"
        A key of :data:`skfam.nn.mlp.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden layer (encoder, decoder and head).

    Examples
    --------
    >>> import torch
    >>> from skfam.nn.vae import VAEModule
    >>> module = VAEModule(5, 1, 2, [8], [8]).eval()
    >>> y_hat, x_hat, mu, logvar = module(torch.zeros(3, 5))
    >>> y_hat.shape, x_hat.shape, mu.shape
    (torch.Size([3, 1]), torch.Size([3, 5]), torch.Size([3, 2]))
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        latent_dim: int,
        encoder_sizes: Sequence[int],
        decoder_sizes: Sequence[int],
        head_sizes: Sequence[int] = (),
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.encoder = _stack(n_in, encoder_sizes, activation, dropout)
        width = encoder_sizes[-1] if len(encoder_sizes) else n_in
        self.mean = nn.Linear(width, latent_dim)
        self.log_variance = nn.Linear(width, latent_dim)
        self.decoder = _stack(latent_dim, decoder_sizes, activation, dropout)
        width = decoder_sizes[-1] if len(decoder_sizes) else latent_dim
        self.decoder.append(nn.Linear(width, n_in))
        self.head = _stack(latent_dim, head_sizes, activation, dropout)
        width = head_sizes[-1] if len(head_sizes) else latent_dim
        self.head.append(nn.Linear(width, n_out))

    def encode(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the latent mean and log-variance of (batch, n_in) inputs."""
        hidden = self.encoder(X)
        return self.mean(hidden), self.log_variance(hidden)

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """Return the reconstructed (standardised) inputs of (batch, latent_dim) latents."""
        return self.decoder(Z)

    def predict_target(self, X: torch.Tensor) -> torch.Tensor:
        """Return the head's (batch, n_out) prediction from the latent mean (no noise)."""
        return self.head(self.encode(X)[0])

    def forward(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(target prediction, reconstruction, mu, logvar)`` of a batch."""
        mu, logvar = self.encode(X)
        z = mu
        if self.training:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.head(z), self.decoder(z), mu, logvar
