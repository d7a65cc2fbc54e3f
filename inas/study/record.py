"""What inas records of a trial, under which keys, and how trials are counted.

A trial's outcome is a `TrialRecord`: the trial produces it, reports it to Ray as a flat dict
(`to_report`), the searcher reads it back (`from_report`) and keeps it as the Optuna trial's user
attributes (`user_attrs`), where every reader finds it again (`from_attrs`). The record's keys are its
field names; the constants below name them for the readers of tables and reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from inas.study.keys import (
    ARCH_HASH,
    ARCH_KEY,
    CONSTRAINTS_FOUND_KEY,
    DEVICE,
    DUPLICATE_KEY,
    EPOCHS_DONE,
    FAIL_REASON_KEY,
    INFEASIBLE_KEY,
    INTERRUPTED_KEY,
    LATENCY_METHOD,
    LATENCY_MS,
    MACS,
    PARAMS,
    PRESCREENED_KEY,
    RECIPE_KEY,
    ROBUST_TRAIN_SECONDS,
    STATUS,
    STEP_SECONDS,
    TEST_TOP1,
    TEST_TOP5,
    TRAIN_SECONDS,
    VAL_TOP1,
    VAL_TOP5,
)


class TrialStatus(str, enum.Enum):
    """Where a trial stands in what it reports."""

    RUNNING = "running"  # training; the scheduler may still stop it (then the trial is PRUNED)
    OK = "ok"  # trained every epoch it was given
    FAIL = "fail"  # with `fail_reason`
    INFEASIBLE = "infeasible"  # broke a --constraint the trial measures (latency); never trained


@dataclass(frozen=True)
class TrialRecord:
    """What one trial reports of its candidate: how far it trained, what it measured, why it failed."""

    status: TrialStatus = TrialStatus.RUNNING
    epochs_done: int = 0
    epochs_total: int = 0
    arch: dict[str, Any] | None = None  # ArchConfig.to_dict() of the network searched (full width)
    recipe: dict[str, Any] | None = None  # TrainRecipe.to_dict() of the recipe it trained with
    arch_hash: str | None = None
    params: int | None = None
    macs: int | None = None
    train_width: float | None = None  # below 1: the errors come from a reduced-width copy of the network
    evaluator: str | None = None  # supernet:<hash>: scored with the weights it inherits (eval_seconds: how long)
    train_seconds: float | None = None  # the training epochs' wall clock (evaluation apart)
    step_seconds: float | None = None  # the median training step after the warm-up
    train_steps: int | None = None
    robust_train_seconds: float | None = None  # step_seconds x train_steps: the objective `train_time`
    eval_seconds: float | None = None
    images_per_second: float | None = None
    val_top1: float | None = None
    val_top5: float | None = None
    test_top1: float | None = None
    test_top5: float | None = None
    latency_ms: float | None = None
    latency_batch_ms: float | None = None  # at the training batch, on the same device
    latency_method: str | None = None  # how both were timed, in words
    naswot: float | None = None  # zero-cost proxies of the untrained network (--proxies), and what each took
    naswot_seconds: float | None = None
    synflow: float | None = None
    synflow_seconds: float | None = None
    peak_memory_bytes: int | None = None
    device: str | None = None
    precision: str | None = None  # what trained: bf16 or fp32
    memory_format: str | None = None  # channels_last or contiguous
    torch_version: str | None = None
    inas_version: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    node: str | None = None
    fail_reason: str | None = None
    infeasible: str | None = None  # why a candidate that breaks --constraint was not trained
    constraints: dict[str, float] | None = None  # violations of the constraints the trial measured; not kept

    def replace(self, **values: Any) -> TrialRecord:
        return dataclasses.replace(self, **values)

    @property
    def trained(self) -> bool:
        """Whether an epoch was trained: errors reported before that mean nothing."""
        return self.epochs_done > 0

    def to_report(self) -> dict[str, Any]:
        """The flat dict a trial reports to Ray: nested values as JSON text (Tune flattens dicts)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out[STATUS] = self.status.value
        for key in _JSON_IN_REPORT:
            if out[key] is not None:
                out[key] = json.dumps(out[key])
        return out

    @classmethod
    def from_report(cls, result: Mapping[str, Any] | None) -> TrialRecord:
        """The record in a Ray result (which also carries Ray's own keys: ignored)."""
        result = result or {}
        values = {k: result[k] for k in _FIELDS if result.get(k) is not None}
        for key in _JSON_IN_REPORT:
            if isinstance(values.get(key), str):
                values[key] = json.loads(values[key])
        if STATUS in values:
            values[STATUS] = TrialStatus(values[STATUS])
        return cls(**values)

    def user_attrs(self) -> dict[str, Any]:
        """What the study keeps of the record: every value measured, without the status (the trial's
        state says it) and the found violations (the trial's constraints hold them), and without errors
        reported before the first epoch."""
        skip = {STATUS, CONSTRAINTS_FOUND_KEY} | (set() if self.trained else {VAL_TOP1, VAL_TOP5})
        return {k: getattr(self, k) for k in _FIELDS if k not in skip and getattr(self, k) is not None}

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> TrialRecord:
        """The record a study keeps as a trial's user attributes (other attributes are ignored)."""
        values = {k: attrs[k] for k in _FIELDS if k != STATUS and attrs.get(k) is not None}
        return cls(**values)

    def state(self, error: bool = False) -> tuple[TrialState, str]:
        """The Optuna state of the finished Ray trial that reported this, and the reason of a failure."""
        if error:
            return TrialState.FAIL, self.fail_reason or "the trial's process failed (see the Ray logs)"
        if self.status == TrialStatus.FAIL:
            return TrialState.FAIL, self.fail_reason or "failed"
        if self.status == TrialStatus.INFEASIBLE:
            return TrialState.PRUNED, ""
        if self.status != TrialStatus.OK or self.epochs_done < self.epochs_total:
            return TrialState.PRUNED, ""  # the scheduler stopped it before its last epoch
        return TrialState.COMPLETE, ""


