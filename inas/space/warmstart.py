"""`--warm-start`: candidates a search runs first, as sampled values to enqueue. `seed`: the seeds'
networks that lie inside the space; FILE.json: the user's own list (a shortlist from a supernet
search, say, as `inas trials --format json` writes it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import optuna

from inas.errors import ConfigError, InasError, shown
from inas.files import read_json
from inas.model.config import ArchConfig, aux_head_names
from inas.model.presets import PRESETS
from inas.space.dims import DimSpec, dimensions
from inas.space.sampling import SCALAR, sample
from inas.space.schema import Dim, SearchSpace, _label
from inas.train.recipe import TrainRecipe

MISSING = object()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(choice: Any, value: Any) -> bool:
    """Whether `value` (from JSON or a config) is `choice`: numbers by value, a bool only as a bool, a
    string only as a string, a list or tuple element by element."""
    if isinstance(choice, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(choice)
            and all(_same(c, v) for c, v in zip(choice, value, strict=True))
        )
    if _number(choice):
        return _number(value) and choice == value
    return type(choice) is type(value) and choice == value


def _on_grid(dim: Dim, value: float) -> bool:
    if not dim.low <= value <= dim.high:
        return False
    if not dim.step:
        return True
    steps = (value - dim.low) / dim.step
    return abs(steps - round(steps)) < 1e-9


def _allowed(dim: Dim, value: Any) -> Any | None:
    """`value` as the sampler stores it (a list choice, or any choice of a dimension that has one, by
    its label), or None when the dimension does not offer it."""
    if dim.kind == "categorical":
        labelled = not all(isinstance(c, SCALAR) for c in dim.choices)
        for choice in dim.choices:
            if _same(choice, value) or (labelled and isinstance(value, str) and value == _label(choice)):
                return _label(choice) if labelled else choice
        return None
    if dim.kind == "int" and _number(value) and float(value).is_integer() and _on_grid(dim, value):
        return int(value)
    if dim.kind == "float" and _number(value) and _on_grid(dim, float(value)):
        return float(value)
    return None


def _value(spec: DimSpec, base: str, target: ArchConfig) -> Any:
    """What `target` has for `spec` (built from `base`); MISSING where its module does not exist."""
    if spec.role == "base":
        return base
    if spec.role == "multiplier":
        return 1.0  # the seeds' own widths
    if spec.stage is not None and spec.stage >= len(target.stages):
        return MISSING
    if spec.role == "depth":
        return len(target.stages[spec.stage].modules)
    if spec.role == "tuple":
        modules = target.stages[spec.stage].modules
        return modules[spec.module].as_tuple() if spec.module < len(modules) else MISSING
    if spec.role in ("block", "head"):
        return getattr(getattr(target, spec.role), spec.key)
    if spec.role == "aux_heads":
        return aux_head_names(target)
    return getattr(TrainRecipe(), spec.key)  # recipe


def _guess(space: SearchSpace, base: str, target: ArchConfig) -> dict[str, Any] | None:
    """Sampled values that would rebuild `target` from `base`, or None where a value is out of reach."""
    params: dict[str, Any] = {}
    for spec in dimensions(space):
        if not spec.dim.varies:
            continue
        value = _value(spec, base, target)
        if value is MISSING:
            if spec.role == "tuple":
                continue  # the module does not exist in the target: its dimension is not asked
            return None
        allowed = _allowed(spec.dim, value)
        if allowed is None:
            if spec.role != "recipe":
                return None
            # A recipe value does not change the network: take any.
            allowed = spec.dim.values()[0] if spec.dim.kind != "float" else spec.dim.low
        params[spec.name] = allowed
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


WARM_START_FIX = (
    "give `seed` or a JSON list of candidates, each an object of sampled values "
    "(`inas trials STUDY --format json --pareto-only --out FILE.json` writes one)"
)


def read_candidates(space: SearchSpace, path: Path) -> list[dict[str, Any]]:
    """The candidates in the JSON file `path`, each as the values `sample` asks of it. An entry is an
    object of sampled values; other keys (the columns `inas trials` adds) and nulls (dimensions a
    candidate does not have) are ignored, so a study's rows can be fed back as they are written."""
    where = f"--warm-start {shown(str(path))}"
    if not path.exists():
        raise ConfigError(f"{where}: no such file; {WARM_START_FIX}")
    try:
        entries = read_json(path, ConfigError, WARM_START_FIX)
    except ConfigError as e:
        raise ConfigError(f"--warm-start: {e}") from None
    except OSError as e:
        raise ConfigError(f"{where}: cannot be read ({e.strerror or e}); {WARM_START_FIX}") from None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: not a non-empty JSON list; {WARM_START_FIX}")
    specs = {spec.name: spec for spec in dimensions(space)}
    listing = f"`inas space show {space.name}` lists them"
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: entry {i} is not an object of sampled values; {WARM_START_FIX}")
        values = {}
        for name, value in entry.items():
            if name not in specs or value is None:
                continue
            allowed = _allowed(specs[name].dim, value)
            if allowed is None:
                raise ConfigError(f"{where}: entry {i}: {name} = {shown(value)} is not a value it offers ({listing})")
            values[name] = allowed
        trial = optuna.trial.FixedTrial(values)
        try:
            sample(space, trial)
        except ValueError as e:  # FixedTrial: a value the candidate needs is not in the entry
            missing = re.search(r"parameter '([^']+)'", str(e))
            what = f"has no value for {missing[1]}" if missing else f"is not a candidate ({e})"
            raise ConfigError(f"{where}: entry {i} {what} ({listing})") from None
        except InasError as e:
            raise ConfigError(f"{where}: entry {i} is not a candidate of {space.name} ({e})") from None
        out.append(trial.params)  # only what the candidate uses: a deeper stage's leftovers are dropped
    return out
