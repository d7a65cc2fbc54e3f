"""Which spaces one weight-sharing network can hold, and the widths that network has.

A supernet holds every candidate of a space whose dimensions are stage depths and branch widths
(channel tuples or multipliers) with one base and fixed block options. Each module position is as wide,
branch by branch, as the widest any candidate asks of it; the input of a stage's first module is laid
out, branch by branch, as wide as the widest of the modules that can precede it (the last module of
the previous stage at each of its depths), which need not be a candidate itself.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from inas.errors import SpaceError
from inas.model.config import (
    BRANCH_WIDTHS,
    STEM_CHANNELS,
    ArchConfig,
    InceptionCfg,
    StageCfg,
    scale_module,
    scale_width,
)
from inas.model.presets import get_preset
from inas.space.dims import depth_bounds
from inas.space.schema import Candidate, SearchSpace

# The output of an Inception module, branch by branch, in the order `torch.cat` lays them out.
OUT_BRANCHES = tuple(BRANCH_WIDTHS)  # c1, c3, c5, pool_proj
Widths = tuple[int, ...]


def out_widths(m: InceptionCfg) -> Widths:
    """The channels each branch of a (bottleneck) module contributes to its output, in order."""
    return (m.c1, m.c3, m.c5, m.pool_proj)


@dataclass(frozen=True)
class SupernetLayout:
    """The widths of the supernet of `space` at the training width `width`.

    `widest`: every stage at its greatest depth, every module position at the widest channels any
    candidate gives it (scaled to `width`). `inputs[i][j]`: the branch-by-branch layout of module
    (i, j)'s input (the stem's one block for the first module); `head`: the classifier's input."""

    space: SearchSpace
    widest: ArchConfig
    inputs: tuple[tuple[Widths, ...], ...]
    head: Widths
    width: float = 1.0

    def trained(self, arch: ArchConfig) -> ArchConfig:
        """The copy of a full-size candidate this supernet holds (the budget's width)."""
        return scale_width(arch, self.width)


def refuse_dimensions(space: SearchSpace) -> None:
    """Raise naming the first dimension or option a supernet cannot hold."""

    def no(what: str, why: str) -> SpaceError:
        return SpaceError(
            f"{space.name}: {what}: {why}; a supernet holds spaces of stage depths and branch widths only "
            "(train such a space stand-alone, without --evaluator supernet)"
        )

    if space.base.varies:
        raise no("base", "the base network varies")
    for role, dims in (("block", space.block), ("head", space.head), ("recipe", space.recipe)):
        for key, dim in dims.items():
            if dim.varies:
                raise no(f"{role}.{key}", "varies")
    if space.aux_heads is not None and (space.aux_heads.varies or space.aux_heads.value):
        raise no("aux_heads", "auxiliary heads are not held")
    if space.channels.multiplier is not None and space.channels.multiplier.kind == "float":
        raise no("channels.multiplier", "a float range has no widest value; list the choices")
    arch = _base(space)
    if arch.aux_heads:
        raise no(f"base {space.base.value}", "it has auxiliary heads")
    if arch.block.kind != "bottleneck":
        raise no("block.kind", f"{arch.block.kind} modules pass their input through the pool branch")
    if arch.block.residual:
        raise no("block.residual", "a shortcut's shape depends on the candidate's widths")


def _base(space: SearchSpace) -> ArchConfig:
    """The base preset with the space's fixed block options applied, as `sample` applies them."""
    base = get_preset(space.base.value)
    return dataclasses.replace(
        base, block=dataclasses.replace(base.block, **{k: d.value for k, d in space.block.items()})
    )


def _size(value: Any) -> float:
    """How much a value asks for: a number itself, a channel tuple its channels."""
    return sum(value) if isinstance(value, (list, tuple)) else value


