"""Heartbeats: on a storage with a heartbeat, a resumed search fails only the trials whose beat stopped."""

import time
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from inas.search.heartbeat import Heartbeat
from inas.study.record import counts_toward_trials, fail_reason, fail_stale_trials, trained


@pytest.fixture
def beating(tmp_path):
    """A storage with a one-second heartbeat, as `open_storage` gives a server database (any RDB
    storage beats the same way; SQLite keeps the test self-contained)."""
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    url = f"sqlite:///{tmp_path}/beat.db"
    return optuna.storages.RDBStorage(url, heartbeat_interval=1, grace_period=1)


def test_only_trials_whose_search_stopped_are_failed(beating):
    study = optuna.create_study(study_name="s", storage=beating)
    alive, dead = study.ask(), study.ask()
    live = [alive.number, dead.number]
    beat = Heartbeat(beating, "s", lambda: live)
    beat.on_step_begin(0, [])  # both beat at once
    live.remove(dead.number)  # the search that ran `dead` stops; the other keeps beating
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        beat.on_step_begin(1, [])
        time.sleep(0.1)
    assert fail_stale_trials(beating, study) == 1
    by_number = {t.number: t for t in study.get_trials()}
    assert by_number[alive.number].state == TrialState.RUNNING
    failed = by_number[dead.number]
    assert failed.state == TrialState.FAIL and "heartbeat stopped" in fail_reason(failed)
    assert not counts_toward_trials(failed) and trained(study) == 0
    study.tell(alive, 0.5)  # the live search still owns its trial
    assert trained(study) == 1


def test_a_storage_without_heartbeat_is_left_alone(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/plain.db")
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()
    Heartbeat(storage, "s", lambda: [trial.number]).on_step_begin(0, [])
    assert fail_stale_trials(storage, study) == 1  # no heartbeat: the lock says every RUNNING trial is stale


def test_a_stop_asked_for_is_raised_again_from_tunes_loop():
    from inas.search.heartbeat import StopOnSignal
    from inas.search.stop import STOP_REQUESTED

    stop = StopOnSignal()
    stop.on_step_begin(0, [])  # nothing asked: the loop goes on
    STOP_REQUESTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            stop.on_step_begin(1, [])
    finally:
        STOP_REQUESTED.clear()
