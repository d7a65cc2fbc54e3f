"""Reading input files within bounds, and writing output files whole or not at all, with the
permissions of any file the user makes."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
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
    """An input file (a space, a config) is a regular file (a FIFO would be waited on for ever, a device
    read without end) of at most `limits.MAX_FILE_BYTES`, or `error(...; FIX)`."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file (a folder, FIFO, device or socket); {fix}")
    size = st.st_size
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


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_ordinary(path: Path, folder: bool = False) -> None:
    """Give `path` the mode a newly created file (or folder) gets under the user's umask."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


STDOUT = "-"  # `--out -`: the output streamed to stdout, where a command can stream it


def is_stdout(path: Path | str | None) -> bool:
    return path is not None and str(path) == STDOUT


def _lstat(path: Path, option: str) -> os.stat_result | None:
    """What is at `path` itself (a link is not followed), or None."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # a component above that is a file: said next
        return None
    except OSError as e:  # a name too long, a folder we may not enter
        raise InasError(f"{option} {path}: cannot use this path ({e.strerror}); choose another") from None


def _check_can_create_in(path: Path, option: str, kind: str = "file") -> None:
    """The nearest existing folder above `path` takes a new entry: tried by making one and removing it
    (as root, `os.access` says yes to /proc and to read-only mounts), before any work is done."""
    path = Path(path).absolute()  # not resolve(): a link is judged as a link, never followed
    parent = next((p for p in path.parents if os.path.lexists(p)), None)
    if parent is None or not parent.is_dir():
        raise InasError(f"{option} {path}: cannot make a {kind} under {parent}; choose a writable path")
    try:
        probe = tempfile.mkdtemp(dir=parent, prefix=".inas-probe-")
        os.rmdir(probe)
    except OSError as e:
        raise InasError(
            f"{option} {path}: cannot write under {parent} ({e.strerror}); choose a writable path"
        ) from None


def check_out_file(path: Path, option: str = "--out", stream: bool = True) -> None:
    """Refuse, before any work, an output file path where something other than a regular file is
    (a link, even a dangling one, a device, a FIFO, a socket, a folder), or whose folder cannot be
    written. `stream`: the command takes `--out -` for stdout (said in the fix)."""
    path = Path(path)
    st = _lstat(path, option)
    fix = "give a file path (a new one or a regular file)" + (f", or {option} - for stdout" if stream else "")
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise InasError(f"{option} {path}: is a symbolic link, which inas never writes through; {fix}")
        if stat.S_ISDIR(st.st_mode):
            raise InasError(f"{option} {path}: is a folder; give a file path")
        if not stat.S_ISREG(st.st_mode):
            raise InasError(f"{option} {path}: is not a regular file (a device, FIFO or socket); {fix}")
    _check_can_create_in(path, option)


def check_out_dir(out: Path, option: str = "--out") -> None:
    """Refuse, before any work, a destination folder that is a link, holds something, is a mount point,
    or cannot be made: what is written there is only ever a folder this command made."""
    out = Path(out)
    st = _lstat(out, option)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise InasError(f"{option} {out}: is a symbolic link, which inas never writes through; choose a new folder")
        if not stat.S_ISDIR(st.st_mode) or any(out.iterdir()):
            raise InasError(f"{option} {out}: exists and is not an empty folder; choose a new folder")
        if os.path.ismount(out):  # it could not be replaced by the finished folder
            raise InasError(f"{option} {out}: is a mount point; choose a new folder")
    _check_can_create_in(out, option, "folder")


def write_atomic(path: Path, content: str | Callable[[Path], None], option: str = "--out", stream: bool = True) -> None:
    """Write the whole file or leave what was there: a temp file in the same folder, renamed over a
    regular file or nothing (never over a link, a device, a FIFO, a socket or a folder). `content`: the
    text, or a function that writes the temp file at the path it is given (safetensors, say)."""
    path = Path(path)
    check_out_file(path, option, stream)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as e:
        raise InasError(f"{option} {path}: cannot write there ({e.strerror}); choose a writable path") from None
    try:
        if isinstance(content, str):
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(content)
        else:
            os.close(fd)
            content(Path(tmp))
        make_ordinary(Path(tmp))  # mkstemp makes it private; what inas writes is an ordinary file
        check_out_file(path, option, stream)  # again: something may have been put there while we wrote
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise InasError(f"{option} {path}: cannot write it ({e.strerror}); choose another path") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_out(path: Path | str, text: str, option: str = "--out") -> None:
    """`write_atomic`, or the text on stdout for `--out -`."""
    if is_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(Path(path), text, option)


HOME_ENV = "INAS_HOME"  # the folder holding studies/ and dashboards/ (default: the current folder)
MAX_HOME_CHARS = 4_096  # PATH_MAX on Linux


def home() -> Path:
    """The absolute folder that holds `studies/` and `dashboards/`: `$INAS_HOME`, else the current folder.

    `$INAS_HOME` is checked like any path inas writes under: absolute (a relative one would again depend
    on where the command runs), printable, and, if something is there, a real folder (not a symbolic
    link, which inas never writes through, nor a file, device or FIFO). A missing one is made when a
    command first writes there."""
    value = os.environ.get(HOME_ENV)
    if not value:
        try:
            return Path.cwd()
        except OSError as e:  # the current folder was removed
            raise InasError(f"the current folder is gone ({e.strerror}); cd to a folder, or set {HOME_ENV}") from None
    where = f"{HOME_ENV}={shown(value)}"
    if len(value) > MAX_HOME_CHARS or not value.isprintable():
        raise InasError(f"{where}: not a usable path (control characters, or too long); give an absolute folder")
    path = Path(value)
    if not path.is_absolute():
        raise InasError(
            f"{where}: a relative path would depend on the folder a command runs in; give an absolute one, "
            f"e.g. {HOME_ENV}={Path(value).absolute()}"
        )
    st = _lstat(path, HOME_ENV)
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise InasError(
            f"{where}: is a symbolic link, which inas never writes through; set it to the folder itself "
            f"({os.path.realpath(path)}) or remove the link"
        )
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise InasError(f"{where}: exists and is not a folder; give a folder (a new path is made when needed)")
    return path


def studies_dir() -> Path:
    """Where a study's default SQLite file lives: HOME/studies."""
    return home() / "studies"


def dashboards_dir() -> Path:
    """The default home of reports and experiment tables: HOME/dashboards."""
    return home() / "dashboards"


def safe_stem(name: str) -> str:
    """A file name made from any text (a study's name may come from a storage anyone wrote): no
    separators, no leading dot, no control characters, so a path built from it stays in its folder."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip("._")[: limits.MAX_NAME_CHARS]
    return stem or "study"


def dashboard_path(name: str, suffix: str = "") -> Path:
    """The default output path of a report or an experiment's tables named `name` (absolute, inside
    HOME/dashboards)."""
    return dashboards_dir() / f"{safe_stem(name)}{suffix}"
