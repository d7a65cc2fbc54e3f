"""What every command shares: bad input becomes one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from inas import limits
from inas.errors import InasError

F = TypeVar("F", bound=Callable[..., Any])

# Options and arguments several commands share, declared once.
STORAGE_HELP = "SQLAlchemy URL of the study's storage (default: sqlite:///studies/STUDY.db)."
StorageOpt = Annotated[str | None, typer.Option("--storage", help=STORAGE_HELP)]
StudyArg = Annotated[str, typer.Argument(help="Study name, or the path of a SQLite .db file holding one study.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
DataDirOpt = Annotated[str | None, typer.Option("--data-dir", help="Folder holding (or to download) the dataset.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=limits.MAX_SEED, help="Random seed (0 to 2**32 - 1).")]
PRECISION_HELP = (
    "auto: bf16 autocast + channels_last where the device has native bf16 (CUDA, or a CPU with "
    "AVX512_BF16/AMX), else fp32; bf16 (refused where there is none); fp32. Default: the recipe's "
    "(the seed recipe's is fp32)."
)
PrecisionOpt = Annotated[str | None, typer.Option("--precision", help=PRECISION_HELP)]


def finite_share(value: float | None) -> float | None:
    """Option callback: a finite number >= 0 (nan passes every min/max test: a trial of nan GPUs is never
    scheduled, and the search waits forever)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"{value}: give a finite number >= 0")
    return value


def positive_share(value: float | None) -> float | None:
    """Option callback: a finite number > 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value}: give a finite number > 0")
    return value


def fail(message: str) -> typer.Exit:
    """Print one line on stderr; the caller raises the returned Exit (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def user_errors(fn: F) -> F:
    """Turn library errors caused by input into one line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InasError as e:
            exit = fail(str(e))
            exit.exit_code = getattr(e, "exit_code", 2)
            raise exit from None
        except Exception as e:
            from inas.study.storage import storage_failure  # only now: optuna is heavy to import

            message = storage_failure(e)
            if message is None:
                raise
            raise fail(message) from None

    return wrapper  # type: ignore[return-value]


def console() -> Any:
    """Rich console on stdout, for tables (made when first asked: commands that print JSON never need it)."""
    from rich.console import Console

    return Console(highlight=False)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))
