"""Opening storages: readers write nothing, and database failures become one line."""

import hashlib
import importlib.util
import sqlite3

import optuna
import pytest

from inas.errors import ConfigError, InasError
from inas.study.storage import check_study_name, open_storage, storage_failure


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_reader_refuses_a_plain_sqlite_file_and_leaves_it_alone(tmp_path):
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    before = digest(path)
    for create in (False, True):  # not even a search adds Optuna's tables to someone's database
        with pytest.raises(InasError, match="not an Optuna study storage"):
            open_storage(f"sqlite:///{path}", create=create)
    assert digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_a_reader_opens_a_study_without_turning_wal_on(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    optuna.create_study(study_name="s", storage=url).optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    before = digest(tmp_path / "s.db")
    storage = open_storage(url)
    assert optuna.get_all_study_names(storage) == ["s"]
    storage.engine.dispose()
    assert digest(tmp_path / "s.db") == before
    with pytest.raises(InasError, match="no such file"):
        open_storage(f"sqlite:///{tmp_path}/missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_storage_failure_names_a_read_only_database(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    optuna.create_study(study_name="s", storage=url)
    read_only = optuna.storages.RDBStorage(f"sqlite:///file:{tmp_path}/s.db?mode=ro&uri=true", skip_table_creation=True)
    with pytest.raises(Exception) as caught:
        optuna.create_study(study_name="t", storage=read_only)
    message = storage_failure(caught.value)
    assert message is not None and "readonly" in message and "make the file" in message
    assert storage_failure(ValueError("something else")) is None


@pytest.mark.parametrize("name", ["a/b", "../../etc/evil", "a\x01b", ".hidden", "", "x" * 101])
def test_study_names_that_would_become_paths_are_refused(name):
    with pytest.raises(ConfigError, match="a study name is"):
        check_study_name(name)


def test_ordinary_study_names_pass():
    assert check_study_name("googlenet_depth-2.v1") == "googlenet_depth-2.v1"


def test_a_missing_database_driver_names_what_to_install():
    if importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here")
    with pytest.raises(InasError, match=r"no module 'pg8000'.*pip install pg8000"):
        open_storage("postgresql+pg8000://user@localhost/db", create=True)


def test_the_default_storage_is_absolute_and_under_inas_home(tmp_path, monkeypatch):
    from inas.study.storage import default_db, default_storage

    monkeypatch.delenv("INAS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_storage("s") == f"sqlite:///{tmp_path}/studies/s.db"
    monkeypatch.setenv("INAS_HOME", str(tmp_path / "home"))
    assert default_db("s") == tmp_path / "home" / "studies" / "s.db"
    for bad, message in (("rel", "a relative path"), (str(tmp_path / "f"), "not a folder"), ("/a\nb", "control")):
        (tmp_path / "f").write_text("")
        monkeypatch.setenv("INAS_HOME", bad)
        with pytest.raises(InasError, match=message):
            default_db("s")


def test_a_relative_sqlite_url_is_made_absolute(tmp_path, monkeypatch):
    from inas.study.storage import absolute_url

    monkeypatch.chdir(tmp_path)
    assert absolute_url("sqlite:///s.db") == f"sqlite:///{tmp_path}/s.db"
    for kept in (f"sqlite:///{tmp_path}/s.db", "postgresql://u:p@host/db", "sqlite://", "not a url"):
        assert absolute_url(kept) == kept


def test_a_study_in_inas_home_is_read_from_any_folder(tmp_path, monkeypatch):
    """`INAS_HOME` names one home: a study there is found wherever the command runs, its report goes to
    $INAS_HOME/dashboards and the path printed is absolute; a study not there says where it looked."""
    from typer.testing import CliRunner

    from inas.cli import app

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "studies").mkdir(parents=True)
    study = optuna.create_study(study_name="demo", storage=f"sqlite:///{home}/studies/demo.db", directions=["minimize"])
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("INAS_HOME", str(home))
    runner = CliRunner()
    assert runner.invoke(app, ["trials", "demo", "--format", "csv"]).exit_code == 0
    result = runner.invoke(app, ["report", "demo"])
    assert result.exit_code == 0, result.output
    assert f"report: {home / 'dashboards' / 'demo.html'}" in result.stdout and (home / "dashboards/demo.html").is_file()
    missing = runner.invoke(app, ["trials", "other"])
    assert missing.exit_code == 2
    assert f"no study 'other' in {home / 'studies'} ($INAS_HOME/studies): other.db does not exist" in missing.stderr
    assert list(elsewhere.iterdir()) == []
