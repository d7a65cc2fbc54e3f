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
- A proposal is a repeat when its candidate (`key`: the network and the recipe it trains, so other
  sampled values may build the same one) is that of a trial already COMPLETE or PRUNED: it is recorded
  at once with that trial's outcome and the user attribute `duplicate_of`. When its twin is still
  training, it waits for the twin's outcome instead of training again (it stays RUNNING in the study
  until then). Either way the sampler is asked again, up to MAX_REPROPOSALS times; after that the space
  is nearly exhausted and the repeat is trained. Fixed candidates (enqueued) are always trained: the
  user asked for each.
- With --prescreen N, each trained candidate is the one of N proposals that the zero-cost proxy scores
  highest; the others are PRUNED with their score and the user attribute `prescreened` (why).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable
from typing import Any, Protocol

import optuna
from optuna.trial import BaseTrial, FrozenTrial, Trial, TrialState
from ray.tune.search import Searcher

from inas.search.candidate import InvalidCandidate, Resolved, Screening, TrialCandidate, error_line
from inas.search.trial import CANDIDATE
from inas.study.keys import CURVE_KEY, DUPLICATE_KEY, ENQUEUED_KEY, FAIL_REASON_KEY, INFEASIBLE_KEY, PRESCREENED_KEY
from inas.study.record import DONE_STATES, TrialRecord, TrialStatus

log = logging.getLogger(__name__)

MAX_REPROPOSALS = 20
MAX_INFEASIBLE = 100  # proposals in a row that break --constraint before the search gives up


class Candidates(Protocol):
    """What the searcher asks of a search about its candidates (`SearchPlan` answers; the replay
    benchmark answers from a table)."""

    def define(self, trial: BaseTrial) -> None:
        """Define-by-run: ask `trial` for a candidate's values, and nothing else."""

    def resolve(self, params: dict[str, Any]) -> Resolved:
        """The candidate sampled values stand for (resolved once a proposal)."""

    def screen(self, cand: TrialCandidate) -> Screening | None:
        """The candidate against --constraint before training; None when nothing is checked before."""

    def score(self, cand: TrialCandidate) -> tuple[float, dict[str, float]]:
        """--prescreen's proxy score of the candidate, and what to record of it."""


