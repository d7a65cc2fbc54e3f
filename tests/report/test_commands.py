"""`inas report`, `trials`, `compare` through Typer's CliRunner, and exit codes as a subprocess."""

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from inas.cli import app
from inas.study.keys import PRESCREENED_KEY
from inas.study.record import TrialRecord
from tests.report.conftest import STANDARD, inas_trial, write_study

runner = CliRunner()


def test_report_writes_one_self_contained_page(study_dir):
    result = runner.invoke(app, ["report", "demo"])
    assert result.exit_code == 0, result.output
    page = (study_dir / "dashboards" / "demo.html").read_text()
    assert f"report: {study_dir / 'dashboards' / 'demo.html'}" in result.stdout  # absolute: usable from anywhere
    for div in ("pareto-2d", "pareto-3d", "hypervolume", "parallel-coordinates", "importances", "curves"):
        assert f'id="{div}"' in page
    assert "4 complete, 1 pruned, 3 failed" in page
    assert "Reference point: top1_error = 0.385" in page
    assert "CUDA out of memory: tried to allocate 2 GiB" in page  # failures grouped
    assert "<script src=" not in page and "Plotly" in page  # plotly.js inlined: opens offline


def test_report_of_empty_and_failed_studies_says_so(study_dir):
    write_study("sqlite:///studies/empty.db", "empty", [])
    result = runner.invoke(app, ["report", "empty"])
    assert result.exit_code == 0 and "has no trials yet" in result.stderr
    assert "has no trials yet" in (study_dir / "dashboards" / "empty.html").read_text()

    write_study("sqlite:///studies/failed.db", "failed", STANDARD[5:])
    result = runner.invoke(app, ["report", "failed", "--out", "out/f.html"])
    assert result.exit_code == 0 and "every finished trial failed" in result.stderr
    page = (study_dir / "out" / "f.html").read_text()
    assert "every finished trial failed" in page and "loss is NaN at epoch 1" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "nosuch"],
            "studies (the current folder's studies/; INAS_HOME is not set): nosuch.db does not exist",
        ),
        (
            ["report", "nosuch", "--storage", "sqlite:///studies/demo.db"],
            "no study 'nosuch' in sqlite:///studies/demo.db",
        ),
        (["trials", "demo", "--format", "xml"], "--format 'xml': choose one of table, csv, json, markdown"),
        (["compare", "demo"], "compare needs at least two studies"),
        (["dashboard", "nosuch"], "no study 'nosuch'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(study_dir, args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert sorted(p.name for p in study_dir.iterdir()) == ["studies"]
    assert sorted(p.name for p in (study_dir / "studies").iterdir()) == ["demo.db"]


def test_trials_in_every_format(study_dir):
    csv = runner.invoke(app, ["trials", "demo", "--format", "csv"])
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 8 and frame["pareto"].sum() == 3 and "depth.4" in frame.columns
    records = json.loads(runner.invoke(app, ["trials", "demo", "--format", "json", "--pareto-only"]).stdout)
    assert [r["number"] for r in records] == [0, 1, 3]
    markdown = runner.invoke(app, ["trials", "demo", "--format", "markdown"]).stdout
    assert markdown.splitlines()[0].startswith("|") and "top1_error" in markdown.splitlines()[0]
    assert "complete" in runner.invoke(app, ["trials", "studies/demo.db"]).stdout  # a .db path works too
    result = runner.invoke(app, ["trials", "demo", "--format", "csv", "--out", "t.csv"])
    assert result.exit_code == 0 and len(pd.read_csv(study_dir / "t.csv")) == 8


def test_compare_shares_one_reference_point(study_dir):
    better = [inas_trial(e - 0.05, p, s) for e, p, s in ((0.30, 3e6, 10.0), (0.10, 9e6, 40.0))]
    write_study("sqlite:///studies/other.db", "other", better)
    result = runner.invoke(app, ["compare", "demo", "other"])
    assert result.exit_code == 0, result.output
    page = (study_dir / "dashboards" / "compare-demo-other.html").read_text()
    assert 'id="fronts"' in page and 'id="hypervolume"' in page and "Shared reference point" in page
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:3]}
    assert float(lines["other"][-1]) > float(lines["demo"][-1])  # the better front dominates more


