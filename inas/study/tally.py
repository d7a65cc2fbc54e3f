"""A study's trials, each counted once, and the one sentence every command says them in.

The search's `N/T trained` counts the trials `counts_toward_trials` accepts; the tally splits those by
how they ended (complete, pruned, failed) and counts apart what took no training here: copies of a
repeated proposal, candidates that broke --constraint or lost --prescreen, trials a stopped search
cut short. `complete + pruned + failed == trained(study)`, so no count contradicts another.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from inas.study.keys import INFEASIBLE_KEY, PRESCREENED_KEY
from inas.study.record import UNTRAINED, counts_toward_trials, is_copy


@dataclass(frozen=True)
class Tally:
    """Trials by what became of them; every trial of the study is in exactly one count."""

    complete: int = 0  # trained here, every epoch
    pruned: int = 0  # trained here, stopped early by the scheduler
    failed: int = 0  # trained here and failed
    copies: int = 0  # repeated proposals that reused an earlier trial's outcome (any state)
    infeasible: int = 0  # broke --constraint: measured, never trained
    prescreened: int = 0  # lost --prescreen: scored, never trained
    interrupted: int = 0  # cut short by a stopped search (a resumed search runs them again)
    running: int = 0
    waiting: int = 0

    @property
    def trained(self) -> int:
        """What counts toward `--trials`: the search's `N/T trained`."""
        return self.complete + self.pruned + self.failed

    def parts(self, total: int | None = None) -> list[str]:
        """The sentence of `words`, clause by clause (a terminal table gives each a row)."""
        done = f"{self.trained}/{total}" if total is not None else str(self.trained)
        parts = [f"{done} trained ({self.complete} complete, {self.pruned} pruned, {self.failed} failed)"]
        untrained = [
            f"{n} {what}"
            for n, what in (
                (self.copies, "copies of earlier trials"),
                (self.infeasible, UNTRAINED[INFEASIBLE_KEY]),
                (self.prescreened, UNTRAINED[PRESCREENED_KEY]),
            )
            if n
        ]
        if untrained:
            parts.append("not trained: " + ", ".join(untrained))
        if self.interrupted:
            parts.append(f"{self.interrupted} cut short by a stopped search")
        if self.running or self.waiting:
            parts.append(f"{self.running} running" + (f", {self.waiting} waiting" if self.waiting else ""))
        return parts

    def words(self, total: int | None = None) -> str:
        """`12 trained (9 complete, 3 pruned, 0 failed); not trained: 2 copies of earlier trials, ...`;
        with the `--trials` asked for, `12/12 trained (...)`, as a running search says it."""
        return "; ".join(self.parts(total))


def _kind(t: FrozenTrial) -> str:
    """The `Tally` field that counts trial `t`."""
    if not t.state.is_finished():
        return "running" if t.state == TrialState.RUNNING else "waiting"
    # A copy carries its twin's marks (an infeasible twin's reason too): it is counted as a copy only.
    if is_copy(t):
        return "copies"
    if INFEASIBLE_KEY in t.user_attrs:
        return "infeasible"
    if PRESCREENED_KEY in t.user_attrs:
        return "prescreened"
    if not counts_toward_trials(t):
        return "interrupted"
    return {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned"}.get(t.state, "failed")


def tally(study: optuna.Study) -> Tally:
    """Count each of the study's trials once (see `Tally`)."""
    found: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        kind = _kind(t)
        found[kind] = found.get(kind, 0) + 1
    return Tally(**found)
