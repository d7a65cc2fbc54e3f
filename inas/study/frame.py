"""One row a trial: what every reader of a study (report, trials, export) starts from."""

from __future__ import annotations

import json
import math

import optuna
import pandas as pd

from inas.study.keys import DUPLICATE_KEY, FAIL_REASON_KEY, INFEASIBLE_KEY, PRESCREENED_KEY
from inas.study.record import FRAME_COLUMNS, OPTIONAL_FRAME_COLUMNS, fail_reason, front_numbers

# Columns of `trials_frame` every study has: the record's, and how the searcher marked the trial.
RECORD_COLUMNS = (*FRAME_COLUMNS, DUPLICATE_KEY, INFEASIBLE_KEY, PRESCREENED_KEY)
OPTIONAL_COLUMNS = OPTIONAL_FRAME_COLUMNS  # columns only where a trial of the study has them


def objective_names(study: optuna.Study) -> list[str]:
    names = study.metric_names
    return list(names) if names else [f"objective_{i}" for i in range(len(study.directions))]


def _cell(value):
    """A sampled value as a table cell: lists (channel tuples, aux heads) become their JSON text."""
    return json.dumps(value) if isinstance(value, (list, tuple, dict)) else value


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row a trial: number, state, objectives, pareto, the record inas keeps, the sampled choices
    (one column each, named as in the space: `depth.4`, `block.norm`, ...) and the failure reason."""
    objectives = objective_names(study)
    pareto = front_numbers(study)
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict = {"number": t.number, "state": t.state.name.lower()}
        for i, name in enumerate(objectives):
            row[name] = t.values[i] if t.values else math.nan
        row["pareto"] = t.number in pareto
        for key in RECORD_COLUMNS:
            if key not in row or t.user_attrs.get(key) is not None:
                row[key] = t.user_attrs.get(key)
        row.update({key: t.user_attrs[key] for key in OPTIONAL_COLUMNS if key in t.user_attrs})
        if row.get(DUPLICATE_KEY) is not None:
            row[DUPLICATE_KEY] = int(row[DUPLICATE_KEY])
        row["duration_s"] = t.duration.total_seconds() if t.duration else math.nan
        row[FAIL_REASON_KEY] = fail_reason(t)
        row.update({name: _cell(value) for name, value in t.params.items()})
        rows.append(row)
    # An objective named like a record ("params") is one column: the same value, and pruned trials have it.
    optional = [key for key in OPTIONAL_COLUMNS if any(key in row for row in rows)]
    columns = list(
        dict.fromkeys(
            ["number", "state", *objectives, "pareto", *RECORD_COLUMNS, *optional, "duration_s", FAIL_REASON_KEY]
        )
    )
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    frame[DUPLICATE_KEY] = frame[DUPLICATE_KEY].astype("Int64")  # trial numbers, blank when not a copy
    return frame.reindex(columns=columns + sorted(c for c in frame.columns if c not in columns))


def choice_columns(frame: pd.DataFrame, study: optuna.Study) -> list[str]:
    """The columns of `trials_frame` that hold sampled choices."""
    names = {n for t in study.get_trials(deepcopy=False) for n in t.params}
    return [c for c in frame.columns if c in names]
