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


def load_space(name_or_path: str | Path) -> SearchSpace:
    """A built-in space by name, or a user's YAML file by path; both validate the same way."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file() or "/" in text:
        return load_space_file(path)
    return load_space_file(SPACES.get(text))
