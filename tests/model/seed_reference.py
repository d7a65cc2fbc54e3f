"""The seeds' own networks, transcribed from ../shared/seeds, as references for the presets.

seed 000/002: pytorch-cifar100's GoogleNet (BatchNorm eps quirk dropped, see inas.model.presets).
seed 003: d2l's GoogLeNet for 1x96x96 Fashion-MNIST (with the d2l book's ReLUs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _cbr(cin: int, cout: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel_size=k, padding=k // 2), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SeedInception(nn.Module):
    def __init__(self, cin, n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj):
        super().__init__()
        self.b1 = nn.Sequential(*_cbr(cin, n1x1, 1))
        self.b2 = nn.Sequential(*_cbr(cin, n3x3_reduce, 1), *_cbr(n3x3_reduce, n3x3, 3))
        self.b3 = nn.Sequential(*_cbr(cin, n5x5_reduce, 1), *_cbr(n5x5_reduce, n5x5, 3), *_cbr(n5x5, n5x5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *_cbr(cin, pool_proj, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class SeedGoogleNet(nn.Module):
    def __init__(self, num_class=100):
        super().__init__()
        self.prelayer = nn.Sequential(*_cbr(3, 192, 3))
        self.a3 = SeedInception(192, 64, 96, 128, 16, 32, 32)
        self.b3 = SeedInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.a4 = SeedInception(480, 192, 96, 208, 16, 48, 64)
        self.b4 = SeedInception(512, 160, 112, 224, 24, 64, 64)
        self.c4 = SeedInception(512, 128, 128, 256, 24, 64, 64)
        self.d4 = SeedInception(512, 112, 144, 288, 32, 64, 64)
        self.e4 = SeedInception(528, 256, 160, 320, 32, 128, 128)
        self.a5 = SeedInception(832, 256, 160, 320, 32, 128, 128)
        self.b5 = SeedInception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout2d(p=0.4)
        self.linear = nn.Linear(1024, num_class)

    def forward(self, x):
        x = self.b3(self.a3(self.prelayer(x)))
        x = self.maxpool(x)
        x = self.e4(self.d4(self.c4(self.b4(self.a4(x)))))
        x = self.maxpool(x)
        x = self.b5(self.a5(x))
        x = self.dropout(self.avgpool(x))
        return self.linear(x.view(x.size(0), -1))


class D2lInception(nn.Module):
    def __init__(self, cin, c1, c2, c3, c4):
        super().__init__()
        self.p1_1 = nn.Conv2d(cin, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(cin, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(cin, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(cin, c4, kernel_size=1)

    def forward(self, x):
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def d2l_googlenet() -> nn.Sequential:
    b1 = nn.Sequential(nn.Conv2d(1, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1))
    b2 = nn.Sequential(
        nn.Conv2d(64, 64, 1),
        nn.ReLU(),
        nn.Conv2d(64, 192, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    b3 = nn.Sequential(
        D2lInception(192, 64, (96, 128), (16, 32), 32),
        D2lInception(256, 128, (128, 192), (32, 96), 64),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    b4 = nn.Sequential(
        D2lInception(480, 192, (96, 208), (16, 48), 64),
        D2lInception(512, 160, (112, 224), (24, 64), 64),
        D2lInception(512, 128, (128, 256), (24, 64), 64),
        D2lInception(512, 112, (144, 288), (32, 64), 64),
        D2lInception(528, 256, (160, 320), (32, 128), 128),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    b5 = nn.Sequential(
        D2lInception(832, 256, (160, 320), (32, 128), 128),
        D2lInception(832, 384, (192, 384), (48, 128), 128),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, 10))


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers in registration order; shapes must agree one by one."""
    a, b = list(src.state_dict().values()), dst.state_dict()
    assert len(a) == len(b), f"{len(a)} tensors against {len(b)}"
    for (key, target), value in zip(b.items(), a, strict=True):
        assert target.shape == value.shape, f"{key}: {tuple(target.shape)} vs {tuple(value.shape)}"
    dst.load_state_dict(dict(zip(b.keys(), a, strict=True)))
