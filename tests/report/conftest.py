"""Studies written by hand (no Ray, no training): what `inas search` records, with known numbers."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from inas.study.keys import CURVE_KEY, DATASET_KEY, SETTINGS_KEY
from inas.study.record import TrialRecord

OBJECTIVES = ["top1_error", "params", "train_time"]
DISTS = {"depth.4": IntDistribution(1, 7), "block.norm": CategoricalDistribution(["all", "none"])}


def inas_record(error, params, seconds, depth=3, norm="all", **values) -> TrialRecord:
    """The record a trial of `inas search` keeps, with known numbers."""
    return TrialRecord(
        val_top1=error,
        params=params,
        train_seconds=seconds,
        test_top1=error + 0.01,
        test_top5=error / 2,
        macs=params * 100,
        arch_hash=f"h{depth}{norm}",
        epochs_done=2,
        epochs_total=2,
        **values,
    )


def inas_trial(error, params, seconds, state=TrialState.COMPLETE, depth=3, norm="all", reason=None, **values):
    attrs = inas_record(error, params, seconds, depth, norm, **values).user_attrs()
    attrs[CURVE_KEY] = [[1, error + 0.1], [2, error]]
    if reason:
        attrs = TrialRecord(fail_reason=reason).user_attrs()
    values = [error, params, seconds] if state == TrialState.COMPLETE else None
    return create_trial(
        state=state,
        values=values,
        params={"depth.4": depth, "block.norm": norm},
        distributions=DISTS,
        user_attrs=attrs,
    )


def write_study(url: str, name: str, trials) -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=url, directions=["minimize"] * 3)
    study.set_metric_names(OBJECTIVES)
    study.set_user_attr(SETTINGS_KEY, {"space": "googlenet_depth", DATASET_KEY: "synthetic"})
    for t in trials:
        study.add_trial(t)
    return study


STANDARD = [
    inas_trial(0.30, 3e6, 10.0, depth=2),
    inas_trial(0.20, 5e6, 20.0, depth=4, norm="none"),
    inas_trial(0.35, 6e6, 25.0, depth=5),  # dominated by trial 0
    inas_trial(0.10, 9e6, 40.0, depth=7, norm="none"),
    inas_trial(0.50, 2e6, 5.0, state=TrialState.PRUNED, depth=1),
    inas_trial(0, 0, 0, state=TrialState.FAIL, reason="CUDA out of memory: tried to allocate 2 GiB"),
    inas_trial(0, 0, 0, state=TrialState.FAIL, reason="CUDA out of memory: tried to allocate 2 GiB"),
    inas_trial(0, 0, 0, state=TrialState.FAIL, reason="loss is NaN at epoch 1"),
]


@pytest.fixture
def study_dir(tmp_path, monkeypatch):
    """A working folder with studies/demo.db (the default storage of study `demo`)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "studies").mkdir()
    write_study("sqlite:///studies/demo.db", "demo", STANDARD)
    return tmp_path
