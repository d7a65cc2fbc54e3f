"""Turn a search space and an Optuna trial into a candidate (the dimensions themselves: `inas.space.dims`).

`sample` is define-by-run: it only asks the trial for values and assembles the config; it never
builds or trains anything. A module beyond the sampled depth of its stage asks for nothing, so its
dimensions are conditional on the depth.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import optuna

from inas.model.config import (
    ArchConfig,
    InceptionCfg,
    StageCfg,
    aux_head_names,
    aux_heads_at,
    parse_module_name,
    scale_module,
    validate,
)
from inas.model.presets import get_preset
from inas.space.dims import count_points, dimensions
from inas.space.schema import Candidate, Dim, SearchSpace, _label
from inas.train.recipe import TrainRecipe

SCALAR = (str, int, float, bool)


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


def sample(space: SearchSpace, trial: optuna.trial.BaseTrial, num_classes: int | None = None) -> Candidate:
    """One candidate of `space`, with values asked of `trial` in the order of `dimensions`. A module
    beyond its stage's depth, or a stage the chosen base does not have, asks for nothing."""
    base: ArchConfig | None = None
    depths: dict[int, int] = {}
    got: dict[tuple, Any] = {}  # (role, stage, module, key) -> value
    for spec in dimensions(space):
        if spec.stage is not None:
            assert base is not None  # "base" comes first
            if spec.stage >= len(base.stages):
                continue
            if spec.module is not None and spec.module >= depths[spec.stage]:
                continue
        value = suggest(trial, spec.name, spec.dim)
        got[(spec.role, spec.stage, spec.module, spec.key)] = value
        if spec.role == "base":
            base = get_preset(value)
            depths = {i: len(s.modules) for i, s in enumerate(base.stages)}
        elif spec.role == "depth":
            depths[spec.stage] = value
    assert base is not None
    ch = space.channels
    scope = ch.scope if ch.multiplier is not None else None

    def factors(i: int, j: int) -> dict[str, float]:
        at = {"network": (None, None), "stage": (i, None), "module": (i, j)}[scope]
        if ch.per_branch:
            return {b: got[("multiplier", *at, b)] for b in ch.branches}
        return dict.fromkeys(ch.branches, got[("multiplier", *at, None)])

    stages = []
    for i, stage in enumerate(base.stages):
        modules = []
        for j in range(depths[i]):
            # Positions past the base's depth repeat the stage's last module (as the seed's Long does).
            m = stage.modules[min(j, len(stage.modules) - 1)]
            if ("tuple", i, j, None) in got:
                m = InceptionCfg.of(got[("tuple", i, j, None)])
            modules.append(scale_module(m, factors(i, j), ch.round_to) if scope else m)
        stages.append(StageCfg(tuple(modules), stage.downsample))
    block = dataclasses.replace(base.block, **{k: got[("block", None, None, k)] for k in space.block})
    head = dataclasses.replace(base.head, **{k: got[("head", None, None, k)] for k in space.head})
    # Heads follow the modules they are named after; without `aux_heads` the base keeps its own.
    names = got[("aux_heads", None, None, None)] if space.aux_heads is not None else aux_head_names(base)
    names = [n for n in names if parse_module_name(n)[0] < len(stages)]
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
    recipe = {k: got[("recipe", None, None, k)] for k in space.recipe}
    TrainRecipe().with_overrides(recipe, f"{space.name} candidate recipe")
    return Candidate(validate(arch, f"{space.name} candidate"), recipe, dict(trial.params))


def resolve(
    space: SearchSpace, params: dict[str, Any], base: TrainRecipe, num_classes: int, channels: int
) -> tuple[ArchConfig, TrainRecipe]:
    """The network and the recipe a trial with these sampled values trains: the dataset sets the
    classes and the stem's channels, the candidate's recipe values override `base`."""
    cand = sample(space, optuna.trial.FixedTrial(params), num_classes=num_classes)
    arch = cand.arch if cand.arch.in_channels == channels else dataclasses.replace(cand.arch, in_channels=channels)
    return arch, base.with_overrides(cand.recipe)


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