def test_compare_refuses_different_objectives(study_dir):
    import optuna

    s = optuna.create_study(study_name="two", storage="sqlite:///studies/two.db", directions=["minimize"] * 2)
    s.set_metric_names(["top1_error", "params"])
    result = runner.invoke(app, ["compare", "demo", "two"])
    assert result.exit_code == 2 and "minimise different objectives" in result.stderr
    assert not (study_dir / "dashboards").exists()


def test_exit_codes_as_a_subprocess(study_dir):
    missing = subprocess.run([sys.executable, "-m", "inas", "report", "nosuch"], capture_output=True, text=True)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "does not exist" in missing.stderr
    ok = subprocess.run([sys.executable, "-m", "inas", "trials", "demo", "--format", "csv"], capture_output=True)
    assert ok.returncode == 0 and ok.stdout.startswith(b"number,state,top1_error")


def test_pruned_trials_have_no_values_in_the_front(study_dir):
    frame = pd.read_csv(io.StringIO(runner.invoke(app, ["trials", "demo", "--format", "csv"]).stdout))
    pruned = frame[frame["state"] == TrialState.PRUNED.name.lower()]
    assert len(pruned) == 1 and not pruned["pareto"].any()


def test_report_and_trials_of_a_plain_optuna_study(study_dir):
    import optuna

    study = optuna.create_study(study_name="plain", storage="sqlite:///studies/plain.db")
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2 + t.suggest_int("n", 1, 3), n_trials=6)
    result = runner.invoke(app, ["report", "plain"])
    assert result.exit_code == 0, result.output
    page = (study_dir / "dashboards" / "plain.html").read_text()
    assert 'id="parallel-coordinates"' in page and 'id="pareto-2d"' not in page and "6 complete" in page
    assert len(pd.read_csv(io.StringIO(runner.invoke(app, ["trials", "plain", "--format", "csv"]).stdout))) == 6


def test_out_must_be_a_file_path(study_dir):
    result = runner.invoke(app, ["trials", "demo", "--out", "studies"])
    assert result.exit_code == 2 and "is a folder; give a file path" in result.stderr


