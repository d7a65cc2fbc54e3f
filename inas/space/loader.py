"""Load a search-space YAML file and validate every key, naming the file, the key path and the fix.

File format (every key but `name` and `base` optional; a value is either fixed, like `norm: all`,
or a dimension: `{choices: [...]}`, `{low: 1, high: 4}` for integers, `{low: 0.01, high: 0.4,
log: true}` for floats):

    name: googlenet_depth
    description: ...
    base: seed/googlenet            # or {choices: [seed/naive, seed/googlenet]}
    num_classes: 10                 # default: the base preset's; the dataset overrides it in a search
    input_size: 32
    depth: {3: {low: 1, high: 3}, 4: {low: 2, high: 7}, 5: {low: 1, high: 3}}
    channels:
      tuples: {3a: {choices: [[64, 96, 128, 16, 32, 32], [32, 48, 64, 8, 16, 16]]}}
      multiplier: {choices: [0.5, 1.0, 1.5]}
      scope: module                 # module | stage | network
      per_branch: false
      branches: [c1, c3, c5, pool_proj]
      round_to: 8
    block: {kind: ..., kernel5: ..., norm: ..., factorized: ..., residual: ...}
    head: {dropout: ...}
    aux_heads: {choices: [[], [4a, 4d]]}
    recipe: {label_smoothing: ..., lr: ..., ...}   # a TrainRecipe field but epochs, batch_size, image_size, val_fraction, seed
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from inas import checks, limits
from inas.errors import ConfigError, SpaceError, shown
from inas.model.config import (
    BLOCK_KINDS,
    BRANCH_WIDTHS,
    KERNEL5,
    NORMS,
    aux_head_names,
    aux_heads_at,
    module_name,
    parse_module,
    parse_module_name,
    validate,
)
from inas.model.presets import get_preset, list_presets
from inas.space.dims import depth_bounds
from inas.space.schema import ChannelSpec, Dim, SearchSpace
from inas.space.yaml_file import read_yaml
from inas.train.recipe import TrainRecipe, validate_recipe

TOP_KEYS = (
    "name",
    "description",
    "base",
    "num_classes",
    "input_size",
    "depth",
    "channels",
    "block",
    "head",
    "aux_heads",
    "recipe",
)
CHANNEL_KEYS = ("tuples", "multiplier", "scope", "per_branch", "branches", "round_to")
SCOPES = ("module", "stage", "network")
MULTIPLIED = tuple(BRANCH_WIDTHS)  # the branches a multiplier may widen: the ones scale_module knows
MODULE_NAME = re.compile(r"^([3-9])([a-z])$")
# A search names its study after the space (`studies/NAME.db`), so a space's name obeys the study-name
# rule (inas.study.storage.check_study_name), or the search would blame a --study never given.
SPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class _Ctx:
    """Carries the file name so every error can say where it happened."""

    def __init__(self, source: str):
        self.source = source

    def error(self, path: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping with keys among {', '.join(allowed)}, got {_kind(value)}")
        for key in value:
            if str(key) not in allowed:
                name = str(key) if len(str(key)) <= 60 else shown(str(key))  # a key can be megabytes
                raise self.error(
                    f"{path}.{name}" if path else name, f"unknown key; valid keys are {', '.join(allowed)}"
                )
        return {str(k): v for k, v in value.items()}


def _kind(value: Any) -> str:
    return {list: "a list", dict: "a mapping", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def parse_dim(ctx: _Ctx, raw: Any, path: str, check=None, integer: bool = False) -> Dim:
    """A fixed value or a `{choices}` / `{low, high}` dimension; `check(value, path)` vets each value.
    `integer`: the value is a whole number, so a range must be an integer range."""
    check = check or (lambda v, p: v)
    if not isinstance(raw, dict):
        return Dim("fixed", value=check(raw, path))
    if "choices" in raw:
        ctx.mapping(raw, path, ("choices",))
        choices = raw["choices"]
        if not isinstance(choices, list):
            raise ctx.error(f"{path}.choices", f"expected a list of values, got {_kind(choices)}")
        if not choices:
            raise ctx.error(f"{path}.choices", "empty choice list; give at least one value (or a fixed value)")
        if len(choices) > limits.MAX_CHOICES:
            raise ctx.error(
                f"{path}.choices",
                f"{len(choices):,} values, over the {limits.MAX_CHOICES:,} a choice may list; list fewer",
            )
        values = tuple(check(c, f"{path}.choices[{i}]") for i, c in enumerate(choices))
        if _repeats(values):
            raise ctx.error(f"{path}.choices", "a value is listed twice; list each choice once")
        return Dim("categorical", choices=values)
    ctx.mapping(raw, path, ("low", "high", "step", "log"))
    for key in ("low", "high"):
        if key not in raw:
            raise ctx.error(path, f"a range needs `low` and `high` (or use `choices: [...]`); `{key}` is missing")
        if not checks.is_number(raw[key]):
            raise ctx.error(f"{path}.{key}", f"must be a number, got {shown(raw[key])}")
    low, high = raw["low"], raw["high"]
    if low > high:
        raise ctx.error(path, f"low ({low}) is above high ({high}); swap them")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ctx.error(f"{path}.log", f"must be true or false, got {shown(log)}")
    step = raw.get("step")
    if step is not None and (not checks.is_number(step) or step <= 0):
        raise ctx.error(f"{path}.step", f"must be a positive number, got {shown(step)}")
    is_int = isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int))
    if is_int and log and step not in (None, 1):
        raise ctx.error(f"{path}.step", "a log range takes no step; drop `step` or `log`")
    for key, value in (("low", low), ("high", high)):
        check(value, f"{path}.{key}")
    if log and low <= 0:
        raise ctx.error(f"{path}.low", "a log range needs low > 0")
    if integer and not is_int:
        raise ctx.error(path, "this value is a whole number: give integer low, high and step")
    return Dim("int" if is_int else "float", low=low, high=high, step=step, log=log)


def _repeats(values: tuple) -> bool:
    """Whether a value is listed twice (by equality, as the sampler would see it)."""
    try:
        return len(set(values)) != len(values)
    except TypeError:  # unhashable values: compare pairwise (at most MAX_CHOICES of them)
        return any(a == b for i, a in enumerate(values) for b in values[:i])


# -- value checks ----------------------------------------------------------------------------


def _lift(ctx: _Ctx, check):
    """A check of `inas.checks` whose failure names the space file."""

    def lifted(v: Any, path: str) -> Any:
        try:
            return check(v, path)
        except ConfigError as e:
            raise ctx.error("", str(e)) from None

    return lifted


def _enum(ctx: _Ctx, valid: tuple[str, ...]):
    return _lift(ctx, lambda v, path: checks.choice(v, valid, path))


def _boolean(ctx: _Ctx):
    return _lift(ctx, checks.boolean)


def _positive_int(ctx: _Ctx, what: str):
    return _lift(ctx, lambda v, path: checks.positive_int(v, path, what))


def _at_most(ctx: _Ctx, check, limit: int, what: str):
    """`check`, then a bound: what a space may ask stays in proportion (see `inas.limits`)."""

    return _lift(ctx, lambda v, path: checks.at_most(check(v, path), limit, path, what))


def _fraction(ctx: _Ctx):
    return _lift(ctx, checks.fraction)


def _positive_number(ctx: _Ctx):
    return _lift(ctx, checks.positive_number)


def _preset(ctx: _Ctx):
    def check(v: Any, path: str) -> str:
        if v not in list_presets():
            raise ctx.error(
                path, f"unknown preset {shown(v)}; choose one of {', '.join(list_presets())} (see `inas model list`)"
            )
        return v

    return check


def _channel_tuple(ctx: _Ctx):
    def check(v: Any, path: str) -> tuple[int, ...]:
        try:
            m = parse_module(v, path)
        except ConfigError as e:
            raise ctx.error("", str(e)) from None
        if min(m.as_tuple()) < 1:
            raise ctx.error(path, f"channels must be at least 1, got {list(m.as_tuple())}")
        return m.as_tuple()

    return check


def _module_names(ctx: _Ctx):
    def check(v: Any, path: str) -> tuple[str, ...]:
        if v is None:
            v = []
        if not isinstance(v, list):
            raise ctx.error(path, f"expected a list of module names like [4a, 4d], got {shown(v)}")
        for i, name in enumerate(v):
            if not isinstance(name, str) or not MODULE_NAME.match(name):
                raise ctx.error(f"{path}[{i}]", f"{shown(name)} is not a module name; write stage and letter, like 4a")
        if len(set(v)) != len(v):
            raise ctx.error(path, "a module is named twice; name each once")
        return tuple(v)

    return check


# -- the file ---------------------------------------------------------------------------------


def _stage_index(ctx: _Ctx, key: Any, path: str) -> int:
    text = str(key).removeprefix("stage")
    if not text.isdigit() or int(text) < 3:
        raise ctx.error(path, f"stages are numbered from 3 as in GoogLeNet (3, 4, 5, ...), got {shown(key)}")
    return int(text) - 3


def _parse_channels(ctx: _Ctx, raw: Any) -> ChannelSpec:
    if raw is None:
        return ChannelSpec()
    raw = ctx.mapping(raw, "channels", CHANNEL_KEYS)
    tuples = {}
    tuples_raw = raw.get("tuples") or {}
    if not isinstance(tuples_raw, dict):
        raise ctx.error(
            "channels.tuples", f"expected a mapping of module name to channel tuples, got {_kind(tuples_raw)}"
        )
    for name, dim in ((str(k), v) for k, v in tuples_raw.items()):
        if not MODULE_NAME.match(name):
            raise ctx.error(f"channels.tuples.{name}", "not a module name; write stage and letter, like 4a")
        tuples[name] = parse_dim(ctx, dim, f"channels.tuples.{name}", _channel_tuple(ctx))
    multiplier = None
    if "multiplier" in raw:
        multiplier = parse_dim(ctx, raw["multiplier"], "channels.multiplier", _positive_number(ctx))
    scope = _enum(ctx, SCOPES)(raw.get("scope", "module"), "channels.scope")
    per_branch = _boolean(ctx)(raw.get("per_branch", False), "channels.per_branch")
    branches = raw.get("branches", list(MULTIPLIED))
    if not isinstance(branches, list) or not branches:
        raise ctx.error("channels.branches", f"expected a non-empty list among {', '.join(MULTIPLIED)}")
    for i, b in enumerate(branches):
        _enum(ctx, MULTIPLIED)(b, f"channels.branches[{i}]")
    round_to = _at_most(
        ctx, _positive_int(ctx, "channels are rounded to multiples of it"), limits.MAX_CHANNELS, "channels"
    )(raw.get("round_to", 1), "channels.round_to")
    return ChannelSpec(tuples, multiplier, scope, per_branch, tuple(branches), round_to)


def parse_space(data: Any, source: str) -> SearchSpace:
    """Validate a parsed YAML document into a `SearchSpace`."""
    ctx = _Ctx(source)
    data = ctx.mapping(data, "", TOP_KEYS)
    for key in ("name", "base"):
        if key not in data:
            raise ctx.error(key, f"missing; add `{key}:` (see `inas space show googlenet_depth` for an example)")
    name = data["name"]
    if not isinstance(name, str) or len(name) > limits.MAX_NAME_CHARS or not SPACE_NAME.fullmatch(name):
        raise ctx.error(
            "name",
            f"must be a word of up to {limits.MAX_NAME_CHARS} letters, digits, '_', '-' or '.' starting with a "
            f"letter or digit (the space's study takes its name), got {shown(name)}; rename the space",
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ctx.error("description", "must be text")
    if len(description) > limits.MAX_DESCRIPTION_CHARS:
        raise ctx.error(
            "description", f"{len(description):,} characters; keep it under {limits.MAX_DESCRIPTION_CHARS:,}"
        )
    base = parse_dim(ctx, data["base"], "base", _preset(ctx))
    if base.kind in ("int", "float"):
        raise ctx.error("base", "must be a preset name or {choices: [preset, ...]}")
    num_classes = data.get("num_classes")
    if num_classes is not None:
        _at_most(ctx, _positive_int(ctx, "a classifier needs classes"), limits.MAX_CLASSES, "classes")(
            num_classes, "num_classes"
        )
    input_size = data.get("input_size")
    if input_size is not None:
        _at_most(ctx, _positive_int(ctx, "an image is at least 1x1"), limits.MAX_INPUT_SIZE, "pixels")(
            input_size, "input_size"
        )

    depth_raw = data.get("depth") or {}
    if not isinstance(depth_raw, dict):
        raise ctx.error(
            "depth",
            f"expected a mapping of stage number to module count, like {{4: {{low: 2, high: 7}}}}, got {_kind(depth_raw)}",
        )
    depth: dict[int, Dim] = {}
    for k, v in depth_raw.items():
        stage = _stage_index(ctx, k, f"depth.{k}")
        if stage in depth:
            raise ctx.error(f"depth.{k}", f"stage {stage + 3} is given twice; keep one entry")
        check = _at_most(
            ctx, _positive_int(ctx, "a stage needs at least one module"), limits.MAX_MODULES_PER_STAGE, "modules"
        )
        depth[stage] = parse_dim(ctx, v, f"depth.{k}", check, integer=True)
    channels = _parse_channels(ctx, data.get("channels"))

    block_checks = {
        "kind": _enum(ctx, BLOCK_KINDS),
        "kernel5": _enum(ctx, KERNEL5),
        "norm": _enum(ctx, NORMS),
        "factorized": _boolean(ctx),
        "residual": _boolean(ctx),
    }
    block_raw = ctx.mapping(data.get("block") or {}, "block", tuple(block_checks))
    block = {k: parse_dim(ctx, v, f"block.{k}", block_checks[k]) for k, v in block_raw.items()}
    head_raw = ctx.mapping(data.get("head") or {}, "head", ("dropout",))
    head = {k: parse_dim(ctx, v, f"head.{k}", _fraction(ctx)) for k, v in head_raw.items()}
    aux = parse_dim(ctx, data["aux_heads"], "aux_heads", _module_names(ctx)) if "aux_heads" in data else None
    if aux is not None and aux.kind in ("int", "float"):
        raise ctx.error("aux_heads", "must be a list of module names or {choices: [[...], ...]}")

    for key in data.get("recipe") or {} if isinstance(data.get("recipe"), dict) else ():
        if key in FIXED_RECIPE:
            raise ctx.error(
                f"recipe.{key}", "is fixed by the search (its budget and validation protocol); remove it from the space"
            )
    recipe_raw = ctx.mapping(data.get("recipe") or {}, "recipe", SEARCHABLE_RECIPE)
    recipe = {
        k: parse_dim(ctx, v, f"recipe.{k}", _recipe_check(ctx, k), integer=type(getattr(TrainRecipe(), k)) is int)
        for k, v in recipe_raw.items()
    }

    space = SearchSpace(
        name=name,
        description=description.strip(),
        source=source,
        base=base,
        depth=depth,
        channels=channels,
        block=block,
        head=head,
        aux_heads=aux,
        recipe=recipe,
        num_classes=num_classes,
        input_size=input_size,
    )
    _check_candidates(ctx, space)
    return space


# The budget and the selection protocol fix these for every trial alike (ASHA compares trials epoch by
# epoch; selection compares them on one validation split), so a space may not vary them.
FIXED_RECIPE = ("epochs", "batch_size", "image_size", "val_fraction", "seed")
SEARCHABLE_RECIPE = tuple(k for k in TrainRecipe.fields() if k not in FIXED_RECIPE)


def _recipe_check(ctx: _Ctx, key: str):
    """Check a recipe value by trying it on the default recipe."""

    def check(v: Any, path: str) -> Any:
        try:
            validate_recipe(dataclasses.replace(TrainRecipe(), **{key: v}), "recipe")
        except ConfigError as e:
            expected = str(e).partition(": ")[2]  # "must be ..., got ..."
            raise ctx.error(
                path, f"{expected} (the recipe's default is {shown(getattr(TrainRecipe(), key))})"
            ) from None
        return v

    return check


def _check_module(ctx: _Ctx, space: SearchSpace, name: str, path: str) -> None:
    """A module name in the file must exist in some candidate of the space."""
    stage, index = parse_module_name(name)
    bases = [get_preset(b) for b in space.base.values()]
    reach = [depth_bounds(space, cfg, stage)[1] for cfg in bases if stage < len(cfg.stages)]
    if not reach:
        raise ctx.error(path, f"module {name}: no base of this space has a stage {stage + 3}")
    if index >= max(reach):
        first, last = module_name(stage, 0), module_name(stage, max(reach) - 1)
        raise ctx.error(
            path, f"module {name}: stage {stage + 3} has at most {max(reach)} modules here ({first}..{last})"
        )


def _check_widths(ctx: _Ctx, space: SearchSpace) -> None:
    """The widest channel count any candidate can reach stays within `limits.MAX_CHANNELS`."""
    widest = max(
        [max(m.as_tuple()) for b in space.base.values() for s in get_preset(b).stages for m in s.modules]
        + [max(t) for dim in space.channels.tuples.values() for t in dim.values()]
    )
    mult = space.channels.multiplier
    factor = 1.0 if mult is None else max(mult.values()) if mult.kind in ("fixed", "categorical") else mult.high
    if widest * factor > limits.MAX_CHANNELS:
        raise ctx.error(
            "channels.multiplier",
            f"x{factor:g} makes a branch of {widest} channels {widest * factor:,.0f} wide, over the "
            f"{limits.MAX_CHANNELS:,} a space may ask for; lower the multiplier",
        )


def _check_candidates(ctx: _Ctx, space: SearchSpace) -> None:
    """Check what the dimensions can reach: stages and modules exist, auxiliary heads have room."""
    _check_widths(ctx, space)
    for name in space.channels.tuples:
        _check_module(ctx, space, name, f"channels.tuples.{name}")
    for choice in space.aux_heads.values() if space.aux_heads else []:
        for name in choice:
            _check_module(ctx, space, name, "aux_heads")
    for base_name in space.base.values():
        cfg = get_preset(base_name)
        for stage in space.depth:
            if stage >= len(cfg.stages):
                raise ctx.error(
                    f"depth.{stage + 3}", f"base {base_name} has stages 3..{len(cfg.stages) + 2}; remove this stage"
                )
        probe = dataclasses.replace(cfg, input_size=space.input_size or cfg.input_size)
        # The feature size at a stage does not depend on depth or width: checking each choice of heads
        # on the base checks every candidate. Without `aux_heads` the base keeps its own heads.
        choices = space.aux_heads.values() if space.aux_heads else [aux_head_names(cfg)]
        for choice in choices:
            names = [n for n in choice if parse_module_name(n)[0] < len(cfg.stages)]
            try:
                validate(dataclasses.replace(probe, aux_heads=aux_heads_at(names, probe.depths)), f"base {base_name}")
            except ConfigError as e:
                raise ctx.error("aux_heads" if space.aux_heads else "input_size", f"{'+'.join(choice)}: {e}") from None


def load_space_file(path: str | Path) -> SearchSpace:
    path = Path(path)
    return parse_space(read_yaml(path), str(path))
