"""The written-out Transformer pieces compute what torch's own modules compute."""

from __future__ import annotations

import torch
from torch import nn

from skfam.nn.transformer import EncoderLayer, RowLayerNorm, SelfAttention, row_softmax


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_row_softmax_matches_torch_softmax_and_its_gradient():
    x = (10 * torch.randn(64, 9, generator=_generator())).requires_grad_()
    weight = torch.randn(64, 9, generator=_generator(1))
    ours = row_softmax(x)
    (ours * weight).sum().backward()
    ours_grad, x.grad = x.grad, None
    theirs = torch.softmax(x, dim=-1)
    (theirs * weight).sum().backward()
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(ours_grad, x.grad)


def test_self_attention_matches_torch_multihead_attention():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        ours = SelfAttention(16, 4)
        theirs = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.in_proj.weight)
        theirs.in_proj_bias.copy_(ours.in_proj.bias)
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    x = torch.randn(5, 7, 16, generator=_generator())
    expected = theirs(x, x, x, need_weights=False)[0]
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)


def test_encoder_layer_matches_torch_pre_norm_encoder_layer():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        ours = EncoderLayer(16, 4, dim_feedforward=32)
        theirs = nn.TransformerEncoderLayer(
            16, 4, dim_feedforward=32, dropout=0.0, batch_first=True, norm_first=True
        )
    with torch.no_grad():
        for name in ("linear1", "linear2", "norm1", "norm2"):
            getattr(theirs, name).weight.copy_(getattr(ours, name).weight)
            getattr(theirs, name).bias.copy_(getattr(ours, name).bias)
        theirs.self_attn.in_proj_weight.copy_(ours.attention.in_proj.weight)
        theirs.self_attn.in_proj_bias.copy_(ours.attention.in_proj.bias)
        theirs.self_attn.out_proj.weight.copy_(ours.attention.out_proj.weight)
        theirs.self_attn.out_proj.bias.copy_(ours.attention.out_proj.bias)
    x = torch.randn(5, 7, 16, generator=_generator())
    theirs.train()  # keeps torch's own fused inference path out of the comparison
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_row_layer_norm_matches_torch_layer_norm():
    x = torch.randn(8, 6, 12, generator=_generator())
    ours, theirs = RowLayerNorm(12), nn.LayerNorm(12)
    with torch.no_grad():
        ours.weight.copy_(torch.linspace(0.5, 2.0, 12))
        ours.bias.copy_(torch.linspace(-1.0, 1.0, 12))
        theirs.weight.copy_(ours.weight)
        theirs.bias.copy_(ours.bias)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
