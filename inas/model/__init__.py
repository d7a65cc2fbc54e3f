"""Architecture configs, the network builder, presets and measurement."""

from inas.model.config import (
    ArchConfig,
    AuxHeadCfg,
    BlockOptions,
    HeadCfg,
    InceptionCfg,
    StageCfg,
    min_input_size,
    spatial_sizes,
    validate,
)
from inas.model.measure import ModelStats, count_macs, measure
from inas.model.network import GoogLeNet, build, count_params
from inas.model.presets import PRESETS, get_preset, list_presets

__all__ = [
    "PRESETS",
    "ArchConfig",
    "AuxHeadCfg",
    "BlockOptions",
    "GoogLeNet",
    "HeadCfg",
    "InceptionCfg",
    "ModelStats",
    "StageCfg",
    "build",
    "count_macs",
    "count_params",
    "get_preset",
    "list_presets",
    "measure",
    "min_input_size",
    "spatial_sizes",
    "validate",
]
