"""The terminal view of a running search, drawn from the study itself (what is recorded is shown),
and the time left, estimated from what this run has measured (`time_left`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.table import Table

from inas.study.keys import DUPLICATE_KEY, EPOCHS_DONE, EPOCHS_TOTAL, INFEASIBLE_KEY, PRESCREENED_KEY, STATUS
from inas.study.record import TrialStatus, fail_reason, pareto_trials, trained
from inas.study.tally import tally


def time_left(
    durations: Sequence[float], running: Sequence[tuple[float, float]], left: int, slots: int
) -> float | None:
    """Seconds until `left` more trials have finished, from what this run measured: `durations`, the
    seconds each trial it finished took (trained ones: stopped early or not); `running`, (seconds
    since it started, share of its epochs done) of each trial training now; `slots`, how many trials
    run at once. None until something was measured.

    A trial costs the mean of `durations` (before any finished: what the running trials' progress
    says their whole run takes). A running trial needs what its own progress says is left (the mean,
    less its elapsed time, before its first epoch); the trials not started yet each cost the mean.
    That work is shared by the slots, and the search lasts at least as long as its slowest running trial."""
    if left <= 0:
        return 0.0
    paced = [elapsed / share for elapsed, share in running if share > 0]
    if durations:
        each = statistics.fmean(durations)
    elif paced:
        each = statistics.fmean(paced)
    else:
        return None
    needs = [elapsed * (1 - share) / share if share > 0 else max(0.0, each - elapsed) for elapsed, share in running]
    queued = max(0, left - len(running))
    work = sum(needs) + queued * each
    return max(max(needs, default=0.0), work / max(1, min(slots, left)))


def said(seconds: float | None) -> str:
    """Seconds as the view says them: `1,234 s`, or `-` when unknown."""
    return "-" if seconds is None else f"{seconds:,.0f} s"


class SearchView(Callback):
    """Trials done / running / pruned / failed, best values, Pareto size, elapsed and remaining time.
    With `quiet`, or when stderr is not a terminal (a log file, CI, nohup), one line per finished trial
    instead of a live table, with the progress and the time left. Until this run's first trial finishes,
    a line as each trial starts and as it trains an epoch, so that a log never stays silent for a trial.

    `slots`: how many trials run at once (the time left shares the work among them); `number_of`: the
    study's trial number of a Ray trial id (None when unknown); `start`: when the search started (its
    phases' clock; default: now)."""

    def __init__(
        self,
        study: str,
        storage: optuna.storages.BaseStorage | str,
        objectives: tuple[str, ...],
        total: int,
        quiet: bool = False,
        slots: int = 1,
        number_of: Callable[[str], int | None] | None = None,
        start: float | None = None,
    ):
        self.study_name, self.storage, self.objectives, self.total, self.quiet = (
            study,
            storage,
            objectives,
            total,
            quiet,
        )
        self.slots, self.number_of = slots, number_of
        self.start = time.time() if start is None else start  # the search's start: its phases' clock
        self.live: Live | None = None
        self.console: Console | None = None
        self.seen_finished: set[int] = set()  # finished in this run (a resumed study has older ones)
        self.finished_before: set[int] = set()
        # What the time left is estimated from, by Ray trial id: when each running trial started (the
        # driver's clock), the share of its epochs done; and how long each finished trained trial took.
        self.started: dict[str, float] = {}
        self.share: dict[str, float] = {}
        self.durations: list[float] = []

    def __getstate__(self) -> dict:
        # Ray pickles its run config: leave the terminal objects out (they are made in `setup`), and the
        # driver's lookup of trial numbers (it holds the searcher).
        return {k: v for k, v in self.__dict__.items() if k not in ("live", "console", "number_of")} | {
            "live": None,
            "console": None,
            "number_of": None,
        }

    def _study(self) -> optuna.Study:
        return optuna.load_study(study_name=self.study_name, storage=self.storage)

    def table(self) -> Table:
        study = self._study()
        counted = tally(study)  # what counts toward --trials: not copies, not interrupted trials
        best = pareto_trials(study)
        elapsed = time.time() - self.start
        eta = said(self.time_left(self.total - counted.trained))
        t = Table(title=f"inas search: {self.study_name}", box=None, show_header=False)
        for i, part in enumerate(counted.parts(total=self.total)):
            t.add_row("trials" if i == 0 else "", part)
        for i, name in enumerate(self.objectives):
            t.add_row(f"best {name}", f"{min(tr.values[i] for tr in best):,.4g}" if best else "-")
        t.add_row("Pareto front", f"{len(best)} trials")
        t.add_row("elapsed / left", f"{elapsed:,.0f} s / {eta}")
        return t

    def time_left(self, left: int, now: float | None = None) -> float | None:
        """`time_left` of `left` more trials, from this run's trials (a resumed study's older ones say
        nothing of this run's pace; copies, infeasible and prescreened candidates take no training)."""
        now = time.time() if now is None else now
        running = [(now - t0, self.share.get(tid, 0.0)) for tid, t0 in self.started.items()]
        return time_left(self.durations, running, left, self.slots)

    def say(self, line: str) -> None:
        """A line on stderr (above the live table, where there is one)."""
        if self.console is not None:
            self.console.print(line, highlight=False, markup=False)

    def _name(self, trial: Any) -> str:
        number = self.number_of(trial.trial_id) if self.number_of is not None else None
        return f"trial {number}" if number is not None else "a trial"

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.started[trial.trial_id] = time.time()
        if not self.durations:  # until this run's first trial is trained
            self.say(f"[{time.time() - self.start:,.0f} s] {self._name(trial)} running ...")

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        done, total = result.get(EPOCHS_DONE) or 0, result.get(EPOCHS_TOTAL) or 0
        before = self.share.get(trial.trial_id, 0.0)
        if total:
            self.share[trial.trial_id] = min(1.0, done / total)
        if not self.durations and done and self.share.get(trial.trial_id, 0.0) > before:
            elapsed, left = time.time() - self.start, self.total - trained(self._study())
            self.say(
                f"[{elapsed:,.0f} s] {self._name(trial)}: epoch {done}/{total} trained; "
                f"{said(self.time_left(left))} left"
            )
        self._refresh()

    def setup(self, **info: Any) -> None:
        self.console = Console(stderr=True, soft_wrap=True)  # log lines stay whole, never wrapped at 80
        self.quiet = self.quiet or not self.console.is_terminal
        self.finished_before = {t.number for t in self._study().get_trials(deepcopy=False) if t.state.is_finished()}
        if not self.quiet:
            self.live = Live(self.table(), console=self.console, refresh_per_second=1, transient=False)
            self.live.start()

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.table())

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial is not None and trial.trial_id in self.started:
            took = time.time() - self.started.pop(trial.trial_id)
            self.share.pop(trial.trial_id, None)
            status = (getattr(trial, "last_result", None) or {}).get(STATUS)
            if status != TrialStatus.INFEASIBLE.value:  # measured, never trained: not a trial's cost
                self.durations.append(took)
        study = self._study()
        for t in study.get_trials(deepcopy=False):
            if t.state.is_finished() and t.number not in self.seen_finished | self.finished_before:
                self.seen_finished.add(t.number)
                if self.quiet and self.console is not None:
                    elapsed, done = time.time() - self.start, trained(study)
                    values = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.objectives, t.values or [], strict=False))
                    reason, state = fail_reason(t), t.state.name.lower()
                    if DUPLICATE_KEY in t.user_attrs:
                        reason = f"(same as trial {t.user_attrs[DUPLICATE_KEY]}, not trained again)"
                    elif INFEASIBLE_KEY in t.user_attrs:
                        state, reason = "broke --constraint", f"({t.user_attrs[INFEASIBLE_KEY]}; not trained)"
                    elif PRESCREENED_KEY in t.user_attrs:
                        state, reason = "lost --prescreen", f"({t.user_attrs[PRESCREENED_KEY]}; not trained)"
                    eta = said(self.time_left(self.total - done))
                    progress = f"[{done}/{self.total} trained, {elapsed:,.0f} s, {eta} left]"
                    self.say(" ".join(p for p in (f"trial {t.number} {state}", values, reason, progress) if p))
        self._refresh()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.on_trial_complete(iteration, trials, trial, **info)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live table (also after Ctrl-C, when Ray ends no experiment)."""
        if self.live is not None:
            self.live.update(self.table())
            self.live.stop()
            self.console.print()  # end the table's last line before the summary follows
            self.live = None
