"""A study's trials read once, in a few queries: what every reader of a large study needs.

Optuna's `RDBStorage` builds a trial from ORM objects, one per value, parameter and attribute, and
parses each parameter's distribution again: on a 10,000-trial study of a search (36 choices and about
30 recorded values a trial) that took 70 s of a loaded 2-core machine, where the rows themselves come
in a second. `Snapshot` is an Optuna storage (`optuna.storages.BaseStorage`, which Optuna documents for
this) that reads every trial of a study in five plain SELECTs over Optuna's tables, builds the same
`FrozenTrial`s (a test holds them equal to Optuna's), and hands them to whatever asks: `Study.get_trials`,
Optuna's importance evaluators, the report. Everything else (study attributes, every write) goes to the
storage it wraps; a write drops the snapshot, so the next read sees it.

The SELECTs name the tables and columns of Optuna's schema `KNOWN_SCHEMAS` (checked with
`RDBStorage.get_current_version`); any other schema, or another storage, is read through Optuna.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import threading
import time
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.distributions import json_to_distribution
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

# Optuna's table layouts the queries below were written for (Optuna 3.2 to 5.0 write v3.2.0.a).
KNOWN_SCHEMAS = ("v3.2.0.a",)
_STORED = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def _stored(value: float | None, kind: str) -> float:
    """A value as Optuna stores it (a float and its kind) back to the float."""
    return float(value) if kind == "FINITE" else _STORED[kind]


def _time(value: Any) -> dt.datetime | None:
    """SQLite hands a DATETIME column to a plain query as text; server databases as a datetime."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _json_all(texts: list[str]) -> list[Any]:
    """Many JSON texts parsed in one call (one C loop, not one Python call each)."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []


def read_trials(storage: RDBStorage, study_id: int, since: int = 0) -> list[FrozenTrial] | None:
    """Every trial of the study from number `since` on, as Optuna's `get_all_trials` builds them; None (read
    through Optuna then) when the storage's schema is not one `KNOWN_SCHEMAS` names, or a parameter
    has different distributions in different trials (each row would need its own)."""
    from sqlalchemy import text

    if storage.get_current_version() not in KNOWN_SCHEMAS:
        return None
    of_study = "JOIN trials t ON t.trial_id = x.trial_id WHERE t.study_id = :sid AND t.number >= :since"
    queries = {
        "trials": "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
        "WHERE study_id = :sid AND number >= :since ORDER BY number",
        "values": f"SELECT x.trial_id, x.objective, x.value, x.value_type FROM trial_values x {of_study} "
        "ORDER BY x.trial_id, x.objective",
        # Each parameter's distribution once: Optuna repeats its JSON in every trial's row.
        "dists": f"SELECT DISTINCT x.param_name, x.distribution_json FROM trial_params x {of_study}",
        "params": f"SELECT x.trial_id, x.param_name, x.param_value FROM trial_params x {of_study} ORDER BY x.param_id",
        "user": f"SELECT x.trial_id, x.key, x.value_json FROM trial_user_attributes x {of_study} "
        "ORDER BY x.trial_user_attribute_id",
        "system": f"SELECT x.trial_id, x.key, x.value_json FROM trial_system_attributes x {of_study} "
        "ORDER BY x.trial_system_attribute_id",
        "steps": f"SELECT x.trial_id, x.step, x.intermediate_value, x.intermediate_value_type "
        f"FROM trial_intermediate_values x {of_study} ORDER BY x.step",
    }
    with storage.engine.connect() as conn, conn.begin():  # one transaction: a consistent picture
        if conn.dialect.name == "sqlite":  # the driver's own rows (plain tuples): a second less on 10,000 trials
            cursor = conn.connection.cursor()
            rows = {k: cursor.execute(q, {"sid": study_id, "since": since}).fetchall() for k, q in queries.items()}
        else:
            rows = {k: conn.execute(text(q), {"sid": study_id, "since": since}).all() for k, q in queries.items()}
    named = {}
    for name, text_ in rows["dists"]:
        named.setdefault(name, []).append(json_to_distribution(text_))
    if any(len(d) > 1 for d in named.values()):  # a name with several distributions: each row's own
        return None
    ids = [r[0] for r in rows["trials"]]
    values: dict[int, list] = {}
    for tid, objective, value, kind in rows["values"]:
        found = values.setdefault(tid, [])
        found.extend([None] * (objective + 1 - len(found)))
        found[objective] = _stored(value, kind)
    params: dict[int, dict] = {i: {} for i in ids}
    dists: dict[int, dict] = {i: {} for i in ids}
    for tid, name, value in rows["params"]:
        dist = named[name][0]
        params[tid][name] = dist.to_external_repr(value)
        dists[tid][name] = dist
    attrs: dict[str, dict[int, dict]] = {}
    for kind in ("user", "system"):
        found = attrs[kind] = {i: {} for i in ids}
        for (tid, key, _), value in zip(rows[kind], _json_all([r[2] for r in rows[kind]]), strict=True):
            found[tid][key] = value
    steps: dict[int, dict] = {i: {} for i in ids}
    for tid, step, value, kind in rows["steps"]:
        steps[tid][step] = _stored(value, kind)
    return [
        FrozenTrial(
            number=number,
            state=TrialState[state],
            value=None,
            values=values.get(tid),
            datetime_start=_time(start),
            datetime_complete=_time(end),
            params=params[tid],
            distributions=dists[tid],
            user_attrs=attrs["user"][tid],
            system_attrs=attrs["system"][tid],
            intermediate_values=steps[tid],
            trial_id=tid,
        )
        for tid, number, state, start, end in rows["trials"]
    ]


class Snapshot(BaseStorage):
    """`storage` with each study's trials read once (`read_trials`) and served from memory. Writes go
    to `storage` and drop the snapshot. A search keeps writing to the storage itself: with `max_age_s`
    (a dashboard watching a search), a snapshot older than that reads again the trials from the first
    unfinished one on (a finished trial never changes), as Optuna's own cache does."""

    def __init__(self, storage: BaseStorage, max_age_s: float | None = None):
        self.storage = storage
        self.max_age_s = max_age_s
        self._trials: dict[int, list[FrozenTrial]] = {}
        self._read_at: dict[int, float] = {}
        self._lock = threading.Lock()  # a dashboard answers requests from several threads

    def _read(self, study_id: int, since: int = 0) -> list[FrozenTrial]:
        found = read_trials(self.storage, study_id, since) if isinstance(self.storage, RDBStorage) else None
        if found is None:
            found = self.storage.get_all_trials(study_id, False)[since:]
        return found

    def trials(self, study_id: int) -> list[FrozenTrial]:
        with self._lock:
            held = self._trials.get(study_id)
            if held is None:
                held = self._read(study_id)
            elif self.max_age_s is not None and time.monotonic() - self._read_at[study_id] > self.max_age_s:
                done = next((i for i, t in enumerate(held) if not t.state.is_finished() or t.number != i), len(held))
                held = held[:done] + self._read(study_id, done)
            else:
                return held
            self._trials[study_id], self._read_at[study_id] = held, time.monotonic()
            return held

    def _written(self, result: Any = None) -> Any:
        with self._lock:
            self._trials.clear()
        return result

    # Reads served from the snapshot.
    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        found = self.trials(study_id)
        if states is not None:
            found = [t for t in found if t.state in states]
        return copy.deepcopy(found) if deepcopy else list(found)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        for trials in self._trials.values():
            for t in trials:
                if t._trial_id == trial_id:
                    return copy.deepcopy(t)
        return self.storage.get_trial(trial_id)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    # Studies: read from the storage itself (a few rows).
    def get_study_id_from_name(self, study_name: str) -> int:
        return self.storage.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.storage.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[optuna.study.StudyDirection]:
        return self.storage.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.storage.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self.storage.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list[optuna.study.FrozenStudy]:
        return self.storage.get_all_studies()

    # Writes: to the storage, and the snapshot is read again at the next read.
    def create_new_study(self, directions: Sequence[optuna.study.StudyDirection], study_name: str | None = None) -> int:
        return self._written(self.storage.create_new_study(directions, study_name))

    def delete_study(self, study_id: int) -> None:
        self._written(self.storage.delete_study(study_id))

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self.storage.set_study_system_attr(study_id, key, value)

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        return self._written(self.storage.create_new_trial(study_id, template_trial))

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float, distribution) -> None:
        self._written(self.storage.set_trial_param(trial_id, param_name, param_value_internal, distribution))

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        return self._written(self.storage.set_trial_state_values(trial_id, state, values))

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        self._written(self.storage.set_trial_intermediate_value(trial_id, step, intermediate_value))

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._written(self.storage.set_trial_user_attr(trial_id, key, value))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._written(self.storage.set_trial_system_attr(trial_id, key, value))
