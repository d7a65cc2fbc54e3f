"""Opening a study to read: by name (in its default SQLite file or `--storage`), or by a `.db` path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inas import limits
from inas.errors import InasError, shown
from inas.study.storage import check_url, default_db, open_storage, sqlite_path, where_studies_are

if TYPE_CHECKING:  # loaded once the study's file is known to exist: a missing study is answered at once
    import optuna


@dataclass(frozen=True)
class StudyRef:
    """A study opened for reading, with the storage and URL it was read from."""

    study: optuna.Study
    url: str
    storage: optuna.storages.BaseStorage

    @property
    def name(self) -> str:
        return self.study.study_name

    @property
    def study_id(self) -> int:
        """The study's id in its storage (what optuna-dashboard's URLs use)."""
        return self.storage.get_study_id_from_name(self.name)


def open_study(name: str, storage: str | None = None) -> StudyRef:
    """The study `name` in `storage` (default: HOME/studies/NAME.db, see `inas.files.home`). Nothing is
    created: a missing file or study is an error that says where it looked. `name` may also be the path
    of a SQLite file that holds one study."""
    if not name.isprintable() or len(name) > 4 * limits.MAX_NAME_CHARS:
        raise InasError(f"study name {shown(name)}: not a study name (control characters, or too long)")
    if storage is None and name.endswith(".db"):
        db_file: Path | None = Path(name).absolute()
        url, name = f"sqlite:///{db_file}", ""
        if not db_file.exists():
            raise InasError(f"no study file {db_file}: it does not exist; give the path of a study's .db file")
    elif storage is None:
        db_file = default_db(name)
        url = f"sqlite:///{db_file}"
        if not db_file.exists():  # opening it would create an empty database
            raise InasError(
                f"no study {shown(name)} in {where_studies_are()}: {db_file.name} does not exist; run `inas search` "
                "first, or run from the folder the search ran in (or set INAS_HOME to it), or pass --storage with "
                "the URL it printed"
            )
    else:
        check_url(storage)  # before it is parsed for its file
        url, db_file = storage, sqlite_path(storage)
        if db_file is not None and not db_file.exists():
            raise InasError(
                f"no study {shown(name)}: {db_file.absolute()} does not exist; run `inas search` first, "
                "or pass --storage with the URL the search used"
            )
    import optuna

    rdb = open_storage(url)
    names = optuna.get_all_study_names(rdb)
    if not name or name not in names:
        rdb.engine.dispose()  # close the file before failing: SQLite then removes its -wal and -shm files
    if not name:
        if len(names) != 1:
            raise InasError(
                f"{db_file} holds {len(names)} studies ({', '.join(names) or 'none'}); name one: "
                f"inas ... STUDY --storage {url}"
            )
        name = names[0]
    if name not in names:
        hint = f"studies there: {', '.join(names)}" if names else "it holds no study"
        raise InasError(f"no study {shown(name)} in {url}; {hint}")
    from inas.study.snapshot import Snapshot

    # Its trials read once, in a few queries (Optuna's own reading takes a minute on 10,000 trials).
    return StudyRef(optuna.load_study(study_name=name, storage=Snapshot(rdb)), url, rdb)
