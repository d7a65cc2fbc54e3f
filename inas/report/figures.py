"""Plotly figures of a study, each drawn from a frame of `inas.report.data`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from inas.report.data import front_2d, shown_words, thin
from inas.study.keys import INFEASIBLE_KEY, PARAMS, TRAIN_SECONDS, VAL_TOP1

FAINT = 0.25
MAX_3D = 500  # dominated trials drawn in the 3D front at most
LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=60, r=20, t=60, b=50),
    height=480,
    legend=dict(orientation="h", yanchor="top", y=-0.15),  # below the plot, clear of colour bars
)


def _hover(frame: pd.DataFrame, choices: Sequence[str]) -> list[str]:
    """Trial number, its numbers and its sampled configuration, one line each."""
    texts = []
    for row in frame.to_dict("records"):  # not iterrows: a Series a row is 20 times slower
        lines = [f"<b>trial {row['number']}</b> ({row['state']})"]
        for key, label in ((VAL_TOP1, "val error"), (PARAMS, PARAMS), (TRAIN_SECONDS, "train s (wall clock)")):
            if pd.notna(row.get(key)):
                lines.append(f"{label}: {row[key]:,.4g}")
        lines += [f"{c} = {row[c]}" for c in choices if pd.notna(row.get(c))]
        texts.append("<br>".join(lines))
    return texts


def pareto_2d(frame: pd.DataFrame, choices: Sequence[str]) -> go.Figure:
    """Validation error against parameters; colour: training time. Pareto members large and outlined,
    the rest of the complete trials faint, pruned trials (at their last validated epoch) fainter."""
    fig = go.Figure()
    done = frame[frame["state"] == "complete"]
    all_pruned = frame[(frame["state"] == "pruned") & frame[VAL_TOP1].notna()]
    pruned, dominated = thin(all_pruned), thin(done[~done["pareto"]])
    thinned = [
        w
        for w in (
            shown_words(len(dominated), int((~done["pareto"]).sum())),
            shown_words(len(pruned), len(all_pruned), "pruned trials"),
        )
        if w
    ]
    if len(pruned):
        fig.add_trace(
            go.Scatter(
                x=pruned[PARAMS],
                y=pruned[VAL_TOP1],
                mode="markers",
                name="pruned (last epoch seen)",
                marker=dict(symbol="x", color="grey", size=7, opacity=FAINT),
                hovertext=_hover(pruned, choices),
                hoverinfo="text",
            )
        )
    for members, name in ((dominated, "dominated"), (done[done["pareto"]], "Pareto front")):
        front = name == "Pareto front"
        fig.add_trace(
            go.Scatter(
                x=members[PARAMS],
                y=members[VAL_TOP1],
                mode="markers",
                name=name,
                marker=dict(
                    color=members[TRAIN_SECONDS],
                    coloraxis="coloraxis",
                    size=12 if front else 8,
                    opacity=1.0 if front else FAINT + 0.15,
                    line=dict(width=1.5 if front else 0, color="black"),
                ),
                hovertext=_hover(members, choices),
                hoverinfo="text",
            )
        )
    if len(done):  # the error-vs-parameters front as a staircase, of every complete trial
        stairs = front_2d(done)
        fig.add_trace(
            go.Scatter(
                x=stairs[PARAMS],
                y=stairs[VAL_TOP1],
                mode="lines",
                line=dict(shape="hv", color="black", width=1, dash="dot"),
                name="front in these two objectives",
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        title="Validation error vs parameters (colour: training wall clock)",
        xaxis=dict(title="parameters", type="log"),
        yaxis=dict(title="validation top-1 error", tickformat=".1%"),
        **_subtitle(thinned),
        coloraxis=dict(colorscale="Viridis", colorbar=dict(title="wall-clock train s")),
        **{**LAYOUT, "height": 540},
    )
    return fig


def _subtitle(thinned: list[str]) -> dict:
    """A thinned figure says so under its title (its layout's `title` stays as it is)."""
    return dict(annotations=[_thin_note("; ".join(thinned))]) if thinned else {}


def _thin_note(text: str) -> dict:
    return dict(
        text=text, xref="paper", yref="paper", x=0, y=1.0, yanchor="bottom", showarrow=False, font=dict(size=11)
    )


def pareto_3d(frame: pd.DataFrame, choices: Sequence[str]) -> go.Figure:
    """The three objectives; the front whole, dominated trials thinned to `MAX_3D`."""
    done = frame[frame["state"] == "complete"]
    dominated = thin(done[~done["pareto"]], MAX_3D)
    thinned = [w for w in (shown_words(len(dominated), int((~done["pareto"]).sum())),) if w]
    fig = go.Figure()
    for members, name in ((dominated, "dominated"), (done[done["pareto"]], "Pareto front")):
        front = name == "Pareto front"
        fig.add_trace(
            go.Scatter3d(
                x=members[PARAMS],
                y=members[TRAIN_SECONDS],
                z=members[VAL_TOP1],
                mode="markers",
                name=name,
                marker=dict(
                    size=6 if front else 4, opacity=1.0 if front else 0.35, color="crimson" if front else "grey"
                ),
                hovertext=_hover(members, choices),
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title="Error, parameters and training time",
        scene=dict(
            xaxis=dict(title="parameters", type="log"),
            yaxis=dict(title="wall-clock train s"),
            zaxis=dict(title="val error", tickformat=".0%"),
            # Plotly's default eye (1.25 each way) puts the front corner, with the time axis's ticks and
            # title, outside the scene's box, where the canvas cuts it: a step back keeps the cube whole.
            camera=dict(eye=dict(x=1.6, y=1.6, z=0.9)),
            domain=dict(x=[0, 1], y=[0, 1]),
        ),
        **_subtitle(thinned),
        # The legend in the top corner, off the scene: below it (as in the 2D figures) it covers the
        # bottom of the cube, which the scene fills whatever the margin.
        **{
            **LAYOUT,
            "height": 640,
            "margin": dict(l=10, r=10, t=60, b=10),
            "legend": dict(orientation="v", x=0.01, y=0.99, yanchor="top"),
        },
    )
    return fig


def hypervolume_figure(histories: dict[str, pd.DataFrame], reference: Sequence[float], objectives: Sequence[str]):
    """Hypervolume fraction against trial number, one line a study."""
    fig = go.Figure()
    for name, h in histories.items():
        fig.add_trace(go.Scatter(x=h["number"], y=h["fraction"], mode="lines+markers", name=name))
    ref = ", ".join(f"{o} {v:,.4g}" for o, v in zip(objectives, reference, strict=True))
    fig.update_layout(
        title=f"Hypervolume (fraction of the box from 0 to the reference point: {ref})",
        xaxis=dict(title="trial number"),
        yaxis=dict(title="dominated fraction", rangemode="tozero"),
        **LAYOUT,
    )
    return fig


def parallel_coordinates(
    frame: pd.DataFrame, choices: Sequence[str], target: str = VAL_TOP1, label: str = "val error"
) -> go.Figure:
    """Each sampled choice an axis (categories and missing values as labelled ticks), then `target`.
    Every Pareto member is drawn; the other complete trials are thinned to `MAX_POINTS`."""
    complete = frame[frame["state"] == "complete"]
    rest = thin(complete[~complete["pareto"]])
    done = complete[complete["pareto"] | complete.index.isin(rest.index)]
    thinned = [w for w in (shown_words(len(rest), int((~complete["pareto"]).sum())),) if w]
    dims = []
    for c in choices:
        col = done[c]
        if pd.api.types.is_numeric_dtype(col) and col.notna().all():
            dims.append(dict(label=c, values=col.astype(float)))
        else:  # categorical, or not sampled in some trials (a module beyond the chosen depth)
            labels = col.map(lambda v: "-" if pd.isna(v) else str(v))
            cats = sorted(labels.unique())
            dims.append(dict(label=c, values=labels.map(cats.index), tickvals=list(range(len(cats))), ticktext=cats))
    dims.append(dict(label=label, values=done[target]))
    fig = go.Figure(
        go.Parcoords(
            line=dict(color=done[target], colorscale="Viridis_r", showscale=True, colorbar=dict(title=label)),
            dimensions=dims,
        )
    )
    fig.update_layout(title=f"Choices against {label}", **_subtitle(thinned), **{**LAYOUT, "margin": dict(t=100)})
    return fig


def importance_figure(importances: dict[str, float]) -> go.Figure:
    names = list(importances)[::-1]
    fig = go.Figure(go.Bar(x=[importances[n] for n in names], y=names, orientation="h"))
    fig.update_layout(
        title="Importance of each choice for validation error (PED-ANOVA)",
        xaxis=dict(title="importance"),
        **{**LAYOUT, "height": max(300, 40 * len(names) + 120)},
    )
    return fig


def curves_figure(curves: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for number, c in curves.groupby("number"):
        fig.add_trace(go.Scatter(x=c["epoch"], y=c[VAL_TOP1], mode="lines+markers", name=f"trial {number}"))
    fig.update_layout(
        title="Learning curves of the Pareto members",
        xaxis=dict(title="epoch", dtick=1),
        yaxis=dict(title="validation top-1 error", tickformat=".0%"),
        **LAYOUT,
    )
    return fig


def fronts_figure(frames: dict[str, pd.DataFrame]) -> go.Figure:
    """Several studies' complete trials in error vs parameters, each front drawn as a staircase."""
    fig = go.Figure()
    for i, (name, frame) in enumerate(frames.items()):
        done = frame[frame["state"] == "complete"]
        colour = f"hsl({(i * 137) % 360},65%,45%)"
        front = front_2d(done)
        fig.add_trace(
            go.Scatter(
                x=done[PARAMS],
                y=done[VAL_TOP1],
                mode="markers",
                name=f"{name} trials",
                marker=dict(color=colour, opacity=0.35, size=7),
                hovertext=[f"{name} trial {n}" for n in done["number"]],
                hoverinfo="text",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=front[PARAMS],
                y=front[VAL_TOP1],
                mode="lines+markers",
                line=dict(shape="hv", color=colour),
                marker=dict(size=10, color=colour),
                name=f"{name} front",
            )
        )
    fig.update_layout(
        title="Fronts: validation error vs parameters",
        xaxis=dict(title="parameters", type="log"),
        yaxis=dict(title="validation top-1 error", tickformat=".1%"),
        **LAYOUT,
    )
    return fig


def constraints_figure(frame: pd.DataFrame, constraints: Sequence[Sequence]) -> go.Figure | None:
    """One panel a constraint of --constraint: each candidate's measured value by trial number, those
    that broke a constraint (recorded, never trained) apart from the rest, and the limit as a line.
    None while no value was measured (latency, before any trial measured it)."""
    from plotly.subplots import make_subplots

    names = list(dict.fromkeys(str(c[0]) for c in constraints if c[0] in frame and frame[c[0]].notna().any()))
    if not names:
        return None
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    broke = frame[INFEASIBLE_KEY].notna() if INFEASIBLE_KEY in frame else pd.Series(False, index=frame.index)
    for row, name in enumerate(names, start=1):
        for members, label, marker in (
            (frame[~broke], "met --constraint", dict(color="steelblue", size=7)),
            (frame[broke], "broke --constraint (not trained)", dict(color="crimson", symbol="x", size=7)),
        ):
            members = members[members[name].notna()]
            fig.add_trace(
                go.Scatter(
                    x=members["number"],
                    y=members[name],
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=row == 1,
                    marker=marker,
                    hovertext=[
                        f"trial {n}: {name} {v:,.4g}" + (f"<br>{why}" if isinstance(why, str) else "")
                        for n, v, why in zip(
                            members["number"],
                            members[name],
                            members.get(INFEASIBLE_KEY, [None] * len(members)),
                            strict=True,
                        )
                    ],
                    hoverinfo="text",
                ),
                row=row,
                col=1,
            )
        for c in constraints:
            if c[0] == name:
                fig.add_hline(y=float(c[2]), line=dict(color="black", dash="dash", width=1), row=row, col=1)
        fig.update_yaxes(title_text=name, type="log", row=row, col=1)
    fig.update_xaxes(title_text="trial number", row=len(names), col=1)
    fig.update_layout(
        title="Candidates against --constraint (dashed: the limit)", **{**LAYOUT, "height": 260 + 220 * len(names)}
    )
    return fig
