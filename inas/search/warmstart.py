"""`--warm-start seed`: the seeds' networks that lie inside a space, as sampled values to enqueue."""

from __future__ import annotations

from typing import Any

import optuna

from inas.errors import ConfigError
from inas.model.config import ArchConfig, aux_head_names
from inas.model.presets import PRESETS
from inas.space.sampling import SCALAR, dimensions, sample
from inas.space.schema import Dim, SearchSpace, _label
from inas.train.recipe import TrainRecipe


def _allowed(dim: Dim, value: Any) -> Any | None:
    """`value` as the sampler would store it, or None when the dimension cannot take it."""
    if dim.kind == "categorical":
        for choice in dim.choices:
            if choice == value or (isinstance(value, (list, tuple)) and tuple(choice) == tuple(value)):
                return choice if isinstance(choice, SCALAR) else _label(choice)
        return None
    if dim.kind in ("int", "float") and dim.low <= value <= dim.high:
        return value
    return None


def _guess(space: SearchSpace, base: str, target: ArchConfig) -> dict[str, Any] | None:
    """Sampled values that would rebuild `target` from `base`, or None where a value is out of reach."""
    params: dict[str, Any] = {}
    for info in dimensions(space):
        name, dim = info.name, info.dim
        if not dim.varies:
            continue
        parts = name.split(".")
        if name == "base":
            value: Any = base
        elif parts[0] == "depth":
            stage = int(parts[1]) - 3
            if stage >= len(target.stages):
                return None
            value = len(target.stages[stage].modules)
        elif parts[0] == "channels" and "multiplier" in parts:
            value = 1.0
        elif parts[0] == "channels" and parts[-1] == "tuple":
            stage, index = int(parts[1][0]) - 3, ord(parts[1][1]) - ord("a")
            if stage >= len(target.stages) or index >= len(target.stages[stage].modules):
                continue  # the module does not exist in the target: its dimension is not asked
            value = target.stages[stage].modules[index].as_tuple()
        elif parts[0] in ("block", "head"):
            value = getattr(getattr(target, parts[0]), parts[1])
        elif name == "aux_heads":
            value = aux_head_names(target)
        elif parts[0] == "recipe":
            value = getattr(TrainRecipe(), parts[1])
        else:
            return None
        allowed = _allowed(dim, value)
        if allowed is None:
            if parts[0] == "recipe":  # a recipe value does not change the network: take any
                allowed = dim.values()[0] if dim.kind != "float" else dim.low
            else:
                return None
        params[name] = allowed
    return params


def warm_start_points(space: SearchSpace, num_classes: int) -> list[tuple[str, dict[str, Any]]]:
    """(preset name, sampled values) for every seed network the space can build exactly."""
    points = []
    for name, preset in PRESETS.items():
        if not name.startswith("seed/"):
            continue
        target = preset.config.with_classes(num_classes)
        for base in space.base.values():
            params = _guess(space, base, target)
            if params is None:
                continue
            try:
                cand = sample(space, optuna.trial.FixedTrial(params), num_classes=num_classes)
            except (ConfigError, ValueError):
                continue
            if cand.arch.hash() == target.hash():
                points.append((name, params))
                break
    return points
