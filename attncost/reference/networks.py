"""Reference PyTorch networks (no torchvision here): ResNet/ResNeXt in both stride variants,
MobileNetV2, EfficientNet-B0, MobileNetV3-Large and RegNetY-400MF, written after torchvision's
definitions (with DY-MobileNetV2's dynamic convolutions and EfficientNet-CondConv's CondConv blocks
from dynamic_networks.py), MnasNet-A1 after the official TensorFlow code, ViT-B/16 after timm / torchvision and Swin-T
after torchvision's swin_t, with attention inserted by the same placements as the Program builders in
attncost/networks/."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from ..catalogue.families.self_attention.transformer import mlp_hidden
from ..networks.attention import REPLACES_CONV, after_block, after_stage, in_block, replacement_hp, replaces_conv
from ..networks.efficientnet import EfficientNetSpec, stem_channels
from ..networks.efficientnet import block_settings as efficientnet_blocks
from ..networks.mnasnet import HEAD_FILTERS, STEM_FILTERS, MnasNetSpec, round_filters, se_reduced_filters
from ..networks.mnasnet import block_settings as mnasnet_blocks
from ..networks.mobilenet import MobileNetV2Spec, make_divisible
from ..networks.mobilenet import block_settings as mobilenet_blocks
from ..networks.mobilenetv3 import LAST_CHANNEL, MobileNetV3Spec
from ..networks.mobilenetv3 import block_settings as mobilenetv3_blocks
from ..networks.regnet import RegNetSpec, se_squeeze
from ..networks.regnet import stage_settings as regnet_stages
from ..networks.resnet import ResNetSpec, stage_settings
from ..networks.swin import SwinSpec, check_swin
from ..networks.vit import ViTSpec, check_vit
from ..trace.marks import attention_map
from .blocks import ConvBnAct, MBConv
from .dynamic_networks import CondConvMBConv, DynamicConvBnAct, DynamicInvertedResidual
from .registry import build
from .self_attention.transformer import Attention


def _attention(placements, channels: int, spatial: tuple) -> list:
    return [build(p.module, (1, channels, *spatial), p.hp) for p in placements]


class Bottleneck(nn.Module):
    """torchvision's BasicBlock / Bottleneck; the ConvBnAct layers are unpacked into flat Sequentials, so
    module paths read as torchvision's (``layers.0.branch.0`` a Conv2d, ``downsample.1`` a BatchNorm2d).
    A replaced 3x3 conv is the catalogue reference built for the block's ``spatial`` input size, then the
    conv's BN and ReLU where they stay, then ResNeSt's avd pool (``AvgPool2d(3, stride, padding=1)``)
    for an ``avd`` module; ``avg_down`` shortcuts pool first (ResNeSt's resnet.py ``_make_layer``)."""

    def __init__(self, inplanes, planes, stride, spec: ResNetSpec, attention: list, stage: int = 1, spatial=None):
        super().__init__()
        width = spec.bottleneck_width(planes)
        out_channels = planes * spec.expansion
        s1, s3 = spec.conv_strides(stride)
        conv = _block_conv(spec)
        if spec.block == "bottleneck":
            replacement = replaces_conv(spec.replacements(), stage)
            if replacement is None:
                conv2 = conv(width, width, 3, s3, groups=spec.groups)
            else:
                h, w = ((s + s1 - 1) // s1 for s in spatial)          # the 3x3's input: after conv1's stride
                how = REPLACES_CONV[replacement.module]
                conv2 = [build(replacement.module, (1, width, h, w), replacement_hp(replacement, s3, width, width))]
                conv2 += [nn.BatchNorm2d(width), nn.ReLU(inplace=True)] if how.norm_act else []
                conv2 += [nn.AvgPool2d(3, s3, padding=1)] if how.stride == "avd" and s3 != 1 else []
            self.branch = nn.Sequential(*conv(inplanes, width, 1, s1), *conv2,
                                        *conv(width, out_channels, 1, act_layer=None))
        else:
            self.branch = nn.Sequential(*conv(inplanes, planes, 3, stride),
                                        *conv(planes, planes, 3, act_layer=None))
        self.attention = nn.Sequential(*attention)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            pool = [nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)] if spec.avg_down else []
            shortcut = (ConvBnAct if pool else conv)(inplanes, out_channels, 1, 1 if pool else stride,
                                                     act_layer=None)
            self.downsample = nn.Sequential(*pool, *shortcut)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.attention(self.branch(x))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, spec: ResNetSpec, input_size=(224, 224)):
        super().__init__()
        if spec.deep_stem:
            sw = spec.stem_width
            stem = [*ConvBnAct(3, sw, 3, 2), *ConvBnAct(sw, sw, 3), *ConvBnAct(sw, 2 * sw, 3)]
        else:
            stem = ConvBnAct(3, 64, 7, 2)
        self.stem = nn.Sequential(*stem, nn.MaxPool2d(3, 2, 1))
        h, w = _stem_size(input_size)
        layers, inplanes = [], spec.stem_channels
        for stage, planes, strides in stage_settings(spec):
            out_channels = planes * spec.expansion
            for b, stride in enumerate(strides):
                block_input = (h, w)
                h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
                layers.append(Bottleneck(inplanes, planes, stride, spec,
                                         _attention(in_block(spec.attention, stage), out_channels, (h, w)),
                                         stage, block_input))
                inplanes = out_channels
                layers += _attention(after_block(spec.attention, stage, b), out_channels, (h, w))
            layers += _attention(after_stage(spec.attention, stage, len(spec.layers)), inplanes, (h, w))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inplanes, spec.num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.fc(torch.flatten(x, 1))


