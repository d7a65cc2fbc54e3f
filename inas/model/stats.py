"""Parameters, MACs and shapes of a config, measured on the meta device (no memory, no compute).

MACs come from `torch.utils.flop_counter` (FLOPs / 2): convolutions and linear layers, the
convention of the paper's and the seeds' MAC counts; pooling, BatchNorm and ReLU are not counted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inas.errors import InputTooSmallError
from inas.model.config import ArchConfig, spatial_sizes
from inas.model.network import GoogLeNet, build, count_params


@dataclass(frozen=True)
class ModuleStats:
    name: str
    params: int
    macs: int
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelStats:
    """What `inas model summary` prints. Shapes are for one image (batch dimension 1)."""

    config_hash: str
    params: int  # all trainable parameters, auxiliary heads included
    params_inference: int  # without the training-only auxiliary heads
    macs: int  # forward pass of one image at `input_size`, auxiliary heads excluded
    input_size: int
    output_shape: tuple[int, ...]
    min_input_size: int
    stage_sizes: tuple[int, ...]  # side of each stage's feature maps
    modules: tuple[ModuleStats, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs of one forward call of `module` on `inputs` (meta tensors are fine)."""
    counter = FlopCounterMode(display=False)
    with counter:
        module(*inputs)
    return counter.get_total_flops() // 2


def build_meta(cfg: ArchConfig) -> GoogLeNet:
    """The network with meta tensors: exact shapes and counts for free, even for 65M parameters."""
    with torch.device("meta"):
        return build(cfg)


def measure(cfg: ArchConfig, input_size: int | None = None) -> ModelStats:
    """Measure a config at `input_size` (default: the size it is designed for)."""
    full = build_meta(cfg)
    # BatchNorm adds no MACs but FlopCounterMode decomposes it op by op (half the time); its twin
    # without BatchNorm has the same convolutions, linear layers and shapes.
    model = build_meta(dataclasses.replace(cfg, block=dataclasses.replace(cfg.block, norm="none"))).eval()
    size = cfg.input_size if input_size is None else input_size
    if size < full.min_input_size:
        raise InputTooSmallError(
            f"--input-size {size} is below this network's minimum of {full.min_input_size}; use a larger size"
        )
    x = torch.empty(1, cfg.in_channels, size, size, device="meta")
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        child.register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
        for name, child in model.features.named_children()
    ]
    counter = FlopCounterMode(display=False)
    with counter:
        out = model(x)
    for h in hooks:
        h.remove()
    flops = counter.get_flop_counts()
    prefix = type(model).__name__

    def macs_of(path: str) -> int:
        return sum(flops.get(f"{prefix}.{path}", {}).values()) // 2

    modules = [
        ModuleStats(name, count_params(child), macs_of(f"features.{name}"), shapes[name])
        for name, child in full.features.named_children()
    ]
    modules.append(ModuleStats("head", count_params(full.fc), macs_of("fc"), tuple(out.shape)))
    aux_params = count_params(full.aux)
    total = count_params(full)
    return ModelStats(
        config_hash=cfg.hash(),
        params=total,
        params_inference=total - aux_params,
        macs=counter.get_total_flops() // 2,
        input_size=size,
        output_shape=tuple(out.shape),
        min_input_size=full.min_input_size,
        stage_sizes=tuple(spatial_sizes(cfg, size)),
        modules=tuple(modules),
    )
