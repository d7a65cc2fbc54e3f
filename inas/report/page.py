"""Self-contained HTML reports (plotly.js inlined, so they open offline) of one study or several."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from inas import __version__
from inas.errors import InasError
from inas.report import data, figures
from inas.study.frame import choice_columns, objective_names, trials_frame
from inas.study.keys import (
    ARCH_HASH,
    DEVICE,
    INFEASIBLE_KEY,
    LATENCY_METHOD,
    LATENCY_MS,
    MACS,
    PARAMS,
    SETTINGS_KEY,
    TEST_TOP1,
    TEST_TOP5,
    TRAIN_SECONDS,
    VAL_TOP1,
)
from inas.study.load import StudyRef
from inas.study.objectives import columns_read
from inas.study.tally import tally

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #555; } .note { background: #fff4d6; padding: 0.8em 1em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:last-child, th:last-child { text-align: left; }
section { margin: 2em 0; }
"""


@dataclass
class Page:
    """A report being assembled: sections of HTML, in order."""

    title: str
    parts: list[str] = field(default_factory=list)

    def text(self, html_text: str) -> None:
        self.parts.append(html_text)

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def figure(self, fig, div_id: str) -> None:
        self.parts.append(
            '<section class="figure">'
            + pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False})
            + "</section>"
        )

    def table(self, frame: pd.DataFrame, caption: str) -> None:
        body = frame.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:,.4g}", border=0, escape=True)
        self.parts.append(f"<section><h3>{html.escape(caption)}</h3>{body}</section>")

    def render(self) -> str:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
            f"<style>{STYLE}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{''.join(self.parts)}"
            f'<p class="meta">made by inas {__version__} on {stamp}</p></body></html>\n'
        )


def study_report(ref: StudyRef) -> tuple[str, list[str]]:
    """The HTML of one study's report, and notes for the terminal (empty study, only failures, ...)."""
    study = ref.study
    frame = trials_frame(study)
    objectives = objective_names(study)
    counts = data.state_counts(frame)
    settings = study.user_attrs.get(SETTINGS_KEY, {})
    page = Page(f"inas report: {ref.name}")
    page.text(
        f'<p class="meta">storage {html.escape(ref.url)} &middot; space {html.escape(str(settings.get("space", "?")))}'
        f" &middot; dataset {html.escape(str(settings.get('dataset', '?')))} &middot; objectives (minimised) "
        f"{html.escape(', '.join(objectives))}</p><p><b>Trials:</b> {html.escape(tally(study).words())}</p>"
    )
    if "fidelity" in settings:  # errors measured at a reduced cost rank candidates; they are not final errors
        page.text(
            f"<p><b>Fidelity:</b> validation errors come from {html.escape(str(settings['fidelity']))}; "
            "params and MACs are those of the full-size networks. Retrain a candidate to know its real error "
            "(<code>inas export</code>).</p>"
        )
    if LATENCY_MS in frame and frame[LATENCY_MS].notna().any():
        timed = frame[frame[LATENCY_MS].notna()].reindex(columns=[DEVICE, LATENCY_METHOD])
        # Text before filling: a column no trial recorded (an older study) is float NaN, and filling a
        # float column with a string is deprecated in pandas (it would cast, or later raise).
        ways = timed.astype("string").fillna({DEVICE: "an unrecorded device", LATENCY_METHOD: "method not recorded"})
        how = "; ".join(sorted({f"on {d}: {m}" for d, m in zip(ways[DEVICE], ways[LATENCY_METHOD], strict=True)}))
        page.text(
            "<p><b>Latency</b> (<code>latency_ms</code>: batch 1; <code>latency_batch_ms</code>: the training "
            f"batch) of the untrained full-size network, measured on each trial's device before training: "
            f"{html.escape(how)}.</p>"
        )
    notes = []
    if frame.empty:
        notes.append(f"study {ref.name!r} has no trials yet; run `inas search` (or wait for it)")
    elif counts["complete"] == 0:
        why = "every finished trial failed" if counts["fail"] and not counts["pruned"] else "no trial has completed"
        notes.append(f"study {ref.name!r}: {why}; the report shows counts and failure reasons only")
    for n in notes:
        page.note(n)

    choices = choice_columns(frame, study)
    done = frame[frame["state"] == "complete"]
    # A study inas wrote has these for every complete trial; another Optuna study may have none.
    inas_columns = len(done) > 0 and done[[VAL_TOP1, PARAMS, TRAIN_SECONDS]].notna().all().all()
    target = (VAL_TOP1, "val error") if inas_columns else (objectives[0], objectives[0])
    if inas_columns:
        page.heading("Pareto front")
        page.figure(figures.pareto_2d(frame, choices), "pareto-2d")
        page.figure(figures.pareto_3d(frame, choices), "pareto-3d")
    if len(done):
        reference = data.reference_point([frame], objectives)
        history = data.hypervolume_history(frame, objectives, reference)
        page.heading("Hypervolume")
        ref_text = ", ".join(f"{o} = {v:,.6g}" for o, v in zip(objectives, reference, strict=True))
        page.text(
            f"<p>Reference point: {html.escape(ref_text)} ({data.REFERENCE_MARGIN:g} times the worst complete "
            f"trial in each objective). Final hypervolume {history['hypervolume'].iloc[-1]:,.6g}, "
            f"{history['fraction'].iloc[-1]:.2%} of the box from the origin to the reference point.</p>"
        )
        page.figure(figures.hypervolume_figure({ref.name: history}, reference, objectives), "hypervolume")
    if len(done) and choices:
        page.heading("Choices")
        page.figure(figures.parallel_coordinates(frame, choices, *target), "parallel-coordinates")
        found, why_not = data.importances(study)
        if found:
            page.figure(figures.importance_figure(found), "importances")
        else:
            page.note(f"parameter importances: {why_not}")
    constraints = settings.get("constraint") or []
    if constraints and len(frame):
        first, second = data.infeasible_share(frame)
        halves = (
            f" Share of the proposals (repeats included) that broke it: {first:.0%} in the first half of the "
            f"search, {second:.0%} in the second."
            if len(frame) >= 2
            else ""
        )
        page.heading("Constraints")
        page.text(
            f"<p>Searched with <code>--constraint {html.escape(','.join(f'{n}{op}{v:g}' for n, op, v in constraints))}"
            f"</code>: {counts[INFEASIBLE_KEY]} of {len(frame)} candidates broke it; they were measured and "
            f"recorded, never trained, and the Pareto front holds trained candidates only.{halves}</p>"
        )
        figure = figures.constraints_figure(frame, constraints)
        if figure is not None:
            page.figure(figure, "constraint-values")
    members = frame[frame["pareto"]]
    if len(members):
        page.heading("Pareto members")
        curves = data.curves(study, members["number"].tolist())
        if len(curves):
            page.figure(figures.curves_figure(curves), "curves")
        shown = ["number", *objectives, VAL_TOP1, TEST_TOP1, TEST_TOP5, PARAMS, MACS, TRAIN_SECONDS]
        # Each value once: an objective's column, not the record column it reads (top1_error, not val_top1).
        read = columns_read(objectives, study.user_attrs)
        shown = [c for c in dict.fromkeys(shown + [ARCH_HASH, *choices]) if c in members.columns and c not in read]
        page.table(
            members[shown],
            "Pareto members (test errors are for reporting only: selection used validation; train_time is the "
            "median training step x the steps, which a busy machine's stalls do not lengthen, or the wall clock in "
            "a study searched before inas recorded it; train_seconds is the wall clock)",
        )
    fails = data.failures(frame)
    if len(fails):
        page.heading("Failures")
        page.table(fails, "Failed trials by reason")
    return page.render(), notes


