"""Turn a search space and an Optuna trial into a candidate, and describe what a space contains.

`sample` is define-by-run: it only asks the trial for values and assembles the config; it never
builds or trains anything. A module beyond the sampled depth of its stage asks for nothing, so its
dimensions are conditional on the depth.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import optuna

from inas.model.config import (
    ArchConfig,
    InceptionCfg,
    StageCfg,
    aux_head_names,
    aux_heads_at,
    module_name,
    validate,
)
from inas.model.presets import get_preset
from inas.space.schema import Candidate, Dim, SearchSpace, _label
from inas.train.recipe import TrainRecipe

SCALAR = (str, int, float, bool)
WIDENS = {"c1": ("c1",), "c3": ("c3_reduce", "c3"), "c5": ("c5_reduce", "c5"), "pool_proj": ("pool_proj",)}


def suggest(trial: optuna.trial.BaseTrial, name: str, dim: Dim) -> Any:
    """Ask the trial for one value of `dim`; fixed values ask nothing."""
    if dim.kind == "fixed":
        return dim.value
    if dim.kind == "categorical":
        if all(isinstance(c, SCALAR) for c in dim.choices):
            return trial.suggest_categorical(name, list(dim.choices))
        labels = [_label(c) for c in dim.choices]
        return dim.choices[labels.index(trial.suggest_categorical(name, labels))]
    if dim.kind == "int":
        return trial.suggest_int(name, int(dim.low), int(dim.high), step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(name, float(dim.low), float(dim.high), step=dim.step, log=dim.log)


def _scale(m: InceptionCfg, factors: dict[str, float], round_to: int) -> InceptionCfg:
    values = dataclasses.asdict(m)
    for branch, factor in factors.items():
        for f in WIDENS[branch]:
            values[f] = max(round_to, round(values[f] * factor / round_to) * round_to)
    return InceptionCfg(**values)


def _multipliers(trial: optuna.trial.BaseTrial, space: SearchSpace, prefix: str) -> dict[str, float]:
    ch = space.channels
    assert ch.multiplier is not None
    if ch.per_branch:
        return {b: suggest(trial, f"{prefix}.{b}", ch.multiplier) for b in ch.branches}
    factor = suggest(trial, prefix, ch.multiplier)
    return dict.fromkeys(ch.branches, factor)


def sample(space: SearchSpace, trial: optuna.trial.BaseTrial, num_classes: int | None = None) -> Candidate:
    """One candidate of `space`, with values asked of `trial`."""
    base = get_preset(suggest(trial, "base", space.base))
    ch = space.channels
    scope = ch.scope if ch.multiplier is not None else None
    net_factors = _multipliers(trial, space, "channels.multiplier") if scope == "network" else {}
    stages = []
    for i, stage in enumerate(base.stages):
        depth = suggest(trial, f"depth.{i + 3}", space.depth[i]) if i in space.depth else len(stage.modules)
        stage_factors = _multipliers(trial, space, f"channels.{i + 3}.multiplier") if scope == "stage" else {}
        modules = []
        for j in range(depth):
            # Positions past the base's depth repeat the stage's last module (as the seed's Long does).
            m = stage.modules[min(j, len(stage.modules) - 1)]
            name = module_name(i, j)
            if name in ch.tuples:
                m = InceptionCfg.of(suggest(trial, f"channels.{name}.tuple", ch.tuples[name]))
            factors = net_factors or stage_factors
            if scope == "module":
                factors = _multipliers(trial, space, f"channels.{name}.multiplier")
            modules.append(_scale(m, factors, ch.round_to) if factors else m)
        stages.append(StageCfg(tuple(modules), stage.downsample))
    block = dataclasses.replace(base.block, **{k: suggest(trial, f"block.{k}", d) for k, d in space.block.items()})
    head = dataclasses.replace(base.head, **{k: suggest(trial, f"head.{k}", d) for k, d in space.head.items()})
    # Heads follow the modules they are named after; without `aux_heads` the base keeps its own.
    names = suggest(trial, "aux_heads", space.aux_heads) if space.aux_heads is not None else aux_head_names(base)
    names = [n for n in names if int(n[0]) - 3 < len(stages)]
    like = base.aux_heads if space.aux_heads is None else ()
    aux = aux_heads_at(names, tuple(len(s.modules) for s in stages), like)
    arch = ArchConfig(
        stem=base.stem,
        stages=tuple(stages),
        block=block,
        head=head,
        aux_heads=aux,
        in_channels=base.in_channels,
        num_classes=num_classes or space.num_classes or base.num_classes,
        input_size=space.input_size or base.input_size,
    )
    recipe = {k: suggest(trial, f"recipe.{k}", d) for k, d in space.recipe.items()}
    TrainRecipe().with_overrides(recipe, f"{space.name} candidate recipe")
    return Candidate(validate(arch, f"{space.name} candidate"), recipe, dict(trial.params))


def sample_many(space: SearchSpace, n: int, seed: int | None = 0, num_classes: int | None = None) -> list[Candidate]:
    """Up to `n` distinct candidates drawn at random (fewer if the space has fewer)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, Candidate] = {}
    want = min(n, count_points(space))  # stop once a small space is exhausted
    for _ in range(max(20 * n, 100)):
        if len(found) >= want:
            break
        cand = sample(space, study.ask(), num_classes)
        found.setdefault(f"{cand.arch.hash()}:{sorted(cand.recipe.items())}", cand)
    return list(found.values())


