"""Reference PyTorch networks (no torchvision here): ResNet/ResNeXt in both stride variants and
MobileNetV2, written after torchvision's definitions, MnasNet-A1 after the official TensorFlow code and
ViT-B/16 after timm / torchvision, with attention inserted by the same placements as the Program
builders in attncost/networks/."""

from __future__ import annotations

import torch
from torch import nn

from ..catalogue.families.transformer import mlp_hidden
from ..networks.mnasnet import (HEAD_FILTERS, STEM_FILTERS, MnasNetSpec, block_settings, round_filters,
                                se_reduced_filters)
from ..networks.mobilenet import INVERTED_RESIDUAL_SETTING, MobileNetV2Spec, make_divisible
from ..networks.resnet import ResNetSpec
from ..networks.vit import ViTSpec, check_vit
from .marks import attention_map
from .registry import build
from .transformer import Attention


def _attention(placement, channels: int, spatial: tuple):
    return build(placement.module, (1, channels, *spatial), placement.hp)


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, spec: ResNetSpec, attention: list):
        super().__init__()
        width = planes * spec.width_per_group // 64 * spec.groups
        out_channels = planes * spec.expansion
        s1, s3 = (stride, 1) if spec.stride_on == "1x1" else (1, stride)
        if spec.block == "bottleneck":
            self.branch = nn.Sequential(
                nn.Conv2d(inplanes, width, 1, s1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, s3, 1, groups=spec.groups, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(inplace=True), nn.Conv2d(width, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        else:
            self.branch = nn.Sequential(
                nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
                nn.Conv2d(planes, planes, 3, 1, 1, bias=False), nn.BatchNorm2d(planes))
        self.attention = nn.Sequential(*attention)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out_channels, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.attention(self.branch(x))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, spec: ResNetSpec, input_size=(224, 224)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        h, w = _stem_size(input_size)
        layers, inplanes = [], 64
        for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), spec.layers), start=1):
            for b in range(blocks):
                stride = (1 if stage == 1 else 2) if b == 0 else 1
                h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
                out_channels = planes * spec.expansion
                inner = [_attention(p, out_channels, (h, w)) for p in spec.attention if p.in_block(stage)]
                layers.append(Bottleneck(inplanes, planes, stride, spec, inner))
                inplanes = out_channels
                layers += [_attention(p, out_channels, (h, w)) for p in spec.attention if p.after_block(stage, b)]
            layers += [_attention(p, inplanes, (h, w)) for p in spec.attention
                       if p.after_stage(stage, len(spec.layers))]
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inplanes, spec.num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.fc(torch.flatten(x, 1))


def _stem_size(input_size):
    """Spatial size after the 7x7/2 conv (pad 3) and the 3x3/2 max pool (pad 1)."""
    return tuple(((s + 2 * 3 - 7) // 2 + 1 + 2 - 3) // 2 + 1 for s in input_size)


def _conv_bn_relu6(inp, out, kernel, stride=1, groups=1, activation=True):
    layers = [nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out)]
    return layers + ([nn.ReLU6(inplace=True)] if activation else [])


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, t, attention):
        super().__init__()
        hidden = int(round(inp * t))
        layers = _conv_bn_relu6(inp, hidden, 1) if t != 1 else []
        layers += _conv_bn_relu6(hidden, hidden, 3, stride, hidden) + _conv_bn_relu6(hidden, out, 1, activation=False)
        self.conv = nn.Sequential(*layers, *attention)
        self.use_residual = stride == 1 and inp == out

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, spec: MobileNetV2Spec, input_size=(224, 224)):
        super().__init__()
        inp = make_divisible(32 * spec.width)
        layers = _conv_bn_relu6(3, inp, 3, 2)
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING, start=1):
            out = make_divisible(c * spec.width)
            for b in range(n):
                stride = s if b == 0 else 1
                h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
                attention = [_attention(p, out, (h, w)) for p in spec.attention if p.in_block(min(stage, 4))]
                layers.append(InvertedResidual(inp, out, stride, t, attention))
                inp = out
        last = make_divisible(1280 * max(1.0, spec.width))
        layers += _conv_bn_relu6(inp, last, 1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, spec.num_classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class MnasBlock(nn.Module):
    """The official MnasBlock (tensorflow/tpu mnasnet_model.py) in PyTorch: [expand 1x1, BN, ReLU],
    depthwise k x k, BN, ReLU, [SE on the block input's filters], project 1x1, BN, [+ identity]."""

    def __init__(self, inp, out, kernel, stride, expansion, se_ratio, attention):
        super().__init__()
        hidden = inp * expansion
        layers = _conv_bn_relu(inp, hidden, 1) if expansion != 1 else []
        layers += _conv_bn_relu(hidden, hidden, kernel, stride, hidden)
        self.body = nn.Sequential(*layers)
        self.se = None
        if se_ratio:
            reduced = se_reduced_filters(inp, se_ratio)
            self.se = nn.Sequential(nn.Conv2d(hidden, reduced, 1), nn.ReLU(inplace=True), nn.Conv2d(reduced, hidden, 1))
        self.project = nn.Sequential(*_conv_bn_relu(hidden, out, 1, relu=False), *attention)
        self.use_residual = stride == 1 and inp == out

    def forward(self, x):
        y = self.body(x)
        if self.se is not None:
            y = attention_map(torch.sigmoid(self.se(y.mean((2, 3), keepdim=True)))) * y
        y = self.project(y)
        return y + x if self.use_residual else y


def _conv_bn_relu(inp, out, kernel, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(out)]
    return layers + ([nn.ReLU(inplace=True)] if relu else [])


class MnasNet(nn.Module):
    """MnasNet-A1 after the official TensorFlow code (see attncost/networks/mnasnet.py)."""

    def __init__(self, spec: MnasNetSpec, input_size=(224, 224)):
        super().__init__()
        stem = round_filters(STEM_FILTERS, spec.width)
        layers = _conv_bn_relu(3, stem, 3, 2)
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, _, inp, out, kernel, stride, expansion, se_ratio in block_settings(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            attention = [_attention(p, out, (h, w)) for p in spec.attention if p.in_block(min(stage, 4))]
            layers.append(MnasBlock(inp, out, kernel, stride, expansion, se_ratio, attention))
        layers += _conv_bn_relu(out, HEAD_FILTERS, 1)
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


NETWORK_CLASSES = {ResNetSpec: ResNet, MobileNetV2Spec: MobileNetV2, MnasNetSpec: MnasNet, ViTSpec: VisionTransformer}


def build_network(spec, input_size=(224, 224)) -> nn.Module:
    return NETWORK_CLASSES[type(spec)](spec, input_size).eval()
