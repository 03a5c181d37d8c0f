"""Dynamic-kernel convolutions as networks build them: every kernel a per-sample mixture of expert
kernels, computed from the layer's (or the block's) pooled input. Shared by the EfficientNet-CondConv
blocks (``efficientnet.py``), DY-MobileNetV2 (``mobilenet.py``) and DY-ResNet (``resnet.py``); the torch
side is attncost/reference/dynamic_networks.py, op for op. (The catalogue's ``condconv`` and
``dynamic-conv`` entries are one such layer with its own routing, for ``replace_conv``; the papers'
networks also make 1x1 and depthwise convs dynamic, and CondConv shares one routing per block.)

- ``condconv_routing``: CondConv's routing function (Yang et al., NeurIPS 2019, Eq. 2), r(x) =
  sigmoid(GAP(x) R + b), as the official EfficientNet-CondConv MBConvBlock computes it once per block
  from the block's input and passes to each of the block's CondConv layers (tensorflow/tpu
  models/official/efficientnet/efficientnet_model.py: ``_routing_fn = Dense(num_experts,
  activation=sigmoid)`` on ``GlobalAveragePooling2D(inputs)``).
- ``kernel_attention``: Dynamic Convolution's kernel attention (Chen et al., CVPR 2020, Sec. 3.2 and
  Fig. 3), pi(x) = softmax(FC2(ReLU(FC1(GAP(x)))) / tau), FC1 reducing C to C // 4, computed per layer
  from that layer's input.
- ``mixed_conv``: the conv with kernel sum_i m_i W_i (and bias sum_i m_i b_i: DY-CNN Eq. 1), run as one
  conv grouped over the batch (groups = N x the layer's groups), the expert kernels an (E, |W|)
  parameter multiplied by the (N, E) mixture: ``N x E x |W|`` multiply-accumulates, counted as
  ``mac.linear`` (the official CondConv2D's ``tf.matmul(routing_weights, condconv_kernel)``); the
  official CondConv code runs one conv per example instead (same MACs).

Routing, kernel attention and kernel mixing run in scope ``attention:condconv`` or
``attention:dynamic-conv`` (the routing weights marked as an attention map), so ``attention_share``
reports them (and the expert kernels' parameters) as the attention's cost; the conv with the mixed
kernel is the network's and stays outside the scope. ``spec_conv_bn_act`` and ``check_dynamic_fields``
serve specs with DY-CNN fields (``dynamic_experts``, ``dynamic_reduction``, ``dynamic_temperature``).
"""

from __future__ import annotations

from ..catalogue.blocks import conv_bn_act
from ..catalogue.common import fdiv
from ..cost import Program, Tensor
from .fields import field_error

CONDCONV_SCOPE = "attention:condconv"
DYNAMIC_SCOPE = "attention:dynamic-conv"


def condconv_routing(g: Program, x: Tensor, experts: int) -> Tensor:
    """(N, E) routing weights sigmoid(Dense(GAP(x))), the Dense with bias."""
    n, c = x.shape[:2]
    with g.scope(CONDCONV_SCOPE):
        pooled = g.view(g.global_avg_pool(x), (n, c))                      # flatten(1)
        return g.mark_attention_map(g.sigmoid(g.linear(pooled, experts, name="routing")))


def kernel_attention(g: Program, x: Tensor, experts: int, reduction: int, temperature: float, name: str) -> Tensor:
    """(N, K) kernel attention softmax(FC2(ReLU(FC1(GAP(x)))) / tau), both FCs with bias (named after the
    layer ``name``: a block has several)."""
    n, c = x.shape[:2]
    pooled = g.view(g.global_avg_pool(x), (n, c))                          # flatten(1)
    hidden = g.relu(g.linear(pooled, fdiv(c, reduction), name=f"{name}_attention_fc1"), inplace=True)
    logits = g.div(g.linear(hidden, experts, name=f"{name}_attention_fc2"), temperature)
    return g.mark_attention_map(g.softmax(logits, 1))


