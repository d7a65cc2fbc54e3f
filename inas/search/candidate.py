"""A proposal resolved once: the network and recipe its sampled values stand for, and what trains.

The searcher resolves each proposal when it is made and passes the result along: the constraint
screen, the prescreen, the repeat check and the trial itself all read the same object.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from inas.model.config import ArchConfig, scale_width
from inas.model.stats import ModelStats
from inas.space.sampling import resolve
from inas.space.schema import SearchSpace
from inas.train.recipe import TrainRecipe


@dataclass(frozen=True)
class TrialCandidate:
    """A valid proposal. `arch` is the network searched (its params and MACs are the objectives);
    `trained` the copy its trial trains: `arch` at the budget's `width`."""

    params: dict[str, Any]  # the sampled values
    arch: ArchConfig
    recipe: TrainRecipe  # the budget's recipe with the candidate's own recipe values
    width: float = 1.0

    @functools.cached_property
    def trained(self) -> ArchConfig:
        return scale_width(self.arch, self.width)

    @functools.cached_property
    def key(self) -> str:
        """What the sampled values stand for: the network's hash and the whole recipe it trains with
        (other values may build the same network: a multiplier that rounds to the same widths, say)."""
        return f"{self.arch.hash()} {json.dumps(self.recipe.to_dict(), sort_keys=True)}"

    @functools.cached_property
    def stats(self) -> ModelStats:
        """The full network's size, measured on the meta device at the training image size (once: by
        the constraint screen when there is one, else by the trial)."""
        from inas.model.stats import measure

        return measure(self.arch, input_size=self.recipe.image_size or None)


@dataclass(frozen=True)
class InvalidCandidate:
    """Sampled values that build no valid network: its trial fails with `reason`, the search goes on."""

    params: dict[str, Any]
    reason: str
    key = None  # never a repeat of another: each is tried, and fails with its reason


Resolved = TrialCandidate | InvalidCandidate


@dataclass(frozen=True)
class Screening:
    """A candidate checked against --constraint before training."""

    violations: dict[str, float]  # constraint name -> violation (<= 0: it holds)
    measured: dict[str, float]  # what was measured for the check (recorded when the candidate breaks it)
    why: str | None  # None: every constraint checked holds


def error_line(e: BaseException) -> str:
    """An error in one line, as a trial's record keeps it: its type and its message's first line."""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".strip()[:500]


def resolve_candidate(
    space: SearchSpace, params: dict[str, Any], recipe: TrainRecipe, num_classes: int, channels: int, width: float
) -> Resolved:
    """The candidate sampled values stand for, as its trial trains it (the dataset sets the classes and
    the stem's channels; `width` below 1 trains a reduced-width copy)."""
    try:
        arch, trained_recipe = resolve(space, params, recipe, num_classes, channels)
    except Exception as e:  # ConfigError mostly; whatever it is, the trial fails with it, not the search
        return InvalidCandidate(dict(params), error_line(e))
    return TrialCandidate(dict(params), arch, trained_recipe, width)
