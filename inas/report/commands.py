"""`inas report`, `inas trials`, `inas compare` and `inas dashboard`: looking at studies."""

from __future__ import annotations

import contextlib
import socket
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from inas.cli_common import StorageOpt, StudyArg, fail, user_errors
from inas.errors import InasError, shown

FORMATS = ("table", "csv", "json", "markdown")
DASHBOARD_REFRESH_S = 5.0  # how old the dashboard's trials may be before it reads the new ones


@user_errors
def report_command(
    study: StudyArg,
    storage: StorageOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: dashboards/STUDY.html); - for stdout.")
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the report in a browser.")] = False,
) -> None:
    """Write one self-contained HTML report of a study: Pareto front, hypervolume, choices, curves, failures."""
    from inas.files import check_out_file, dashboard_path, is_stdout, write_out
    from inas.study.load import open_study

    if is_stdout(out) and open_browser:
        raise fail("--open with --out -: there is no file to open; give --out a file path, or drop --open")
    if out is not None and not is_stdout(out):
        check_out_file(out)  # before the work
    ref = open_study(study, storage)
    path = out or dashboard_path(ref.name, ".html")
    if out is None:
        check_out_file(path)
    from inas.report.page import study_report  # after the study is found: it loads pandas and plotly

    text, notes = study_report(ref)
    write_out(path, text)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if is_stdout(path):
        return
    typer.echo(f"report: {path}")
    if open_browser:
        webbrowser.open(path.resolve().as_uri())


@user_errors
def trials_command(
    study: StudyArg,
    storage: StorageOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or markdown.")] = "table",
    pareto_only: Annotated[bool, typer.Option("--pareto-only", help="Only the Pareto front's trials.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout (- is stdout).")
    ] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated columns to show, in order (default: see below).")
    ] = None,
) -> None:
    """One row a trial: objectives, state, the record inas keeps and the sampled choices.

    The table shows number, state, objectives, pareto, params, the sampled choices and the failure
    reason, fitted to the terminal; csv, json and markdown keep every column. A copy (a repeated
    proposal that reused an earlier trial's outcome, not trained again) is `complete (copy of 3)` in
    the table; csv, json and markdown keep its state and name the trial in `duplicate_of`."""
    import shutil

    from inas.files import check_out_file, is_stdout, write_atomic
    from inas.study.load import open_study

    if fmt not in FORMATS:
        raise fail(f"--format {shown(fmt)}: choose one of {', '.join(FORMATS)}")
    if is_stdout(out):
        out = None
    if out is not None:
        check_out_file(out)  # before the work
    ref = open_study(study, storage)  # a study that is not there is answered before pandas loads
    from inas.report.table import default_columns, fit_table, mark_copies, pick_columns
    from inas.study.frame import choice_columns, objective_names, trials_frame

    frame = trials_frame(ref.study)
    if pareto_only:
        frame = frame[frame["pareto"]]
    if fmt == "table":
        frame = mark_copies(frame)
    if columns is not None:
        frame = pick_columns(frame, [c.strip() for c in columns.split(",") if c.strip()])
    elif fmt == "table":
        frame = frame[default_columns(frame, objective_names(ref.study), choice_columns(frame, ref.study))]
    dropped: list[str] = []
    if fmt == "csv":
        text = frame.to_csv(index=False)
    elif fmt == "json":
        text = frame.to_json(orient="records", indent=2) + "\n"
    elif fmt == "markdown":
        text = frame.to_markdown(index=False) + "\n"
    elif len(frame):
        # Fitted to the terminal; a pipe gets 100 columns (COLUMNS overrides), a file every column.
        width = shutil.get_terminal_size((100, 24)).columns if out is None else 10_000
        text, dropped = fit_table(frame, width)
        text += "\n"
    else:
        text = "(no trials)\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(out, text)
        typer.echo(f"{len(frame)} trials: {out}", err=True)
    if dropped:
        s = "" if len(dropped) == 1 else "s"
        typer.echo(f"({len(dropped)} column{s} did not fit: {', '.join(dropped)}; --columns chooses)", err=True)


@user_errors
def compare_command(
    studies: Annotated[list[str], typer.Argument(help="Two or more study names (or .db paths).")],
    storage: StorageOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: dashboards/compare-A-B.html); - for stdout.")
    ] = None,
) -> None:
    """Overlay the fronts of several studies in one report, with their hypervolumes side by side.

    All studies share one hypervolume reference point, so their hypervolumes compare."""
    from inas.files import check_out_file, dashboard_path, is_stdout, write_out
    from inas.study.load import open_study

    if len(studies) < 2:
        raise fail("compare needs at least two studies: inas compare STUDY_A STUDY_B ...")
    if out is not None and not is_stdout(out):
        check_out_file(out)  # before the work
    refs = [open_study(s, storage) for s in studies]
    if len({(r.url, r.name) for r in refs}) < len(refs):
        raise fail("a study is named twice; name each once")
    path = out or dashboard_path("compare-" + "-".join(r.name for r in refs), ".html")
    if out is None:
        check_out_file(path)
    from inas.report.page import compare_report  # after the studies are found

    text, summary = compare_report(refs)
    write_out(path, text)
    # With the page on stdout, the summary table goes to stderr: stdout holds the page alone.
    typer.echo(summary.to_string(index=False, na_rep="-"), err=is_stdout(path))
    if not is_stdout(path):
        typer.echo(f"report: {path}")


def is_loopback(host: str) -> bool:
    """Whether `host` is an interface only this machine reaches (a name is looked up)."""
    import ipaddress

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


@user_errors
def dashboard_command(
    study: StudyArg,
    storage: StorageOpt = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Interface to serve on (0.0.0.0: every one).")] = "127.0.0.1",
) -> None:
    """Serve optuna-dashboard on the study's storage until Ctrl-C."""
    from optuna_dashboard import run_server

    from inas.study.load import open_study
    from inas.study.snapshot import Snapshot

    ref = open_study(study, storage)
    try:
        with socket.socket() as s:
            s.bind((host, port))
    except OSError as e:
        raise InasError(
            f"--port {port} --host {host}: cannot serve there ({e.strerror or e}); choose another --port or --host"
        ) from None
    if not is_loopback(host):
        typer.echo(
            f"warning: --host {host} serves the study to every machine that can reach this one, with no "
            "password; use --host 127.0.0.1 (the default) to keep it on this machine",
            err=True,
        )
    study_id = ref.study_id
    typer.echo(f"optuna-dashboard: http://{host}:{port}/dashboard/studies/{study_id}  (Ctrl-C stops it)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        # The trials through inas's snapshot, read again every few seconds from the first unfinished one
        # on: optuna-dashboard's own reading of every trial through Optuna takes a minute on 10,000.
        run_server(Snapshot(ref.storage, max_age_s=DASHBOARD_REFRESH_S), host=host, port=port)