def mixed_conv(g: Program, x: Tensor, mixture: Tensor, out_channels, kernel: int, stride: int = 1, groups=1,
               bias: bool = False, *, scope: str, name: str) -> Tensor:
    """conv_kxk(x) with the per-sample kernel ``mixture @ W`` (W: (E, out x C/groups x k x k)) and, with
    ``bias``, the per-sample bias ``mixture @ B``; padding (k - 1) // 2. The kernel mixing runs in
    ``scope`` (the attention's), the conv outside it."""
    n, c, h, w = x.shape
    per_group = fdiv(c, groups)
    with g.scope(scope):
        weight = g.linear(mixture, out_channels * per_group * kernel * kernel, bias=False, name=f"{name}_experts")
        weight = g.view(weight, (n * out_channels, per_group, kernel, kernel))
        mixed_bias = None
        if bias:
            mixed_bias = g.view(g.linear(mixture, out_channels, bias=False, name=f"{name}_expert_biases"),
                                (n * out_channels,))
    xs = g.view(x, (1, n * c, h, w))
    out = g.conv_with_weight(xs, weight, mixed_bias, stride=stride, padding=fdiv(kernel - 1, 2), groups=n * groups)
    return g.view(out, (n, out_channels, *out.shape[2:]))


def mixed_conv_bn_act(g: Program, x: Tensor, mixture: Tensor, out_channels, kernel: int, stride: int = 1, groups=1,
                      *, act, bias: bool = False, scope: str, name: str) -> Tensor:
    """act(BN(mixed_conv(x))) (``act=None``: no activation), the activation in place."""
    y = mixed_conv(g, x, mixture, out_channels, kernel, stride, groups, bias, scope=scope, name=name)
    y = g.batch_norm(y, name=f"{name}_bn")
    return y if act is None else g.unary(act, y, inplace=True)


def dynamic_conv_bn_act(g: Program, x: Tensor, out_channels, kernel: int, stride: int = 1, groups=1, *, act,
                        experts: int, reduction: int, temperature: float, name: str) -> Tensor:
    """A DY-CNN layer: its own kernel attention on its input, the K kernels and biases mixed, conv,
    BN, act."""
    with g.scope(DYNAMIC_SCOPE):
        attention = kernel_attention(g, x, experts, reduction, temperature, name)
    return mixed_conv_bn_act(g, x, attention, out_channels, kernel, stride, groups, act=act, bias=True,
                             scope=DYNAMIC_SCOPE, name=name)


def check_dynamic_fields(spec, narrowest: int) -> None:
    """A spec's DY-CNN fields, each within its bounds already (``fields.check_fields``: ``dynamic_experts``
    0 for static convs, ``dynamic_reduction`` at least 1, ``dynamic_temperature`` above 0): with dynamic
    convs, a reduction that leaves the FC1 of every kernel attention a channel, at most ``narrowest``,
    the fewest input channels of any of the network's dynamic convs."""
    if spec.dynamic_experts and spec.dynamic_reduction > narrowest:
        raise field_error(spec, ("dynamic_reduction", "width_per_group", "groups", "width"),
                          f"dynamic_reduction={spec.dynamic_reduction} leaves no channel in the kernel attention "
                          f"of a conv of {narrowest} input channels (C // reduction); at most {narrowest} here")


def spec_conv_bn_act(g: Program, x: Tensor, spec, out_channels, kernel, stride=1, groups=1, *, act, name) -> Tensor:
    """A conv-BN-act of a network whose spec has DY-CNN fields: static (``dynamic_experts`` 0), else a
    dynamic convolution with the spec's K, reduction and tau."""
    if not spec.dynamic_experts:
        return conv_bn_act(g, x, out_channels, kernel, stride, groups=groups, act=act, name=name)
    return dynamic_conv_bn_act(g, x, out_channels, kernel, stride, groups, act=act, experts=spec.dynamic_experts,
                               reduction=spec.dynamic_reduction, temperature=spec.dynamic_temperature, name=name)
