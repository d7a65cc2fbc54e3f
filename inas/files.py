"""Writing output files whole or not at all, with the permissions of any file the user makes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from inas.errors import InasError


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


def dashboard_path(name: str, suffix: str = "") -> Path:
    """The default output path of a report or an experiment's tables named `name`."""
    return DASHBOARDS / f"{name}{suffix}"
