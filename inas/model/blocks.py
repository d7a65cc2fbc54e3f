"""Layers of a GoogLeNet candidate: conv units, the Inception module, stems and heads."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inas.model.config import (
    AUX_POOL,
    AUX_STRIDE,
    STEM_CHANNELS,
    AuxHeadCfg,
    BlockOptions,
    InceptionCfg,
)
from inas.model.pool import MaxPool3x3

Kernel = int | tuple[int, int]


def conv_unit(cin: int, cout: int, kernel: Kernel, norm: bool, relu: bool = True, stride: int = 1) -> nn.Sequential:
    """Conv (with bias, as in the seeds, whose parameter counts include it), then BatchNorm, then ReLU."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride=stride, padding=(k[0] // 2, k[1] // 2))]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _branch(cin: int, convs: list[tuple[int, int]], opts: BlockOptions) -> nn.Sequential:
    """A chain of (out_channels, kernel) convs; factorises n x n into 1 x n + n x 1 when asked."""
    specs: list[tuple[int, int, Kernel]] = []
    for cout, k in convs:
        if opts.factorized and k > 1:
            specs += [(cin, cout, (1, k)), (cout, cout, (k, 1))]
        else:
            specs.append((cin, cout, k))
        cin = cout
    last = len(specs) - 1
    norm = opts.norm
    return nn.Sequential(
        *(
            conv_unit(a, b, k, norm == "all" or (norm == "branch_end" and i == last))
            for i, (a, b, k) in enumerate(specs)
        )
    )


def _kernel5_convs(cout: int, kernel5: str) -> list[tuple[int, int]]:
    return {"5x5": [(cout, 5)], "3x3x2": [(cout, 3), (cout, 3)], "3x3": [(cout, 3)]}[kernel5]


def inception_out_channels(cin: int, m: InceptionCfg, opts: BlockOptions) -> int:
    passthrough = cin if opts.kind == "naive" else m.pool_proj
    return m.c1 + m.c3 + m.c5 + passthrough


# The conv units of a bottleneck module that read its input (the first of each branch; the pool's
# after the pool), as paths under the module: what a supernet widens and cuts by input branch.
INPUT_UNITS = ("b1.0", "b2.0", "b3.0", "b4.1.0")


class Inception(nn.Module):
    """Four parallel branches concatenated on channels: 1x1 | 3x3 | "5x5" | pool.

    Bottleneck (v1 as trained): 1x1 reductions before the 3x3 and "5x5" convs and a 1x1 projection
    after the pool. Naive: no reductions and the pool branch passes its input channels through, so
    channels grow from module to module.
    """

    def __init__(self, cin: int, m: InceptionCfg, opts: BlockOptions):
        super().__init__()
        if opts.kind == "bottleneck":
            self.b1 = _branch(cin, [(m.c1, 1)], opts)
            self.b2 = _branch(cin, [(m.c3_reduce, 1), (m.c3, 3)], opts)
            self.b3 = _branch(cin, [(m.c5_reduce, 1), *_kernel5_convs(m.c5, opts.kernel5)], opts)
            self.b4 = nn.Sequential(MaxPool3x3(), _branch(cin, [(m.pool_proj, 1)], opts))
        else:
            self.b1 = _branch(cin, [(m.c1, 1)], opts)
            self.b2 = _branch(cin, [(m.c3, 3)], opts)
            self.b3 = _branch(cin, _kernel5_convs(m.c5, opts.kernel5), opts)
            self.b4 = MaxPool3x3()
        self.out_channels = inception_out_channels(cin, m, opts)
        self.shortcut: nn.Module | None = None
        if opts.residual:
            same = cin == self.out_channels
            self.shortcut = (
                nn.Identity() if same else conv_unit(cin, self.out_channels, 1, opts.norm != "none", relu=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x Cin x H x W -> N x (c1 + c3 + c5 + pool) x H x W
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)
        if self.shortcut is not None:
            y = F.relu(y + self.shortcut(x))
        return y


def make_stem(stem: str, cin: int, norm: str) -> nn.Sequential:
    """The layers before the first Inception module; all end with 192 channels."""
    bn = norm != "none"  # the seeds normalise every stem conv whenever they normalise at all
    if stem == "cifar":
        # N x Cin x 32 x 32 -> N x 192 x 32 x 32
        return conv_unit(cin, STEM_CHANNELS, 3, bn)
    layers: list[nn.Module] = [
        conv_unit(cin, 64, 7, bn, stride=2),  # N x 64 x S/2
        nn.MaxPool2d(3, stride=2, padding=1),  # N x 64 x S/4
    ]
    if stem == "paper":
        layers.append(nn.LocalResponseNorm(5))
    layers += [conv_unit(64, 64, 1, bn), conv_unit(64, STEM_CHANNELS, 3, bn)]  # N x 192 x S/4
    if stem == "paper":
        layers.append(nn.LocalResponseNorm(5))
    layers.append(nn.MaxPool2d(3, stride=2, padding=1))  # N x 192 x S/8
    return nn.Sequential(*layers)


class AuxHead(nn.Module):
    """The paper's auxiliary classifier: 5x5/3 avg pool, 1x1 conv, FC, dropout, FC.

    `grid` is the pooled side at the network's design size; an adaptive pool keeps the FC valid at
    other input sizes (identity at the design size, so the paper's network is unchanged).
    """

    def __init__(self, cin: int, grid: int, cfg: AuxHeadCfg, num_classes: int, norm: bool):
        super().__init__()
        self.grid = grid
        self.pool = nn.AvgPool2d(AUX_POOL, stride=AUX_STRIDE)
        self.conv = conv_unit(cin, cfg.conv_channels, 1, norm)
        self.fc1 = nn.Linear(cfg.conv_channels * grid * grid, cfg.fc_features)
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc2 = nn.Linear(cfg.fc_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)  # N x C x (H-5)/3+1
        x = F.adaptive_avg_pool2d(x, self.grid)  # N x C x grid x grid
        x = torch.flatten(self.conv(x), 1)  # N x 128*grid*grid
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)  # N x classes
