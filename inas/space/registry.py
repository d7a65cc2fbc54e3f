"""Built-in search spaces: the YAML files of `search_spaces/`, found by name."""

from __future__ import annotations

from pathlib import Path

from inas.errors import SpaceError
from inas.space.loader import load_space_file
from inas.space.schema import SearchSpace


def builtin_dir() -> Path:
    """`search_spaces/` of a source checkout, or its copy inside an installed wheel."""
    packaged = Path(__file__).resolve().parent.parent / "_spaces"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "search_spaces"


def list_spaces() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def load_space(name_or_path: str | Path) -> SearchSpace:
    """A built-in space by name, or a user's YAML file by path; both validate the same way."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file() or "/" in text:
        return load_space_file(path)
    if text in list_spaces():
        return load_space_file(builtin_dir() / f"{text}.yaml")
    raise SpaceError(
        f"unknown search space {text!r}; choose one of {', '.join(list_spaces())} or give a path to a .yaml file"
    )
