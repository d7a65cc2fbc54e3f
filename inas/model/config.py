"""Architecture configs: frozen dataclasses that describe a GoogLeNet candidate completely.

A config is plain data: it round-trips through JSON, hashes stably (so duplicate candidates are
recognised), and validates without building a tensor. `inas.model.network.build` turns one into an
`nn.Module`; `spatial_sizes` and `min_input_size` answer shape questions by arithmetic alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inas import checks, limits
from inas.errors import ConfigError, shown

STEMS = ("cifar", "d2l", "paper")
"""`cifar`: one 3x3 conv to 192 (pytorch-cifar100, seed 000); `d2l`: 7x7/2 conv, pool, 1x1, 3x3 to
192, pool (seed 003); `paper`: the d2l stem plus the paper's local response normalisation."""
BLOCK_KINDS = ("bottleneck", "naive")
KERNEL5 = ("5x5", "3x3x2", "3x3")
"""What the "5x5" branch really is: a 5x5 conv, two stacked 3x3 convs (the seed), or one 3x3 conv."""
NORMS = ("all", "branch_end", "none")
"""BatchNorm after every conv (seed 000), after each branch's last conv only (d2l, seed 001), or none."""

STEM_CHANNELS = 192
AUX_POOL = 5  # the paper's auxiliary heads start with a 5x5/3 average pool
AUX_STRIDE = 3
BRANCHES = ("c1", "c3_reduce", "c3", "c5_reduce", "c5", "pool_proj")
# The channel counts a branch's width covers, as a space's `channels.branches` names them.
BRANCH_WIDTHS = {"c1": ("c1",), "c3": ("c3_reduce", "c3"), "c5": ("c5_reduce", "c5"), "pool_proj": ("pool_proj",)}
# What a budget's reduced-width copy rounds channels to (a space rounds to its own `channels.round_to`).
BUDGET_MULTIPLE = 4


@dataclass(frozen=True)
class InceptionCfg:
    """Channel tuple of one Inception module, in the paper's table order."""

    c1: int
    c3_reduce: int
    c3: int
    c5_reduce: int
    c5: int
    pool_proj: int

    @classmethod
    def of(cls, values: tuple[int, ...] | list[int]) -> InceptionCfg:
        return cls(*values)

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (self.c1, self.c3_reduce, self.c3, self.c5_reduce, self.c5, self.pool_proj)


@dataclass(frozen=True)
class BlockOptions:
    """Options shared by every Inception module of a network."""

    kind: str = "bottleneck"  # "naive": no 1x1 reductions; the pool branch passes its input through
    kernel5: str = "3x3x2"
    factorized: bool = False  # each n x n conv becomes 1 x n then n x 1 (Inception v3)
    norm: str = "all"
    residual: bool = False  # add the input (1x1-projected where channels differ) to the concatenation, then ReLU


@dataclass(frozen=True)
class StageCfg:
    """A run of Inception modules at one resolution."""

    modules: tuple[InceptionCfg, ...]
    downsample: bool = True  # a 3x3/2 max-pool before the stage


@dataclass(frozen=True)
class AuxHeadCfg:
    """The paper's auxiliary classifier, tapping one module's output; used in training only."""

    stage: int
    module: int
    loss_weight: float = 0.3
    conv_channels: int = 128
    fc_features: int = 1024
    dropout: float = 0.7


@dataclass(frozen=True)
class HeadCfg:
    """Global average pooling, dropout, linear."""

    dropout: float = 0.4


@dataclass(frozen=True)
class ArchConfig:
    """Everything needed to build one candidate network."""

    stem: str
    stages: tuple[StageCfg, ...]
    block: BlockOptions = field(default_factory=BlockOptions)
    head: HeadCfg = field(default_factory=HeadCfg)
    aux_heads: tuple[AuxHeadCfg, ...] = ()
    in_channels: int = 3
    num_classes: int = 10
    input_size: int = 32  # the square image size the network is designed for (sizes aux heads)

    # -- derived views ---------------------------------------------------------------------
    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(s.modules) for s in self.stages)

    @property
    def num_modules(self) -> int:
        return sum(self.depths)

    def module_names(self) -> list[str]:
        """GoogLeNet names of the modules in order: 3a, 3b, 4a, ..."""
        return [module_name(i, j) for i, s in enumerate(self.stages) for j in range(len(s.modules))]

    def with_classes(self, num_classes: int) -> ArchConfig:
        return dataclasses.replace(self, num_classes=num_classes)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for stage in d["stages"]:
            stage["modules"] = [InceptionCfg(**m).as_tuple() for m in stage["modules"]]
        return json.loads(json.dumps(d))  # plain lists, as JSON gives them back

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, where: str = "config") -> ArchConfig:
        return _arch_from_dict(data, where)

    @classmethod
    def from_json(cls, text: str, where: str = "config") -> ArchConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(
                f"{where}: not valid JSON ({e}); write an object like `inas space sample --json` prints"
            ) from None
        return cls.from_dict(data, where)

    def canonical(self) -> ArchConfig:
        """The same network in one spelling: unused fields zeroed, numbers as floats, heads in order."""
        stages = self.stages
        if self.block.kind == "naive":
            stages = tuple(
                dataclasses.replace(
                    s, modules=tuple(dataclasses.replace(m, c3_reduce=0, c5_reduce=0, pool_proj=0) for m in s.modules)
                )
                for s in stages
            )
        heads = sorted(
            (
                dataclasses.replace(a, loss_weight=float(a.loss_weight), dropout=float(a.dropout))
                for a in self.aux_heads
            ),
            key=lambda a: (a.stage, a.module),
        )
        return dataclasses.replace(self, stages=stages, head=HeadCfg(float(self.head.dropout)), aux_heads=tuple(heads))

    def hash(self) -> str:
        """Stable 12-hex-digit id of the network this config builds."""
        return hashlib.sha256(self.canonical().to_json().encode()).hexdigest()[:12]