def compare_report(refs: list[StudyRef]) -> tuple[str, pd.DataFrame]:
    """The HTML overlaying several studies' fronts and hypervolumes, and the side-by-side summary."""
    names = [r.name for r in refs]
    labels = [r.name if names.count(r.name) == 1 else f"{r.name} ({r.url})" for r in refs]
    objective_sets = {label: objective_names(r.study) for label, r in zip(labels, refs, strict=True)}
    first = labels[0]
    for name, objs in objective_sets.items():
        if objs != objective_sets[first]:
            raise InasError(
                f"studies {first!r} and {name!r} minimise different objectives ({', '.join(objective_sets[first])} "
                f"vs {', '.join(objs)}); compare studies searched with the same --objectives"
            )
    objectives = objective_sets[first]
    frames = {label: trials_frame(r.study) for label, r in zip(labels, refs, strict=True)}
    reference = data.reference_point(list(frames.values()), objectives)
    rows, histories = [], {}
    for (name, frame), ref in zip(frames.items(), refs, strict=True):
        counted = tally(ref.study)
        history = data.hypervolume_history(frame, objectives, reference) if reference else pd.DataFrame()
        histories[name] = history
        done = frame[frame["state"] == "complete"]
        rows.append(
            {
                "study": name,
                "trained": counted.trained,  # as the search and the report count them (`Tally`)
                "complete": counted.complete,
                "pruned": counted.pruned,
                "failed": counted.failed,
                "copies": counted.copies,
                "Pareto size": int(frame["pareto"].sum()),
                "best val error": done[VAL_TOP1].min() if len(done) else None,
                "hypervolume": history["hypervolume"].iloc[-1] if len(history) else 0.0,
                "hypervolume fraction": history["fraction"].iloc[-1] if len(history) else 0.0,
            }
        )
    summary = pd.DataFrame(rows)
    page = Page("inas compare: " + ", ".join(frames))
    page.table(summary, "Studies side by side")
    if not reference:
        page.note("no study has a complete trial yet; nothing to compare")
    else:
        ref_text = ", ".join(f"{o} = {v:,.6g}" for o, v in zip(objectives, reference, strict=True))
        page.text(f"<p>Shared reference point: {html.escape(ref_text)}.</p>")
        if all(f.loc[f["state"] == "complete", [VAL_TOP1, PARAMS]].notna().all().all() for f in frames.values()):
            page.figure(figures.fronts_figure(frames), "fronts")
        else:
            page.note("the error-vs-parameters fronts need studies written by inas search")
        page.figure(figures.hypervolume_figure(histories, reference, objectives), "hypervolume")
    return page.render(), summary
