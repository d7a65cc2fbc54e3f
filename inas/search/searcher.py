"""Ray Tune's OptunaSearch, bound to the study's storage, recording trials as inas needs them.

Changes to Ray's behaviour:
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
- A sampler's proposal identical to a trial already COMPLETE or PRUNED (same sampled values, so the same network,
  recipe and seed) is not trained again: it is recorded at once with that trial's outcome and the user
  attribute `duplicate_of`, and the sampler is asked again (up to MAX_REPROPOSALS times; after that the
  space is nearly exhausted and the repeat is trained).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from typing import Any

from optuna.trial import FrozenTrial, TrialState
from ray.tune.search.optuna import OptunaSearch

from inas.search.study import DONE_STATES

log = logging.getLogger(__name__)

CURVE_KEY = "val_top1_curve"
DUPLICATE_KEY = "duplicate_of"
MAX_REPROPOSALS = 20

# Reported metrics kept as user attributes of the Optuna trial.
RECORD_KEYS = (
    "arch_hash",
    "params",
    "macs",
    "epochs_done",
    "epochs_total",
    "train_seconds",
    "eval_seconds",
    "images_per_second",
    "val_top1",
    "val_top5",
    "test_top1",
    "test_top5",
    "latency_ms",
    "peak_memory_bytes",
    "device",
    "torch_version",
    "inas_version",
    "started_at",
    "finished_at",
    "node",
)


def trial_state(result: dict | None, error: bool) -> tuple[TrialState, str]:
    """The Optuna state of a finished Ray trial, and the reason of a failure."""
    if error or result is None:
        reason = (result or {}).get("fail_reason") or "the trial's process failed (see the Ray logs)"
        return TrialState.FAIL, reason
    if result.get("status") == "fail":
        return TrialState.FAIL, result.get("fail_reason") or "failed"
    if result.get("epochs_done", 0) < result.get("epochs_total", math.inf):
        return TrialState.PRUNED, ""
    return TrialState.COMPLETE, ""


class InasOptunaSearch(OptunaSearch):
    """OptunaSearch with the states, learning curves and records described above."""

    def __init__(self, *args: Any, objective_keys: tuple[str, ...], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.objective_keys = objective_keys
        self._curves: dict[str, dict[int, float]] = {}

    def suggest(self, trial_id: str) -> dict | None:
        for attempt in range(MAX_REPROPOSALS + 1):
            config = super().suggest(trial_id)
            ot_trial = self._ot_trials[trial_id]
            twin = self._twin(ot_trial) if attempt < MAX_REPROPOSALS else None
            if twin is None:  # new, or the space is nearly exhausted: train it
                return config
            try:
                self._copy_outcome(ot_trial, twin)
            except Exception as e:  # bookkeeping must not stop the search: train the repeat instead
                log.warning("could not record trial %s as a copy of %s: %s", ot_trial.number, twin.number, e)
                return config
            del self._ot_trials[trial_id]  # the next super().suggest asks the study for a new trial
        raise AssertionError("unreachable: the last attempt always returns")

    def _twin(self, ot_trial: Any) -> FrozenTrial | None:
        """An earlier trial with the same sampled values that finished COMPLETE or PRUNED. Candidates
        the user enqueued (warm start, fixed lists, `enqueue`) are always trained: they were asked for."""
        if "fixed_params" in self._ot_study._storage.get_trial_system_attrs(ot_trial._trial_id):
            return None
        params = ot_trial.params
        for t in self._ot_study.get_trials(deepcopy=False, states=DONE_STATES):
            if t.params == params and t.number != ot_trial.number:
                return t
        return None

    def _copy_outcome(self, ot_trial: Any, twin: FrozenTrial) -> None:
        for key, value in twin.user_attrs.items():
            if key != DUPLICATE_KEY:
                ot_trial.set_user_attr(key, value)
        ot_trial.set_user_attr(DUPLICATE_KEY, twin.user_attrs.get(DUPLICATE_KEY, twin.number))
        values = twin.values if twin.state == TrialState.COMPLETE else None
        self._ot_study.tell(ot_trial, values, state=twin.state)

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: every finished trial is already in the study, which `--resume` reads."""

    def restore(self, checkpoint_path: str) -> None:
        """See `save`."""

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        epoch, value = result.get("epochs_done"), result.get("val_top1")
        if ot_trial is None or epoch is None or value is None or result.get("status") == "fail":
            return
        curve = self._curves.setdefault(trial_id, {})
        curve[int(epoch)] = float(value)
        storage = self._ot_study._storage
        try:
            storage.set_trial_user_attr(ot_trial._trial_id, CURVE_KEY, [[e, v] for e, v in sorted(curve.items())])
            if len(self._ot_study.directions) == 1:
                storage.set_trial_intermediate_value(ot_trial._trial_id, int(epoch), float(value))
        except Exception as e:  # a learning-curve point is not worth the search
            log.warning("could not record epoch %s of trial %s: %s", epoch, ot_trial.number, e)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        ot_trial = self._ot_trials[trial_id]
        if result:  # Ray hands the last result to this method only, not to on_trial_result
            self.on_trial_result(trial_id, result)
        try:
            self._record(ot_trial, result, error)
        except Exception as e:  # never lose the search over one trial's bookkeeping
            log.warning("could not record trial %s: %s", ot_trial.number, e)
            with contextlib.suppress(Exception):  # leave no trial RUNNING for ever
                self._ot_study.tell(ot_trial, state=TrialState.FAIL)
        self._completed_trials.add(trial_id)
        self._curves.pop(trial_id, None)

    def _record(self, ot_trial: Any, result: dict | None, error: bool) -> None:
        state, reason = trial_state(result, error)
        values = None
        if state == TrialState.COMPLETE:
            values = [result.get(k) for k in self.objective_keys]
            if any(v is None or not math.isfinite(float(v)) for v in values):
                state, reason, values = TrialState.FAIL, f"objective values not all finite: {values}", None
        for key in RECORD_KEYS:
            if result and result.get(key) is not None:
                ot_trial.set_user_attr(key, result[key])
        for key in ("arch", "recipe"):
            if result and result.get(key):
                ot_trial.set_user_attr(key, json.loads(result[key]))
        if reason:
            ot_trial.set_user_attr("fail_reason", reason)
        self._ot_study.tell(ot_trial, values, state=state)
