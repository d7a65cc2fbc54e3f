"""The terminal view of a search: its table's counts, its one line per finished trial and its lines
before the first, and the time left, on a study built by Optuna directly (no Ray run)."""

import io
import pickle
import time
from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import TrialState
from rich.console import Console

from inas.search.progress import SearchView, time_left
from inas.study.record import DUPLICATE_KEY, FAIL_REASON_KEY, INFEASIBLE_KEY, PRESCREENED_KEY

OBJECTIVES = ("top1_error", "params")


def add(study, state=TrialState.COMPLETE, values=None, **attrs):
    trial = study.ask()
    trial.suggest_int("x", 0, 100)
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, values, state=state)


@pytest.fixture
def storage():
    return optuna.storages.InMemoryStorage()


@pytest.fixture
def study(storage):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="s", storage=storage, directions=["minimize"] * 2)


def fill(study):
    """Trials 1..7 of every kind the view tells apart, and one left running."""
    add(study, values=[0.2, 3e6])  # 1: on the front with trial 0
    add(study, values=[0.4, 4e6])  # 2: dominated by trial 0
    add(study, TrialState.PRUNED)  # 3
    add(study, TrialState.FAIL, **{FAIL_REASON_KEY: "out of memory"})  # 4
    add(study, values=[0.2, 3e6], **{DUPLICATE_KEY: 1})  # 5: a repeat, not trained again
    add(study, TrialState.PRUNED, **{INFEASIBLE_KEY: "params 9e+06 > 5e+06"})  # 6
    add(study, TrialState.PRUNED, **{PRESCREENED_KEY: "naswot 1 < 3"})  # 7
    study.ask()  # 8: running


def view(storage, total=10):
    v = SearchView("s", storage, OBJECTIVES, total, quiet=True)
    v.setup()
    out = io.StringIO()
    v.console = Console(file=out, width=300, soft_wrap=True)
    return v, out


def test_the_table_counts_each_kind_of_trial(study, storage):
    add(study, values=[0.3, 2e6])
    fill(study)
    v, out = view(storage)
    v.console.print(v.table())
    text = out.getvalue()
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"  # rich pads every cell
    assert "trials           5/10 trained (3 complete, 1 pruned, 1 failed)\n" in text  # each counted once
    assert "not trained: 1 copies of earlier trials, 1 broke --constraint, 1 lost --prescreen\n" in text
    assert "1 running\n" in text
    assert "best top1_error  0.2" in text and "best params      2e+06" in text
    assert "Pareto front     2 trials" in text  # the repeat of trial 1 is not counted twice


def test_an_empty_study_shows_no_best(study, storage):
    v, out = view(storage)
    v.console.print(v.table())
    assert "0/10 trained" in out.getvalue() and "best top1_error  -" in out.getvalue()


def test_one_line_per_trial_finished_in_this_run(study, storage):
    add(study, values=[0.3, 2e6])  # 0: finished before this run, never printed
    v, out = view(storage)
    v.start = time.time() - 100
    fill(study)
    v.on_trial_complete(0, [], None)
    lines = out.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        "trial 1 complete top1_error=0.2, params=3e+06",
        "trial 2 complete top1_error=0.4, params=4e+06",
        "trial 3 pruned",
        "trial 4 fail out of memory",
        "trial 5 complete top1_error=0.2, params=3e+06 (same as trial 1, not trained again)",
        "trial 6 broke --constraint (params 9e+06 > 5e+06; not trained)",
        "trial 7 lost --prescreen (naswot 1 < 3; not trained)",
    ]
    # Progress: trained ones of the whole study; no Ray trial was timed, so no time left yet.
    assert lines[-1].endswith("[5/10 trained, 100 s, - left]")
    v.on_trial_complete(0, [], None)
    assert len(out.getvalue().splitlines()) == len(lines)  # each trial once


def test_the_view_pickles_without_its_terminal(study, storage):
    v, _ = view(storage)
    copy = pickle.loads(pickle.dumps(v))
    assert copy.console is None and copy.live is None and copy.total == 10


def test_time_left_is_nothing_until_something_was_measured():
    assert time_left([], [], 5, 2) is None
    assert time_left([], [(30.0, 0.0)], 5, 2) is None  # running, no epoch trained yet
    assert time_left([10.0], [], 0, 2) == 0.0


def test_time_left_shares_the_work_among_the_slots():
    """The issue's case: two trials at a time; one finished in 100 s, the other is 2/3 done. The pace of
    trials finished alone (100 s a trial, 3 left: 300 s) said twice what remains."""
    assert time_left([100.0], [(100.0, 2 / 3)], 3, 2) == 125.0  # (50 + 2 x 100) / 2
    assert time_left([100.0], [(100.0, 2 / 3)], 3, 1) == 250.0


def test_time_left_before_any_trial_finished_reads_the_running_ones():
    # Each a quarter done after 30 s: 120 s a trial, 90 s left each, two more to start; two slots.
    assert time_left([], [(30.0, 0.25), (30.0, 0.25)], 4, 2) == 210.0


def test_a_running_trial_lasts_at_least_what_its_progress_says():
    assert time_left([10.0], [(10.0, 0.1)], 1, 2) == 90.0  # alone and slow: its own 90 s, not the mean's
    assert time_left([10.0], [(40.0, 0.0)], 1, 1) == 0.0  # past the mean before its first epoch: soon


def fake(trial_id, **last):
    return SimpleNamespace(trial_id=trial_id, last_result=last)


def test_the_view_says_each_trial_start_and_epoch_until_the_first_is_trained(study, storage):
    numbers = {"a": 0, "b": 1}
    v, out = view(storage, total=4)
    v.number_of, v.slots = numbers.get, 2
    v.start = time.time() - 5
    v.on_trial_start(0, [], fake("a"))
    v.on_trial_start(0, [], fake("b"))
    v.on_trial_result(0, [], fake("b"), {"epochs_done": 0, "epochs_total": 3})  # no epoch: nothing said
    v.started = {"a": time.time() - 100, "b": time.time() - 100}
    v.on_trial_result(0, [], fake("b"), {"epochs_done": 2, "epochs_total": 3})
    v.on_trial_result(0, [], fake("b"), {"epochs_done": 2, "epochs_total": 3})  # the same epoch again
    add(study, values=[0.3, 2e6])  # trial 0 ("a") finishes after 100 s
    v.on_trial_complete(0, [], fake("a", status="ok"))
    v.on_trial_start(0, [], fake("c"))  # after the first trained trial: the finish lines say enough
    lines = [line.split("] ", 1)[1] if line.startswith("[") else line for line in out.getvalue().splitlines()]
    # b's pace: 150 s a trial; a (no epoch yet) needs 50 s more, b 50 s, two to start: (100 + 300) / 2.
    assert lines[:3] == ["trial 0 running ...", "trial 1 running ...", "trial 1: epoch 2/3 trained; 200 s left"]
    # a took 100 s; b needs 50 s more; two to start at 100 s each: (50 + 200) / 2 slots.
    assert lines[3:] == ["trial 0 complete top1_error=0.3, params=2e+06 [1/4 trained, 5 s, 125 s left]"]
    assert v.durations and abs(v.durations[0] - 100) < 1


def test_a_trial_that_broke_the_constraint_is_no_trials_cost(study, storage):
    v, _ = view(storage)
    v.on_trial_start(0, [], fake("a"))
    v.on_trial_complete(0, [], fake("a", status="infeasible"))
    assert v.durations == [] and v.started == {}
