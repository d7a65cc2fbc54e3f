"""Reading input files within bounds, and writing output files whole or not at all, with the
permissions of any file the user makes."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from inas import limits
from inas.errors import InasError, shown


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {shown(key)} is given twice; keep one")
        out[key] = value
    return out


def check_file_size(path: Path, error: type[InasError], fix: str) -> None:
    """An input file (a space, a config) holds at most `limits.MAX_FILE_BYTES`, or `error(...; FIX)`."""
    size = path.stat().st_size
    if size > limits.MAX_FILE_BYTES:
        raise error(f"{path}: {size:,} bytes, over the {limits.MAX_FILE_BYTES:,} a file may hold; {fix}")


def read_json(path: Path, error: type[InasError], fix: str) -> Any:
    """The JSON document in `path` (at most `limits.MAX_FILE_BYTES`, no key given twice), or
    `error("PATH: what is wrong; FIX")`."""
    check_file_size(path, error, fix)
    try:
        return json.loads(path.read_text(), object_pairs_hook=_no_repeats)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # JSONDecodeError is a ValueError
        why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        raise error(f"{path}: not valid JSON ({why}); {fix}") from None


def make_ordinary(path: Path) -> None:
    """Give `path` the mode a newly created file gets under the user's umask (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def check_out_dir(out: Path, option: str = "--out") -> None:
    """Refuse a destination folder that holds something, or cannot be made, before any work is done."""
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InasError(f"{option} {out}: exists and is not an empty folder; choose a new folder")
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InasError(f"{option} {out}: cannot make a folder under {parent}; choose a writable path")


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or leave what was there: a temp file in the same folder, renamed."""
    path = Path(path)
    if path.is_dir():
        raise InasError(f"--out {path}: is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as e:
        raise InasError(f"--out {path}: cannot write there ({e.strerror}); choose a writable path") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        make_ordinary(Path(tmp))  # mkstemp makes it private; a report is an ordinary file
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise InasError(f"--out {path}: cannot write it ({e.strerror}); choose another path") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


DASHBOARDS = Path("dashboards")  # the default home of reports and experiment tables


def safe_stem(name: str) -> str:
    """A file name made from any text (a study's name may come from a storage anyone wrote): no
    separators, no leading dot, no control characters, so a path built from it stays in its folder."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip("._")[: limits.MAX_NAME_CHARS]
    return stem or "study"


def dashboard_path(name: str, suffix: str = "") -> Path:
    """The default output path of a report or an experiment's tables named `name` (inside DASHBOARDS)."""
    return DASHBOARDS / f"{safe_stem(name)}{suffix}"
