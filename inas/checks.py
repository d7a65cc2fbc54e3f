"""The value checks every description shares (architectures, recipes, search spaces).

Each takes the value and where it was found (a key path), returns the value when it is fine and raises
`ConfigError("WHERE: what was expected, got what came")` otherwise. Plain Python: no torch.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import Any

from inas import limits
from inas.errors import ConfigError, shown


def is_number(v: Any) -> bool:
    """A finite int or float (booleans are not numbers here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def choice(v: Any, valid: Sequence[str], where: str) -> Any:
    if v not in valid:
        raise ConfigError(f"{where}: unknown value {shown(v)}; choose one of {', '.join(valid)}")
    return v


def boolean(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{where}: must be true or false, got {shown(v)}")
    return v


def positive_int(v: Any, where: str, why: str = "") -> int:
    """A whole number >= 1; `why` says what needs it ("a stage needs at least one module")."""
    if not is_int(v) or (v < 1 and not why):
        raise ConfigError(f"{where}: must be a positive integer, got {shown(v)}")
    if v < 1:
        raise ConfigError(f"{where}: must be at least 1 ({why}), got {v}")
    return v


def fraction(v: Any, where: str) -> float:
    """A number in [0, 1): a dropout rate, a share held out."""
    if not is_number(v) or not 0 <= v < 1:
        raise ConfigError(f"{where}: must be a number in [0, 1), got {shown(v)}")
    return v


def positive_number(v: Any, where: str) -> float:
    if not is_number(v) or v <= 0:
        raise ConfigError(f"{where}: must be a positive number, got {shown(v)}")
    return v


def non_negative(v: Any, where: str) -> float:
    if not is_number(v) or v < 0:
        raise ConfigError(f"{where}: must be a number >= 0, got {shown(v)}")
    return v


MAX_MEMORY_ENV = "INAS_MAX_MEMORY"  # a stated limit (bytes, or with K/M/G/T), instead of a share of what is free
SIZE = re.compile(r"\s*(\d{1,16}(?:\.\d{1,6})?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)


def byte_size(text: str, where: str, most: int) -> int:
    """`text` ("4GB", "512M", "1000000"; K, M, G, T are powers of 1024) as bytes, from 1 to `most`."""
    match = SIZE.fullmatch(text)
    if not match:
        raise ConfigError(f"{where}={shown(text)}: give bytes or a size like 4GB or 512MB")
    value = int(float(match[1]) * 1024 ** " KMGT".index(match[2].upper() or " "))
    if not 1 <= value <= most:
        raise ConfigError(f"{where}={shown(text)}: must be from 1 byte to {most:,} bytes; give a size like 4GB")
    return value


def stated_memory() -> int | None:
    """INAS_MAX_MEMORY in bytes, if set: checked where a command starts, before any work."""
    stated = os.environ.get(MAX_MEMORY_ENV)
    return byte_size(stated, MAX_MEMORY_ENV, limits.MAX_MEMORY_BYTES) if stated else None


def at_most(v: Any, limit: int, where: str, unit: str) -> Any:
    """A bound of `inas.limits` (a number already checked): memory and time stay in proportion."""
    if v > limit:
        raise ConfigError(f"{where}: {v:,} is over the {limit:,} {unit} inas allows; ask for fewer")
    return v
