"""The official ECA-ResNets of the ECA-Net README (``eca_resnet50`` ... ``eca_resnet152``), from
BangguWu/ECANet, models/eca_resnet.py.

Rewritten (not copied) from BangguWu/ECANet at commit b332f6b3e6e2afe8a3287dc8ee8440a0fbec74c4, licence
MIT (Copyright (c) 2019 BangguWu, Qilong Wang). Kept, because thop counts modules by their exact type:
nn.Conv2d without bias everywhere, nn.BatchNorm2d, nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1), the
stride on the bottleneck's 3x3 (torchvision's layout), ``eca_layer`` after bn3 and before the in-place
residual add ``out += residual``, the 1x1 conv + BN downsample in an nn.Sequential, the head
``nn.AdaptiveAvgPool2d(1)`` (which eca_resnet50 puts in place of ResNet's nn.AvgPool2d(7)), the view and
nn.Linear(2048, classes). Left out: the weight initialisation (counts do not depend on it) and the
basic-block networks.
"""

from __future__ import annotations

from torch import nn

from .ecanet_eca import eca_layer


class ECABottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, k_size=3):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.eca = eca_layer(planes * 4, k_size)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.eca(self.bn3(self.conv3(out)))
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers, k_size, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0], k_size[0])
        self.layer2 = self._make_layer(128, layers[1], k_size[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], k_size[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], k_size[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * ECABottleneck.expansion, num_classes)

    def _make_layer(self, planes, blocks, k_size, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * ECABottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * ECABottleneck.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * ECABottleneck.expansion))
        layers = [ECABottleneck(self.inplanes, planes, stride, downsample, k_size)]
        self.inplanes = planes * ECABottleneck.expansion
        layers += [ECABottleneck(self.inplanes, planes, k_size=k_size) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        return self.fc(x.view(x.size(0), -1))


def eca_resnet(layers, k_size, num_classes=1000) -> ResNet:
    """``eca_resnet50(k_size=[3, 5, 5, 7])`` is ``eca_resnet((3, 4, 6, 3), (3, 5, 5, 7))``, the released
    eca_resnet50_k3557; eca_resnet101_k3357 is ``eca_resnet((3, 4, 23, 3), (3, 3, 5, 7))``."""
    return ResNet(layers, k_size, num_classes)