def module_name(stage: int, module: int) -> str:
    """GoogLeNet naming: stage 0 is "3", so (1, 0) is "4a"."""
    letter = chr(ord("a") + module) if module < 26 else f"_{module}"
    return f"{stage + 3}{letter}"


def parse_module_name(name: str) -> tuple[int, int]:
    """(stage, module) indices of a GoogLeNet module name, the inverse of `module_name`: "4a" is (1, 0).
    The caller has checked the name's form (a space's `MODULE_NAME`, or a name `module_name` made)."""
    stage, sep, index = name.partition("_")
    if sep:
        return int(stage) - 3, int(index)
    return int(name[:-1]) - 3, ord(name[-1]) - ord("a")


def aux_heads_at(
    names: tuple[str, ...] | list[str], depths: tuple[int, ...], like: tuple[AuxHeadCfg, ...] = ()
) -> tuple[AuxHeadCfg, ...]:
    """Heads on named modules ("4a"), in module order; a name past its stage's depth means the
    stage's last module. `like` gives each head's settings by position (default: the paper's)."""
    heads: dict[tuple[int, int], AuxHeadCfg] = {}
    for i, name in enumerate(names):
        stage, module = parse_module_name(name)
        module = min(module, depths[stage] - 1)
        template = like[i] if i < len(like) else AuxHeadCfg(stage=stage, module=module)
        heads.setdefault((stage, module), dataclasses.replace(template, stage=stage, module=module))
    return tuple(heads[k] for k in sorted(heads))


def aux_head_names(cfg: ArchConfig) -> tuple[str, ...]:
    return tuple(module_name(a.stage, a.module) for a in cfg.aux_heads)


def scale_module(m: InceptionCfg, factors: Mapping[str, float], multiple: int) -> InceptionCfg:
    """`m` with each branch named in `factors` (c1, c3, c5, pool_proj; a branch's reduction scales with
    it) scaled by its factor and rounded to a multiple of `multiple`, at least `multiple`: the one
    rounding of a width, for a space's multipliers and a budget's reduced width alike. Other branches
    keep their channels."""
    values = dataclasses.asdict(m)
    for branch, factor in factors.items():
        for f in BRANCH_WIDTHS[branch]:
            values[f] = max(multiple, round(values[f] * factor / multiple) * multiple)
    return InceptionCfg(**values)


def scale_width(cfg: ArchConfig, factor: float, multiple: int = BUDGET_MULTIPLE) -> ArchConfig:
    """The same network with every Inception channel count scaled by `factor` (`scale_module` on every
    branch): a reduced-width copy, cheaper to train, with the same depth and options. The stem and the
    auxiliary heads keep their sizes; a factor of 1 is the network itself, unrounded."""
    if factor == 1:
        return cfg
    factors = dict.fromkeys(BRANCH_WIDTHS, factor)
    stages = tuple(
        dataclasses.replace(s, modules=tuple(scale_module(m, factors, multiple) for m in s.modules)) for s in cfg.stages
    )
    return dataclasses.replace(cfg, stages=stages)


# -- shape arithmetic (no tensors) ---------------------------------------------------------


def _out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def stem_output_size(stem: str, size: int) -> int:
    if stem == "cifar":
        return size  # 3x3 conv, padding 1
    size = _out(size, 7, 2, 3)  # 7x7/2 conv
    size = _out(size, 3, 2, 1)  # 3x3/2 max-pool
    return _out(size, 3, 2, 1)  # 1x1 and 3x3 convs keep the size; 3x3/2 max-pool


