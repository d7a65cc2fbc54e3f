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
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from inas import limits
from inas.errors import ConfigError, InasError, shown
from inas.files import HOME_ENV, safe_stem, studies_dir

if TYPE_CHECKING:  # optuna and SQLAlchemy load when a storage is parsed or opened, not with this module
    import optuna

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


def default_db(study: str) -> Path:
    """The SQLite file of a study named `study` when no --storage is given: HOME/studies/NAME.db (absolute)."""
    return studies_dir() / f"{check_study_name(study)}.db"


def default_storage(study: str) -> str:
    """The URL of `default_db(study)`: `sqlite:////ABSOLUTE/studies/NAME.db`, the same from any folder."""
    return f"sqlite:///{default_db(study)}"


def where_studies_are() -> str:
    """The folder a study without --storage is looked for in, and why there (for a study not found)."""
    why = (
        f"${HOME_ENV}/studies" if os.environ.get(HOME_ENV) else f"the current folder's studies/; {HOME_ENV} is not set"
    )
    return f"{studies_dir()} ({why})"


def absolute_url(url: str) -> str:
    """A SQLite URL whose file is given relative to the current folder, made absolute (what is printed
    is then usable from any folder); any other URL as it is."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # check_url says what is wrong with it
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return url
    if Path(db).is_absolute():
        return url
    return parsed.set(database=str(Path(db).absolute())).render_as_string(hide_password=False)


def check_resume(names: list[str], name: str, url: str, resume: bool) -> bool:
    """Whether study `name` is among the storage's `names`, after checking that --resume agrees."""
    exists = name in names
    if exists and not resume:
        raise InasError(
            f"study {shown(name)} already exists in {url}; add --resume to continue it or choose another --study"
        )
    if resume and not exists:
        raise InasError(f"no study {shown(name)} in {url} to resume; drop --resume to start it")
    return exists


def check_writable_study_file(db_file: Path | None) -> None:
    """A search's existing SQLite file (and its folder, for -wal and -shm) can be written."""
    if db_file is not None and db_file.exists() and not all(os.access(p, os.W_OK) for p in (db_file, db_file.parent)):
        raise InasError(
            f"--storage: {db_file} (or its folder) is read-only; make it writable or choose another --storage"
        )


def check_search_storage(url: str, name: str, resume: bool) -> bool:
    """What a search can find wrong with its storage before it loads anything (torch, the data, Ray):
    the URL, a read-only file, and whether the study exists exactly when --resume says so. Returns
    whether it exists. Writes nothing to a SQLite file (a server database gets Optuna's tables, as the
    search would give it); the search checks again, under the study's lock."""

    check_url(url)
    db_file = sqlite_path(url)
    if db_file is not None:
        check_not_dangling(db_file)
    check_writable_study_file(db_file)
    if db_file is not None and not db_file.exists():
        if resume:
            raise InasError(f"no study {shown(name)} to resume: {db_file} does not exist; drop --resume to start it")
        return False
    if db_file is not None:  # read with sqlite3: Optuna's storage (and its schema check) loads in seconds
        check_sqlite_file(db_file)
        names: list[str] = []
        if db_file.stat().st_size:
            uri = f"file:{quote(str(db_file.resolve()))}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)) as conn:
                names = [row[0] for row in conn.execute("SELECT study_name FROM studies")]
        return check_resume(names, name, url, resume)
    import optuna

    storage = open_storage(url, create=True)
    try:
        return check_resume(optuna.get_all_study_names(storage), name, url, resume)
    finally:
        storage.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"--storage {shown(url)}: not a SQLAlchemy URL; use e.g. sqlite:///studies/NAME.db or postgresql://HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or ":memory:" in parsed.database or parsed.query.get("mode") == "memory"
    ):  # a study in memory is lost when the command exits
        raise ConfigError(
            f"--storage {shown(url)}: an in-memory SQLite database is lost when the command exits; "
            "give a file, e.g. sqlite:///studies/NAME.db"
        )


def check_not_dangling(path: Path) -> None:
    """A database path that is a link to nothing: SQLite would create the study at the link's target."""
    if path.is_symlink() and not path.exists():
        raise InasError(
            f"--storage: {path} is a symbolic link to nothing ({os.readlink(path)}); inas never creates a "
            "study through a link: remove the link, or give the real file"
        )


