"""Architecture configs (plain data), the network builder, presets and measurement."""

from inas.lazy import lazy_exports

_CONFIG = ["ArchConfig", "AuxHeadCfg", "BlockOptions", "HeadCfg", "InceptionCfg", "StageCfg"]
_SHAPES = ["min_input_size", "spatial_sizes", "validate"]
__all__ = [
    *_CONFIG,
    *_SHAPES,
    "PRESETS",
    "GoogLeNet",
    "ModelStats",
    "build",
    "count_macs",
    "count_params",
    "get_preset",
    "list_presets",
    "measure",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys([*_CONFIG, *_SHAPES], "inas.model.config"),
        **dict.fromkeys(["ModelStats", "count_macs", "measure"], "inas.model.stats"),
        **dict.fromkeys(["GoogLeNet", "build", "count_params"], "inas.model.network"),
        **dict.fromkeys(["PRESETS", "get_preset", "list_presets"], "inas.model.presets"),
    },
)