def spatial_sizes(cfg: ArchConfig, size: int) -> list[int]:
    """Side of each stage's feature maps for a `size` x `size` input."""
    sizes = []
    size = stem_output_size(cfg.stem, size)
    for stage in cfg.stages:
        if stage.downsample:
            size = _out(size, 3, 2, 1)
        sizes.append(size)
    return sizes


def aux_pool_size(feature_size: int) -> int:
    return _out(feature_size, AUX_POOL, AUX_STRIDE, 0)


def accepts(cfg: ArchConfig, size: int) -> bool:
    """Whether every layer, auxiliary heads included, has at least a 1x1 output at this input."""
    if size < 1:
        return False
    sizes = spatial_sizes(cfg, size)
    if min(sizes, default=size) < 1:
        return False
    return all(aux_pool_size(sizes[a.stage]) >= 1 for a in cfg.aux_heads if a.stage < len(sizes))


def min_input_size(cfg: ArchConfig, limit: int = 4096) -> int:
    """Smallest square input the network accepts.

    Every pool in GoogLeNet is padded, so without auxiliary heads even 1x1 passes; the paper's
    auxiliary heads (5x5/3 average pool, unpadded) are what set a real floor.
    """
    for size in range(1, limit + 1):
        if accepts(cfg, size):
            return size
    raise ConfigError(f"no input up to {limit}x{limit} fits this network; remove auxiliary heads or downsampling")


# -- validation ----------------------------------------------------------------------------


def validate(cfg: ArchConfig, where: str = "config") -> ArchConfig:
    """Raise `ConfigError` naming the first field that cannot be built; return the config otherwise."""
    checks.choice(cfg.stem, STEMS, f"{where}.stem")
    checks.choice(cfg.block.kind, BLOCK_KINDS, f"{where}.block.kind")
    checks.choice(cfg.block.kernel5, KERNEL5, f"{where}.block.kernel5")
    checks.choice(cfg.block.norm, NORMS, f"{where}.block.norm")
    for name in ("factorized", "residual"):
        checks.boolean(getattr(cfg.block, name), f"{where}.block.{name}")
    for name, limit, unit in (
        ("in_channels", limits.MAX_CHANNELS, "channels"),
        ("num_classes", limits.MAX_CLASSES, "classes"),
        ("input_size", limits.MAX_INPUT_SIZE, "pixels"),
    ):
        checks.at_most(checks.positive_int(getattr(cfg, name), f"{where}.{name}"), limit, f"{where}.{name}", unit)
    checks.fraction(cfg.head.dropout, f"{where}.head.dropout")
    if not cfg.stages:
        raise ConfigError(f"{where}.stages: a network needs at least one stage of Inception modules")
    checks.at_most(len(cfg.stages), limits.MAX_STAGES, f"{where}.stages", "stages")
    used = BRANCHES if cfg.block.kind == "bottleneck" else ("c1", "c3", "c5")
    for i, stage in enumerate(cfg.stages):
        if not stage.modules:
            raise ConfigError(f"{where}.stages[{i}].modules: a stage needs at least one module (depth >= 1)")
        checks.at_most(len(stage.modules), limits.MAX_MODULES_PER_STAGE, f"{where}.stages[{i}].modules", "modules")
        for j, m in enumerate(stage.modules):
            for name in used:
                at = f"{where}.stages[{i}].modules[{j}].{name}"
                checks.at_most(checks.positive_int(getattr(m, name), at), limits.MAX_CHANNELS, at, "channels")
    sizes = spatial_sizes(cfg, cfg.input_size)
    seen = set()
    for k, aux in enumerate(cfg.aux_heads):
        at = f"{where}.aux_heads[{k}]"
        if not (isinstance(aux.stage, int) and 0 <= aux.stage < len(cfg.stages)):
            raise ConfigError(f"{at}.stage: {shown(aux.stage)} is not a stage index (0..{len(cfg.stages) - 1})")
        depth = len(cfg.stages[aux.stage].modules)
        if not (isinstance(aux.module, int) and 0 <= aux.module < depth):
            raise ConfigError(f"{at}.module: {shown(aux.module)} is not a module of stage {aux.stage} (0..{depth - 1})")
        if (aux.stage, aux.module) in seen:
            raise ConfigError(f"{at}: a second head on module {module_name(aux.stage, aux.module)}; keep one")
        seen.add((aux.stage, aux.module))
        if not (isinstance(aux.loss_weight, (int, float)) and aux.loss_weight > 0):
            raise ConfigError(f"{at}.loss_weight: must be a positive number, got {shown(aux.loss_weight)}")
        for name in ("conv_channels", "fc_features"):
            value = checks.positive_int(getattr(aux, name), f"{at}.{name}")
            checks.at_most(value, limits.MAX_CHANNELS, f"{at}.{name}", "channels")
        checks.fraction(aux.dropout, f"{at}.dropout")
        if sizes[aux.stage] < AUX_POOL:
            raise ConfigError(
                f"{at}: module {module_name(aux.stage, aux.module)} has {sizes[aux.stage]}x{sizes[aux.stage]} "
                f"features at input {cfg.input_size}, below the head's {AUX_POOL}x{AUX_POOL} pool; "
                "tap an earlier stage, raise input_size or drop the head"
            )
    if min(sizes) < 1:
        raise ConfigError(
            f"{where}: the input of {cfg.input_size}x{cfg.input_size} shrinks below 1x1; raise input_size"
        )
    return cfg


