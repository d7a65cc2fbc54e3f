"""Opening a study to read: by name, by .db path; nothing is created when it is missing."""

import optuna
import pytest

from inas.errors import InasError
from inas.study.load import open_study


def test_a_db_path_with_one_study_opens_it(tmp_path):
    url = f"sqlite:///{tmp_path}/one.db"
    optuna.create_study(study_name="only", storage=url)
    ref = open_study(str(tmp_path / "one.db"))
    assert ref.name == "only" and ref.url == url and ref.study_id == ref.storage.get_study_id_from_name("only")


def test_a_missing_file_is_an_error_and_is_not_created(tmp_path):
    with pytest.raises(InasError, match="does not exist"):
        open_study("nosuch", f"sqlite:///{tmp_path}/nosuch.db")
    assert not (tmp_path / "nosuch.db").exists()


def test_an_unknown_name_lists_the_studies_there(tmp_path):
    url = f"sqlite:///{tmp_path}/two.db"
    for name in ("a", "b"):
        optuna.create_study(study_name=name, storage=url)
    with pytest.raises(InasError, match="no study 'c' in .*; studies there: a, b"):
        open_study("c", url)
    with pytest.raises(InasError, match="holds 2 studies"):
        open_study(str(tmp_path / "two.db"))
