"""thop 0.0.31's counting hooks (``thop.profile``), the counter of the ECA-Net release (autumn 2019),
as an oracle for attncost's ``thop-0.0.31`` convention.

Rewritten from Lyken17/pytorch-OpCounter at commit 55efdec2447e4fbed7f625c11b87d07d919fe444 ("Update
version number": setup.py's VERSION = '0.0.31'; thop/count_hooks.py and thop/profile.py unchanged until
501ba43, 2019-10-22), licence MIT (Copyright (c) 2018 Ligeng Zhu). Kept: forward hooks on leaf modules
only (modules without children), chosen by exact type (a subclass or a custom module is not counted),
and each hook's arithmetic:

- Conv1d/2d/3d and ConvTranspose: output elements x (in_channels / groups x prod(kernel) + 1 if bias);
- BatchNorm1d/2d/3d: 4 per input element ("subtract, divide, gamma, beta"), with or without affine;
- ReLU, ReLU6, MaxPool*, AdaptiveMaxPool*, Dropout: 0; LeakyReLU: 1 per input element;
- AvgPool*: (prod(torch.Tensor([kernel_size])) + 1) per output element -- an int kernel_size k gives
  k + 1, not k^2 + 1;
- AdaptiveAvgPool*: (prod(input spatial // output_size) + 1) per output element;
- Linear: (in_features + in_features - 1) per output element, the bias not counted;
- Upsample: nearest 0, linear 5, bilinear 13, bicubic 259 per output element.

Everything else -- any unregistered module (Sigmoid, Softmax, GELU, LayerNorm, Hardswish, ...) and
every functional call or tensor operator (F.relu, torch.sigmoid, x * y, +=, matmul) -- counts 0.

One departure, on purpose: thop accumulates each module's count in a float32 tensor, and so rounds
totals above 2**24; this rewrite sums exact Python ints, so the oracle is exact and the rounding is
left to the test that compares with a printed figure.
"""

from __future__ import annotations

import math

from torch import nn


def _conv(m, x, y):
    kernel_ops = math.prod(m.weight.shape[2:])
    bias_ops = 1 if m.bias is not None else 0
    return y.numel() * (m.in_channels // m.groups * kernel_ops + bias_ops)


def _bn(m, x, y):
    return 4 * x.numel()


def _zero(m, x, y):
    return 0


def _relu(m, x, y):
    return x.numel()


def _avgpool(m, x, y):
    kernel = m.kernel_size if isinstance(m.kernel_size, (tuple, list)) else (m.kernel_size,)
    return (math.prod(kernel) + 1) * y.numel()


def _adaptive_avgpool(m, x, y):
    out = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,) * (x.dim() - 2)
    window = math.prod(size // o for size, o in zip(x.shape[2:], out))
    return (window + 1) * y.numel()


def _upsample(m, x, y):
    per_output = {"nearest": 0, "linear": 5, "bilinear": 13, "bicubic": 224 + 35, "trilinear": 13 * 2 + 5}
    return per_output.get(m.mode, 0) * y.numel()


def _linear(m, x, y):
    return (m.in_features + m.in_features - 1) * y.numel()


HOOKS = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv, nn.ConvTranspose2d: _conv, nn.ConvTranspose3d: _conv,
    nn.BatchNorm1d: _bn, nn.BatchNorm2d: _bn, nn.BatchNorm3d: _bn,
    nn.ReLU: _zero, nn.ReLU6: _zero, nn.LeakyReLU: _relu,
    nn.MaxPool1d: _zero, nn.MaxPool2d: _zero, nn.MaxPool3d: _zero,
    nn.AdaptiveMaxPool1d: _zero, nn.AdaptiveMaxPool2d: _zero, nn.AdaptiveMaxPool3d: _zero,
    nn.AvgPool1d: _avgpool, nn.AvgPool2d: _avgpool, nn.AvgPool3d: _avgpool,
    nn.AdaptiveAvgPool1d: _adaptive_avgpool, nn.AdaptiveAvgPool2d: _adaptive_avgpool,
    nn.AdaptiveAvgPool3d: _adaptive_avgpool,
    nn.Linear: _linear, nn.Dropout: _zero,
    nn.Upsample: _upsample, nn.UpsamplingBilinear2d: _upsample, nn.UpsamplingNearest2d: _upsample,
}


def profile(model: nn.Module, *inputs) -> tuple[int, int]:
    """(total ops, total params) as thop 0.0.31's ``profile(model, inputs)`` counts them, exactly: the
    model in eval mode under no_grad, one forward, the hooks of :data:`HOOKS` on leaf modules."""
    import torch

    ops = []
    handles = []
    params = 0
    for module in model.modules():
        if any(True for _ in module.children()):
            continue
        params += sum(p.numel() for p in module.parameters())
        hook = HOOKS.get(type(module))
        if hook is not None:
            handles.append(module.register_forward_hook(
                lambda m, x, y, hook=hook: ops.append(hook(m, x[0], y))))
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return sum(ops), params
