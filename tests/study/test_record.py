"""The trial record: its type and keys, and the bookkeeping (counts, what counts toward --trials, stale
trials, pending fixed candidates)."""

import ast
from pathlib import Path

import optuna
from optuna.trial import TrialState

from inas.study.keys import DUPLICATE_KEY
from inas.study.record import counts, fail_stale_trials, pending_points, trained


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


# -- the typed record ---------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "inas"
# Packages below the study: they cannot import it, and write formats of their own with some of the same
# words (TrainResult's dict, a model folder's metrics.json, `inas space sample --json`).
BELOW_THE_STUDY = ("model", "data", "space", "train", "supernet")


def record_keys() -> set[str]:
    """A trial's record keys, and the marks the searcher adds to its user attributes."""
    from inas.study import keys, record

    return set(record.RECORD_KEYS) | {
        keys.CURVE_KEY,
        keys.DUPLICATE_KEY,
        keys.INTERRUPTED_KEY,
        keys.ENQUEUED_KEY,
        keys.PRESCREENED_KEY,
    }


def objectives_registry_lines(tree: ast.AST) -> set[int]:
    """The lines of the objectives' registry (objective name -> record key) and of the default
    objectives (objective names, one of them `params` as the record's key is)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0] if isinstance(node, ast.Assign) else None)
        )
        if getattr(target, "id", None) in ("OBJECTIVES", "DEFAULT_OBJECTIVES"):
            lines |= set(range(node.lineno, node.end_lineno + 1))
    return lines


def test_record_keys_are_spelled_in_the_study_only():
    keys = record_keys()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("study", *BELOW_THE_STUDY):
            continue
        tree = ast.parse(path.read_text())
        registry = objectives_registry_lines(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in keys and node.lineno not in registry:
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert not found, "record keys spelled outside inas/study/ (import them from inas.study.keys):\n" + "\n".join(found)


def test_the_record_round_trips_through_ray_and_the_study():
    from inas.study.record import TrialRecord, TrialStatus

    record = TrialRecord(
        status=TrialStatus.OK,
        epochs_done=2,
        epochs_total=2,
        arch={"stem": "cifar", "stages": []},
        recipe={"lr": 0.1},
        val_top1=0.25,
        params=11,
        constraints={"latency_ms<5": 0.5},
    )
    report = record.to_report()
    assert isinstance(report["arch"], str) and report["status"] == "ok"  # Tune flattens nested dicts
    assert TrialRecord.from_report({**report, "training_iteration": 2, "config": {}}) == record
    kept = record.user_attrs()
    assert "status" not in kept and "constraints" not in kept and kept["arch"] == record.arch
    assert TrialRecord.from_attrs({**kept, "val_top1_curve": [[1, 0.3]]}) == record.replace(
        status=TrialStatus.RUNNING, constraints=None
    )


def test_errors_reported_before_the_first_epoch_are_not_kept():
    from inas.study.record import TrialRecord, TrialStatus

    failed = TrialRecord(status=TrialStatus.FAIL, val_top1=1.0, fail_reason="boom", params=3)
    assert failed.user_attrs() == {"epochs_done": 0, "epochs_total": 0, "params": 3, "fail_reason": "boom"}


def test_the_key_constants_name_record_fields():
    from inas.study import keys
    from inas.study.record import RECORD_KEYS

    study_and_marks = {"SETTINGS_KEY", "VERSION_KEY", "DATASET_KEY", "CURVE_KEY", "DUPLICATE_KEY", "INTERRUPTED_KEY"}
    study_and_marks |= {"ENQUEUED_KEY", "PRESCREENED_KEY", "TIME_OBJECTIVE_KEY", "SPACE_FINGERPRINT_KEY"}
    named = {v for k, v in vars(keys).items() if k.isupper() and k not in study_and_marks}
    assert named <= set(RECORD_KEYS), named - set(RECORD_KEYS)


def test_frame_columns_are_record_keys():
    from inas.study.record import FRAME_COLUMNS, OPTIONAL_FRAME_COLUMNS, RECORD_KEYS

    assert set(FRAME_COLUMNS) | set(OPTIONAL_FRAME_COLUMNS) <= set(RECORD_KEYS)


def test_train_time_reads_the_robust_time_except_in_an_older_study():
    """A study inas creates says which key `train_time` reads; one searched before robust_train_seconds
    was recorded says nothing, and its train_time (resumed too) stays the wall clock it compared."""
    from inas.study.keys import ROBUST_TRAIN_SECONDS, TIME_OBJECTIVE_KEY, TRAIN_SECONDS, VAL_TOP1
    from inas.study.objectives import OBJECTIVE_KEYS, objective_keys, time_key

    objectives = ("top1_error", "train_time")
    assert OBJECTIVE_KEYS["train_time"] == ROBUST_TRAIN_SECONDS
    assert objective_keys(objectives, {TIME_OBJECTIVE_KEY: ROBUST_TRAIN_SECONDS}) == (VAL_TOP1, ROBUST_TRAIN_SECONDS)
    assert objective_keys(objectives, {}) == (VAL_TOP1, TRAIN_SECONDS) and time_key({}) == TRAIN_SECONDS


def test_a_record_from_before_the_robust_time_loads():
    from inas.study.record import TrialRecord

    old = {"epochs_done": 2, "epochs_total": 2, "train_seconds": 3.5, "val_top1": 0.4, "other": 1}
    record = TrialRecord.from_attrs(old)
    assert record.train_seconds == 3.5 and record.robust_train_seconds is None and record.step_seconds is None
    new = record.replace(step_seconds=0.01, train_steps=300, robust_train_seconds=3.0)
    assert TrialRecord.from_report(new.to_report()) == new
    assert new.user_attrs()["robust_train_seconds"] == 3.0 and "robust_train_seconds" not in record.user_attrs()


def test_a_table_shows_the_wall_clock_beside_the_robust_train_time():
    from inas.study.keys import ROBUST_TRAIN_SECONDS, TIME_OBJECTIVE_KEY, TRAIN_SECONDS, VAL_TOP1
    from inas.study.objectives import columns_read

    objectives = ["top1_error", "params", "train_time"]
    assert columns_read(objectives, {TIME_OBJECTIVE_KEY: ROBUST_TRAIN_SECONDS}) == {VAL_TOP1, ROBUST_TRAIN_SECONDS}
    assert columns_read(objectives, {}) == {VAL_TOP1, TRAIN_SECONDS}  # an older study: train_time is the wall clock
    assert columns_read(objectives) == {VAL_TOP1, ROBUST_TRAIN_SECONDS}
