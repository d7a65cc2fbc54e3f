"""Copies of repeated proposals are marked, and every count of a study's trials agrees with the search's."""

import io
import json

import pandas as pd
import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial
from typer.testing import CliRunner

from inas.cli import app
from inas.study.keys import DUPLICATE_KEY, INTERRUPTED_KEY, PRESCREENED_KEY
from inas.study.record import TrialRecord, counts, trained
from inas.study.tally import Tally, tally
from tests.report.conftest import DISTS, inas_trial, write_study

runner = CliRunner()


def _copy_of(twin: FrozenTrial, number: int) -> FrozenTrial:
    """What the searcher records for a repeated proposal of trial `number`: its twin's state, values and
    record, marked with the twin's number, never trained."""
    return create_trial(
        state=twin.state,
        values=twin.values,
        params=twin.params,
        distributions=DISTS,
        user_attrs={**twin.user_attrs, DUPLICATE_KEY: number},
    )


def _untrained(state: TrialState, depth: int, **attrs) -> FrozenTrial:
    return create_trial(
        state=state, params={"depth.4": depth, "block.norm": "all"}, distributions=DISTS, user_attrs=attrs
    )


@pytest.fixture
def searched(study_dir):
    """A study as a 12-trial search leaves it: 9 complete, 2 pruned, 1 failed, all trained here; two
    copies (of trial 3, complete, and of trial 9, pruned); one broke --constraint, one lost --prescreen;
    one cut short when a search was stopped (then resumed)."""
    trials = [
        inas_trial(0.5 - 0.03 * i, (3 + i) * 1e6, 10.0 + i, depth=1 + i % 7, norm=["all", "none"][i % 2])
        for i in range(9)
    ]
    trials += [
        inas_trial(0.6, 2e6, 5.0, state=TrialState.PRUNED, depth=2),
        inas_trial(0.7, 1e6, 4.0, state=TrialState.PRUNED, depth=3),
    ]
    trials.append(inas_trial(0, 0, 0, state=TrialState.FAIL, reason="loss is NaN at epoch 1"))
    trials += [_copy_of(trials[3], 3), _copy_of(trials[9], 9)]
    trials.append(
        _untrained(
            TrialState.PRUNED, 6, **TrialRecord(params=9e6, infeasible="params 9e+06 is not < 8e+06").user_attrs()
        )
    )
    trials.append(
        _untrained(TrialState.PRUNED, 7, **TrialRecord(naswot=1.0).user_attrs(), **{PRESCREENED_KEY: "scored 1"})
    )
    interrupted = TrialRecord(fail_reason="left running by a search that stopped").user_attrs()
    trials.append(_untrained(TrialState.FAIL, 5, **interrupted, **{INTERRUPTED_KEY: True}))
    return write_study("sqlite:///studies/searched.db", "searched", trials)


def test_the_tally_counts_each_trial_once_and_trained_as_the_search_does(searched):
    found = tally(searched)
    assert found == Tally(complete=9, pruned=2, failed=1, copies=2, infeasible=1, prescreened=1, interrupted=1)
    assert found.trained == trained(searched) == 12  # the search's `12/12 trained`
    assert found.copies == counts(searched)["copies"]
    assert sum(vars(found).values()) == len(searched.trials)
    assert found.words() == (
        "12 trained (9 complete, 2 pruned, 1 failed); not trained: 2 copies of earlier trials, 1 broke "
        "--constraint, 1 lost --prescreen; 1 cut short by a stopped search"
    )
    assert Tally(complete=2, running=1).words(total=5) == "2/5 trained (2 complete, 0 pruned, 0 failed); 1 running"


def test_the_report_header_counts_as_the_search_does(searched, study_dir):
    assert runner.invoke(app, ["report", "searched"]).exit_code == 0
    page = (study_dir / "dashboards" / "searched.html").read_text()
    assert f"<b>Trials:</b> {tally(searched).words()}</p>" in page
    assert "11 complete" not in page  # the copy of a complete trial is no twelfth complete one


def test_the_compare_summary_counts_as_the_report_does(searched, study_dir):
    result = runner.invoke(app, ["compare", "searched", "demo"])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()[:3]
    assert header.split()[:6] == ["study", "trained", "complete", "pruned", "failed", "copies"]
    assert rows[0].split()[:6] == ["searched", "12", "9", "2", "1", "2"]


def test_trials_marks_copies_in_the_table_and_names_the_twin_in_csv_and_json(searched, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    table = runner.invoke(app, ["trials", "searched"]).stdout.splitlines()
    rows = {line.split()[0]: line for line in table[1:]}
    assert "complete (copy of 3)" in rows["12"] and "pruned (copy of 9)" in rows["13"]
    assert "copy" not in rows["3"] and "copy" not in rows["9"]
    frame = pd.read_csv(io.StringIO(runner.invoke(app, ["trials", "searched", "--format", "csv"]).stdout))
    assert frame.loc[frame["number"] == 12, "state"].item() == "complete"  # scripts filter on the state
    assert frame.set_index("number")[DUPLICATE_KEY].dropna().to_dict() == {12: 3, 13: 9}
    records = json.loads(runner.invoke(app, ["trials", "searched", "--format", "json"]).stdout)
    assert [(r["number"], r[DUPLICATE_KEY]) for r in records if r[DUPLICATE_KEY] is not None] == [(12, 3), (13, 9)]
    assert not any(r["pareto"] for r in records if r[DUPLICATE_KEY] is not None)  # the twin stands for it
