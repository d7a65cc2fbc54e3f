"""Built-in search spaces: the YAML files of `search_spaces/`, found by name."""

from __future__ import annotations

from pathlib import Path

from inas.registry import Registry
from inas.space.loader import load_space_file
from inas.space.schema import SearchSpace


def builtin_dir() -> Path:
    """`search_spaces/` of a source checkout, or its copy inside an installed wheel."""
    packaged = Path(__file__).resolve().parent.parent / "_spaces"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "search_spaces"


SPACES: Registry[Path] = Registry(
    "search space",
    lambda: {p.stem: p for p in sorted(builtin_dir().glob("*.yaml"))},
    hint=", or give a path to a .yaml file",
)


def list_spaces() -> list[str]:
    return SPACES.names()


def is_space_file(name_or_path: str | Path) -> bool:
    """Whether `load_space` reads this as a file's path rather than a built-in space's name."""
    text = str(name_or_path)
    path = Path(text)
    return path.suffix in (".yaml", ".yml") or path.is_file() or "/" in text


def load_space(name_or_path: str | Path) -> SearchSpace:
    """A built-in space by name, or a user's YAML file by path; both validate the same way."""
    if is_space_file(name_or_path):
        return load_space_file(Path(name_or_path))
    return load_space_file(SPACES.get(str(name_or_path)))