def test_the_trials_table_fits_the_terminal(study_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = runner.invoke(app, ["trials", "demo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 9 and max(map(len, lines)) <= 100
    header = lines[0].split()
    assert header[:5] == ["number", "state", "top1_error", "params", "train_time"]
    assert "val_top1" not in header and "train_seconds" not in header  # the objectives already show them
    monkeypatch.setenv("COLUMNS", "40")
    narrow = runner.invoke(app, ["trials", "demo"])
    assert max(map(len, narrow.stdout.splitlines())) <= 40 and "did not fit" in narrow.stderr
    chosen = runner.invoke(app, ["trials", "demo", "--columns", "number,val_top1"])
    assert chosen.stdout.split()[:2] == ["number", "val_top1"]
    bad = runner.invoke(app, ["trials", "demo", "--columns", "number,nope"])
    assert bad.exit_code == 2 and "no column 'nope'" in bad.stderr


def constrained_study():
    """A search with --constraint params<6e6: two candidates broke it early, one late; one prescreen loser."""
    from optuna.trial import create_trial

    from tests.report.conftest import DISTS

    def broke(params, number):
        why = f"params {params:,.4g} is not < 6e+06"
        attrs = TrialRecord(params=params, macs=params * 100, infeasible=why).user_attrs()
        return create_trial(
            state=TrialState.PRUNED,
            params={"depth.4": number, "block.norm": "all"},
            distributions=DISTS,
            user_attrs=attrs,
        )

    loser = create_trial(
        state=TrialState.PRUNED,
        params={"depth.4": 2, "block.norm": "none"},
        distributions=DISTS,
        user_attrs={
            **TrialRecord(naswot=10.0).user_attrs(),
            PRESCREENED_KEY: "scored 10; trial 0 scored 12 and was trained",
        },
    )
    trials = [broke(9e6, 6), broke(8e6, 7), *STANDARD[:2], loser, STANDARD[2], broke(7e6, 5), STANDARD[3]]
    study = write_study("sqlite:///studies/limited.db", "limited", trials)
    study.set_user_attr("settings", {"space": "googlenet_depth", "constraint": [["params", "<", 6e6]]})
    return study


def test_reports_draw_infeasible_candidates_apart_and_keep_them_off_the_front(study_dir):
    constrained_study()
    result = runner.invoke(app, ["report", "limited"])
    assert result.exit_code == 0, result.output
    page = (study_dir / "dashboards" / "limited.html").read_text()
    assert 'id="constraint-values"' in page and "broke --constraint (not trained)" in page
    assert "4 trained (4 complete, 0 pruned, 0 failed); not trained: 3 broke --constraint, 1 lost --prescreen" in page
    assert (
        "3 of 8 candidates broke it" in page
        and "broke it: 50% in the first half of the search, 25% in the second" in page
    )
    frame = pd.read_csv(io.StringIO(runner.invoke(app, ["trials", "limited", "--format", "csv"]).stdout))
    assert not frame.loc[frame["infeasible"].notna(), "pareto"].any() and frame["pareto"].sum() == 3
    table = runner.invoke(app, ["trials", "limited"], env={"COLUMNS": "200"}).stdout
    assert "infeasible" in table and "prescreened" in table and "params 9e+06 is not < 6e+06" in table


def test_the_report_says_how_latency_was_measured(study_dir):
    timed = {"latency_ms": 1.5, "device": "NVIDIA H200", "latency_method": "median of 20 ..."}
    trials = [inas_trial(0.3, 3e6, 10.0, **timed), inas_trial(0.2, 5e6, 20.0, depth=4, **timed)]
    write_study("sqlite:///studies/timed.db", "timed", trials)
    assert runner.invoke(app, ["report", "timed"]).exit_code == 0
    assert "on NVIDIA H200: median of 20 ..." in (study_dir / "dashboards" / "timed.html").read_text()


def test_a_report_with_latency_but_no_method_or_constraint_values_yet(study_dir):
    # A study searched before inas recorded how latency was timed.
    trials = [
        inas_trial(0.3, 3e6, 10.0, latency_ms=1.5),
        inas_trial(0.2, 5e6, 20.0, depth=4, latency_ms=1.5),
        inas_trial(0.1, 9e6, 30.0, depth=5, latency_ms=1.5),
    ]
    study = write_study("sqlite:///studies/old.db", "old", trials)
    study.set_user_attr("settings", {"constraint": [["latency_ms", "<", 5.0], ["macs", "<", 1.0]]})
    assert runner.invoke(app, ["report", "old"]).exit_code == 0
    page = (study_dir / "dashboards" / "old.html").read_text()
    assert "on cpu: method not recorded" in page or "on an unrecorded device: method not recorded" in page
    assert 'id="constraint-values"' in page  # latency and MACs measured: drawn


@pytest.mark.parametrize("command", [["trials", "nosuch"], ["report", "nosuch"], ["compare", "nosuch", "other"]])
def test_a_study_that_is_not_there_is_answered_before_pandas_loads(command, tmp_path):
    code = (
        "import sys; from typer.testing import CliRunner; from inas.cli import app; "
        f"r = CliRunner().invoke(app, {command!r}); "
        "print(r.exit_code, 'pandas' in sys.modules, 'plotly' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.stdout.split() == ["2", "False", "False"], out.stderr
