"""Plain layers that attention is weighed against (e.g. "MHSA versus a 3x3 convolution")."""

from __future__ import annotations

from ...cost import Program, Tensor
from ..common import require_divisible
from ..registry import Hyperparameter as HP
from ..registry import Paper, register


def _conv_check(shape, hp):
    require_divisible("conv", "C", shape[1], hp["groups"], "groups")
    if hp["out_channels"] is not None:
        require_divisible("conv", "out_channels", hp["out_channels"], hp["groups"], "groups")


@register(
    "conv", family="baseline", aliases=("conv2d", "convolution"),
    summary="a k x k convolution with 'same' padding: the baseline attention is weighed against",
    paper=Paper(title="Gradient-based learning applied to document recognition", authors="LeCun, Bottou, Bengio, Haffner",
                venue="Proc. IEEE 1998", year=1998, equation="convolution layer",
                code="torch.nn.Conv2d", follows="nn.Conv2d(C, out, k, padding=k // 2, groups, bias)"),
    hyperparameters=[HP("kernel", 3, "kernel size", minimum=1, odd=True),
                     HP("out_channels", None, "output channels (default C)", minimum=1, optional=True),
                     HP("groups", 1, "groups", minimum=1),
                     HP("bias", False, "bias", type=bool)],
    check=_conv_check,
)
def conv(g: Program, x: Tensor, *, kernel, out_channels, groups, bias) -> Tensor:
    """y = W * x: MACs = N * Cout * H * W * (C / groups) * k^2."""
    out = out_channels if out_channels is not None else x.shape[1]
    return g.conv(x, out, kernel, padding=kernel // 2, groups=groups, bias=bias, name="conv")
