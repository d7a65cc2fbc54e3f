"""The report's page: the Pareto members' table, the 3D figure's layout, no pandas deprecations."""

import math
import re
import warnings

import pandas as pd

from inas.report import figures
from inas.report.page import study_report
from inas.study.frame import choice_columns, trials_frame
from inas.study.load import open_study
from tests.report.conftest import inas_trial, write_study

# What pandas warns before it changes a behaviour: FutureWarning up to 2.x, PandasChangeWarning in 3.x.
PANDAS_CHANGES = (FutureWarning, getattr(pd.errors, "PandasChangeWarning", FutureWarning))


def _members_table(page: str) -> list[str]:
    table = page.split("<h3>Pareto members", 1)[1].split("</table>", 1)[0]
    return re.findall(r"<th>([^<]*)</th>", table)


def test_the_pareto_table_shows_each_value_once(study_dir):
    page, _ = study_report(open_study("demo", None))
    header = _members_table(page)
    assert header[:4] == ["number", "top1_error", "params", "train_time"]
    assert "val_top1" not in header and "train_seconds" not in header  # what top1_error and train_time read
    assert {"test_top1", "test_top5", "macs", "arch_hash", "depth.4"} <= set(header)
    assert len(header) == len(set(header))


def test_the_3d_figure_keeps_its_axes_inside_the_figure(study_dir):
    study = open_study("demo", None).study
    frame = trials_frame(study)
    fig = figures.pareto_3d(frame, choice_columns(frame, study))
    layout = fig.layout
    # Below the plot the legend covers the cube's bottom corner (the time axis); keep it above that.
    assert layout.legend.y is not None and layout.legend.y > 0.5
    # Plotly's default eye (1.25, 1.25, 1.25) puts that corner's ticks outside the scene's canvas.
    eye = layout.scene.camera.eye
    assert math.dist((eye.x, eye.y, eye.z), (0, 0, 0)) > math.dist((1.25,) * 3, (0, 0, 0))
    assert layout.height >= 600


def test_a_report_with_latency_but_no_method_raises_no_pandas_deprecation(study_dir):
    # A study searched before inas recorded how latency was timed: the method column is all missing.
    trials = [inas_trial(0.3, 3e6, 10.0, latency_ms=1.5), inas_trial(0.2, 5e6, 20.0, depth=4, latency_ms=1.5)]
    write_study("sqlite:///studies/old.db", "old", trials)
    with warnings.catch_warnings():
        for kind in PANDAS_CHANGES:
            warnings.simplefilter("error", kind)
        page, _ = study_report(open_study("old", None))
    assert "method not recorded" in page
