"""`inas reproduce` end to end on synthetic data, on the CPU, through Typer's CliRunner."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from inas.cli import app
from inas.study.load import open_study

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path, monkeypatch, ray_cpu):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_seed_table_as_a_study_and_resumed_with_more_variants(workdir):
    args = ["reproduce", "seed-table", "--dataset", "synthetic:60", "--epochs", "1", "--quiet"]
    first = runner.invoke(app, [*args, "--variants", "Short4"])
    assert first.exit_code == 0, first.output
    out = workdir / "dashboards" / "seed-table-synthetic-60-seed"
    assert sorted(p.name for p in out.iterdir()) == ["figure.html", "table.csv", "table.md"]
    second = runner.invoke(app, [*args, "--variants", "Short3"])  # a new variant alone: trained
    assert second.exit_code == 0, second.output
    assert pd.read_csv(out / "table.csv")["trial"].tolist() == [1]
    third = runner.invoke(app, [*args, "--variants", "Short4,Short3"])  # both done: nothing trained
    assert third.exit_code == 0, third.output
    table = pd.read_csv(out / "table.csv")
    assert table["variant"].tolist() == ["Short4", "Short3"] and table["trial"].tolist() == [0, 1]
    assert table["params"].tolist()[0] < 2e6 and table["top1_error"].between(0, 1).all()
    study = open_study("seed-table-synthetic-60-seed").study
    assert [t.params for t in study.trials] == [{"base": "seed/short4"}, {"base": "seed/short3"}]
    assert "| Short3" in third.stdout


def test_seed_table_beside_the_seeds_numbers(workdir, monkeypatch):
    import inas.reproduce.experiments as ex

    # Our synthetic run stands in for CIFAR-100: the seed's columns come from the table by dataset name.
    monkeypatch.setitem(ex.SEED_TABLE, "synthetic:60", ex.SEED_TABLE["cifar100"])
    args = ["reproduce", "seed-table", "--dataset", "synthetic:60", "--epochs", "1", "--variants", "Short4"]
    result = runner.invoke(app, [*args, "--quiet", "--study", "vs-seed"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "dashboards" / "vs-seed" / "table.csv")
    assert table.loc[0, "seed_top1_error"] == 0.44 and table.loc[0, "seed_params"] == 1_650_084


def test_d2l_exercise_adapts_the_stem_to_the_dataset(workdir):
    args = ["reproduce", "d2l", "--dataset", "synthetic:60", "--epochs", "1", "--image-size", "32"]
    result = runner.invoke(app, [*args, "--variants", "plain,residual", "--quiet"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(workdir / "dashboards" / "d2l-synthetic-60-d2l" / "table.csv")
    assert table["variant"].tolist() == ["plain", "residual"] and table["top1_error"].notna().all()
    study = open_study("d2l-synthetic-60-d2l").study
    assert all(t.user_attrs["arch"]["in_channels"] == 3 for t in study.trials)  # d2l's stem takes 1


@pytest.mark.parametrize(
    ("variants", "message"), [("dropout", "unknown variant 'dropout'"), (",", "name at least one")]
)
def test_bad_variant(workdir, variants, message):
    result = runner.invoke(app, ["reproduce", "d2l", "--variants", variants])
    assert result.exit_code == 2 and message in result.stderr
    assert list(workdir.iterdir()) == []