_FIELDS = tuple(f.name for f in dataclasses.fields(TrialRecord))
_JSON_IN_REPORT = (ARCH_KEY, RECIPE_KEY, CONSTRAINTS_FOUND_KEY)
RECORD_KEYS = _FIELDS  # every key of a trial's record
# How the search's closing line, its live view and the report name the candidates recorded untrained.
UNTRAINED = {INFEASIBLE_KEY: "broke --constraint", PRESCREENED_KEY: "lost --prescreen"}
# Columns of the trials frame taken from the record, for every trial; and those shown only where some
# trial has them (--objectives latency_ms, --constraint, --proxies, --prescreen).
FRAME_COLUMNS = (VAL_TOP1, VAL_TOP5, TEST_TOP1, TEST_TOP5, PARAMS, MACS, TRAIN_SECONDS, EPOCHS_DONE, ARCH_HASH, DEVICE)
OPTIONAL_FRAME_COLUMNS = (
    ROBUST_TRAIN_SECONDS,  # not in a study written before it (its `train_time` is the wall clock)
    STEP_SECONDS,
    LATENCY_MS,
    "latency_batch_ms",
    LATENCY_METHOD,
    "naswot",
    "synflow",
    "precision",
    "memory_format",
)


# States whose candidate needs no second run (FAIL may be transient: it is tried again).
DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
STALE_STATES = (TrialState.RUNNING, TrialState.WAITING)
STALE_REASON = "left running by a search that stopped"


def is_copy(t: FrozenTrial) -> bool:
    """A trial that reused an identical earlier trial's outcome instead of training."""
    return DUPLICATE_KEY in t.user_attrs


def front_numbers(study: optuna.Study) -> set[int]:
    """The numbers of the non-dominated complete trials (equal ones all kept, as Optuna keeps them),
    without copies of repeated proposals (their twin stands). Computed here: `Study.best_trials`
    deep-copies every trial of the study first (24 s of 27 for the frame of 10,000 trials)."""
    import moocore
    import numpy as np

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return set()
    signs = np.array([1.0 if d == optuna.study.StudyDirection.MINIMIZE else -1.0 for d in study.directions])
    keep = moocore.is_nondominated(np.array([t.values for t in complete], dtype=float) * signs, keep_weakly=True)
    return {t.number for t, k in zip(complete, keep, strict=True) if k and DUPLICATE_KEY not in t.user_attrs}


def pareto_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials of `front_numbers`, in number order (the study's own, not copies: read, never change)."""
    numbers = front_numbers(study)
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number in numbers]


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
