"""The `inas` command line: this module only assembles the app from each package's `commands.py`.

Commands are thin: they call the library and print. Imports are lazy, so `inas --help` and the
commands that only read (space, model list, trials, report) load neither torch nor Ray. Errors
become one line and an exit code in `cli_common.user_errors` and in `main`, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from inas import __version__
from inas.export.commands import evaluate_command, export_command, predict_command
from inas.model.commands import model_app
from inas.report.commands import compare_command, dashboard_command, report_command, trials_command
from inas.reproduce.commands import reproduce_app
from inas.search.commands import search_command
from inas.space.commands import space_app
from inas.supernet.commands import supernet_app
from inas.train.commands import train_command

app = typer.Typer(
    help="Neural architecture search over GoogLeNet / Inception configurations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: flags without a type, every word whole at 80 columns (rich's table cut long
    # defaults and URLs short), and no rich to import for `--help`.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inas {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Neural architecture search over GoogLeNet / Inception configurations."""


app.add_typer(space_app, name="space")
app.add_typer(model_app, name="model")
app.command("train")(train_command)
app.command("search")(search_command)
app.add_typer(supernet_app, name="supernet")
# looking at studies
app.command("report")(report_command)
app.command("trials")(trials_command)
app.command("compare")(compare_command)
app.command("dashboard")(dashboard_command)
# the chosen model
app.command("export")(export_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)
app.add_typer(reproduce_app, name="reproduce")


def main() -> None:
    """Console entry point: usage errors, like library errors, become one line and exit code 2."""
    try:
        rv = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except Exception as e:
        # Click's usage errors (Typer vendors Click in recent versions, so match by shape, not class).
        if not (hasattr(e, "format_message") and hasattr(e, "exit_code")):
            raise
        if e.format_message():  # empty after `no_args_is_help` has shown the help
            ctx = getattr(e, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {e.format_message()}{hint}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)  # click hands back the code of a typer.Exit


if __name__ == "__main__":
    main()
