"""Reference PyTorch networks (no torchvision here): ResNet/ResNeXt in both stride variants and
MobileNetV2, written after torchvision's definitions, MnasNet-A1 after the official TensorFlow code and
ViT-B/16 after timm / torchvision, with attention inserted by the same placements as the Program
builders in attncost/networks/."""

from __future__ import annotations

import torch
from torch import nn

from ..catalogue.families.self_attention.transformer import mlp_hidden
from ..networks.attention import after_block, after_stage, in_block
from ..networks.mnasnet import HEAD_FILTERS, STEM_FILTERS, MnasNetSpec, round_filters, se_reduced_filters
from ..networks.mnasnet import block_settings as mnasnet_blocks
from ..networks.mobilenet import MobileNetV2Spec, make_divisible
from ..networks.mobilenet import block_settings as mobilenet_blocks
from ..networks.resnet import ResNetSpec, stage_settings
from ..networks.vit import ViTSpec, check_vit
from .blocks import ConvBnAct, MBConv
from .registry import build
from .self_attention.transformer import Attention


def _attention(placements, channels: int, spatial: tuple) -> list:
    return [build(p.module, (1, channels, *spatial), p.hp) for p in placements]


class Bottleneck(nn.Module):
    """torchvision's BasicBlock / Bottleneck; the ConvBnAct layers are unpacked into flat Sequentials, so
    module paths read as torchvision's (``layers.0.branch.0`` a Conv2d, ``downsample.1`` a BatchNorm2d)."""

    def __init__(self, inplanes, planes, stride, spec: ResNetSpec, attention: list):
        super().__init__()
        width = planes * spec.width_per_group // 64 * spec.groups
        out_channels = planes * spec.expansion
        s1, s3 = (stride, 1) if spec.stride_on == "1x1" else (1, stride)
        if spec.block == "bottleneck":
            self.branch = nn.Sequential(*ConvBnAct(inplanes, width, 1, s1),
                                        *ConvBnAct(width, width, 3, s3, groups=spec.groups),
                                        *ConvBnAct(width, out_channels, 1, act_layer=None))
        else:
            self.branch = nn.Sequential(*ConvBnAct(inplanes, planes, 3, stride),
                                        *ConvBnAct(planes, planes, 3, act_layer=None))
        self.attention = nn.Sequential(*attention)
        self.downsample = None
        if stride != 1 or inplanes != out_channels:
            self.downsample = nn.Sequential(*ConvBnAct(inplanes, out_channels, 1, stride, act_layer=None))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.attention(self.branch(x))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, spec: ResNetSpec, input_size=(224, 224)):
        super().__init__()
        self.stem = nn.Sequential(*ConvBnAct(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        h, w = _stem_size(input_size)
        layers, inplanes = [], 64
        for stage, planes, strides in stage_settings(spec):
            out_channels = planes * spec.expansion
            for b, stride in enumerate(strides):
                h, w = (h + stride - 1) // stride, (w + stride - 1) // stride
                layers.append(Bottleneck(inplanes, planes, stride, spec,
                                         _attention(in_block(spec.attention, stage), out_channels, (h, w))))
                inplanes = out_channels
                layers += _attention(after_block(spec.attention, stage, b), out_channels, (h, w))
            layers += _attention(after_stage(spec.attention, stage, len(spec.layers)), inplanes, (h, w))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inplanes, spec.num_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.fc(torch.flatten(x, 1))


def _stem_size(input_size):
    """Spatial size after the 7x7/2 conv (pad 3) and the 3x3/2 max pool (pad 1)."""
    return tuple(((s + 2 * 3 - 7) // 2 + 1 + 2 - 3) // 2 + 1 for s in input_size)


class MobileNetV2(nn.Module):
    """torchvision's mobilenetv2.py: ConvBnAct with ReLU6, inverted residuals returning x + conv(x)."""

    def __init__(self, spec: MobileNetV2Spec, input_size=(224, 224)):
        super().__init__()
        inp = make_divisible(32 * spec.width)
        layers = [ConvBnAct(3, inp, 3, 2, act_layer=nn.ReLU6)]
        h, w = ((s - 1) // 2 + 1 for s in input_size)
        for stage, _, t, out, stride in mobilenet_blocks(spec):
            h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
            attention = _attention(in_block(spec.attention, min(stage, 4)), out, (h, w))
            layers.append(MBConv(inp, out, int(round(inp * t)), 3, stride, act_layer=nn.ReLU6, attention=attention,
                                 identity_first=True))
            inp = out
        last = make_divisible(1280 * max(1.0, spec.width))
        layers.append(ConvBnAct(inp, last, 1, act_layer=nn.ReLU6))
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
            attention = _attention(in_block(spec.attention, min(stage, 4)), out, (h, w))
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


NETWORK_CLASSES = {ResNetSpec: ResNet, MobileNetV2Spec: MobileNetV2, MnasNetSpec: MnasNet, ViTSpec: VisionTransformer}


def build_network(spec, input_size=(224, 224)) -> nn.Module:
    return NETWORK_CLASSES[type(spec)](spec, input_size).eval()
