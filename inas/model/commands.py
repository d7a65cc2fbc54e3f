"""`inas model list / summary`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inas import limits
from inas.cli_common import JsonOpt, console, print_json, user_errors

model_app = typer.Typer(help="List presets and measure networks.", no_args_is_help=True)

PresetOpt = Annotated[
    str | None, typer.Option("--preset", metavar="NAME", help="A preset name (see `inas model list`).")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", metavar="FILE.json", help="A JSON architecture config.")]


@model_app.command("list")
@user_errors
def model_list(as_json: JsonOpt = False) -> None:
    """List the registered presets with their parameter counts."""
    from rich.table import Table

    from inas.model.presets import PRESETS

    if as_json:
        print_json(
            [
                {
                    "name": p.name,
                    "description": p.description,
                    "source": p.source,
                    "params": {str(k): v for k, v in p.params.items()},
                }
                for p in PRESETS.values()
            ]
        )
        return
    table = Table("preset", "params", "source", "description", box=None)
    for p in PRESETS.values():
        counts = ", ".join(f"{v:,} ({k} classes)" for k, v in p.params.items())
        table.add_row(p.name, counts, p.source, p.description)
    console().print(table)


@model_app.command("summary")
@user_errors
def model_summary(
    preset: PresetOpt = None,
    config: ConfigOpt = None,
    classes: Annotated[int | None, typer.Option("--classes", metavar="N", min=1, help="Number of classes.")] = None,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input-size",
            metavar="S",
            min=1,
            max=limits.MAX_INPUT_SIZE,
            help="Square input side (default: the network's).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Parameters, MACs (per module too), output shape and smallest accepted input of a network."""
    from rich.table import Table

    from inas.model.source import load_arch

    cfg = load_arch(preset, config)  # a bad name or file is refused before torch loads
    if classes is not None:
        cfg = cfg.with_classes(classes)
    from inas.model.stats import measure

    stats = measure(cfg, input_size)
    if as_json:
        print_json({**stats.to_dict(), "config": cfg.to_dict()})
        return
    out = console()
    name = preset or str(config)
    out.print(f"[bold]{name}[/bold]  hash {stats.config_hash}  {cfg.num_classes} classes")
    out.print(
        f"params {stats.params:,} ({stats.params_inference:,} without auxiliary heads)   "
        f"MACs {stats.macs:,} at {stats.input_size}x{stats.input_size}   output {list(stats.output_shape)}"
    )
    out.print(f"smallest input {stats.min_input_size}x{stats.min_input_size}   stage sizes {list(stats.stage_sizes)}")
    table = Table("module", "params", "MACs", "output", box=None)
    for m in stats.modules:
        table.add_row(m.name, f"{m.params:,}", f"{m.macs:,}", "x".join(map(str, m.output_shape[1:])))
    out.print(table)
