import pytest

from inas.errors import InasError
from inas.export.pick import knee, pick_trial
from inas.study.frame import trials_frame
from tests.report.conftest import STANDARD, write_study

# Pareto members of STANDARD: trial 0 (0.30, 3e6, 10 s), 1 (0.20, 5e6, 20 s), 3 (0.10, 9e6, 40 s).


@pytest.fixture
def study(tmp_path):
    return write_study(f"sqlite:///{tmp_path}/s.db", "demo", STANDARD)


def test_min_error_and_trial(study):
    assert pick_trial(study) == 3
    assert pick_trial(study, pick="min-error") == 3
    assert pick_trial(study, trial=2) == 2  # dominated, but asked for by number


def test_knee_by_hand(study):
    # Scaled over the front: trial 0 -> (1, 0, 0), trial 1 -> (0.5, 1/3, 1/3), trial 3 -> (0, 1, 1).
    # Distances to the origin: 1, 0.667, 1.414: trial 1 is the knee.
    assert pick_trial(study, pick="knee") == 1
    front = trials_frame(study).query("pareto")
    assert knee(front, ["top1_error", "params"]) in (0, 1)


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("params<6e6", 1),
        ("params<=3e6", 0),
        ("params<6e6,train_time<15", 0),
        ("val_top1 > 0.15", 1),
        ("macs>5.5e8,macs<7e8", 2),  # not an objective: only dominated trial 2 fits
    ],
)
def test_constraints_pick_the_lowest_error_that_fits(study, constraint, expected):
    assert pick_trial(study, pick=constraint) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pick": "params<1e6"}, "no complete trial satisfies it .*params 3e\\+06"),
        ({"pick": "test_top1<0.5"}, "unknown value 'test_top1'"),
        ({"pick": "latency_ms<5"}, "no complete trial recorded latency_ms"),
        ({"pick": "smallest"}, "use min-error, knee, or constraints"),
        ({"trial": 4}, "--trial 4: it is pruned; export a complete trial"),
        ({"trial": 99}, "has trials 0 to 7"),
        ({"trial": 0, "pick": "knee"}, "give --trial or --pick, not both"),
    ],
)
def test_bad_picks(study, kwargs, message):
    with pytest.raises(InasError, match=message):
        pick_trial(study, **kwargs)


def test_study_without_complete_trials(tmp_path):
    study = write_study(f"sqlite:///{tmp_path}/f.db", "failed", STANDARD[5:])
    with pytest.raises(InasError, match="no complete trial to export"):
        pick_trial(study)


def test_ties_go_to_the_smaller_faster_trial():
    import pandas as pd

    # Objectives error and params only: trials 0 and 1 are equal on both, trial 0 trained 3x longer.
    front = pd.DataFrame(
        {
            "number": [0, 1, 2],
            "top1_error": [0.2, 0.2, 0.1],
            "params": [2e6, 2e6, 6e6],
            "train_seconds": [300.0, 100.0, 200.0],
            "macs": [1e8, 1e8, 3e8],
        }
    )
    # Scaled: trials 0 and 1 -> (1, 0), trial 2 -> (0, 1): all three at distance 1.
    assert knee(front, ["top1_error", "params"]) == 2  # equal distances: the lower error first
    assert knee(front.iloc[:2], ["top1_error", "params"]) == 1  # equal on both: the faster one


def test_a_latency_constraint_picks_among_the_timed_trials(tmp_path):
    from tests.report.conftest import inas_trial

    trials = [inas_trial(0.3, 3e6, 10.0, latency_ms=1.0), inas_trial(0.2, 5e6, 20.0, depth=4, latency_ms=4.0)]
    study = write_study(f"sqlite:///{tmp_path}/t.db", "timed", trials)
    assert pick_trial(study, pick="latency_ms<2") == 0 and pick_trial(study, pick="latency_ms<5") == 1
