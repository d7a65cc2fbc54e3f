"""`inas supernet train`: the folder it writes, a resumed run that is the same run, and bad input."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from inas.cli import app
from inas.supernet import bundle
from inas.supernet.bundle import CONFIG, WEIGHTS, load_supernet, read_info

TINY_SPACE = """
name: tiny_supernet
base: seed/short3
num_classes: 10
depth: {3: {low: 1, high: 2}}
channels: {multiplier: {choices: [0.5, 1.0]}, scope: stage, round_to: 8}
"""
runner = CliRunner()


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "tiny_supernet.yaml"
    path.write_text(TINY_SPACE)
    return str(path)


def train(space, out, *extra):
    args = ["supernet", "train", "--space", space, "--dataset", "synthetic:64", "--budget", "smoke", "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


def test_train_writes_a_supernet_that_loads(space, tmp_path):
    result = train(space, tmp_path / "sn", "--epochs", "1")
    assert result.exit_code == 0, result.output
    info = read_info(tmp_path / "sn")
    assert info.epochs_done == 1 and len(info.history) == 1 and info.width == 0.25
    supernet, again = load_supernet(tmp_path / "sn")
    assert again == info and supernet.layout.widest == info.widest
    assert "supernet " + info.hash in result.output


def test_width_overrides_the_budgets(space, tmp_path):
    result = train(space, tmp_path / "sn", "--epochs", "1", "--width", "0.5")
    assert result.exit_code == 0, result.output
    info = read_info(tmp_path / "sn")
    assert info.width == 0.5 and load_supernet(tmp_path / "sn")[0].layout.width == 0.5


@pytest.mark.parametrize("rule", ["sandwich", "uniform"])
def test_a_killed_run_resumes_as_the_uninterrupted_run(space, tmp_path, monkeypatch, rule):
    assert train(space, tmp_path / "whole", "--epochs", "2", "--rule", rule).exit_code == 0
    write_epoch = bundle.write_epoch

    def killed_after_writing(folder, info, state):
        write_epoch(folder, info, state)
        raise KeyboardInterrupt  # as a kill after the first epoch's files are down

    monkeypatch.setattr(bundle, "write_epoch", killed_after_writing)
    assert train(space, tmp_path / "split", "--epochs", "2", "--rule", rule).exit_code != 0
    monkeypatch.setattr(bundle, "write_epoch", write_epoch)
    assert read_info(tmp_path / "split").epochs_done == 1
    other = "uniform" if rule == "sandwich" else "sandwich"
    refused = train(space, tmp_path / "split", "--epochs", "2", "--resume", "--rule", other)
    assert refused.exit_code == 2 and f"--rule {rule}" in refused.output
    result = train(space, tmp_path / "split", "--epochs", "2", "--resume", "--rule", rule)
    assert result.exit_code == 0, result.output
    whole, split = read_info(tmp_path / "whole"), read_info(tmp_path / "split")
    assert split.epochs_done == 2 and split.rule == whole.rule == rule
    assert split.weights_sha256 == whole.weights_sha256  # same draws, same dropout, same optimizer state


def test_a_folder_whose_json_names_other_weights_is_refused(space, tmp_path):
    assert train(space, tmp_path / "a", "--epochs", "1").exit_code == 0
    assert train(space, tmp_path / "b", "--epochs", "1", "--seed", "1").exit_code == 0
    (tmp_path / "a" / WEIGHTS).write_bytes((tmp_path / "b" / WEIGHTS).read_bytes())
    with pytest.raises(Exception, match="SHA-256 differs"):
        load_supernet(tmp_path / "a")
    result = train(space, tmp_path / "a", "--epochs", "2", "--resume")
    assert result.exit_code == 2 and "SHA-256 differs" in result.output


@pytest.mark.parametrize(
    "args, says",
    [
        (["--space", "seed_variants"], "seed_variants: base: the base network varies"),
        (["--budget", "smok"], "budget"),
        (["--random", "99"], "--random"),
        (["--rule", "spos"], "--rule: 'spos': choose one of sandwich, uniform"),
        (["--width", "2"], "--width"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(space, tmp_path, args, says):
    base = {"--space": space, "--dataset": "synthetic:64", "--budget": "smoke", "--out": str(tmp_path / "o")}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    result = runner.invoke(app, ["supernet", "train", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2
    assert says in result.output
    assert not (tmp_path / "o").exists()


def test_resume_refuses_a_folder_that_is_not_a_supernet_or_another_space(space, tmp_path):
    (tmp_path / "plain").mkdir()
    result = train(space, tmp_path / "plain", "--resume")
    assert result.exit_code == 2 and "supernet" in result.output
    assert train(space, tmp_path / "sn", "--epochs", "1").exit_code == 0
    result = runner.invoke(
        app,
        [
            "supernet",
            "train",
            "--space",
            "googlenet_depth",
            "--dataset",
            "synthetic:64",
            "--budget",
            "smoke",
            "--out",
            str(tmp_path / "sn"),
            "--resume",
        ],
    )
    assert result.exit_code == 2 and "holds a supernet of --space" in result.output


def test_an_edited_json_is_refused_as_a_subprocess(space, tmp_path):
    assert train(space, tmp_path / "sn", "--epochs", "1").exit_code == 0
    raw = json.loads((tmp_path / "sn" / CONFIG).read_text())
    raw["width"] = "wide"
    (tmp_path / "sn" / CONFIG).write_text(json.dumps(raw))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inas",
            "supernet",
            "train",
            "--space",
            space,
            "--dataset",
            "synthetic:64",
            "--budget",
            "smoke",
            "--out",
            str(tmp_path / "sn"),
            "--resume",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "width" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_space_file_is_recorded_by_its_absolute_path(space, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert train("tiny_supernet.yaml", tmp_path / "sn", "--epochs", "1").exit_code == 0
    assert read_info(tmp_path / "sn").space == str(tmp_path / "tiny_supernet.yaml")
    monkeypatch.chdir("/")
    load_supernet(tmp_path / "sn")  # found from any folder


def test_precision_is_checked_and_fp32_trains(space, tmp_path):
    result = train(space, tmp_path / "bad", "--precision", "fp16")
    assert result.exit_code == 2 and "--precision" in result.output
    result = train(space, tmp_path / "sn", "--epochs", "1", "--precision", "fp32")
    assert result.exit_code == 0, result.output
    assert read_info(tmp_path / "sn").recipe.precision == "fp32"
