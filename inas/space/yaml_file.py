"""Reading a YAML document whose size is bounded by its file: no aliases, no duplicate keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inas.errors import SpaceError, shown
from inas.files import check_file_size


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing the two things that make a small file mean something else: an
    alias (`*name`; nested aliases expand a few lines into gigabytes) and a key given twice (the last
    would silently win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                twice = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class says so
                break
            if twice:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {shown(key)} is given twice; keep one", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, what: str = "a search space") -> Any:
    """The document in `path`, or a `SpaceError` naming the file, the line and the fix."""
    if not path.is_file():
        raise SpaceError(
            f"{path}: no such file; give a built-in space name (`inas space list`) or a path to a .yaml file"
        )
    check_file_size(path, SpaceError, f"{what} is a short YAML file")
    try:
        return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpaceError(f"{path}: not valid YAML{where} ({getattr(e, 'problem', e)}); fix it") from None
    except UnicodeDecodeError:
        raise SpaceError(f"{path}: not a text file; {what} is a YAML file") from None
    except RecursionError:
        raise SpaceError(f"{path}: nested too deeply to read; {what} is a few levels deep") from None
