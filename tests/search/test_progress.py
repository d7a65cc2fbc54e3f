"""The terminal view of a search: its table's counts and its one line per finished trial, on a study
built by Optuna directly (no Ray run)."""

import io
import pickle
import time

import optuna
import pytest
from optuna.trial import TrialState
from rich.console import Console

from inas.search.progress import SearchView
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
    # Progress: trained ones of the whole study; time left from this run's pace (4 trained in 100 s).
    assert lines[-1].endswith("[5/10 trained, 100 s, 125 s left]")
    assert v.trained_here == 4
    v.on_trial_complete(0, [], None)
    assert len(out.getvalue().splitlines()) == len(lines)  # each trial once


def test_the_view_pickles_without_its_terminal(study, storage):
    v, _ = view(storage)
    copy = pickle.loads(pickle.dumps(v))
    assert copy.console is None and copy.live is None and copy.total == 10
