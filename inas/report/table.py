"""`inas trials` at the terminal: the columns that matter first, fitted to the terminal's width."""

from __future__ import annotations

import pandas as pd

from inas.errors import ConfigError, shown
from inas.study.keys import DUPLICATE_KEY, FAIL_REASON_KEY, INFEASIBLE_KEY, PARAMS, PRESCREENED_KEY

# Why a trial was not trained, beside the failure reason: shown when a search recorded any.
REASONS = (FAIL_REASON_KEY, INFEASIBLE_KEY, PRESCREENED_KEY)

REASON_CHARS = 60  # a failure reason is cut to this in the table (csv and json keep it whole)


def default_columns(frame: pd.DataFrame, objectives: list[str], choices: list[str]) -> list[str]:
    """The table's columns in order of importance: what identifies and ranks a trial, then what it chose."""
    first = ["number", "state", *objectives, "pareto"]
    if PARAMS not in objectives:
        first.append(PARAMS)
    wanted = [*first, *choices, FAIL_REASON_KEY]
    for key in (INFEASIBLE_KEY, PRESCREENED_KEY):  # a search with --constraint, --prescreen
        if key in frame.columns and frame[key].notna().any():
            wanted.insert(-1, key)
    return [c for c in dict.fromkeys(wanted) if c in frame.columns]


def mark_copies(frame: pd.DataFrame) -> pd.DataFrame:
    """The table's state of a copy names the trial whose outcome it reused: `complete (copy of 3)`. In
    the state column, which no terminal width drops; csv and json keep Optuna's state and give the twin
    in `duplicate_of`, for scripts that filter on the state."""
    if DUPLICATE_KEY not in frame or "state" not in frame or frame[DUPLICATE_KEY].isna().all():
        return frame
    copies = frame[DUPLICATE_KEY].notna()
    marked = frame.copy()
    twins = frame.loc[copies, DUPLICATE_KEY]
    marked.loc[copies, "state"] = [
        f"{state} (copy of {twin})" for state, twin in zip(frame.loc[copies, "state"], twins, strict=True)
    ]
    return marked


def pick_columns(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """`--columns`: exactly these, in this order; unknown names are bad input."""
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise ConfigError(f"--columns: no column {shown(unknown[0])}; choose from {', '.join(map(str, frame.columns))}")
    return frame[names]


def fit_table(frame: pd.DataFrame, width: int) -> tuple[str, list[str]]:
    """The frame as a text table no wider than `width`: columns are dropped from the right (the least
    important) until it fits. Returns the text and the dropped columns."""
    shown_frame = frame.copy()
    for column in REASONS:
        if column in shown_frame:
            shown_frame[column] = shown_frame[column].map(_cut)
    floats = {c: _number for c in shown_frame.columns if pd.api.types.is_float_dtype(shown_frame[c])}
    # Each column rendered alone, left to right until the table is full: pandas lays columns out side by
    # side, one space apart, so their widths add up, and the table is their lines joined (10,000 rows:
    # one rendering of the columns kept, not one of the whole frame per column dropped).
    columns: list[list[str]] = []
    for i in range(len(shown_frame.columns)):
        lines = shown_frame.iloc[:, [i]].to_string(index=False, na_rep="-", formatters=floats).splitlines()
        if len({len(line) for line in lines}) != 1:  # not a plain right-justified block: render as a whole
            break
        if len(columns) >= 2 and sum(len(c[0]) + 1 for c in columns) + len(lines[0]) > width:
            return "\n".join(map(" ".join, zip(*columns, strict=True))), [str(c) for c in shown_frame.columns[i:]]
        columns.append(lines)
    else:
        if columns:  # every column fits
            return "\n".join(map(" ".join, zip(*columns, strict=True))), []
    dropped: list[str] = []
    while True:
        text = shown_frame.to_string(index=False, na_rep="-", formatters=floats)
        if max(map(len, text.splitlines()), default=0) <= width or len(shown_frame.columns) <= 2:
            return text, dropped
        dropped.insert(0, str(shown_frame.columns[-1]))
        floats.pop(shown_frame.columns[-1], None)
        shown_frame = shown_frame.iloc[:, :-1]


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.4g}"


def _cut(reason: object) -> str:
    if reason is None or (isinstance(reason, float) and pd.isna(reason)) or not str(reason):
        return ""
    text = str(reason).splitlines()[0]
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