def _widest_module(space: SearchSpace, stage: StageCfg, name: str, j: int) -> InceptionCfg:
    """The widest channels any candidate gives module position `j` (named `name`) of a stage: the
    widest of each field over its tuples, scaled by the largest multiplier (rounding is monotone)."""
    ch = space.channels
    base = stage.modules[min(j, len(stage.modules) - 1)]
    tuples = [InceptionCfg.of(t) for t in ch.tuples[name].values()] if name in ch.tuples else [base]
    fields = [max(values) for values in zip(*(t.as_tuple() for t in tuples), strict=True)]
    m = InceptionCfg.of(fields)
    if ch.multiplier is not None:
        m = scale_module(m, dict.fromkeys(ch.branches, max(ch.multiplier.values())), ch.round_to)
    return m


def supernet_layout(space: SearchSpace, num_classes: int, in_channels: int, width: float = 1.0) -> SupernetLayout:
    """The layout of `space`'s supernet for a dataset's classes and channels, at training width `width`;
    refused with one line for a space it cannot hold."""
    from inas.model.config import module_name

    refuse_dimensions(space)
    base = _base(space)
    stages = []
    bounds = []
    for i, stage in enumerate(base.stages):
        lo, hi = depth_bounds(space, base, i)
        bounds.append((lo, hi, space.depth.get(i)))
        modules = tuple(_widest_module(space, stage, module_name(i, j), j) for j in range(hi))
        stages.append(StageCfg(modules, stage.downsample))
    widest = dataclasses.replace(
        base,
        stages=tuple(stages),
        num_classes=num_classes,
        in_channels=in_channels,
        input_size=space.input_size or base.input_size,
    )
    widest = scale_width(widest, width)
    inputs: list[tuple[Widths, ...]] = []
    previous: Widths = (STEM_CHANNELS,)
    for i, stage in enumerate(widest.stages):
        outs = [out_widths(m) for m in stage.modules]
        inputs.append((previous, *outs[:-1]))
        lo, hi, dim = bounds[i]
        depths = dim.values() if dim is not None else [hi]
        # The next stage's first module may follow this stage's last module at any depth it can have.
        previous = tuple(max(outs[d - 1][b] for d in depths) for b in range(len(OUT_BRANCHES)))
    return SupernetLayout(space, widest, tuple(inputs), previous, width)


class ExtremeTrial:
    """A stand-in for an Optuna trial that answers every dimension with its largest (or smallest) value,
    so `sample` builds the sandwich rule's largest and smallest candidates."""

    def __init__(self, largest: bool):
        self.pick = max if largest else min
        self.params: dict[str, Any] = {}

    def _answer(self, name: str, values: list[Any]) -> Any:
        self.params[name] = self.pick(values, key=_label_size)
        return self.params[name]

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return self._answer(name, list(choices))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return self._answer(name, list(range(low, high + 1, step)))

    def suggest_float(self, name: str, low: float, high: float, step=None, log: bool = False) -> float:
        return self._answer(name, [low, high])


def _label_size(value: Any) -> float:
    """How much a choice asks for: a number itself; a channel tuple, which `sample` passes as its label
    ("64+96+128+16+32+32"), the sum of its channels."""
    if isinstance(value, str):
        return sum(int(v) for v in value.split("+") if v.isdigit())
    return _size(value)


class RandomTrial:
    """A stand-in for an Optuna trial that answers each dimension uniformly at random from `rng`:
    candidates for a training step without an Optuna study growing by one trial a step."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.params: dict[str, Any] = {}

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.params[name] = self.rng.choice(list(choices))
        return self.params[name]

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        self.params[name] = self.rng.randrange(low, high + 1, step)
        return self.params[name]

    def suggest_float(self, name: str, low: float, high: float, step=None, log: bool = False) -> float:
        self.params[name] = self.rng.uniform(low, high)
        return self.params[name]


def largest(space: SearchSpace, num_classes: int) -> Candidate:
    from inas.space.sampling import sample  # Optuna: not for the CLI's checks of a space

    return sample(space, ExtremeTrial(largest=True), num_classes)  # type: ignore[arg-type]


def smallest(space: SearchSpace, num_classes: int) -> Candidate:
    from inas.space.sampling import sample

    return sample(space, ExtremeTrial(largest=False), num_classes)  # type: ignore[arg-type]


def random_candidate(space: SearchSpace, rng: random.Random, num_classes: int) -> Candidate:
    from inas.space.sampling import sample

    return sample(space, RandomTrial(rng), num_classes)  # type: ignore[arg-type]
