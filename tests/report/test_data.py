import math

import numpy as np
import optuna
import pandas as pd
import pytest

from inas.report import data
from inas.study.frame import choice_columns, objective_names, trials_frame
from tests.report.conftest import STANDARD, write_study


@pytest.fixture
def study(tmp_path):
    return write_study(f"sqlite:///{tmp_path}/s.db", "demo", STANDARD)


def test_hypervolume_of_a_staircase_by_hand():
    # (1,3), (2,2), (3,1) under (4,4): rectangles of 3 + 2 + 1; (3,3) is dominated and adds nothing.
    points = np.array([[1, 3], [2, 2], [3, 1], [3, 3]], dtype=float)
    assert data.hypervolume(points, [4, 4]) == pytest.approx(6.0)
    assert data.hypervolume(points[:1], [4, 4]) == pytest.approx(3.0)
    assert data.hypervolume(np.array([[5.0, 1.0]]), [4, 4]) == 0.0  # outside the box
    assert data.non_dominated(points).tolist() == [True, True, True, False]


def test_two_objective_front_is_a_sorted_staircase():
    done = pd.DataFrame({"params": [3.0, 1.0, 2.0, 2.5], "val_top1": [0.1, 0.5, 0.2, 0.3], "number": [0, 1, 2, 3]})
    assert data.front_2d(done)["number"].tolist() == [1, 2, 0]  # trial 3 is dominated by trial 2


def test_pareto_membership_and_table(study):
    info = data.pareto_info(study)
    assert info["number"].tolist() == [0, 1, 2, 3]
    assert info["pareto"].tolist() == [True, True, False, True]  # trial 2 is worse than 0 everywhere
    frame = trials_frame(study)
    assert frame["state"].tolist() == ["complete"] * 4 + ["pruned"] + ["fail"] * 3
    assert {"top1_error", "params", "train_time", "test_top1", "macs", "depth.4", "block.norm"} <= set(frame.columns)
    assert list(frame.columns).count("params") == 1  # the objective and the record are one column
    assert frame.loc[4, "params"] == 2e6 and math.isnan(frame.loc[4, "top1_error"])  # pruned: record, no value
    assert choice_columns(frame, study) == ["block.norm", "depth.4"]


def test_hypervolume_history_with_the_stated_reference(study):
    frame = trials_frame(study)
    objectives = objective_names(study)
    ref = data.reference_point([frame], objectives)
    assert ref == pytest.approx([0.35 * 1.1, 9e6 * 1.1, 40.0 * 1.1])
    history = data.hypervolume_history(frame, objectives, ref)
    assert history["number"].tolist() == list(range(8))
    assert history["hypervolume"].is_monotonic_increasing
    complete = frame[frame["state"] == "complete"][objectives].to_numpy(dtype=float)
    assert history["hypervolume"].iloc[-1] == pytest.approx(data.hypervolume(complete, ref))
    assert history["fraction"].iloc[-1] == pytest.approx(history["hypervolume"].iloc[-1] / np.prod(ref))
    # a single point: its box to the reference, by hand
    first = (ref[0] - 0.30) * (ref[1] - 3e6) * (ref[2] - 10.0)
    assert history["hypervolume"].iloc[0] == pytest.approx(first)


def test_failures_grouped_by_reason(study):
    fails = data.failures(trials_frame(study))
    assert fails.to_dict("records") == [
        {"reason": "CUDA out of memory: tried to allocate 2 GiB", "count": 2, "trials": "5, 6"},
        {"reason": "loss is NaN at epoch 1", "count": 1, "trials": "7"},
    ]


def test_curves_and_importances(study):
    curves = data.curves(study, [0, 3])
    assert curves.to_dict("records")[:2] == [
        {"number": 0, "epoch": 1, "val_top1": pytest.approx(0.4)},
        {"number": 0, "epoch": 2, "val_top1": 0.3},
    ]
    found, why = data.importances(study)
    assert set(found) == {"depth.4", "block.norm"} and why == ""
    empty = optuna.create_study(directions=["minimize"] * 3)
    assert data.importances(empty) == ({}, "needs at least two complete trials")