def writable(path: Path) -> bool:
    """Whether the file can be opened for writing (tried, not guessed: as root `os.access` says yes to
    an immutable file or one on a read-only mount). Opening writes nothing."""
    try:
        os.close(os.open(path, os.O_RDWR))  # a regular file: check_sqlite_file said so
    except OSError:
        return False
    return True


def read_only_url(path: Path) -> str:
    """A URL that reads `path` without writing anything beside it: no -wal, -shm or journal (SQLite's
    `immutable`: for a file nobody can change, which is what a file nobody can open for writing is)."""
    return f"sqlite:///file:{quote(str(path.resolve()))}?immutable=1&uri=true"


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
    import optuna

    check_url(url)
    path = sqlite_path(url)
    kwargs: dict = {}
    beat: dict = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S} if path is None and create else {}
    engine_url = url
    if path is not None:
        check_not_dangling(path)
        if path.exists():
            check_sqlite_file(path)
            if not create and path.stat().st_size == 0:
                raise InasError(f"{path}: an empty file; it holds no study")
            if not create and not writable(path):  # immutable, a read-only mount, another's file
                engine_url = read_only_url(path)
        elif not create:
            raise InasError(f"{path}: no such file; run `inas search` first, or pass --storage with its URL")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    try:
        storage = optuna.storages.RDBStorage(engine_url, engine_kwargs=kwargs, skip_table_creation=not create, **beat)
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
    not locked (their own transactions keep the study consistent).

    Keyed by the real file: the lock lives beside the database's resolved path, so two spellings of one
    database (a link, `..`) take the same lock. It is opened without following links, created fresh
    (O_EXCL) and never truncated: what is planted at its path is refused or, if it is a stale lock
    of ours (a regular file with one link, whose holder is gone), unlinked, never written."""

    def __init__(self, url: str, study: str):
        path = sqlite_path(url)
        self.db = path
        self.path = None
        if path is not None:
            real = Path(os.path.realpath(path))
            self.path = real.with_name(f".{real.name}.{safe_stem(study)}.lock")
        self.study = study
        self._fd: int | None = None
        self._made: list[Path] = []

    def __enter__(self) -> StudyLock:
        if self.path is None:
            return self
        check_not_dangling(self.db)
        folder = self.path.parent
        self._made = [p for p in (folder, *folder.parents) if not p.exists()]  # removed again if left empty
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = self._lock()
        except OSError as e:
            self._remove_made()
            raise InasError(
                f"--storage: cannot write the study's folder {folder} ({e.strerror}); choose a writable path"
            ) from None
        return self

    def _refuse(self, what: str) -> InasError:
        self._remove_made()
        return InasError(f"--storage: {self.path} {what}, not a lock inas made; remove it if no search is running")

    def _lock(self) -> int:
        nofollow = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | nofollow, 0o644)
                created = True
            except FileExistsError:
                try:  # look before opening: a device or a FIFO planted there is never opened
                    kind = os.lstat(self.path).st_mode
                    if stat.S_ISLNK(kind):
                        raise self._refuse("is a symbolic link")
                    if not stat.S_ISREG(kind):
                        raise self._refuse("is not a regular file")
                    fd = os.open(self.path, os.O_RDONLY | nofollow)
                except FileNotFoundError:  # its holder removed it just now: try again
                    continue
                created = False
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                os.close(fd)
                raise self._refuse("is not a regular file" if not stat.S_ISREG(st.st_mode) else "has other names")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                os.close(fd)
                self._remove_made()
                raise InasError(
                    f"study {shown(self.study)} is being searched by {holder}; wait for it to finish or use another --study"
                ) from None
            try:  # the holder we waited on may have removed the file: then lock the one there now
                same = os.stat(self.path, follow_symlinks=False).st_ino == st.st_ino
            except FileNotFoundError:
                same = False
            if same and created:
                os.write(fd, f"pid {os.getpid()}".encode())
                return fd
            if same:  # a stale lock whose holder died: remove it (only the name) and make a fresh one
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
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
