"""The terminal view of a running search, drawn from the study itself (what is recorded is shown)."""

from __future__ import annotations

import time
from typing import Any

import optuna
from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.table import Table

from inas.study.keys import DUPLICATE_KEY, INFEASIBLE_KEY, PRESCREENED_KEY
from inas.study.record import counts_toward_trials, fail_reason, pareto_trials, trained
from inas.study.tally import tally


class SearchView(Callback):
    """Trials done / running / pruned / failed, best values, Pareto size, elapsed and remaining time.
    With `quiet`, or when stderr is not a terminal (a log file, CI, nohup), one line per finished trial
    instead of a live table, with the progress and the time left."""

    def __init__(
        self,
        study: str,
        storage: optuna.storages.BaseStorage | str,
        objectives: tuple[str, ...],
        total: int,
        quiet: bool = False,
    ):
        self.study_name, self.storage, self.objectives, self.total, self.quiet = (
            study,
            storage,
            objectives,
            total,
            quiet,
        )
        self.start = time.time()
        self.live: Live | None = None
        self.console: Console | None = None
        self.seen_finished: set[int] = set()  # finished in this run (a resumed study has older ones)
        self.finished_before: set[int] = set()
        self.trained_here = 0  # of those, how many count toward --trials: the pace of the time left

    def __getstate__(self) -> dict:
        # Ray pickles its run config: leave the terminal objects out (they are made in `setup`).
        return {k: v for k, v in self.__dict__.items() if k not in ("live", "console")} | {
            "live": None,
            "console": None,
        }

    def _study(self) -> optuna.Study:
        return optuna.load_study(study_name=self.study_name, storage=self.storage)

    def table(self) -> Table:
        study = self._study()
        counted = tally(study)  # what counts toward --trials: not copies, not interrupted trials
        best = pareto_trials(study)
        elapsed = time.time() - self.start
        left = self.total - counted.trained
        eta = self._eta(elapsed, left)
        t = Table(title=f"inas search: {self.study_name}", box=None, show_header=False)
        for i, part in enumerate(counted.parts(total=self.total)):
            t.add_row("trials" if i == 0 else "", part)
        for i, name in enumerate(self.objectives):
            t.add_row(f"best {name}", f"{min(tr.values[i] for tr in best):,.4g}" if best else "-")
        t.add_row("Pareto front", f"{len(best)} trials")
        t.add_row("elapsed / left", f"{elapsed:,.0f} s / {eta}")
        return t

    def _eta(self, elapsed: float, left: int) -> str:
        """Time left, from this run's pace in trained trials (a resumed study's older trials say nothing
        of it; copies, infeasible and prescreened candidates take no training)."""
        return f"{elapsed / self.trained_here * left:,.0f} s" if self.trained_here and left > 0 else "-"

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

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._refresh()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        study = self._study()
        for t in study.get_trials(deepcopy=False):
            if t.state.is_finished() and t.number not in self.seen_finished | self.finished_before:
                self.seen_finished.add(t.number)
                self.trained_here += counts_toward_trials(t)
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
                    progress = (
                        f"[{done}/{self.total} trained, {elapsed:,.0f} s, {self._eta(elapsed, self.total - done)} left]"
                    )
                    line = " ".join(p for p in (f"trial {t.number} {state}", values, reason, progress) if p)
                    self.console.print(
                        line,
                        highlight=False,
                        markup=False,
                    )
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
