"""The trial record's bookkeeping: counts, what counts toward --trials, stale trials, pending fixed candidates."""

import optuna
from optuna.trial import TrialState

from inas.study.record import DUPLICATE_KEY, counts, fail_stale_trials, pending_points, trained


def test_stale_running_and_waiting_trials_fail_and_do_not_count():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    study.enqueue_trial({"x": 1.0})  # WAITING
    study.ask()  # RUNNING (takes the enqueued one)
    study.enqueue_trial({"x": 2.0})
    done = study.ask()
    study.tell(done, 0.5)
    assert fail_stale_trials(storage, study, "interrupted (Ctrl-C)") == 1
    study.enqueue_trial({"x": 3.0})
    assert fail_stale_trials(storage, study) == 1
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[2].user_attrs["fail_reason"] == "not started before the search stopped"
    assert trained(study) == 1


def test_copies_count_but_do_not_train():
    study = optuna.create_study()
    for x, copy in ((1.0, False), (1.0, True), (2.0, False)):
        t = study.ask()
        t.suggest_float("x", x, x)
        if copy:
            t.set_user_attr(DUPLICATE_KEY, 0)
        study.tell(t, x)
    c = counts(study)
    assert (c["complete"], c["copies"]) == (3, 1) and trained(study) == 2


def test_pending_points_skip_done_and_retry_failed():
    study = optuna.create_study()
    done, failed = study.ask(), study.ask()
    done.suggest_int("n", 1, 1)
    failed.suggest_int("n", 2, 2)
    study.tell(done, 0.1)
    study.tell(failed, state=TrialState.FAIL)
    assert pending_points(study, [{"n": 1}, {"n": 2}, {"n": 3}]) == [{"n": 2}, {"n": 3}]


def test_copies_of_a_front_member_are_not_more_members():
    from inas.study.record import pareto_trials

    study = optuna.create_study(directions=["minimize", "minimize"])
    study.add_trial(optuna.trial.create_trial(values=[0.1, 5.0]))
    study.add_trial(optuna.trial.create_trial(values=[0.2, 1.0]))
    study.add_trial(optuna.trial.create_trial(values=[0.2, 1.0], user_attrs={DUPLICATE_KEY: 1}))
    assert len(study.best_trials) == 3 and [t.number for t in pareto_trials(study)] == [0, 1]
