"""Large studies (issue 25): figures thin dominated trials and say so, the front stays whole, the
hypervolume history is the volume of every complete trial so far, the terminal table is pandas' own."""

import random

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from inas.report import data, figures
from inas.report.page import study_report
from inas.report.table import fit_table
from inas.study.frame import trials_frame
from inas.study.keys import CURVE_KEY, DATASET_KEY, SETTINGS_KEY
from inas.study.load import StudyRef
from inas.study.record import TrialRecord

CHOICES = {f"channels.{m}.multiplier": CategoricalDistribution([0.5, 1.0, 1.5]) for m in ("3a", "3b", "4a", "4b")}


def big_study(n: int, seed: int = 0) -> optuna.Study:
    """`n` trials as a search records them (in memory: built in a second or two)."""
    rng = random.Random(seed)
    study = optuna.create_study(directions=["minimize"] * 3)
    study.set_metric_names(["top1_error", "params", "train_time"])
    study.set_user_attr(SETTINGS_KEY, {"space": "googlenet_channels", DATASET_KEY: "synthetic"})
    trials = []
    for i in range(n):
        params = {k: rng.choice(d.choices) for k, d in CHOICES.items()}
        width = sum(params.values()) / len(params)
        error, size, seconds = 0.07 + 0.05 / width + rng.gauss(0, 0.01), int(6e6 * width**2), 60 * width
        state = TrialState.PRUNED if i % 4 == 3 else TrialState.COMPLETE
        attrs = TrialRecord(val_top1=error, params=size, train_seconds=seconds, epochs_done=2, epochs_total=2)
        attrs = attrs.user_attrs() | {CURVE_KEY: [[1, error + 0.1], [2, error]]}
        values = [error, size, seconds] if state == TrialState.COMPLETE else None
        trials.append(create_trial(state=state, values=values, params=params, distributions=CHOICES, user_attrs=attrs))
    study.add_trials(trials)
    return study


def test_dominated_trials_are_thinned_the_front_whole_and_the_figure_says_so():
    frame = trials_frame(big_study(3000))
    done = frame[frame["state"] == "complete"]
    front, dominated = int(done["pareto"].sum()), int((~done["pareto"]).sum())
    assert dominated > data.MAX_POINTS
    fig = figures.pareto_2d(frame, list(CHOICES))
    traces = {t.name: t for t in fig.data}
    assert len(traces["Pareto front"].x) == front
    assert len(traces["dominated"].x) == data.MAX_POINTS
    assert len(traces["pruned (last epoch seen)"].x) == 750  # under the limit: all of them
    note = fig.layout.annotations[0].text
    assert f"{data.MAX_POINTS:,} of {dominated:,} dominated trials shown" in note and "pruned" not in note
    fig3 = figures.pareto_3d(frame, list(CHOICES))
    assert len({t.name: t for t in fig3.data}["Pareto front"].x) == front
    assert f"{figures.MAX_3D:,} of {dominated:,} dominated trials shown" in fig3.layout.annotations[0].text
    lines = figures.parallel_coordinates(frame, list(CHOICES)).data[0]
    assert len(lines.line.color) == front + data.MAX_POINTS


def test_a_small_study_is_drawn_whole_and_says_nothing():
    frame = trials_frame(big_study(40))
    fig = figures.pareto_2d(frame, list(CHOICES))
    assert sum(len(t.x) for t in fig.data if t.mode == "markers") == 40 and not fig.layout.annotations
    assert data.thin(frame, 40) is frame and data.shown_words(40, 40) == ""


def test_thinning_is_the_same_each_time():
    frame = trials_frame(big_study(3000))
    assert data.thin(frame, 100).index.equals(data.thin(frame, 100).index)
    assert data.thin(frame, 100).index.is_monotonic_increasing


def test_the_hypervolume_history_counts_every_complete_trial_so_far():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "number": np.arange(n),
            "state": rng.choice(["complete", "complete", "pruned", "fail"], n),
            "a": rng.integers(1, 8, n).astype(float),  # integers: ties and repeats
            "b": rng.integers(1, 8, n).astype(float),
            "c": rng.random(n),
        }
    )
    reference = data.reference_point([frame], ["a", "b", "c"])
    got = data.hypervolume_history(frame, ["a", "b", "c"], reference)
    values = frame[["a", "b", "c"]].to_numpy()
    complete = frame["state"].to_numpy() == "complete"
    expected = [data.hypervolume(values[: i + 1][complete[: i + 1]], reference) for i in range(n)]
    assert got["number"].tolist() == list(range(n))
    np.testing.assert_allclose(got["hypervolume"], expected, rtol=1e-12)
    np.testing.assert_allclose(got["fraction"], np.array(expected) / np.prod(reference), rtol=1e-12)


def _fit_by_dropping(frame: pd.DataFrame, width: int) -> str:
    """The table as it was drawn before: the whole frame rendered, a column dropped, again."""
    from inas.report.table import REASONS, _cut, _number

    frame = frame.assign(**{c: frame[c].map(_cut) for c in REASONS if c in frame})
    floats = {c: _number for c in frame.columns if pd.api.types.is_float_dtype(frame[c])}
    while True:
        text = frame.to_string(index=False, na_rep="-", formatters=floats)
        if max(map(len, text.splitlines())) <= width or len(frame.columns) <= 2:
            return text
        frame = frame.iloc[:, :-1]


def test_the_fitted_table_is_the_one_pandas_draws():
    frame = trials_frame(big_study(60))
    frame.loc[3, "fail_reason"] = "long " * 5
    for width in (10, 40, 80, 120, 10_000):
        assert fit_table(frame, width)[0] == _fit_by_dropping(frame, width), width


def test_a_report_of_3000_trials_stays_small():
    study = big_study(3000)
    text, _ = study_report(StudyRef(study, "memory", study._storage))
    # plotly.js alone is 4.8 MB
    assert len(text) < 7.5e6
    assert "dominated trials shown (drawn at random)" in text
