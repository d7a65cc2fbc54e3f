"""The Ray Tune searcher of inas: an `optuna.Study` proposes candidates (ask) and learns their outcomes (tell).

Written on Ray's public `Searcher` and Optuna's public ask/tell API. What it records:
- A trial the scheduler (ASHA) stopped before its last epoch is PRUNED, not COMPLETE with the values
  of a partly trained network; only fully trained trials carry objective values.
- A trial that reported a failure (NaN loss, CUDA out of memory, an invalid candidate, an exception)
  is FAIL, with the reason as the user attribute `fail_reason`.
- Validation top-1 error per epoch is kept as the user attribute `val_top1_curve` ([epoch, error]
  pairs), updated as the trial runs. Single-objective studies also get it as intermediate values;
  multi-objective ones do not: Optuna's TPE scores pruned trials with intermediate values through
  `study.direction`, which a multi-objective study refuses (Trial.report refuses them for that reason).
- The trial's record (architecture, recipe, params, MACs, times, errors, device, versions) is kept as
  user attributes.
- A sampler's proposal identical to a trial already COMPLETE or PRUNED (same sampled values, so the same
  network, recipe and seed) is not trained again: it is recorded at once with that trial's outcome and
  the user attribute `duplicate_of`, and the sampler is asked again (up to MAX_REPROPOSALS times; after
  that the space is nearly exhausted and the repeat is trained). Fixed candidates (enqueued) are
  always trained: the user asked for each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState
from ray.tune.search import Searcher

from inas.study.record import (
    ARCH_KEY,
    CURVE_KEY,
    DONE_STATES,
    DUPLICATE_KEY,
    ENQUEUED_KEY,
    FAIL_REASON_KEY,
    RECIPE_KEY,
    RECORD_KEYS,
)

log = logging.getLogger(__name__)

MAX_REPROPOSALS = 20


def trial_state(result: dict | None, error: bool) -> tuple[TrialState, str]:
    """The Optuna state of a finished Ray trial, and the reason of a failure."""
    if error or result is None:
        reason = (result or {}).get(FAIL_REASON_KEY) or "the trial's process failed (see the Ray logs)"
        return TrialState.FAIL, reason
    if result.get("status") == "fail":
        return TrialState.FAIL, result.get(FAIL_REASON_KEY) or "failed"
    if result.get("epochs_done", 0) < result.get("epochs_total", math.inf):
        return TrialState.PRUNED, ""
    return TrialState.COMPLETE, ""


class StudySearcher(Searcher):
    """Proposes with `study`'s sampler through `define` (define-by-run: it only asks the trial for
    values), and tells the study each Ray trial's outcome, as described above."""

    def __init__(
        self,
        study: optuna.Study,
        define: Callable[[Trial], Any],
        objective_keys: tuple[str, ...],
        fixed: Iterable[dict[str, Any]] = (),
    ):
        super().__init__()
        self.study = study
        self.define = define
        self.objective_keys = objective_keys  # keys of the reported result, in the study's objective order
        self._trials: dict[str, Trial] = {}  # Ray trial id -> the Optuna trial it runs
        self._curves: dict[str, dict[int, float]] = {}
        for params in fixed:
            study.enqueue_trial(params, user_attrs={ENQUEUED_KEY: True})

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the study holds the objectives and their directions; Tune's own are not used

    def suggest(self, trial_id: str) -> dict | None:
        for attempt in range(MAX_REPROPOSALS + 1):
            trial = self.study.ask()
            self.define(trial)
            last = attempt == MAX_REPROPOSALS  # the space is nearly exhausted: train the repeat
            twin = None if last or trial.user_attrs.get(ENQUEUED_KEY) else self._twin(trial)
            if twin is not None:
                try:
                    self._copy_outcome(trial, twin)
                    continue
                except Exception as e:  # bookkeeping must not stop the search: train the repeat instead
                    log.warning("could not record trial %s as a copy of %s: %s", trial.number, twin.number, e)
            self._trials[trial_id] = trial
            return dict(trial.params)
        raise AssertionError("unreachable: the last attempt always returns")

    def _twin(self, trial: Trial) -> FrozenTrial | None:
        """An earlier trial with the same sampled values that finished COMPLETE or PRUNED."""
        params = trial.params
        for t in self.study.get_trials(deepcopy=False, states=DONE_STATES):
            if t.params == params and t.number != trial.number:
                return t
        return None

    def _copy_outcome(self, trial: Trial, twin: FrozenTrial) -> None:
        for key, value in twin.user_attrs.items():
            if key != DUPLICATE_KEY:
                trial.set_user_attr(key, value)
        trial.set_user_attr(DUPLICATE_KEY, twin.user_attrs.get(DUPLICATE_KEY, twin.number))
        values = twin.values if twin.state == TrialState.COMPLETE else None
        self.study.tell(trial, values, state=twin.state)

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: every finished trial is already in the study, which `--resume` reads."""

    def restore(self, checkpoint_path: str) -> None:
        """See `save`."""

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        trial = self._trials.get(trial_id)
        epoch, value = result.get("epochs_done"), result.get("val_top1")
        if trial is None or epoch is None or value is None or result.get("status") == "fail":
            return
        curve = self._curves.setdefault(trial_id, {})
        new = int(epoch) not in curve  # the last result comes twice: as a result and with the completion
        curve[int(epoch)] = float(value)
        try:
            trial.set_user_attr(CURVE_KEY, [[e, v] for e, v in sorted(curve.items())])
            if new and len(self.study.directions) == 1:
                trial.report(float(value), int(epoch))
        except Exception as e:  # a learning-curve point is not worth the search
            log.warning("could not record epoch %s of trial %s: %s", epoch, trial.number, e)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self._trials:
            return
        if result:  # Ray hands the last result to this method only, not to on_trial_result
            self.on_trial_result(trial_id, result)
        trial = self._trials.pop(trial_id)
        self._curves.pop(trial_id, None)
        try:
            self._record(trial, result, error)
        except Exception as e:  # never lose the search over one trial's bookkeeping
            log.warning("could not record trial %s: %s", trial.number, e)
            with contextlib.suppress(Exception):  # leave no trial RUNNING for ever
                self.study.tell(trial, state=TrialState.FAIL)

    def _record(self, trial: Trial, result: dict | None, error: bool) -> None:
        state, reason = trial_state(result, error)
        values = None
        if state == TrialState.COMPLETE:
            values = [result.get(k) for k in self.objective_keys]
            if any(v is None or not math.isfinite(float(v)) for v in values):
                state, reason, values = TrialState.FAIL, f"objective values not all finite: {values}", None
        for key in RECORD_KEYS:
            if result and result.get(key) is not None:
                trial.set_user_attr(key, result[key])
        for key in (ARCH_KEY, RECIPE_KEY):  # JSON text: Tune flattens nested dicts in results
            if result and result.get(key):
                trial.set_user_attr(key, json.loads(result[key]))
        if reason:
            trial.set_user_attr(FAIL_REASON_KEY, reason)
        self.study.tell(trial, values, state=state)
