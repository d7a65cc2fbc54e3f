"""Tune callbacks that keep the driver in touch: Optuna heartbeats for the trials this search runs, so
that searches sharing a study on a server database tell a stopped search's trials (their beat stops)
from a live one's; and a stop that a swallowed Ctrl-C cannot lose.

Optuna records heartbeats itself only inside `Study.optimize`; inas asks and tells through Ray Tune,
so a Tune callback beats instead: Tune calls `on_step_begin` at least every 0.1 s of its loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import optuna
from ray.tune import Callback

from inas.search.stop import STOP_REQUESTED
from inas.study.record import has_heartbeat


class Heartbeat(Callback):
    """Record a heartbeat for each trial number `live()` returns: at once for a new one, then every
    `storage.get_heartbeat_interval()` seconds. Does nothing when the storage has no heartbeat."""

    def __init__(self, storage: optuna.storages.BaseStorage, study_name: str, live: Callable[[], Iterable[int]]):
        self.storage = storage
        self.interval = storage.get_heartbeat_interval() if has_heartbeat(storage) else None
        self.study_id = storage.get_study_id_from_name(study_name) if self.interval is not None else None
        self.live = live
        self._last = -float("inf")
        self._beaten: set[int] = set()
        self._ids: dict[int, int] = {}  # trial number -> storage trial id

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self.interval is None:
            return
        numbers = set(self.live())
        now = time.monotonic()
        due = numbers if now - self._last >= self.interval else numbers - self._beaten
        for number in due:
            self.storage.record_heartbeat(self._trial_id(number))
        if due == numbers:
            self._last = now
        self._beaten = numbers

    def _trial_id(self, number: int) -> int:
        if number not in self._ids:
            self._ids[number] = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        return self._ids[number]


class StopOnSignal(Callback):
    """Raise KeyboardInterrupt from Tune's loop once Ctrl-C or SIGTERM asked for a stop
    (`inas.search.stop.STOP_REQUESTED`), in case the first one was swallowed on its way."""

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if STOP_REQUESTED.is_set():
            raise KeyboardInterrupt
