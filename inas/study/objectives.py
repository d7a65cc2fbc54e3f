"""Which record key each objective of `inas search` reads: the one mapping, which the search registers
(`inas.search.settings.OBJECTIVES`) and readers that must not import the search (the report) use."""

from __future__ import annotations

from inas.study.keys import LATENCY_MS, MACS, PARAMS, TRAIN_SECONDS, VAL_TOP1, VAL_TOP5

OBJECTIVE_KEYS: dict[str, str] = {
    "top1_error": VAL_TOP1,
    "top5_error": VAL_TOP5,
    PARAMS: PARAMS,
    MACS: MACS,
    "train_time": TRAIN_SECONDS,
    LATENCY_MS: LATENCY_MS,
}


def columns_read(objectives: list[str]) -> set[str]:
    """The record columns whose values the study's objectives already are (a table shows each once)."""
    return {OBJECTIVE_KEYS[o] for o in objectives if o in OBJECTIVE_KEYS and OBJECTIVE_KEYS[o] != o}
