"""Rules for choosing trials, as users write them: constraints on recorded values, and the knee of a front.

Plain text parsing, no heavy imports: the CLI's help and argument checks use it before anything loads.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable

from inas.errors import InasError, shown

KNEE_RULE = (
    "knee: the Pareto member nearest the ideal point once each objective is scaled to [0, 1] over the "
    "front (0: the front's best value, 1: its worst)"
)
OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
# Names a constraint may use, beside the study's objectives (test errors never select).
CONSTRAINABLE = ("val_top1", "val_top5", "params", "macs", "train_seconds", "latency_ms")


def parse_constraints(
    text: str, allowed: list[str], option: str = "--pick", usage: str = "use min-error, knee, or constraints"
) -> list[tuple[str, str, float]]:
    """'params<2e6,macs<5e8' as (name, operator, limit) triples; names outside `allowed` are refused."""
    out = []
    for part in text.split(","):
        m = CONSTRAINT.match(part)
        if not m:
            raise InasError(f"{option} {shown(text)}: {usage} like 'params<2e6' or 'params<2e6,macs<5e8'")
        name, op, value = m.group(1), m.group(2), m.group(3)
        if name not in allowed:
            raise InasError(
                f"{option} {shown(text)}: unknown value {shown(name)}; constrain one of {', '.join(allowed)}"
            )
        try:
            limit = float(value)
        except ValueError:
            raise InasError(f"{option} {shown(text)}: {shown(value)} is not a number") from None
        if not math.isfinite(limit):
            raise InasError(f"{option} {shown(text)}: {shown(value)} is not a finite number")
        if (name, op, limit) not in out:  # a repeated constraint says nothing more
            out.append((name, op, limit))
    return out


def violation(value: float, op: str, limit: float) -> float:
    """How far `value` breaks `value op limit`, relative to the limit: 0.0 when it holds (Optuna's
    constraint convention: <= 0 is feasible)."""
    if OPS[op](value, limit):
        return 0.0
    return max(abs(value - limit) / max(abs(limit), 1.0), 1e-9)


def constraint_name(name: str, op: str, limit: float) -> str:
    """A constraint as text ('params<2000000.0', every digit kept, so two limits never share a name):
    its key among a trial's Optuna constraints."""
    return f"{name}{op}{float(limit)!r}"


def check_constraints(
    constraints: Iterable[tuple[str, str, float]], measured: dict[str, float]
) -> tuple[dict[str, float], str | None]:
    """The constraints whose value `measured` holds: each one's violation (<= 0: holds), keyed by
    `constraint_name`, and why the candidate breaks them (None when it does not)."""
    violations, broken = {}, []
    for name, op, limit in constraints:
        if name in measured:
            v = violations[constraint_name(name, op, limit)] = violation(measured[name], op, limit)
            if v > 0:
                broken.append(f"{name} {measured[name]:,.4g} is not {op} {limit:,.4g}")
    return violations, "; ".join(broken) or None
