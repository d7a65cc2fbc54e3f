"""Registered networks from the seeds, each with the parameter counts it must have.

Channel tuples are the paper's table (3a ... 5b), used by every GoogLeNet in the seeds. The seed's
table (seed 000/002) gives only parameter counts for its variants; how each was recovered:

- `seed/short` (5,271,652): drop 4b and 4c. The only subset of the nine modules with that count.
- `seed/short2` (3,523,556): keep 3a, 3b, 4a, 5a, 5b. Keeping 4e instead of 5a has the same tuple and
  count; we keep stage 5 whole so Short2 continues Short's trimming of stage 4.
- `seed/long`, `seed/short3`, `seed/short4`: no arrangement of the paper's modules has the seed's
  counts, so these are the nearest faithful ones (seed count in brackets):
  long = two more copies of 5b at the end of stage 5, 9,539,556 (9,641,924, -1.1%);
  short3 = one module a stage, 3a / 4c / 5b, 1,965,164 (1,985,220, -1.0%);
  short4 = two modules left, 4a then 5b, 1,643,796 (1,650,084, -0.4%).
- `seed/naive`: every module naive (no reductions, pass-through pool) with a single 3x3 as its
  "5x5" branch: 65,736,148, exactly the seed's count.

The seed's network passes `eps=n5x5` to one BatchNorm by mistake (`nn.BatchNorm2d(n5x5, n5x5)`);
eps holds no parameter and we keep PyTorch's default, the evident intent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from inas.model.config import (
    ArchConfig,
    AuxHeadCfg,
    BlockOptions,
    HeadCfg,
    InceptionCfg,
    StageCfg,
)
from inas.registry import Registry

PAPER_TUPLES: dict[str, tuple[int, ...]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def stages_of(*stage_modules: tuple[str, ...], first_downsample: bool = False) -> tuple[StageCfg, ...]:
    """Stages from module names of the paper's table; a max-pool before every stage but the first."""
    return tuple(
        StageCfg(tuple(InceptionCfg.of(PAPER_TUPLES[n]) for n in names), downsample=first_downsample or i > 0)
        for i, names in enumerate(stage_modules)
    )


GOOGLENET_STAGES = (("3a", "3b"), ("4a", "4b", "4c", "4d", "4e"), ("5a", "5b"))


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    config: ArchConfig
    params: dict[int, int] = field(default_factory=dict)  # number of classes -> parameter count
    source: str = ""


def _seed(stages: tuple[tuple[str, ...], ...], **block) -> ArchConfig:
    return ArchConfig(
        stem="cifar",
        stages=stages_of(*stages),
        block=BlockOptions(kernel5=block.pop("kernel5", "3x3x2"), **block),
        head=HeadCfg(dropout=0.4),
        num_classes=100,
        input_size=32,
    )


_D2L_STAGES = stages_of(*GOOGLENET_STAGES, first_downsample=False)


def _d2l(norm: str) -> ArchConfig:
    """d2l's GoogLeNet: 1x96x96 Fashion-MNIST, real 5x5 branch, no dropout."""
    return ArchConfig(
        stem="d2l",
        stages=_D2L_STAGES,
        block=BlockOptions(kernel5="5x5", norm=norm),
        head=HeadCfg(dropout=0.0),
        in_channels=1,
        num_classes=10,
        input_size=96,
    )


PRESETS: Registry[Preset] = Registry(
    "preset",
    {
        p.name: p
        for p in [
            Preset(
                "seed/googlenet",
                "GoogLeNet for CIFAR (pytorch-cifar100): 3x3 stem to 192, BN after every conv, '5x5' = two 3x3",
                _seed(GOOGLENET_STAGES),
                {100: 6_258_500, 10: 6_166_250},
                "seed 000/002",
            ),
            Preset(
                "seed/naive",
                "the seed network without bottlenecks: no 1x1 reductions, pass-through pool, '5x5' = one 3x3",
                _seed(GOOGLENET_STAGES, kind="naive", kernel5="3x3"),
                {100: 65_736_148, 10: 65_291_098},
                "seed 000/002",
            ),
            Preset(
                "seed/long",
                "seed network with two modules added (copies of 5b); nearest to the seed's 9,641,924",
                _seed((GOOGLENET_STAGES[0], GOOGLENET_STAGES[1], ("5a", "5b", "5b", "5b"))),
                {100: 9_539_556, 10: 9_447_306},
                "seed 000/002 (approximate)",
            ),
            Preset(
                "seed/short",
                "seed network without 4b and 4c",
                _seed((("3a", "3b"), ("4a", "4d", "4e"), ("5a", "5b"))),
                {100: 5_271_652, 10: 5_179_402},
                "seed 000/002",
            ),
            Preset(
                "seed/short2",
                "seed network with 3a, 3b, 4a, 5a, 5b",
                _seed((("3a", "3b"), ("4a",), ("5a", "5b"))),
                {100: 3_523_556, 10: 3_431_306},
                "seed 000/002",
            ),
            Preset(
                "seed/short3",
                "one module a stage (3a, 4c, 5b); nearest to the seed's 1,985,220",
                _seed((("3a",), ("4c",), ("5b",))),
                {100: 1_965_164, 10: 1_872_914},
                "seed 000/002 (approximate)",
            ),
            Preset(
                "seed/short4",
                "two modules left (4a, 5b); nearest to the seed's 1,650,084",
                _seed((("4a",), ("5b",))),
                {100: 1_643_796, 10: 1_551_546},
                "seed 000/002 (approximate)",
            ),
            Preset(
                "d2l/googlenet",
                "d2l GoogLeNet: 1x96x96 input, 7x7/2 stem, real 5x5 branch, no BatchNorm",
                _d2l(norm="none"),
                {10: 5_977_530},
                "seed 003",
            ),
            Preset(
                "d2l/googlenet-bn",
                "d2l GoogLeNet with BatchNorm in the stem and after each branch's last conv (seed 001 exercise)",
                _d2l(norm="branch_end"),
                {10: 5_989_146},
                "seed 001",
            ),
            Preset(
                "paper/googlenet",
                "the paper's 224x224 GoogLeNet (LRN stem, real 5x5, dropout 0.4) with aux heads on 4a and 4d",
                ArchConfig(
                    stem="paper",
                    stages=_D2L_STAGES,
                    block=BlockOptions(kernel5="5x5", norm="none"),
                    head=HeadCfg(dropout=0.4),
                    aux_heads=(AuxHeadCfg(stage=1, module=0), AuxHeadCfg(stage=1, module=3)),
                    in_channels=3,
                    num_classes=1000,
                    input_size=224,
                ),
                {1000: 13_378_280},  # 6,998,552 without the two auxiliary heads
                "seed 004",
            ),
        ]
    },
)


def list_presets() -> list[str]:
    return list(PRESETS)


def get_preset(name: str, num_classes: int | None = None) -> ArchConfig:
    """The preset's config, with `num_classes` replaced when given."""
    cfg = PRESETS.get(name).config
    return cfg if num_classes is None else dataclasses.replace(cfg, num_classes=num_classes)


def preset_of(cfg: ArchConfig) -> str | None:
    """Name of the preset that builds the same network (any class count), if one does."""
    for name, p in PRESETS.items():
        if p.config.with_classes(cfg.num_classes).hash() == cfg.hash():
            return name
    return None
