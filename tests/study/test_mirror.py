"""A study read from memory: the database stays the record, and the copy never says what it does not."""

import pickle

import optuna
import pytest
from optuna.trial import TrialState

from inas.errors import InasError
from inas.study.mirror import MirroredStorage
from inas.study.storage import open_storage


def picture(trials):
    return [
        (
            t.number,
            t.state,
            t.params,
            t.distributions,
            t.values,
            t.user_attrs,
            t.intermediate_values,
            {k: v for k, v in t.system_attrs.items()},
        )
        for t in trials
    ]


def backend_and_mirror(tmp_path, trials_before=0):
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    study = optuna.create_study(study_name="s", storage=storage, direction="minimize")
    study.set_user_attr("settings", {"space": "x"})
    for i in range(trials_before):
        trial = study.ask()
        trial.suggest_int("depth", 1, 3)
        study.tell(trial, i)
    return storage, MirroredStorage(storage, "s")


def test_what_a_search_writes_lands_in_the_database_as_the_copy_shows_it(tmp_path):
    storage, mirror = backend_and_mirror(tmp_path, trials_before=3)
    study = optuna.load_study(study_name="s", storage=mirror, sampler=optuna.samplers.TPESampler(seed=0))
    assert study.user_attrs == {"settings": {"space": "x"}}
    study.enqueue_trial({"depth": 2}, user_attrs={"enqueued": True})
    running = []
    for _ in range(6):
        trial = study.ask()
        trial.suggest_int("depth", 1, 3)
        if trial.number % 2:
            trial.suggest_categorical("kind", ["a", "b"])
        trial.set_user_attr("key", f"t{trial.number}")
        trial.report(0.5, step=1)
        running.append(trial)
    for trial in running[:4]:
        study.tell(trial, trial.number)
    study.tell(running[4], state=TrialState.FAIL)
    study.set_user_attr("later", 1)
    in_database = optuna.load_study(study_name="s", storage=storage)
    assert [t.number for t in study.trials] == list(range(9))  # numbers continue from the database's
    assert picture(study.trials) == picture(in_database.trials)
    assert study.trials[3].user_attrs["enqueued"] is True and study.trials[3].params["depth"] == 2
    assert in_database.user_attrs == study.user_attrs
    assert study.trials[-1].state == TrialState.RUNNING == in_database.trials[-1].state


def test_a_write_the_database_refuses_leaves_the_copy_as_it_was(tmp_path):
    storage, mirror = backend_and_mirror(tmp_path)
    study = optuna.load_study(study_name="s", storage=mirror)
    trial = study.ask()
    trial.suggest_int("depth", 1, 3)
    # Another process finishes the trial in the database (a heartbeat check, say).
    backend_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name("s"), 0)
    storage.set_trial_state_values(backend_id, TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        trial.set_user_attr("after", 1)
    assert "after" not in study.trials[0].user_attrs
    assert study.trials[0].state == TrialState.RUNNING  # the copy keeps only what the database took


def test_a_study_another_process_writes_is_refused_in_one_line(tmp_path):
    storage, mirror = backend_and_mirror(tmp_path, trials_before=1)
    study = optuna.load_study(study_name="s", storage=mirror)
    optuna.load_study(study_name="s", storage=storage).ask()  # behind the copy's back
    with pytest.raises(InasError, match=r"another process writes the study\); run one search on a study at a time"):
        study.ask()


def test_a_pickled_copy_reads_the_same_study(tmp_path):  # Ray Tune pickles the searcher, study and all
    _, mirror = backend_and_mirror(tmp_path, trials_before=2)
    again = pickle.loads(pickle.dumps(mirror))
    study = optuna.load_study(study_name="s", storage=again)
    assert picture(study.trials) == picture(optuna.load_study(study_name="s", storage=mirror).trials)
    study.ask().suggest_int("depth", 1, 3)
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/s.db").trials) == 3


def test_it_holds_its_one_study_only(tmp_path):
    storage, mirror = backend_and_mirror(tmp_path)
    optuna.create_study(study_name="other", storage=storage)
    with pytest.raises(NotImplementedError):
        optuna.create_study(study_name="new", storage=mirror)
    assert [s.study_name for s in optuna.study.get_all_study_summaries(storage=mirror)] == ["s"]
    with pytest.raises(KeyError):
        mirror.set_study_user_attr(mirror.get_study_id_from_name("s") + 1, "k", 1)