# -- describing a space ----------------------------------------------------------------------


@dataclass(frozen=True)
class DimInfo:
    """A dimension as `inas space show` lists it; `condition` says when it exists."""

    name: str
    dim: Dim
    condition: str = ""


def _depth_range(space: SearchSpace, base: ArchConfig, stage: int) -> list[int]:
    return space.depth[stage].values() if stage in space.depth else [len(base.stages[stage].modules)]


def dimensions(space: SearchSpace) -> Iterator[DimInfo]:
    """Every parameter name `sample` can ask for, in the order it asks."""
    ch = space.channels
    yield DimInfo("base", space.base)
    bases = [get_preset(b) for b in space.base.values()]
    n_stages = max(len(b.stages) for b in bases)

    def mult(prefix: str, condition: str = "") -> Iterator[DimInfo]:
        assert ch.multiplier is not None
        names = [f"{prefix}.{b}" for b in ch.branches] if ch.per_branch else [prefix]
        yield from (DimInfo(n, ch.multiplier, condition) for n in names)

    scope = ch.scope if ch.multiplier is not None else None
    if scope == "network":
        yield from mult("channels.multiplier")
    for i in range(n_stages):
        if i in space.depth:
            yield DimInfo(f"depth.{i + 3}", space.depth[i])
        if scope == "stage":
            yield from mult(f"channels.{i + 3}.multiplier")
        depths = [d for b in bases if i < len(b.stages) for d in _depth_range(space, b, i)]
        always = min(depths)
        for j in range(max(depths)):
            name = module_name(i, j)
            # Without a depth dimension the stage's depth comes from the chosen base.
            cond = "" if j < always else f"depth.{i + 3} >= {j + 1}" if i in space.depth else f"base has {name}"
            if name in ch.tuples:
                yield DimInfo(f"channels.{name}.tuple", ch.tuples[name], cond)
            if scope == "module":
                yield from mult(f"channels.{name}.multiplier", cond)
    for group, dims in (("block", space.block), ("head", space.head)):
        yield from (DimInfo(f"{group}.{k}", d) for k, d in dims.items())
    if space.aux_heads is not None:
        yield DimInfo("aux_heads", space.aux_heads)
    yield from (DimInfo(f"recipe.{k}", d) for k, d in space.recipe.items())


def count_points(space: SearchSpace) -> float:
    """Number of distinct points (parameter assignments) of the space; inf with a float range."""
    ch = space.channels
    m = ch.multiplier.size() if ch.multiplier is not None else 1
    per = m ** (len(ch.branches) if ch.per_branch else 1)
    scope = ch.scope if ch.multiplier is not None else None
    flat = math.prod(d.size() for d in [*space.block.values(), *space.head.values(), *space.recipe.values()])
    if space.aux_heads is not None:
        flat *= space.aux_heads.size()
    total: float = 0  # exact integer arithmetic unless a float range makes it inf
    for base_name in space.base.values():
        base = get_preset(base_name)
        count = per if scope == "network" else 1
        for i in range(len(base.stages)):
            if i in space.depth and space.depth[i].kind == "float":
                return math.inf
            stage_count = 0
            for depth in _depth_range(space, base, i):
                ways = 1
                for j in range(depth):
                    name = module_name(i, j)
                    ways *= ch.tuples[name].size() if name in ch.tuples else 1
                    ways *= per if scope == "module" else 1
                stage_count += ways
            count *= stage_count * (per if scope == "stage" else 1)
        total += count * flat
    return total
