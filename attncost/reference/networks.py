"""Reference PyTorch networks (no torchvision here): ResNet/ResNeXt in both stride variants and
MobileNetV2, written after torchvision's definitions, with attention inserted by the same placements
as the Program builders in attncost/networks/."""

from __future__ import annotations

import torch
from torch import nn

from ..networks.mobilenet import INVERTED_RESIDUAL_SETTING, MobileNetV2Spec, make_divisible
from ..networks.resnet import ResNetSpec
from .registry import build


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


def build_network(spec, input_size=(224, 224)) -> nn.Module:
    cls = ResNet if isinstance(spec, ResNetSpec) else MobileNetV2
    return cls(spec, input_size).eval()
