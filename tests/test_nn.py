"""The written-out pieces (Transformer, batch norm) compute what torch's own modules compute."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from skfam._threads import thread_limit
from skfam.nn.mlp import ColumnBatchNorm
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


def _batch_norm_pair(width: int) -> tuple[ColumnBatchNorm, nn.BatchNorm1d]:
    ours, theirs = ColumnBatchNorm(width), nn.BatchNorm1d(width)
    with torch.no_grad():
        theirs.weight.copy_(torch.linspace(0.5, 2.0, width))
        theirs.bias.copy_(torch.linspace(-1.0, 1.0, width))
    ours.load_state_dict(theirs.state_dict())  # the same parameters and buffers
    return ours, theirs


def _train_step(module: nn.Module, x: torch.Tensor, upstream: torch.Tensor) -> tuple:
    module.zero_grad()
    x = x.clone().requires_grad_()
    out = module(x)
    (out * upstream).sum().backward()
    return out.detach(), x.grad, module.weight.grad, module.bias.grad


@pytest.mark.parametrize(("rows", "width"), [(7, 5), (512, 256), (3000, 40)])
def test_column_batch_norm_matches_torch_batch_norm(rows, width):
    ours, theirs = _batch_norm_pair(width)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    generator = _generator()
    for _ in range(3):  # three training steps: outputs, gradients, running statistics
        x = 3 * torch.randn(rows, width, generator=generator) + 1
        upstream = torch.randn(rows, width, generator=generator)
        for got, expected in zip(
            _train_step(ours, x, upstream), _train_step(theirs, x, upstream), strict=True
        ):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    for key, expected in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], expected)
    ours.eval(), theirs.eval()
    x = 3 * torch.randn(rows, width, generator=generator)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), theirs(x))


def test_column_batch_norm_refuses_a_single_row_in_training():
    with pytest.raises(ValueError, match="more than 1 row"):
        ColumnBatchNorm(3)(torch.zeros(1, 3))
    # In eval mode a single row is fine, as with torch's batch norm.
    assert ColumnBatchNorm(3).eval()(torch.zeros(1, 3)).shape == (1, 3)


def test_column_batch_norm_does_not_depend_on_the_thread_count():
    # A training batch of the SST's default size and width: big enough for torch's kernels
    # to split reductions between threads (torch's own batch norm then differs in the last
    # bits, forward and backward: an MLP fit with it drifted by 2.6e-3 on 6000 x 40).
    generator = _generator()
    x = torch.randn(512, 256, generator=generator)
    upstream = torch.randn(512, 256, generator=generator)
    results = []
    for n_threads in (1, 2):
        module = ColumnBatchNorm(256)
        with thread_limit(n_threads):
            step = _train_step(module, x, upstream)
            module.eval()
            with torch.inference_mode():
                step += (module(x), module.running_mean.clone(), module.running_var.clone())
        results.append(step)
    for one, two in zip(*results, strict=True):
        assert torch.equal(one, two)


def test_lstm_pool_readout_is_last_state_mean_and_max_of_the_outputs():
    from skfam.nn.lstm import LSTMEncoder

    with torch.random.fork_rng():
        torch.manual_seed(0)
        pooled = LSTMEncoder(3, 5, num_layers=2, bidirectional=True, readout="pool")
    pooled.eval()
    X = torch.randn(4, 9, 3, generator=torch.Generator().manual_seed(1))
    outputs, (h_n, _) = pooled.lstm(X)
    # Oracle: torch's own LSTM outputs, pooled by hand.
    last = torch.cat([h_n[-2], h_n[-1]], dim=1)
    expected = torch.cat([last, outputs.mean(1), outputs.max(1).values], dim=1)
    assert pooled.out_features == 3 * 2 * 5
    torch.testing.assert_close(pooled(X), expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match="readout must be one of"):
        LSTMEncoder(3, 5, readout="mean")


def test_lstm_forget_bias_opens_the_forget_gates_of_every_layer():
    from skfam.nn.lstm import LSTMEncoder

    encoder = LSTMEncoder(2, 4, num_layers=2, bidirectional=True, forget_bias=1.0)
    for name, bias in encoder.lstm.named_parameters():
        if name.startswith("bias_"):
            forget = bias[4:8]
            expected = 1.0 if name.startswith("bias_ih") else 0.0
            assert torch.equal(forget, torch.full_like(forget, expected)), name
            # The other gates keep torch's uniform initialisation.
            assert not torch.equal(bias[:4], torch.zeros(4))
    plain = LSTMEncoder(2, 4)
    assert not torch.equal(plain.lstm.bias_ih_l0[4:8], torch.ones(4))
