"""What inas records of a trial in the study, under which keys, and how trials are counted.

Every key a trial's record uses is named here once: search writes them, report, export and
reproduce read them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

# User attributes of a study.
SETTINGS_KEY = "settings"  # what a resumed search must share with the one it continues
VERSION_KEY = "inas_version"

# User attributes of a trial.
ARCH_KEY = "arch"  # the ArchConfig trained, as a dict
RECIPE_KEY = "recipe"  # the TrainRecipe trained with, as a dict
CURVE_KEY = "val_top1_curve"  # [[epoch, validation top-1 error], ...]
DUPLICATE_KEY = "duplicate_of"  # a repeated proposal that reused this earlier trial's outcome
FAIL_REASON_KEY = "fail_reason"
INTERRUPTED_KEY = "interrupted"  # a trial a stopped search left unfinished
ENQUEUED_KEY = "enqueued"  # a fixed candidate the user asked for (warm start, an experiment's variants)
INFEASIBLE_KEY = "infeasible"  # why a candidate that breaks --constraint was not trained
# Reported by a trial, not kept: the violations of the constraints it measured (latency), as JSON text.
CONSTRAINTS_FOUND_KEY = "constraints"
PRESCREENED_KEY = "prescreened"  # why a candidate --prescreen scored was not trained (another scored higher)
# How the search's closing line, its live view and the report name the candidates recorded untrained.
UNTRAINED = {INFEASIBLE_KEY: "broke --constraint", PRESCREENED_KEY: "lost --prescreen"}

# Reported metrics kept as user attributes of the trial.
RECORD_KEYS = (
    "arch_hash",
    "params",
    "macs",
    "epochs_done",
    "epochs_total",
    "train_width",  # below 1: the errors come from a reduced-width copy of the network
    "train_seconds",
    "eval_seconds",
    "images_per_second",
    "val_top1",
    "val_top5",
    "test_top1",
    "test_top5",
    "latency_ms",
    "latency_batch_ms",  # at the training batch, on the same device
    "latency_method",  # how both were timed, in words
    "naswot",  # zero-cost proxies of the untrained network (--proxies), and what each took
    "naswot_seconds",
    "synflow",
    "synflow_seconds",
    "peak_memory_bytes",
    "device",
    "torch_version",
    "inas_version",
    "started_at",
    "finished_at",
    "node",
)

# States whose candidate needs no second run (FAIL may be transient: it is tried again).
DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
STALE_STATES = (TrialState.RUNNING, TrialState.WAITING)
STALE_REASON = "left running by a search that stopped"


def is_copy(t: FrozenTrial) -> bool:
    """A trial that reused an identical earlier trial's outcome instead of training."""
    return DUPLICATE_KEY in t.user_attrs


def pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The non-dominated complete trials, without copies of repeated proposals (their twin stands)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in study.best_trials if not is_copy(t)] if complete else []


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state, `copies`: finished trials that reused an identical earlier trial's outcome, and
    `infeasible`: candidates that broke --constraint, and `prescreened`: candidates that lost --prescreen,
    both recorded (as pruned) and never trained."""
    out = dict.fromkeys(("complete", "pruned", "fail", "running", "waiting", "copies", "infeasible", "prescreened"), 0)
    for t in study.get_trials(deepcopy=False):
        out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
        out["copies"] += is_copy(t)
        out["infeasible"] += INFEASIBLE_KEY in t.user_attrs
        out["prescreened"] += PRESCREENED_KEY in t.user_attrs
    return out


def not_trained(t: FrozenTrial) -> bool:
    """A candidate recorded without training: it broke --constraint or lost --prescreen."""
    return INFEASIBLE_KEY in t.user_attrs or PRESCREENED_KEY in t.user_attrs


def counts_toward_trials(t: FrozenTrial) -> bool:
    """Finished, trained here (not a copy of an earlier trial) and not cut short by a stopped search."""
    stale = INTERRUPTED_KEY in t.user_attrs or failed_by_heartbeat(t)
    return t.state.is_finished() and not is_copy(t) and not stale and not not_trained(t)


def trained(study: optuna.Study) -> int:
    """Finished trials that count toward `--trials`."""
    return sum(counts_toward_trials(t) for t in study.get_trials(deepcopy=False))


def mark_failed(storage: optuna.storages.BaseStorage, study: optuna.Study, number: int, reason: str) -> None:
    """Mark trial `number` FAIL as interrupted, with its reason (through the storage's public API: the
    trial may be WAITING, which `Study.tell` refuses)."""
    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
    storage.set_trial_user_attr(trial_id, FAIL_REASON_KEY, reason)
    storage.set_trial_user_attr(trial_id, INTERRUPTED_KEY, True)
    storage.set_trial_state_values(trial_id, TrialState.FAIL)


def fail_trials(storage: optuna.storages.BaseStorage, study: optuna.Study, numbers: Iterable[int], reason: str) -> int:
    """Mark the unfinished ones of trials `numbers` FAIL as interrupted; how many were marked."""
    marked = 0
    for number in numbers:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):  # it finished meanwhile
            mark_failed(storage, study, number, reason)
            marked += 1
    return marked


def has_heartbeat(storage: optuna.storages.BaseStorage) -> bool:
    """Whether several searches may share the storage's studies, each beating for its running trials."""
    return isinstance(storage, optuna.storages.RDBStorage) and storage.get_heartbeat_interval() is not None


def fail_stale_trials(storage: optuna.storages.BaseStorage, study: optuna.Study, reason: str = STALE_REASON) -> int:
    """Mark FAIL the trials a stopped search left behind; they do not count toward `--trials`, and
    their fixed candidates run again. With a heartbeat (a server database, where several searches may
    share the study) those are the RUNNING trials whose beat stopped, found by Optuna; others are left
    alone, and so are WAITING ones (the next search to ask takes them). Without one (SQLite: this
    search holds the study's lock, so no other is alive) every RUNNING and WAITING trial is stale."""
    if has_heartbeat(storage):
        running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)  # Optuna cannot attach our reason: see `fail_reason`
        return sum(t.number in running for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    stale = study.get_trials(deepcopy=False, states=STALE_STATES)
    waiting = [t.number for t in stale if t.state == TrialState.WAITING]
    running = [t.number for t in stale if t.state == TrialState.RUNNING]
    return fail_trials(storage, study, running, reason) + fail_trials(
        storage, study, waiting, "not started before the search stopped"
    )


def failed_by_heartbeat(t: FrozenTrial) -> bool:
    """inas records a reason with every failure it tells; a FAIL trial without one was failed by
    Optuna's heartbeat check (`fail_stale_trials`): its search stopped."""
    return t.state == TrialState.FAIL and not t.user_attrs.get(FAIL_REASON_KEY)


def fail_reason(t: FrozenTrial) -> str:
    """Why a FAIL trial failed ("" for any other state)."""
    if t.state != TrialState.FAIL:
        return ""
    return STALE_REASON + " (its heartbeat stopped)" if failed_by_heartbeat(t) else str(t.user_attrs[FAIL_REASON_KEY])


def pending_points(study: optuna.Study, points: list[dict]) -> list[dict]:
    """The fixed candidates that no COMPLETE or PRUNED trial has run yet (a resumed search runs the
    rest; a failed one is tried again; one that only lost a --prescreen was never run)."""
    done = [
        t.params for t in study.get_trials(deepcopy=False, states=DONE_STATES) if PRESCREENED_KEY not in t.user_attrs
    ]
    return [p for p in points if p not in done]
