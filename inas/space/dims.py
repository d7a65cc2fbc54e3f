"""The one walk of a space: every dimension a candidate may ask for, with where it applies.

`sample` asks them in this order, `inas space show` lists them, `count_points` counts with them and the
warm start reads a network's values for them; none of those walks the space on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inas.model.config import ArchConfig, module_name, parse_module_name
from inas.model.presets import get_preset
from inas.space.schema import Dim, SearchSpace


@dataclass(frozen=True)
class DimSpec:
    """One dimension: its parameter name, values and condition (as `inas space show` lists them), what
    it sets (`role`: base, the preset; depth, a stage's; multiplier, a width; tuple, a module's channels;
    block or head, an option; aux_heads; recipe, a value), and where it applies: `stage` and `module`
    indices (None: not tied to one) and `key` (the block, head or recipe field; the branch of a
    per-branch multiplier)."""

    name: str
    dim: Dim
    role: str
    stage: int | None = None
    module: int | None = None
    key: str | None = None
    condition: str = ""


def depth_bounds(space: SearchSpace, base: ArchConfig, stage: int) -> tuple[int, int]:
    """The fewest and most modules stage `stage` of `base` can have in this space (no list is made)."""
    if stage not in space.depth:
        n = len(base.stages[stage].modules)
        return n, n
    d = space.depth[stage]
    if d.kind == "categorical":
        return min(d.choices), max(d.choices)
    if d.kind == "fixed":
        return d.value, d.value
    return int(d.low), int(d.high)


def dimensions(space: SearchSpace) -> list[DimSpec]:
    """Every parameter `sample` can ask for, in the order it asks."""
    ch = space.channels
    scope = ch.scope if ch.multiplier is not None else None
    specs = [DimSpec("base", space.base, "base")]
    bases = [get_preset(b) for b in space.base.values()]

    def mult(prefix: str, stage: int | None = None, module: int | None = None, condition: str = "") -> list[DimSpec]:
        assert ch.multiplier is not None
        if not ch.per_branch:
            return [DimSpec(prefix, ch.multiplier, "multiplier", stage, module, None, condition)]
        return [DimSpec(f"{prefix}.{b}", ch.multiplier, "multiplier", stage, module, b, condition) for b in ch.branches]

    if scope == "network":
        specs += mult("channels.multiplier")
    for i in range(max(len(b.stages) for b in bases)):
        if i in space.depth:
            specs.append(DimSpec(f"depth.{i + 3}", space.depth[i], "depth", i))
        if scope == "stage":
            specs += mult(f"channels.{i + 3}.multiplier", i)
        bounds = [depth_bounds(space, b, i) for b in bases if i < len(b.stages)]
        always, most = min(lo for lo, _ in bounds), max(hi for _, hi in bounds)
        # Only modules with a dimension of their own are visited: a stage may be deep.
        tupled = sorted(j for stage, j in map(parse_module_name, ch.tuples) if stage == i)
        for j in range(most) if scope == "module" else tupled:
            name = module_name(i, j)
            # Without a depth dimension the stage's depth comes from the chosen base.
            cond = "" if j < always else f"depth.{i + 3} >= {j + 1}" if i in space.depth else f"base has {name}"
            if name in ch.tuples:
                specs.append(DimSpec(f"channels.{name}.tuple", ch.tuples[name], "tuple", i, j, None, cond))
            if scope == "module":
                specs += mult(f"channels.{name}.multiplier", i, j, cond)
    for role, dims in (("block", space.block), ("head", space.head)):
        specs += [DimSpec(f"{role}.{k}", d, role, key=k) for k, d in dims.items()]
    if space.aux_heads is not None:
        specs.append(DimSpec("aux_heads", space.aux_heads, "aux_heads"))
    specs += [DimSpec(f"recipe.{k}", d, "recipe", key=k) for k, d in space.recipe.items()]
    return specs


def _depth_ways(depth: Dim | None, fixed: int, prefix: list[float]) -> float:
    """Sum over the stage's possible depths d of prefix[min(d, len(prefix) - 1)]: the ways to fill a
    stage when modules past the last one with dimensions of its own add no choice. Arithmetic over a
    range, never a list of its values."""
    last = len(prefix) - 1

    def ways(d: int) -> float:
        return prefix[min(d, last)]

    if depth is None or depth.kind == "fixed":
        return ways(depth.value if depth is not None else fixed)
    if depth.kind == "categorical":
        return sum(ways(d) for d in depth.choices)
    if depth.kind == "float":
        return math.inf
    low, high, step = int(depth.low), int(depth.high), int(depth.step or 1)
    total: float = 0
    d = low
    while d <= min(high, last):  # depths that end among the modules with dimensions
        total += ways(d)
        d += step
    if d <= high:  # every deeper depth has all of them: count those depths at once
        total += ((high - d) // step + 1) * prefix[last]
    return total


def count_points(space: SearchSpace) -> float:
    """Number of distinct points (parameter assignments) of the space; inf with a float range."""
    specs = dimensions(space)
    flat = math.prod(s.dim.size() for s in specs if s.stage is None and s.role != "base")
    total: float = 0  # exact integer arithmetic unless a float range makes it inf
    for base_name in space.base.values():
        base = get_preset(base_name)
        count = flat
        for i, stage in enumerate(base.stages):
            count *= math.prod(s.dim.size() for s in specs if s.stage == i and s.module is None and s.role != "depth")
            per_module: dict[int, float] = {}
            for s in specs:
                if s.stage == i and s.module is not None:
                    per_module[s.module] = per_module.get(s.module, 1) * s.dim.size()
            prefix: list[float] = [1]
            for j in range(max(per_module, default=-1) + 1):
                prefix.append(prefix[-1] * per_module.get(j, 1))
            count *= _depth_ways(space.depth.get(i), len(stage.modules), prefix)
        total += count
    return total if math.isinf(total) else int(total)