def _block_conv(spec: ResNetSpec):
    """The conv-BN-act of the spec's blocks: ConvBnAct, or DY-ResNet's dynamic convolution (one module,
    as a one-item list where a ConvBnAct's layers are unpacked)."""
    if not spec.dynamic_experts:
        return ConvBnAct

    def dynamic(in_channels, out_channels, kernel, stride=1, *, groups=1, act_layer=nn.ReLU):
        return [DynamicConvBnAct(in_channels, out_channels, kernel, stride, groups, experts=spec.dynamic_experts,
                                 reduction=spec.dynamic_reduction, temperature=spec.dynamic_temperature,
                                 act_layer=act_layer)]
    return dynamic


def _stem_size(input_size):
    """Spatial size after the 7x7/2 conv (pad 3) or the deep stem's 3x3/2 (pad 1), either (s - 1) // 2 + 1,
    and the 3x3/2 max pool (pad 1)."""
    return tuple(((s + 2 * 3 - 7) // 2 + 1 + 2 - 3) // 2 + 1 for s in input_size)


class MobileNetV2(nn.Module):
    """torchvision's mobilenetv2.py: ConvBnAct with ReLU6, inverted residuals returning x + conv(x)."""

    def __init__(self, spec: MobileNetV2Spec, input_size=(224, 224)):
        super().__init__()
        inp = make_divisible(32 * spec.width)
        layers = [ConvBnAct(3, inp, 3, 2, act_layer=nn.ReLU6)]
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        dynamic = dict(experts=spec.dynamic_experts, reduction=spec.dynamic_reduction,
                       temperature=spec.dynamic_temperature)
        for stage, _, t, out, stride in mobilenet_blocks(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            attention = _attention(in_block(spec.attention, stage), out, (h, w))
            if spec.dynamic_experts:        # DY-MobileNetV2: every conv but the stem's is dynamic
                layers.append(DynamicInvertedResidual(inp, out, int(round(inp * t)), stride, attention=attention,
                                                      **dynamic))
            else:
                layers.append(MBConv(inp, out, int(round(inp * t)), 3, stride, act_layer=nn.ReLU6,
                                     attention=attention, identity_first=True))
            inp = out
        last = make_divisible(1280 * max(1.0, spec.width))
        layers.append(DynamicConvBnAct(inp, last, 1, act_layer=nn.ReLU6, **dynamic) if spec.dynamic_experts
                      else ConvBnAct(inp, last, 1, act_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, spec.num_classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class MnasNet(nn.Module):
    """MnasNet-A1 after the official TensorFlow code (see attncost/networks/mnasnet.py): the official
    MnasBlock is MBConv with SE on the block input's filters, ReLU in place."""

    def __init__(self, spec: MnasNetSpec, input_size=(224, 224)):
        super().__init__()
        stem = round_filters(STEM_FILTERS, spec.width)
        layers = [ConvBnAct(3, stem, 3, 2)]
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, _, inp, out, kernel, stride, expansion, se_ratio in mnasnet_blocks(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            attention = _attention(in_block(spec.attention, stage), out, (h, w))
            layers.append(MBConv(inp, out, inp * expansion, kernel, stride, attention=attention,
                                 se_channels=se_reduced_filters(inp, se_ratio) if se_ratio else None))
        layers.append(ConvBnAct(out, HEAD_FILTERS, 1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(HEAD_FILTERS, spec.num_classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.fc(torch.flatten(x, 1))


class VisionTransformer(nn.Module):
    """ViT after timm's VisionTransformer / torchvision's vit_b_16 at inference (no dropout modules:
    they run no ops in eval mode); attention written out with explicit matmul / softmax."""

    def __init__(self, spec: ViTSpec, input_size=(224, 224)):
        super().__init__()
        check_vit(spec, (1, 3, *input_size))
        d = spec.embed_dim
        grid = (input_size[0] // spec.patch) * (input_size[1] // spec.patch)
        self.patch_embed = nn.Conv2d(3, d, spec.patch, stride=spec.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, grid + 1, d) * 0.02)
        self.blocks = nn.Sequential(*(EncoderBlock(d, spec.heads, mlp_hidden(d, spec.mlp_ratio))
                                      for _ in range(spec.depth)))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, spec.num_classes)

    def forward(self, x):
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)                 # (N, HW/P^2, D), a view
        z = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
        z = self.blocks(z + self.pos_embed)
        return self.head(self.norm(z)[:, 0])


class EncoderBlock(nn.Module):
    """timm Block / torchvision EncoderBlock: x + MHSA(LN(x)), then x + MLP(LN(x)) (ViT Eq. 2-3)."""

    def __init__(self, channels: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(channels, eps=1e-6)
        self.attn = Attention(channels, heads, channels // heads, True)
        self.norm2 = nn.LayerNorm(channels, eps=1e-6)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, z):
        z = z + self.attn(self.norm1(z))
        return z + self.fc2(nn.functional.gelu(self.fc1(self.norm2(z))))


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation (networks.mobilenetv3.squeeze_excitation): ``scale * x``, scale =
    scale_activation(fc2(activation(fc1(avgpool(x))))) with 1x1 convs with bias, marked as an attention map."""

    def __init__(self, channels: int, squeeze: int, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))               # (N, C, 1, 1)
        return attention_map(self.scale_activation(scale)) * x


class InvertedResidual(nn.Module):
    """torchvision's InvertedResidual (MobileNetV3) and MBConv (EfficientNet; its stochastic depth is the
    identity at inference) with attention modules at the end of the branch: ``result += input``."""

    def __init__(self, channels: int, out_channels: int, expanded: int, kernel: int, stride: int, act_layer,
                 se=None, attention=()):
        super().__init__()
        layers = [ConvBnAct(channels, expanded, 1, act_layer=act_layer)] if expanded != channels else []
        layers.append(ConvBnAct(expanded, expanded, kernel, stride, groups=expanded, act_layer=act_layer))
        layers += [se] if se is not None else []
        layers.append(ConvBnAct(expanded, out_channels, 1, act_layer=None))
        self.block = nn.Sequential(*layers, *attention)
        self.use_res_connect = stride == 1 and channels == out_channels

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result += input
        return result


class EfficientNet(nn.Module):
    """torchvision's efficientnet_b0..b7 at inference (see attncost/networks/efficientnet.py)."""

    def __init__(self, spec: EfficientNetSpec, input_size=(224, 224)):
        super().__init__()
        inp = stem_channels(spec)
        layers = [ConvBnAct(3, inp, 3, 2, act_layer=nn.SiLU)]
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, _, inp, expanded, out, kernel, stride, squeeze in efficientnet_blocks(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            se = SqueezeExcitation(expanded, squeeze, activation=partial(nn.SiLU, inplace=True))
            attention = _attention(in_block(spec.attention, stage), out, (h, w))
            if stage in spec.condconv_stages:       # EfficientNet-CondConv's CondConv blocks
                layers.append(CondConvMBConv(inp, out, expanded, kernel, stride, spec.condconv_experts, se, attention))
            else:
                layers.append(InvertedResidual(inp, out, expanded, kernel, stride, nn.SiLU, se, attention))
        layers.append(ConvBnAct(out, 4 * out, 1, act_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2, inplace=True), nn.Linear(4 * out, spec.num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class MobileNetV3(nn.Module):
    """torchvision's mobilenet_v3_large at inference (see attncost/networks/mobilenetv3.py)."""

    ACTIVATIONS = {"RE": nn.ReLU, "HS": nn.Hardswish}

    def __init__(self, spec: MobileNetV3Spec, input_size=(224, 224)):
        super().__init__()
        inp = make_divisible(16 * spec.width)
        layers = [ConvBnAct(3, inp, 3, 2, act_layer=nn.Hardswish)]
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, _, _, kernel, expanded, out, squeeze, act, stride in mobilenetv3_blocks(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            se = None if squeeze is None else SqueezeExcitation(expanded, squeeze, scale_activation=nn.Hardsigmoid)
            layers.append(InvertedResidual(inp, out, expanded, kernel, stride, self.ACTIVATIONS[act], se,
                                           _attention(in_block(spec.attention, stage), out, (h, w))))
            inp = out
        layers.append(ConvBnAct(inp, 6 * inp, 1, act_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = make_divisible(LAST_CHANNEL * spec.width)
        self.classifier = nn.Sequential(nn.Linear(6 * inp, last), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True), nn.Linear(last, spec.num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class ResBottleneckBlock(nn.Module):
    """torchvision's RegNet ResBottleneckBlock: relu(proj(x) + f(x)), f = 1x1, grouped 3x3, [SE], 1x1
    (the ConvBnAct layers unpacked, as the ResNet's), then attention modules at the end of f."""

    def __init__(self, width_in: int, width_out: int, stride: int, group: int, bottleneck_multiplier: float,
                 squeeze, attention=()):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = nn.Sequential(*ConvBnAct(width_in, width_out, 1, stride, act_layer=None))
        w_b = int(round(width_out * bottleneck_multiplier))
        layers = [*ConvBnAct(width_in, w_b, 1), *ConvBnAct(w_b, w_b, 3, stride, groups=w_b // group)]
        layers += [SqueezeExcitation(w_b, squeeze)] if squeeze is not None else []
        self.f = nn.Sequential(*layers, *ConvBnAct(w_b, width_out, 1, act_layer=None), *attention)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.proj is not None:
            x = self.proj(x) + self.f(x)
        else:
            x = x + self.f(x)
        return self.activation(x)


class RegNet(nn.Module):
    """torchvision's RegNet at inference (see attncost/networks/regnet.py), attention by the same placements
    as the ResNet's."""

    def __init__(self, spec: RegNetSpec, input_size=(224, 224)):
        super().__init__()
        self.stem = ConvBnAct(3, spec.stem_width, 3, 2)
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        layers, width_in = [], spec.stem_width
        settings = list(regnet_stages(spec))
        for stage, width, group, strides in settings:
            for b, stride in enumerate(strides):
                h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
                layers.append(ResBottleneckBlock(width_in, width, stride, group, spec.bottleneck_multiplier,
                                                 se_squeeze(spec, width_in),
                                                 _attention(in_block(spec.attention, stage), width, (h, w))))
                width_in = width
                layers += _attention(after_block(spec.attention, stage, b), width, (h, w))
            layers += _attention(after_stage(spec.attention, stage, len(settings)), width, (h, w))
        self.trunk_output = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width_in, spec.num_classes)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


class SwinPermute(nn.Module):
    """torchvision.ops.misc.Permute: ``torch.permute(x, dims)`` (a view)."""

    def __init__(self, dims: list):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


def _swin_relative_position_bias(table, index, window_size: list):
    """torchvision's ``_get_relative_position_bias``: (1, heads, M^2, M^2)."""
    n = window_size[0] * window_size[1]
    bias = table[index].view(n, n, -1)                                           # (M^2, M^2, heads)
    return bias.permute(2, 0, 1).contiguous().unsqueeze(0)


def _swin_window_attention(x, qkv_weight, proj_weight, relative_position_bias, window_size: list, num_heads: int,
                           shift_size: list, qkv_bias=None, proj_bias=None, training: bool = True):
    """torchvision's ``shifted_window_attention`` (v1: no logit scale; dropouts p = 0) on (B, H, W, C)."""
    b, h, w, c = x.shape
    pad_r = (window_size[1] - w % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - h % window_size[0]) % window_size[0]
    x = nn.functional.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    _, pad_h, pad_w, _ = x.shape
    shift_size = shift_size.copy()
    if window_size[0] >= pad_h:                 # a window covering the map needs no shift
        shift_size[0] = 0
    if window_size[1] >= pad_w:
        shift_size[1] = 0
    if sum(shift_size) > 0:
        x = torch.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))
    num_windows = (pad_h // window_size[0]) * (pad_w // window_size[1])
    x = x.view(b, pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b * num_windows, window_size[0] * window_size[1], c)   # (B nW, M^2, C)
    qkv = nn.functional.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, c // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (c // num_heads) ** -0.5
    attn = q.matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if sum(shift_size) > 0:
        attn_mask = x.new_zeros((pad_h, pad_w))
        h_slices = ((0, -window_size[0]), (-window_size[0], -shift_size[0]), (-shift_size[0], None))
        w_slices = ((0, -window_size[1]), (-window_size[1], -shift_size[1]), (-shift_size[1], None))
        count = 0
        for hs in h_slices:
            for ws in w_slices:
                attn_mask[hs[0]:hs[1], ws[0]:ws[1]] = count
                count += 1
        attn_mask = attn_mask.view(pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1])
        attn_mask = attn_mask.permute(0, 2, 1, 3).reshape(num_windows, window_size[0] * window_size[1])
        attn_mask = attn_mask.unsqueeze(1) - attn_mask.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
        attn = attn.view(x.size(0) // num_windows, num_windows, num_heads, x.size(1), x.size(1))
        attn = attn + attn_mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, x.size(1), x.size(1))
    attn = attention_map(nn.functional.softmax(attn, dim=-1))
    attn = nn.functional.dropout(attn, p=0.0, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), c)
    x = nn.functional.linear(x, proj_weight, proj_bias)
    x = nn.functional.dropout(x, p=0.0, training=training)
    x = x.view(b, pad_h // window_size[0], pad_w // window_size[1], window_size[0], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)                 # windows reversed
    if sum(shift_size) > 0:
        x = torch.roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :h, :w, :].contiguous()


class SwinShiftedWindowAttention(nn.Module):
    """torchvision's ShiftedWindowAttention (v1): qkv and proj Linear (bias), the relative position bias
    table ((2M-1)^2, heads) and its flat (M^4,) index buffer, computed into a bias each forward."""

    def __init__(self, dim: int, window_size: list, shift_size: list, num_heads: int):
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))
        nn.init.normal_(self.relative_position_bias_table, std=0.02)   # torchvision: trunc_normal_; no count depends
        coords = torch.stack(torch.meshgrid(torch.arange(window_size[0]), torch.arange(window_size[1]), indexing="ij"))
        coords_flatten = torch.flatten(coords, 1)                                    # 2, M^2
        relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += window_size[0] - 1
        relative_coords[:, :, 1] += window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * window_size[1] - 1
        self.register_buffer("relative_position_index", relative_coords.sum(-1).flatten())   # M^4

    def forward(self, x):
        bias = _swin_relative_position_bias(self.relative_position_bias_table, self.relative_position_index,
                                            self.window_size)
        return _swin_window_attention(x, self.qkv.weight, self.proj.weight, bias, self.window_size, self.num_heads,
                                      self.shift_size, self.qkv.bias, self.proj.bias, self.training)


class SwinTransformerBlock(nn.Module):
    """torchvision's SwinTransformerBlock (v1): x + attn(norm1(x)), then x + mlp(norm2(x)); the MLP is
    torchvision.ops.MLP's Sequential (Linear, GELU, Dropout, Linear, Dropout); stochastic depth, the
    identity in eval, is left out."""

    def __init__(self, dim: int, num_heads: int, window_size: list, shift_size: list, mlp_ratio: float, norm_layer):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = SwinShiftedWindowAttention(dim, window_size, shift_size, num_heads)
        self.norm2 = norm_layer(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim),
                                 nn.Dropout(0.0))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """torchvision's PatchMerging (v1): ``_patch_merging_pad`` (pad to even H, W; cat of the four
    x[..., i::2, j::2, :]), LayerNorm(4C), Linear 4C -> 2C without bias."""

    def __init__(self, dim: int, norm_layer):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        h, w, _ = x.shape[-3:]
        x = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
        return self.reduction(self.norm(x))                                           # (B, H/2, W/2, 2C)


class SwinTransformer(nn.Module):
    """torchvision's SwinTransformer (v1; swin_t with swin-t's definition) at inference, written after
    pytorch/vision torchvision/models/swin_transformer.py (b3054b4d1879858c7ab1225d253780bb911a6c95);
    module paths and parameter names are torchvision's (``features.1.0.attn.qkv``, ``features.2.reduction``)."""

    def __init__(self, spec: SwinSpec, input_size=(224, 224)):
        super().__init__()
        check_swin(spec, (1, 3, *input_size))
        norm_layer = partial(nn.LayerNorm, eps=1e-5)
        window = [spec.window, spec.window]
        layers = [nn.Sequential(nn.Conv2d(3, spec.embed_dim, spec.patch, stride=spec.patch), SwinPermute([0, 2, 3, 1]),
                                norm_layer(spec.embed_dim))]
        for i_stage, (depth, heads) in enumerate(zip(spec.depths, spec.heads)):
            dim = spec.embed_dim * 2 ** i_stage
            layers.append(nn.Sequential(*(
                SwinTransformerBlock(dim, heads, window, [0 if i % 2 == 0 else m // 2 for m in window], spec.mlp_ratio,
                                     norm_layer) for i in range(depth))))
            if i_stage < len(spec.depths) - 1:
                layers.append(PatchMerging(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = spec.embed_dim * 2 ** (len(spec.depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = SwinPermute([0, 3, 1, 2])                                       # B H W C -> B C H W
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, spec.num_classes)

    def forward(self, x):
        return self.head(self.flatten(self.avgpool(self.permute(self.norm(self.features(x))))))


NETWORK_CLASSES = {ResNetSpec: ResNet, MobileNetV2Spec: MobileNetV2, MnasNetSpec: MnasNet, ViTSpec: VisionTransformer,
                   EfficientNetSpec: EfficientNet, MobileNetV3Spec: MobileNetV3, RegNetSpec: RegNet,
                   SwinSpec: SwinTransformer}


def build_network(spec, input_size=(224, 224)) -> nn.Module:
    return NETWORK_CLASSES[type(spec)](spec, input_size).eval()
