"""The CLI through Typer's CliRunner, and as a subprocess for exit codes and stderr."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from inas.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def ok_json(*args: str):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_space_list():
    spaces = {s["name"]: s for s in ok_json("space", "list")}
    assert spaces["googlenet_depth"]["points"] == 63
    result = run("space", "list")
    assert result.exit_code == 0 and "seed_variants" in result.stdout


def test_space_show():
    shown = ok_json("space", "show", "googlenet_depth")
    assert shown["points"] == 63
    assert [d["name"] for d in shown["dimensions"]] == ["base", "depth.3", "depth.4", "depth.5"]
    assert "distinct candidates: 63" in run("space", "show", "googlenet_depth").stdout


def test_space_sample_feeds_model_summary(tmp_path):
    cands = ok_json("space", "sample", "googlenet_depth", "--n", "3", "--seed", "1")
    assert len(cands) == 3 and len({c["hash"] for c in cands}) == 3
    path = tmp_path / "cand.json"
    path.write_text(json.dumps(cands[0]))
    summary = ok_json("model", "summary", "--config", str(path))
    assert summary["config_hash"] == cands[0]["hash"]
    path.write_text(json.dumps(cands[0]["arch"]))
    assert ok_json("model", "summary", "--config", str(path))["config_hash"] == cands[0]["hash"]


def test_space_sample_table():
    result = run("space", "sample", "seed_variants", "--n", "2")
    assert result.exit_code == 0 and "base=seed/" in result.stdout


def test_model_list():
    presets = {p["name"]: p for p in ok_json("model", "list")}
    assert presets["seed/googlenet"]["params"] == {"100": 6_258_500, "10": 6_166_250}
    assert "d2l/googlenet" in run("model", "list").stdout


def test_model_summary():
    s = ok_json("model", "summary", "--preset", "seed/googlenet")
    assert s["params"] == 6_258_500
    assert {"params", "macs", "output_shape", "min_input_size", "modules"} <= set(s)
    assert s["output_shape"] == [1, 100]
    assert [m["name"] for m in s["modules"]][:3] == ["stem", "inception3a", "inception3b"]
    s10 = ok_json("model", "summary", "--preset", "seed/googlenet", "--classes", "10", "--input-size", "64")
    assert s10["params"] == 6_166_250 and s10["input_size"] == 64 and s10["stage_sizes"] == [64, 32, 16]
    result = run("model", "summary", "--preset", "paper/googlenet")
    assert result.exit_code == 0 and "smallest input 65x65" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "summary", "--preset", "seed/googlnet"], "unknown preset 'seed/googlnet'; choose one of"),
        (["model", "summary"], "give exactly one of --preset NAME or --config FILE.json"),
        (["model", "summary", "--preset", "seed/naive", "--config", "x.json"], "give exactly one of"),
        (["model", "summary", "--config", "missing.json"], "missing.json: no such file"),
        (
            ["model", "summary", "--preset", "paper/googlenet", "--input-size", "32"],
            "below this network's minimum of 65",
        ),
        (["space", "show", "googlenet_dept"], "unknown search space 'googlenet_dept'"),
        (["space", "sample", "nowhere.yaml"], "nowhere.yaml: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_bad_config_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"stem": "cifar", "stages": [{"modules": [[64, 96, 128, 16, 32, 0]]}]}))
    result = run("model", "summary", "--config", str(path))
    assert result.exit_code == 2
    assert f"{path}: config.stages[0].modules[0].pool_proj: must be a positive integer, got 0" in result.stderr
    path.write_text("[1, 2]")
    assert "holds 2 candidates" in run("model", "summary", "--config", str(path)).stderr


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inas", *args], capture_output=True, text=True, timeout=120)


def test_subprocess_exit_codes(tmp_path):
    good = cli("model", "summary", "--preset", "seed/short4", "--json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["params"] == 1_643_796

    bad_space = tmp_path / "bad.yaml"
    bad_space.write_text("name: s\nbase: seed/googlenet\nblock: {kernel5: 7x7}\n")
    for args, message in [
        (("space", "show", str(bad_space)), f"{bad_space}: block.kernel5: unknown value '7x7'"),
        (("model", "summary", "--preset", "nope"), "unknown preset 'nope'"),
        (("model", "summary", "--bogus"), "No such option: --bogus"),
    ]:
        proc = cli(*args)
        assert proc.returncode == 2, proc
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr


def test_train_json_and_checkpoint(tmp_path, tiny_config):
    ckpt = tmp_path / "ckpt"
    args = ["train", "--config", str(tiny_config), "--dataset", "synthetic:100", "--epochs", "2", "--batch-size", "16"]
    result = run(*args, "--save", str(ckpt), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "ok" and len(summary["epochs"]) == 2
    # --json keeps stdout for the JSON; the progress goes to stderr, a line per epoch off a terminal
    assert "epoch 1/2: loss" in result.stderr and "img/s" in result.stderr and "s left)" in result.stderr
    assert summary["recipe"]["epochs"] == 2 and summary["recipe"]["batch_size"] == 16
    assert {"val_top1", "val_top5", "test_top1", "test_top5", "images_per_second", "train_seconds"} <= set(summary)
    assert sorted(p.name for p in ckpt.iterdir()) == ["README.md", "config.json", "metrics.json", "model.safetensors"]
    meta = json.loads((ckpt / "config.json").read_text())
    assert meta["arch"]["num_classes"] == 10 and meta["dataset"] == "synthetic:100"
    assert meta["source"] == {"command": "inas train"} and meta["recipe"]["val_fraction"] == 0.1
    import inas

    model = inas.load_model(ckpt)
    assert not model.training and model.config.hash() == summary["arch_hash"]
    again = run(*args, "--save", str(ckpt))
    assert again.exit_code == 2 and "exists and is not an empty folder" in again.stderr


def test_train_table_output(tiny_config):
    result = run(
        "train", "--config", str(tiny_config), "--dataset", "synthetic:50", "--epochs", "1", "--batch-size", "16"
    )
    assert result.exit_code == 0, result.output
    assert "validation top-1 / top-5 error" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "cifar11"], "unknown dataset 'cifar11'"),
        (["--dataset", "synthetic:x"], "synthetic:2000"),
        (["--optimizer", "adam"], "option.optimizer: unknown value 'adam'; choose one of sgd, adamw, adadelta"),
        (["--recipe", "fast"], "--recipe: unknown recipe 'fast'; choose one of: inas, seed"),
        (["--device", "cuda:3"], "no CUDA device is available here; use --device cpu"),
        (["--dataset", "imagefolder:/nonexistent"], "no such folder"),
    ],
)
def test_train_bad_input(tiny_config, args, message):
    if "cuda" in " ".join(args) and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run("train", "--config", str(tiny_config), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_show_json_with_a_float_range(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nbase: seed/googlenet\nchannels: {multiplier: {low: 0.5, high: 1.5}, scope: network}\n")
    shown = json.loads(run("space", "show", str(path), "--json").stdout)
    assert shown["points"] is None