class StudySearcher(Searcher):
    """Proposes with `study`'s sampler through `define` (define-by-run: it only asks the trial for
    values), and tells the study each Ray trial's outcome, as described above."""

    def __init__(
        self,
        study: optuna.Study,
        candidates: Candidates,
        objective_keys: tuple[str, ...],
        fixed: Iterable[dict[str, Any]] = (),
        constraints: tuple[str, ...] = (),
        prescreen: int = 1,
    ):
        super().__init__()
        self.study = study
        self.candidates = candidates
        self.objective_keys = objective_keys  # keys of the reported record, in the study's objective order
        self._trials: dict[str, Trial] = {}  # Ray trial id -> the Optuna trial it runs
        self._curves: dict[str, dict[int, float]] = {}
        self._resolved: dict[int, Resolved] = {}  # trial number -> its candidate
        self._keys: dict[int, str | None] = {}  # trial number -> its candidate's key (None: not a valid one)
        self._training: dict[str, str] = {}  # candidate -> Ray trial id training it
        self._waiting: dict[str, list[Trial]] = {}  # Ray trial id -> repeats waiting for its outcome
        self.constraints = constraints  # every constraint's name: each trial told gets a value for each
        self._violations: dict[int, dict[str, float]] = {}  # trial number -> violations found by the screen
        # --prescreen: proposals scored for each one trained.
        self.prescreen = prescreen
        self._scores: dict[str, tuple[float, dict[str, float]]] = {}  # candidate -> its score and record
        for params in fixed:
            study.enqueue_trial(params, user_attrs={ENQUEUED_KEY: True})

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the study holds the objectives and their directions; Tune's own are not used

    def suggest(self, trial_id: str) -> dict | None:
        batch: list[Trial] = []
        while len(batch) < self.prescreen:
            trial = self._propose()
            if trial is None:
                break
            batch.append(trial)
            if trial.user_attrs.get(ENQUEUED_KEY):  # a fixed candidate is trained as the user asked
                break
        if not batch:
            return Searcher.FINISHED
        chosen = self._prescreened(batch, trial_id) if len(batch) > 1 else batch[0]
        for trial in batch:  # the others were told, or wait for the chosen one's outcome
            if trial is not chosen:
                self._resolved.pop(trial.number, None)
        self._trials[trial_id] = chosen
        key = self._keys.get(chosen.number)
        if key is not None:
            self._training.setdefault(key, trial_id)
        return {**chosen.params, CANDIDATE: self._resolved.pop(chosen.number)}

    def _propose(self) -> Trial | None:
        """The next proposal worth training: on the way, proposals that break --constraint are recorded
        as such, and repeats get (or wait for) their twin's outcome. None once MAX_INFEASIBLE in a row
        broke --constraint."""
        infeasible = 0
        attempt = 0
        while True:
            trial = self.study.ask()
            self.candidates.define(trial)
            cand = self._resolve(trial)
            if not isinstance(cand, InvalidCandidate) and self._screened_out(trial, cand):
                infeasible += 1
                if infeasible >= MAX_INFEASIBLE:
                    log.warning("%d proposals in a row broke --constraint; the search stops", infeasible)
                    return None
                continue
            attempt += 1
            key = cand.key
            # The last attempt trains even a repeat: the space is nearly exhausted.
            if attempt <= MAX_REPROPOSALS and key is not None and not trial.user_attrs.get(ENQUEUED_KEY):
                twin = self._done_twin(trial.number, key)
                try:
                    if twin is not None:
                        self._resolved.pop(trial.number)
                        self._copy_outcome(trial, twin)
                        continue
                    if key in self._training:
                        self._resolved.pop(trial.number)
                        self._waiting.setdefault(self._training[key], []).append(trial)
                        continue
                except Exception as e:  # bookkeeping must not stop the search: train the repeat instead
                    log.warning("could not record trial %s as a repeat: %s", trial.number, e)
            return trial

    def _prescreened(self, batch: list[Trial], trial_id: str) -> Trial:
        """--prescreen: score every proposal of `batch` with the zero-cost proxy and return the one to
        train: the highest score (a fixed candidate, when the batch holds one). The others are told
        PRUNED with their score and why they were not trained; a repeat of the winner waits for its outcome."""
        scored = {t.number: self._score(t) for t in batch}
        fixed = [t for t in batch if t.user_attrs.get(ENQUEUED_KEY)]
        winner = fixed[0] if fixed else max(batch, key=lambda t: scored[t.number][0])
        best = f"trial {winner.number} scored {scored[winner.number][0]:.5g} and was trained"
        for trial in batch:
            if trial is winner:
                continue
            key = self._keys.get(trial.number)
            score, error = scored[trial.number]
            try:
                if key is not None and key == self._keys.get(winner.number):
                    self._waiting.setdefault(trial_id, []).append(trial)
                    continue
                trial.set_user_attr(
                    PRESCREENED_KEY, f"could not be scored: {error}" if error else f"scored {score:.5g}; {best}"
                )
                self._tell(trial, state=TrialState.PRUNED)
            except Exception as e:
                self._fail_bookkeeping(trial, "as prescreened", e)
        return winner

    def _score(self, trial: Trial) -> tuple[float, str | None]:
        """The proxy's score of `trial`'s candidate, recorded on it (computed once a candidate), and the
        error when it cannot be scored: then, as for NaN, the score ranks last."""
        key = self._keys.get(trial.number)
        cand = self._resolved[trial.number]
        try:
            if isinstance(cand, InvalidCandidate):
                raise ValueError(cand.reason)
            scored = self._scores.get(key) if key is not None else None
            if scored is None:
                scored = self.candidates.score(cand)
                if key is not None:
                    self._scores[key] = scored
            score, record = scored
            for name, value in record.items():
                trial.set_user_attr(name, value)
        except Exception as e:
            return -math.inf, error_line(e)
        return (-math.inf if math.isnan(score) else score), None

    def _screened_out(self, trial: Trial, cand: TrialCandidate) -> bool:
        """Check the candidate against --constraint: one that breaks it is told PRUNED at once, with its
        measured values and why, and never trained; the violations of one that holds are kept until
        its trial is told (TPE learns the feasible region from the values of every trial told; NSGA-II and GP
        read them on complete trials only)."""
        try:
            screening = self.candidates.screen(cand)
        except Exception:  # a candidate that cannot be measured: trained, and failed with its reason
            return False
        if screening is None:
            return False
        self._violations[trial.number] = screening.violations
        if screening.why is None:
            return False
        for name, value in screening.measured.items():
            trial.set_user_attr(name, value)
        trial.set_user_attr(INFEASIBLE_KEY, screening.why)
        self._resolved.pop(trial.number, None)
        try:
            self._tell(trial, state=TrialState.PRUNED)
        except Exception as e:
            self._fail_bookkeeping(trial, "as breaking --constraint", e)
        return True

    def _fail_bookkeeping(self, trial: Trial, what: str, error: Exception) -> FrozenTrial | None:
        """Recording `trial` failed: never lose the search over it, nor leave it RUNNING for ever. It is
        told FAIL with a reason (a FAIL without one reads as failed by Optuna's heartbeat check)."""
        log.warning("could not record trial %s %s: %s", trial.number, what, error)
        with contextlib.suppress(Exception):
            if not trial.user_attrs.get(FAIL_REASON_KEY):
                trial.set_user_attr(FAIL_REASON_KEY, f"could not be recorded {what}: {error}"[:500])
            return self.study.tell(trial, state=TrialState.FAIL)
        return None

    def _tell(
        self,
        trial: Trial,
        values: list[float] | None = None,
        state: TrialState = TrialState.COMPLETE,
        found: dict[str, float] | None = None,
    ) -> FrozenTrial:
        """`study.tell`, with a value for each constraint: those `screen` and the trial found (`found`,
        keyed by name), 0 (no evidence against it) for one never measured, such as the latency of a
        candidate the screen ruled out."""
        if self.constraints:
            measured = {**self._violations.pop(trial.number, {}), **(found or {})}
            for name in self.constraints:
                trial.set_constraint(name, measured.get(name, 0.0))
        return self.study.tell(trial, values, state=state)

    def number_of(self, trial_id: str) -> int | None:
        """The number of the Optuna trial Ray trial `trial_id` runs (None: not one of this search's)."""
        trial = self._trials.get(trial_id)
        return None if trial is None else trial.number

    def live_numbers(self) -> list[int]:
        """The numbers of this search's unfinished trials: those training and the repeats waiting."""
        return [t.number for t in self._trials.values()] + [t.number for ts in self._waiting.values() for t in ts]

    def _resolve(self, trial: Trial) -> Resolved:
        """The proposal's candidate, resolved once and kept until its trial starts or is told."""
        cand = self._resolve_params(trial.params)
        self._resolved[trial.number] = cand
        self._keys[trial.number] = cand.key
        return cand

    def _key(self, t: FrozenTrial) -> str | None:
        """The candidate key of an earlier trial (of this search, or of the study it resumes)."""
        if t.number not in self._keys:
            self._keys[t.number] = self._resolve_params(t.params).key
        return self._keys[t.number]

    def _resolve_params(self, params: dict[str, Any]) -> Resolved:
        try:
            return self.candidates.resolve(params)
        except Exception as e:  # never the search's end: its trial fails with the reason
            return InvalidCandidate(dict(params), error_line(e))

    def _done_twin(self, number: int, key: str) -> FrozenTrial | None:
        """An earlier trial of the same candidate that finished COMPLETE or PRUNED (not one that only
        lost a --prescreen: it may win another)."""
        for t in self.study.get_trials(deepcopy=False, states=DONE_STATES):
            if t.number != number and PRESCREENED_KEY not in t.user_attrs and self._key(t) == key:
                return t
        return None

    def _copy_outcome(self, trial: Trial, twin: FrozenTrial) -> None:
        for key, value in twin.user_attrs.items():
            if key != DUPLICATE_KEY:
                trial.set_user_attr(key, value)
        trial.set_user_attr(DUPLICATE_KEY, twin.user_attrs.get(DUPLICATE_KEY, twin.number))
        values = twin.values if twin.state == TrialState.COMPLETE else None
        self._tell(trial, values, twin.state, twin.constraints)

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: every finished trial is already in the study, which `--resume` reads."""

    def restore(self, checkpoint_path: str) -> None:
        """See `save`."""

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        trial = self._trials.get(trial_id)
        record = TrialRecord.from_report(result)
        epoch, value = record.epochs_done, record.val_top1
        if trial is None or not epoch or value is None or record.status in (TrialStatus.FAIL, TrialStatus.INFEASIBLE):
            return  # no epoch trained: nothing to draw
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
        self._training = {k: v for k, v in self._training.items() if v != trial_id}
        finished = None
        try:
            finished = self._record(trial, result, error)
        except Exception as e:
            finished = self._fail_bookkeeping(trial, "with its outcome", e)
        for repeat in self._waiting.pop(trial_id, []):
            try:
                self._resolve_repeat(repeat, trial.number, finished)
            except Exception as e:
                log.warning("could not record trial %s as a repeat of %s: %s", repeat.number, trial.number, e)

    def _resolve_repeat(self, repeat: Trial, twin_number: int, twin: FrozenTrial | None) -> None:
        """A repeat that waited for its twin gets the twin's outcome; a failed twin fails it too (a failure
        may be transient: a later proposal of the candidate trains it again)."""
        if twin is not None and twin.state in DONE_STATES:
            self._copy_outcome(repeat, twin)
            return
        reason = (twin.user_attrs.get(FAIL_REASON_KEY) if twin is not None else None) or "failed"
        repeat.set_user_attr(DUPLICATE_KEY, twin_number)
        repeat.set_user_attr(FAIL_REASON_KEY, f"same candidate as trial {twin_number}, which failed: {reason}")
        self._tell(repeat, state=TrialState.FAIL)

    def _record(self, trial: Trial, result: dict | None, error: bool) -> FrozenTrial:
        record = TrialRecord.from_report(result)
        state, reason = record.state(error or result is None)
        values = None
        if state == TrialState.COMPLETE:
            values = [getattr(record, k) for k in self.objective_keys]
            if any(v is None or not math.isfinite(float(v)) for v in values):
                state, reason, values = TrialState.FAIL, f"objective values not all finite: {values}", None
        for key, value in record.replace(fail_reason=reason or None).user_attrs().items():
            trial.set_user_attr(key, value)
        return self._tell(trial, values, state, record.constraints)
