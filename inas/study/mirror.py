"""One study read from memory while a single search writes it: `MirroredStorage`.

Optuna 5's TPE (`constant_liar`, the default, and `group=True`, inas's) reads the study back from its
storage for every parameter group of every proposal, running trials included. From SQLite each read
rebuilds the running trials from five tables: on `googlenet_depth_width` (27-31 parameters a trial, 32
in flight) the 1,000th proposal took 0.48 s there, 0.15 s through this copy and 0.09 s in memory alone
(`benchmarks/search_quality.py cost --storage sqlite,mirror,memory`, RESULTS.md). A search over a
supernet scores about two candidates a second, so that read was its pace.

Where one search alone writes the study (a SQLite file: the search holds the study's lock) nothing can
change it behind the search's back, so its reads can come from a copy in memory. Every write goes to
the database first, and to the copy only once the database took it: the database stays the record (a
killed search leaves there what a plain storage would), and the copy never holds what the database
refused. A trial's number is the same in both, and checked to be as each trial is created.
(`inas.study.snapshot.Snapshot` is the readers' counterpart: a study another process writes, read
once and read again when it changes.)
"""

from __future__ import annotations

import threading
from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from inas.errors import InasError


class MirroredStorage(optuna.storages.BaseStorage):
    """Study `study_name` of `backend`, read from an in-memory copy; every write goes to both. Trial ids
    are the copy's (the backend's are mapped); other studies are not reachable through it."""

    def __init__(self, backend: optuna.storages.BaseStorage, study_name: str):
        self._backend = backend
        self._lock = threading.RLock()  # a write is two writes: keep each pair whole
        self._backend_study = backend.get_study_id_from_name(study_name)
        self._memory = optuna.storages.InMemoryStorage()
        directions = backend.get_study_directions(self._backend_study)
        self._study = self._memory.create_new_study(directions, study_name)
        for key, value in backend.get_study_user_attrs(self._backend_study).items():
            self._memory.set_study_user_attr(self._study, key, value)
        for key, value in backend.get_study_system_attrs(self._backend_study).items():
            self._memory.set_study_system_attr(self._study, key, value)
        for trial in backend.get_all_trials(self._backend_study, deepcopy=False):
            self._memory.create_new_trial(self._study, template_trial=trial)
        self._to_backend: dict[int, int] = {}  # the copy's trial id -> the backend's, once written

    def __getstate__(self) -> dict[str, Any]:  # Ray Tune pickles the searcher, and with it the study
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def _add(self, backend_id: int, memory_id: int) -> None:
        number = self._memory.get_trial_number_from_id(memory_id)
        if self._backend.get_trial_number_from_id(backend_id) != number:
            raise InasError(
                f"study {self._memory.get_study_name_from_id(self._study)}: its trials changed while this "
                "search read them (another process writes the study); run one search on a study at a time"
            )
        self._to_backend[memory_id] = backend_id

    def _trial(self, trial_id: int) -> int:
        """The backend's id of the copy's trial `trial_id` (looked up by number the first time)."""
        if trial_id not in self._to_backend:
            number = self._memory.get_trial_number_from_id(trial_id)
            self._to_backend[trial_id] = self._backend.get_trial_id_from_study_id_trial_number(
                self._backend_study, number
            )
        return self._to_backend[trial_id]

    def _check_study(self, study_id: int) -> None:
        if study_id != self._study:
            raise KeyError(f"study id {study_id}: this storage holds one study only")

    # -- studies -------------------------------------------------------------------------------------

    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        raise NotImplementedError("a mirrored storage holds the one study it was made for")

    def delete_study(self, study_id: int) -> None:
        raise NotImplementedError("a mirrored storage does not delete its study")

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._check_study(study_id)
        with self._lock:
            self._backend.set_study_user_attr(self._backend_study, key, value)
            self._memory.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._check_study(study_id)
        with self._lock:
            self._backend.set_study_system_attr(self._backend_study, key, value)
            self._memory.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self._memory.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._memory.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return self._memory.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._memory.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._memory.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list:
        return self._memory.get_all_studies()

    # -- trials --------------------------------------------------------------------------------------

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        self._check_study(study_id)
        with self._lock:
            backend_id = self._backend.create_new_trial(self._backend_study, template_trial)
            memory_id = self._memory.create_new_trial(study_id, template_trial)
            self._add(backend_id, memory_id)
            return memory_id

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: BaseDistribution
    ) -> None:
        with self._lock:
            self._backend.set_trial_param(self._trial(trial_id), param_name, param_value_internal, distribution)
            self._memory.set_trial_param(trial_id, param_name, param_value_internal, distribution)

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        with self._lock:
            if not self._backend.set_trial_state_values(self._trial(trial_id), state, values):
                return False  # the backend refused (a WAITING trial another took): so does the copy
            return self._memory.set_trial_state_values(trial_id, state, values)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        with self._lock:
            self._backend.set_trial_intermediate_value(self._trial(trial_id), step, intermediate_value)
            self._memory.set_trial_intermediate_value(trial_id, step, intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._backend.set_trial_user_attr(self._trial(trial_id), key, value)
            self._memory.set_trial_user_attr(trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._backend.set_trial_system_attr(self._trial(trial_id), key, value)
            self._memory.set_trial_system_attr(trial_id, key, value)

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self._memory.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def get_trial_number_from_id(self, trial_id: int) -> int:
        return self._memory.get_trial_number_from_id(trial_id)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._memory.get_trial(trial_id)

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._memory.get_all_trials(study_id, deepcopy=deepcopy, states=states)
