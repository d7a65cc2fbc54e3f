"""`inas space list / show / sample`."""

from __future__ import annotations

import math
import re
from typing import Annotated

import typer

from inas import limits
from inas.cli_common import JsonOpt, SeedOpt, console, print_json, user_errors

space_app = typer.Typer(help="List, inspect and sample search spaces.", no_args_is_help=True)

SpaceArg = Annotated[
    str, typer.Argument(metavar="SPACE", help="A built-in space name (see `inas space list`) or a path to a YAML file.")
]


def _points(n: float) -> str:
    if math.isinf(n):
        return "infinite"
    return f"{int(n):,}" if n < 1e9 else f"{n:.2e}"


def _json_points(n: float) -> int | None:
    """JSON has no infinity: a space with a float range has `null` points."""
    return None if math.isinf(n) else int(n)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.?!])(\s|$)", text)
    return match.group(1) if match else text


@space_app.command("list")
@user_errors
def space_list(as_json: JsonOpt = False) -> None:
    """List the built-in search spaces."""
    from rich.table import Table

    from inas.space.dims import count_points
    from inas.space.registry import list_spaces, load_space

    spaces = [load_space(n) for n in list_spaces()]
    if as_json:
        print_json(
            [{"name": s.name, "points": _json_points(count_points(s)), "description": s.description} for s in spaces]
        )
        return
    table = Table("space", "points", "description", box=None)
    for s in spaces:
        table.add_row(s.name, _points(count_points(s)), _first_sentence(s.description))
    console().print(table)


@space_app.command("show")
@user_errors
def space_show(space: SpaceArg, as_json: JsonOpt = False) -> None:
    """Show a space's dimensions and how many distinct candidates it holds."""
    from rich.table import Table

    from inas.space.dims import count_points, dimensions
    from inas.space.registry import load_space

    s = load_space(space)
    dims = list(dimensions(s))
    if as_json:
        print_json(
            {
                "name": s.name,
                "source": s.source,
                "description": s.description,
                "points": _json_points(count_points(s)),
                "dimensions": [
                    {"name": d.name, "kind": d.dim.kind, "values": d.dim.describe(), "condition": d.condition}
                    for d in dims
                ],
            }
        )
        return
    out = console()
    out.print(f"[bold]{s.name}[/bold]  ({s.source})")
    out.print(s.description)
    out.print(f"distinct candidates: {_points(count_points(s))}")
    table = Table("dimension", "values", "when", box=None)
    for d in dims:
        table.add_row(d.name, d.dim.describe(), d.condition or "always")
    out.print(table)


@space_app.command("sample")
@user_errors
def space_sample(
    space: SpaceArg,
    n: Annotated[
        int, typer.Option("--n", metavar="N", min=1, max=limits.MAX_SAMPLES, help="How many distinct candidates.")
    ] = 5,
    seed: SeedOpt = 0,
    classes: Annotated[
        int | None, typer.Option("--classes", metavar="N", min=1, help="Number of classes (default: the space's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sample valid candidates at random; `--json` prints configs that `inas model summary --config` reads."""
    from inas.space.registry import load_space
    from inas.space.sampling import sample_many

    cands = sample_many(load_space(space), n, seed=seed, num_classes=classes)
    if as_json:
        print_json([c.to_dict() for c in cands])
        return
    from rich.table import Table

    from inas.model.stats import measure

    table = Table("hash", "depths", "params", "MMACs", "sampled values", box=None)
    for c in cands:
        stats = measure(c.arch)
        values = ", ".join(f"{k}={v}" for k, v in c.params.items())
        table.add_row(
            c.arch.hash(), "/".join(map(str, c.arch.depths)), f"{stats.params:,}", f"{stats.macs / 1e6:,.1f}", values
        )
    console().print(table)
