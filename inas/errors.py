"""User-facing errors.

Everything a user can cause (a bad space file, an unknown preset, an impossible config) raises an
`InasError` whose message says what was expected, what came, and what to do. The CLI turns these into
one line on stderr and exit code 2; nothing else in the library catches them.
"""

from __future__ import annotations

import reprlib
from typing import Any

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = 6
_SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 3


def shown(value: Any) -> str:
    """`repr(value)` cut short: how every error quotes a value it was given (a value from a file can
    be megabytes, or a structure of aliases that expands without end)."""
    return _SHORT.repr(value)


class InasError(Exception):
    """Base class of errors caused by user input."""


class ConfigError(InasError, ValueError):
    """An architecture config or recipe that cannot be built."""


class SpaceError(InasError, ValueError):
    """A search-space file that does not load or validate."""


class UnknownNameError(InasError, KeyError):
    """A registry lookup with a name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InputTooSmallError(InasError, ValueError):
    """An input image smaller than the network accepts."""


class DataError(InasError):
    """A dataset that cannot be found, downloaded or read."""


class Interrupted(InasError):
    """The user stopped a run (Ctrl-C); what finished is kept. The CLI exits with 130."""

    exit_code = 130


def unknown_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Error for a registry miss that lists what would have worked."""
    return UnknownNameError(f"unknown {kind} {shown(name)}; choose one of: {', '.join(valid)}")
