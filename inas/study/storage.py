"""Optuna storage through SQLAlchemy: any URL works; SQLite gets WAL mode and a busy timeout so
optuna-dashboard can read while a search writes, and a lock file so two searches never share a study."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from inas.errors import ConfigError, InasError

BUSY_TIMEOUT_S = 60


def default_storage(study: str) -> str:
    return f"sqlite:///studies/{study}.db"


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
            f"--storage {url!r}: not a SQLAlchemy URL; use e.g. sqlite:///studies/NAME.db or postgresql://HOST/DB"
        ) from None


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDBStorage for `url`, creating a SQLite file's folder if needed."""
    check_url(url)
    path = sqlite_path(url)
    kwargs = {}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except Exception as e:  # a driver that is not installed, a server that does not answer, ...
        raise InasError(f"--storage {url}: cannot open ({str(e).splitlines()[0]}); check the URL") from None
    if path is not None:
        with storage.engine.connect() as conn:  # WAL persists in the file: readers never block the writer
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return storage


class StudyLock:
    """An exclusive lock on (SQLite file, study) held for a search's lifetime; other databases are
    not locked (their own transactions keep the study consistent)."""

    def __init__(self, url: str, study: str):
        path = sqlite_path(url)
        self.path = path.with_name(f".{path.name}.{study}.lock") if path is not None else None
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
                    f"study {self.study!r} is being searched by {holder}; wait for it to finish or use another --study"
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
