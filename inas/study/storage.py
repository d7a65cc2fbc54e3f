"""Optuna storage through SQLAlchemy: any URL works; SQLite gets WAL mode and a busy timeout so
optuna-dashboard can read while a search writes, and a lock file so two searches never share a study.

Only a search (or an experiment) creates a storage: readers open what exists without writing to it,
and refuse a file that is not an Optuna storage before Optuna could add its tables to it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from inas import limits
from inas.errors import ConfigError, InasError, shown
from inas.files import safe_stem

BUSY_TIMEOUT_S = 60
# On a server database several searches may share a study (one per machine): each records a heartbeat
# for its running trials every HEARTBEAT_S, and a resumed search fails only those silent for GRACE_S.
# SQLite needs none: a search holds the study's lock (StudyLock), so what another left running is dead.
HEARTBEAT_S = 20
GRACE_S = 120
# The pip package of a database driver SQLAlchemy may ask for (module name -> package).
DRIVERS = {
    "psycopg": "'psycopg[binary]'",
    "psycopg2": "psycopg2-binary",
    "pymysql": "pymysql",
    "MySQLdb": "mysqlclient",
}
OPTUNA_TABLES = {"studies", "trials", "version_info"}
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_study_name(name: str, where: str = "--study") -> str:
    """A study name that can name files: it names the default `studies/NAME.db` and its reports."""
    if len(name) > limits.MAX_NAME_CHARS or not STUDY_NAME.fullmatch(name):
        raise ConfigError(
            f"{where} {shown(name)}: a study name is up to {limits.MAX_NAME_CHARS} letters, digits, '_', '-' "
            "or '.', starting with a letter or digit; choose another"
        )
    return name


def default_storage(study: str) -> str:
    return f"sqlite:///studies/{check_study_name(study)}.db"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_url(url: str) -> None:
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"--storage {shown(url)}: not a SQLAlchemy URL; use e.g. sqlite:///studies/NAME.db or postgresql://HOST/DB"
        ) from None


def check_sqlite_file(path: Path) -> None:
    """An existing file is an Optuna storage (or empty), read without writing a byte: `immutable`
    takes no lock and makes no -wal or -shm file. (inas creates the tables before it turns WAL on, so
    they are always in the main file.)"""
    if not path.is_file():
        raise InasError(f"{path}: not a file; give the .db file of a study")
    if path.stat().st_size == 0:
        return
    try:
        uri = f"file:{quote(str(path.resolve()))}?immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise InasError(f"{path}: not a readable SQLite database ({e}); give the .db file of a study") from None
    if not tables >= OPTUNA_TABLES:
        raise InasError(
            f"{path}: a SQLite database, but not an Optuna study storage; give the .db file of a study "
            "(or a new path for a search to create)"
        )


def open_storage(url: str, create: bool = False) -> optuna.storages.RDBStorage:
    """An RDBStorage for `url`. Readers (`create=False`) open what exists and write nothing; a search
    (`create=True`) may create the file, its folder and Optuna's tables, and turns SQLite's WAL on."""
    check_url(url)
    path = sqlite_path(url)
    kwargs: dict = {}
    beat: dict = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S} if path is None and create else {}
    if path is not None:
        if path.exists():
            check_sqlite_file(path)
            if not create and path.stat().st_size == 0:
                raise InasError(f"{path}: an empty file; it holds no study")
        elif not create:
            raise InasError(f"{path}: no such file; run `inas search` first, or pass --storage with its URL")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=not create, **beat)
    except RuntimeError as e:  # Optuna's schema check: written by an Optuna with another table layout
        raise InasError(
            f"--storage {url}: {str(e).splitlines()[0]} Run `optuna storage upgrade --url {url}` "
            "(after a backup), or use the Optuna that wrote it"
        ) from None
    except ImportError as e:  # SQLAlchemy's driver for the URL's database is not installed
        missing = getattr(e.__cause__, "name", None) or "its driver"
        raise InasError(
            f"--storage {url}: the database driver is not installed (no module {shown(missing)}); "
            f"install it, e.g. `pip install {DRIVERS.get(missing, missing)}`"
        ) from None
    except Exception as e:  # a server that does not answer, a wrong password, ...
        raise InasError(f"--storage {url}: cannot open ({str(e).splitlines()[0]}); check the URL") from None
    if path is not None and create:
        with storage.engine.connect() as conn:  # WAL persists in the file: readers never block the writer
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return storage


def storage_failure(error: BaseException) -> str | None:
    """One line for a database error raised while a command reads or writes a study (a read-only or
    corrupted file, a server that went away), or None if `error` is something else. Looks only at
    modules already imported: a command that never opened a storage pays nothing."""
    sa_exc, optuna_exc = sys.modules.get("sqlalchemy.exc"), sys.modules.get("optuna.exceptions")
    seen: BaseException | None = error
    chain = []
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for e in chain:
        if sa_exc is not None and isinstance(e, sa_exc.DBAPIError):
            why = str(e.orig).splitlines()[0] if e.orig is not None else type(e).__name__
        elif isinstance(e, sqlite3.DatabaseError):
            why = str(e).splitlines()[0]
        else:
            continue
        if "readonly" in why or "read-only" in why:
            fix = "make the file (and its folder) writable, or choose another --storage"
        elif "malformed" in why or "not a database" in why:
            fix = "the file is damaged: restore it from a copy, or choose another --storage"
        else:
            fix = "check --storage and that the database is reachable"
        return f"the study's storage failed ({why}); {fix}"
    if optuna_exc is not None and isinstance(error, optuna_exc.StorageInternalError):
        return f"the study's storage failed ({str(error).splitlines()[0]}); check --storage"
    return None


class StudyLock:
    """An exclusive lock on (SQLite file, study) held for a search's lifetime; other databases are
    not locked (their own transactions keep the study consistent)."""

    def __init__(self, url: str, study: str):
        path = sqlite_path(url)
        self.path = path.with_name(f".{path.name}.{safe_stem(study)}.lock") if path is not None else None
        self.study = study
        self._fd: int | None = None
        self._made: list[Path] = []

    def __enter__(self) -> StudyLock:
        if self.path is None:
            return self
        folder = self.path.parent
        self._made = [p for p in (folder, *folder.parents) if not p.exists()]  # removed again if left empty
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = self._lock()
        except OSError as e:
            self._remove_made()
            raise InasError(
                f"--storage: cannot write the study's folder {folder} ({e.strerror}); choose a writable path"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd
        return self

    def _lock(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
                os.close(fd)
                self._remove_made()
                raise InasError(
                    f"study {shown(self.study)} is being searched by {holder}; wait for it to finish or use another --study"
                ) from None
            try:  # the holder we waited on may have removed the file: then lock the one there now
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def _remove_made(self) -> None:
        for folder in self._made:  # deepest first; a folder something was written to stays
            with contextlib.suppress(OSError):
                folder.rmdir()

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            # Remove the file while still holding it: a newcomer then locks a fresh file, never ours.
            self.path.unlink(missing_ok=True)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self._remove_made()
