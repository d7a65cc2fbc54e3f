"""One registry helper for everything found by name: presets, spaces, datasets, budgets, objectives, samplers.

An unknown name is an `UnknownNameError` that lists the valid ones (as torchvision's `get_model` does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from inas.errors import unknown_name

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind. `entries` is a mapping, or a function giving one (read when asked,
    for entries found on disk). `patterns` are names with a parameter (`imagefolder:PATH`) that the
    error lists beside the entries; `hint` is added to that error."""

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T] | Callable[[], Mapping[str, T]],
        patterns: tuple[str, ...] = (),
        hint: str = "",
    ):
        self.kind = kind
        self._entries = entries
        self.patterns = patterns
        self.hint = hint  # what else works, added to the error (", or give a path to a .yaml file")

    def _all(self) -> Mapping[str, T]:
        return self._entries() if callable(self._entries) else self._entries

    def __getitem__(self, name: str) -> T:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def names(self) -> list[str]:
        """The registered names, then the patterns."""
        return [*self._all(), *self.patterns]

    def get(self, name: str, where: str = "") -> T:  # type: ignore[override]
        """The entry `name`; an unknown name lists the valid ones (prefixed with `where`, an option)."""
        entries = self._all()
        if name not in entries:
            error = unknown_name(self.kind, name, self.names())
            raise type(error)(f"{where + ': ' if where else ''}{error}{self.hint}")
        return entries[name]
