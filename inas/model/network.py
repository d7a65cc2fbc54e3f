"""The one function that turns an `ArchConfig` into an `nn.Module`."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from inas import limits
from inas.errors import ConfigError, InputTooSmallError
from inas.model.blocks import AuxHead, Inception, make_stem
from inas.model.config import (
    STEM_CHANNELS,
    ArchConfig,
    aux_pool_size,
    min_input_size,
    module_name,
    spatial_sizes,
    validate,
)


class GoogLeNet(nn.Module):
    """A GoogLeNet candidate. `forward` gives logits; `forward_train` adds the auxiliary logits.

    Layers live in `features`, an ordered container named as in the paper (`stem`, `inception3a`,
    `pool4`, ...), so per-module measurements and state-dict keys read like the paper's table.
    """

    def __init__(self, cfg: ArchConfig):
        super().__init__()
        self.config = cfg
        self.min_input_size = min_input_size(cfg)
        sizes = spatial_sizes(cfg, cfg.input_size)
        layers: OrderedDict[str, nn.Module] = OrderedDict(stem=make_stem(cfg.stem, cfg.in_channels, cfg.block.norm))
        taps = {(a.stage, a.module): a for a in cfg.aux_heads}
        aux: dict[str, nn.Module] = {}
        self.aux_weights: dict[str, float] = {}
        channels = STEM_CHANNELS
        for i, stage in enumerate(cfg.stages):
            if stage.downsample:
                layers[f"pool{i + 3}"] = nn.MaxPool2d(3, stride=2, padding=1)
            for j, m in enumerate(stage.modules):
                block = Inception(channels, m, cfg.block)
                channels = block.out_channels
                name = f"inception{module_name(i, j)}"
                layers[name] = block
                if (i, j) in taps:
                    grid = aux_pool_size(sizes[i])
                    aux[name] = AuxHead(channels, grid, taps[(i, j)], cfg.num_classes, cfg.block.norm != "none")
                    self.aux_weights[name] = taps[(i, j)].loss_weight
        self.features = nn.Sequential(layers)
        self.aux = nn.ModuleDict(aux)
        self.out_channels = channels
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(cfg.head.dropout)
        self.fc = nn.Linear(channels, cfg.num_classes)

    def _check(self, x: torch.Tensor) -> None:
        h, w = x.shape[-2:]
        if min(h, w) < self.min_input_size:
            raise InputTooSmallError(
                f"input of {h}x{w} is below this network's minimum of {self.min_input_size}x{self.min_input_size}; "
                "resize the images up or choose a config without auxiliary heads"
            )

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(x), 1)  # N x C
        return self.fc(self.dropout(x))  # N x classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        # N x in_channels x S x S -> stem -> N x 192 x S x S (cifar stem; d2l/paper stems: S/8)
        # then each stage: a 3x3/2 max-pool (not before the first), then its modules; seed/googlenet at 32:
        # stage 3: N x 480 x 32 x 32, stage 4: N x 832 x 16 x 16, stage 5: N x 1024 x 8 x 8
        x = self.features(x)
        return self._head(x)  # N x classes

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits plus each auxiliary head's logits, keyed by the module it taps."""
        self._check(x)
        aux_logits = {}
        for name, layer in self.features.named_children():
            x = layer(x)
            if name in self.aux:
                aux_logits[name] = self.aux[name](x)
        return self._head(x), aux_logits


def check_size(cfg: ArchConfig) -> int:
    """The parameter count of a valid config, counted on the meta device (no memory); a network over
    `limits.MAX_PARAMS` is refused before anything tries to allocate it."""
    with torch.device("meta"):
        params = count_params(GoogLeNet(validate(cfg)))
    if params > limits.MAX_PARAMS:
        raise ConfigError(
            f"this network has {params:,} parameters, over the {limits.MAX_PARAMS:,} inas builds; "
            "use fewer modules or channels"
        )
    return params


def build(cfg: ArchConfig) -> GoogLeNet:
    """Build the network of a config; a config that cannot be built fails here, before any tensor,
    and so does one too large to hold."""
    validate(cfg)
    if torch.get_default_device().type != "meta":
        check_size(cfg)
    return GoogLeNet(cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
