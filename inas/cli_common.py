"""What every command shares: bad input becomes one line on stderr and an exit code, never a traceback,
and the checks a command makes of its options before it imports torch, Ray or loads any data (each
bad option is refused at once: `tests/test_cli_startup.py`, `benchmarks/cli_startup.py`)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from inas import limits
from inas.errors import ConfigError, DataError, InasError, shown
from inas.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])

# Options and arguments several commands share, declared once.
STORAGE_HELP = (
    "SQLAlchemy URL of the study's storage (default: $INAS_HOME/studies/STUDY.db, INAS_HOME defaulting to the "
    "current folder)."
)
StorageOpt = Annotated[str | None, typer.Option("--storage", metavar="URL", help=STORAGE_HELP)]
StudyArg = Annotated[
    str, typer.Argument(metavar="STUDY", help="Study name, or the path of a SQLite .db file holding one study.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DeviceOpt = Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")]
DataDirOpt = Annotated[
    str | None, typer.Option("--data-dir", metavar="DIR", help="Folder holding (or to download) the dataset.")
]
SeedOpt = Annotated[
    int, typer.Option("--seed", metavar="N", min=0, max=limits.MAX_SEED, help="Random seed (0 to 2**32 - 1).")
]
PRECISION_HELP = (
    "auto: bf16 autocast where the device has native bf16 (CUDA, or a CPU with AVX512_BF16/AMX), else "
    "fp32, channels_last either way on CUDA and oneDNN CPUs; bf16 (refused where there is none); fp32. Default: the recipe's "
    "(the seed recipe's is fp32)."
)
PrecisionOpt = Annotated[str | None, typer.Option("--precision", metavar="MODE", help=PRECISION_HELP)]

# The datasets `inas.data.datasets.load_dataset` knows, by name, so a misspelt one is refused before torch
# loads (tests/test_cli_startup.py checks the two lists agree); its messages are the loader's own.
DATASET_NAMES = ("cifar10", "cifar100", "fashion-mnist", "mnist")
DATASETS = Registry("dataset", dict.fromkeys(DATASET_NAMES), patterns=("imagefolder:PATH", "synthetic[:N]"))
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,4})?")  # what pick_device takes (and torch has)


def check_dataset(spec: str | None) -> None:
    """A dataset name `load_dataset` can load, checked without loading anything (an image folder exists;
    what is in it is read later)."""
    if spec is None:
        return
    if spec.startswith("imagefolder:"):
        path = Path(spec.removeprefix("imagefolder:")).expanduser()
        if not path.is_dir():
            raise DataError(f"imagefolder:{path}: no such folder; give a folder with train/<class>/ and test/<class>/")
    elif spec == "synthetic" or spec.startswith("synthetic:"):
        n = spec.partition(":")[2] or "500"
        if not (n.isascii() and n.isdigit()) or len(n) > 9 or not 10 <= int(n) <= limits.MAX_SYNTHETIC:
            raise DataError(
                f"{shown(spec)}: the size after 'synthetic:' must be a whole number from 10 to "
                f"{limits.MAX_SYNTHETIC:,}, like synthetic:2000"
            )
    else:
        DATASETS.get(spec)


def check_device(name: str) -> None:
    """--device spelled as inas takes it (whether this machine has it is asked of torch later)."""
    if not DEVICE.fullmatch(name):
        raise ConfigError(f"--device {shown(name)}: not a device; use auto, cpu, cuda or cuda:N")


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


DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*")
SECONDS_PER = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(text: str | None, option: str) -> float | None:
    """Seconds in '3600', '90m', '1.5h' or '45s', or ConfigError naming `option`."""
    if text is None:
        return None
    match = DURATION.fullmatch(text)
    seconds = float(match[1]) * SECONDS_PER[match[2]] if match else math.nan
    if not 0 < seconds <= limits.MAX_TIMEOUT_S:
        raise ConfigError(
            f"{option} {shown(text)}: give a duration above 0 and at most a year, in seconds or with a unit "
            "(3600, 90m, 1.5h)"
        )
    return seconds


def check_precision(precision: str | None) -> None:
    """--precision of a command that retrains a recorded recipe (as `inas.train.loop.forcing_precision`)."""
    from inas.train.recipe import PRECISIONS

    if precision is not None and precision not in PRECISIONS:
        raise ConfigError(f"--precision: unknown value {shown(precision)}; choose one of {', '.join(PRECISIONS)}")


def check_model_folder(folder: Path) -> None:
    """A model folder is there (what is in it is checked as it is loaded, with torch)."""
    if not Path(folder).is_dir():
        raise InasError(f"{folder}: no such model folder; give the --out folder of `inas export`")


def check_files_exist(paths: list[Path]) -> None:
    """Each input file is there (what it holds is read later)."""
    for path in paths:
        if not Path(path).exists():
            dangling = Path(path).is_symlink()
            raise InasError(f"{path}: no such file" + (" (a link to nothing)" if dangling else ""))


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