# -- parsing -------------------------------------------------------------------------------


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _check_keys(data: Any, cls: type, where: str, required: tuple[str, ...] = ()) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object with keys {', '.join(_fields(cls))}, got {type(data).__name__}")
    known = _fields(cls)
    for key in data:
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key; valid keys are {', '.join(known)}")
    for key in required:
        if key not in data:
            raise ConfigError(f"{where}.{key}: missing; add it")
    return data


def _typed(data: dict, cls: type, where: str) -> dict:
    """Check plain field types (int/float/bool/str) so JSON mistakes fail here, not in torch."""
    out = {}
    for name, value in data.items():
        default = _fields(cls)[name].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{where}.{name}: must be true or false, got {shown(value)}")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{where}.{name}: must be a string, got {shown(value)}")
        if isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where}.{name}: must be a number, got {shown(value)}")
        if type(default) is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{where}.{name}: must be an integer, got {shown(value)}")
        out[name] = value
    return out


def parse_module(value: Any, where: str) -> InceptionCfg:
    if isinstance(value, dict):
        _check_keys(value, InceptionCfg, where, required=BRANCHES)
        value = [value[b] for b in BRANCHES]
    if not isinstance(value, (list, tuple)) or len(value) != 6:
        raise ConfigError(
            f"{where}: expected 6 channels [c1, c3_reduce, c3, c5_reduce, c5, pool_proj], got {shown(value)}"
        )
    for b, v in zip(BRANCHES, value, strict=True):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{where}.{b}: must be a positive integer, got {shown(v)}")
        checks.at_most(v, limits.MAX_CHANNELS, f"{where}.{b}", "channels")
    return InceptionCfg.of(value)


def _arch_from_dict(data: Any, where: str) -> ArchConfig:
    data = _check_keys(data, ArchConfig, where, required=("stem", "stages"))
    stages_raw = data["stages"]
    if not isinstance(stages_raw, (list, tuple)):
        raise ConfigError(f"{where}.stages: expected a list of stages, got {type(stages_raw).__name__}")
    stages = []
    for i, s in enumerate(stages_raw):
        at = f"{where}.stages[{i}]"
        _check_keys(s, StageCfg, at, required=("modules",))
        if not isinstance(s["modules"], (list, tuple)):
            raise ConfigError(f"{at}.modules: expected a list of channel tuples")
        mods = tuple(parse_module(m, f"{at}.modules[{j}]") for j, m in enumerate(s["modules"]))
        down = s.get("downsample", True)
        if not isinstance(down, bool):
            raise ConfigError(f"{at}.downsample: must be true or false, got {shown(down)}")
        stages.append(StageCfg(mods, down))
    block = BlockOptions(
        **_typed(_check_keys(data.get("block", {}), BlockOptions, f"{where}.block"), BlockOptions, f"{where}.block")
    )
    head = HeadCfg(**_typed(_check_keys(data.get("head", {}), HeadCfg, f"{where}.head"), HeadCfg, f"{where}.head"))
    aux_raw = data.get("aux_heads", [])
    if not isinstance(aux_raw, (list, tuple)):
        raise ConfigError(f"{where}.aux_heads: expected a list, got {type(aux_raw).__name__}")
    aux = []
    for k, a in enumerate(aux_raw):
        at = f"{where}.aux_heads[{k}]"
        _check_keys(a, AuxHeadCfg, at, required=("stage", "module"))
        for key in ("stage", "module"):
            if isinstance(a[key], bool) or not isinstance(a[key], int):
                raise ConfigError(f"{at}.{key}: must be an integer, got {shown(a[key])}")
        aux.append(AuxHeadCfg(**_typed(a, AuxHeadCfg, at)))
    rest = {k: data[k] for k in ("stem", "in_channels", "num_classes", "input_size") if k in data}
    if not isinstance(rest["stem"], str):
        raise ConfigError(f"{where}.stem: must be one of {', '.join(STEMS)}, got {shown(rest['stem'])}")
    rest = _typed(rest, ArchConfig, where)
    cfg = ArchConfig(stages=tuple(stages), block=block, head=head, aux_heads=tuple(aux), **rest)
    return validate(cfg, where)
