"""What a loaded search space is: dimensions over a base preset, as frozen dataclasses."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from inas.errors import shown
from inas.model.config import ArchConfig


@dataclass(frozen=True)
class Dim:
    """One value of a candidate: fixed, or a dimension the sampler chooses.

    kind: "fixed" (`value`), "categorical" (`choices`), "int" or "float" (`low`..`high`, inclusive,
    with `step`, and `log` for floats).
    """

    kind: str
    value: Any = None
    choices: tuple[Any, ...] = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    @property
    def varies(self) -> bool:
        return self.kind != "fixed"

    def size(self) -> float:
        """Number of distinct values (inf for a float range)."""
        if self.kind == "fixed":
            return 1
        if self.kind == "categorical":
            return len(self.choices)
        if self.kind == "int":
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        return math.inf

    def values(self) -> list[Any]:
        """Every value of a discrete dimension."""
        if self.kind == "fixed":
            return [self.value]
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        raise ValueError("a float range has no finite list of values")

    def describe(self) -> str:
        if self.kind == "fixed":
            return f"= {shown(self.value)}"
        if self.kind == "categorical":
            return "one of " + ", ".join(_label(c) for c in self.choices)
        step = f" step {self.step:g}" if self.step else ""
        return f"{self.kind} {self.low:g}..{self.high:g}{step}{' (log)' if self.log else ''}"


def _label(value: Any) -> str:
    """Optuna stores categorical choices as plain scalars; lists get a readable label."""
    if isinstance(value, (list, tuple)):
        return "+".join(str(v) for v in value) if value else "none"
    return str(value)


@dataclass(frozen=True)
class ChannelSpec:
    """How channel widths vary.

    `tuples`: per module name, explicit channel tuples to choose from. `multiplier`: a factor applied
    to the listed `branches` (a reduction follows its branch: c3 scales c3_reduce too), one choice per
    module, stage or network (`scope`), or per branch of each (`per_branch`); results are rounded to
    multiples of `round_to`.
    """

    tuples: dict[str, Dim] = field(default_factory=dict)
    multiplier: Dim | None = None
    scope: str = "module"
    per_branch: bool = False
    branches: tuple[str, ...] = ("c1", "c3", "c5", "pool_proj")
    round_to: int = 1


@dataclass(frozen=True)
class SearchSpace:
    """A search space: a base preset and the dimensions that vary around it."""

    name: str
    description: str
    source: str  # the file it was loaded from
    base: Dim  # preset names
    depth: dict[int, Dim]  # stage index (0 = stage "3") -> number of modules
    channels: ChannelSpec
    block: dict[str, Dim]
    head: dict[str, Dim]
    aux_heads: Dim | None  # lists of module names such as ["4a", "4d"]
    recipe: dict[str, Dim]
    num_classes: int | None = None
    input_size: int | None = None


@dataclass(frozen=True)
class Candidate:
    """One sampled point: the network, the recipe values it changes, and the sampled parameters."""

    arch: ArchConfig
    recipe: dict[str, Any]
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.arch.hash(),
            "arch": self.arch.to_dict(),
            "recipe": dict(self.recipe),
            "params": dict(self.params),
        }


def space_fingerprint(space: SearchSpace) -> str:
    """A hash of what a space lets the search choose: comments, layout and description do not count."""
    fields = dataclasses.asdict(space)
    for key in ("source", "description"):
        fields.pop(key)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=repr).encode()).hexdigest()[:16]
