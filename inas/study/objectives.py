"""Which record key each objective of `inas search` reads: the one mapping, which the search registers
(`inas.search.settings.OBJECTIVES`) and readers that must not import the search (the report) use.

`train_time` is the training time at the median step's pace (`robust_train_seconds`), not the wall
clock (`train_seconds`, kept beside it): on a shared machine the wall clock says how busy the machine
was as much as how costly the network is. Studies searched before it was recorded keep the wall clock
as their trials' `train_time` values, and a resumed one goes on reading the wall clock (`objective_keys`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inas.study.keys import (
    LATENCY_MS,
    MACS,
    PARAMS,
    ROBUST_TRAIN_SECONDS,
    TIME_OBJECTIVE_KEY,
    TRAIN_SECONDS,
    VAL_TOP1,
    VAL_TOP5,
)

TIME_OBJECTIVE = "train_time"

OBJECTIVE_KEYS: dict[str, str] = {
    "top1_error": VAL_TOP1,
    "top5_error": VAL_TOP5,
    PARAMS: PARAMS,
    MACS: MACS,
    TIME_OBJECTIVE: ROBUST_TRAIN_SECONDS,
    LATENCY_MS: LATENCY_MS,
}


def columns_read(objectives: list[str], study_attrs: Mapping[str, Any] | None = None) -> set[str]:
    """The record columns whose values the study's objectives already are (a table shows each once);
    with the study's user attributes, as that study reads them (`objective_keys`)."""
    known = [o for o in objectives if o in OBJECTIVE_KEYS]
    keys = objective_keys(known, study_attrs) if study_attrs is not None else [OBJECTIVE_KEYS[o] for o in known]
    return {k for o, k in zip(known, keys, strict=True) if k != o}


def time_key(study_attrs: Mapping[str, Any]) -> str:
    """The record key a study's `train_time` reads: `robust_train_seconds` where the study says so
    (`TIME_OBJECTIVE_KEY`, set when inas creates it), the wall clock `train_seconds` in an older study."""
    return str(study_attrs.get(TIME_OBJECTIVE_KEY, TRAIN_SECONDS))


def objective_keys(objectives: tuple[str, ...] | list[str], study_attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The record key each of a study's objectives reads, in order (a resumed older study goes on
    comparing wall clock with wall clock)."""
    return tuple(time_key(study_attrs) if o == TIME_OBJECTIVE else OBJECTIVE_KEYS[o] for o in objectives)
