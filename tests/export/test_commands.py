"""End to end on the CPU: a real search on synthetic data, then export, load, evaluate and predict."""

import importlib.util
import json
import subprocess
import sys

import pytest
from PIL import Image
from typer.testing import CliRunner

import inas
from inas.cli import app
from inas.search import Budget, SearchSettings, run_search
from tests.search.conftest import TINY_SPACE

runner = CliRunner()
HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript"))


@pytest.fixture(scope="module")
def searched(tmp_path_factory, ray_cpu):
    """A two-trial study of the tiny space, trained on synthetic data."""
    root = tmp_path_factory.mktemp("export")
    space = root / "tiny.yaml"
    space.write_text(TINY_SPACE)
    points = ({"channels.multiplier": 0.0625, "recipe.lr": 0.05}, {"channels.multiplier": 0.125, "recipe.lr": 0.05})
    run_search(
        SearchSettings(
            space=str(space),
            trials=2,
            storage=f"sqlite:///{root}/s.db",
            dataset="synthetic:60",
            budget=Budget(epochs=1, min_epochs=1, data_fraction=1.0, image_size=16, batch_size=16),
            enqueue=points,
        )
    )
    return root


def export(root, out, *extra):
    args = ["export", "tiny", "--storage", f"sqlite:///{root}/s.db", "--out", str(out), "--device", "cpu"]
    return runner.invoke(app, [*args, *extra])


def test_export_load_evaluate_predict(searched, tmp_path):
    out = tmp_path / "model"
    result = export(searched, out, "--epochs", "2", *(["--onnx"] if HAS_ONNX else []))
    assert result.exit_code == 0, result.output
    expected = {"model.safetensors", "config.json", "metrics.json", "README.md"} | (
        {"model.onnx"} if HAS_ONNX else set()
    )
    assert {p.name for p in out.iterdir()} == expected
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["recipe"]["val_fraction"] == 0.0 and config["recipe"]["epochs"] == 2  # train + val, --epochs
    assert config["source"]["study"] == "tiny" and config["dataset"] == "synthetic:60"
    assert config["classes"] == [f"class{i}" for i in range(10)] and config["input_size"] == 16
    assert len(metrics["epochs"]) == 2 and {"test_top1", "test_top5", "params", "macs", "train_seconds"} <= set(metrics)
    assert metrics["epochs"][0]["val_top1"] is None  # nothing held out
    if HAS_ONNX:
        assert metrics["onnx_max_abs_diff"] < 1e-3

    model = inas.load_model(out)
    assert sum(p.numel() for p in model.parameters()) == metrics["params"]

    evaluated = runner.invoke(app, ["evaluate", str(out), "--device", "cpu", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(evaluated.stdout)
    assert again["test_top1"] == metrics["test_top1"] and again["test_top5"] == metrics["test_top5"]  # exact on CPU

    images = []
    for i, colour in enumerate([(255, 0, 0), (0, 128, 255)]):
        images.append(tmp_path / f"im{i}.png")
        Image.new("RGB", (40, 30), colour).save(images[-1])
    predicted = runner.invoke(app, ["predict", str(out), *map(str, images), "--json"])
    assert predicted.exit_code == 0, predicted.output
    tops = json.loads(predicted.stdout)
    assert [t["image"] for t in tops] == list(map(str, images))
    for t in tops:
        probs = [c["probability"] for c in t["top"]]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert all(c["class"].startswith("class") for c in t["top"]) and t["trained_on"].startswith("synthetic")
    text = runner.invoke(app, ["predict", str(out), str(images[0]), "--top", "2"]).stdout.splitlines()
    assert text[0].startswith("model trained on synthetic") and "not real objects" in text[0]
    assert text[1] == str(images[0]) and len(text) == 4


def test_export_refuses_before_training(searched, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    result = export(searched, busy)
    assert result.exit_code == 2 and "exists and is not an empty folder" in result.stderr
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    (tmp_path / "file").write_text("")
    result = export(searched, tmp_path / "file" / "m")
    assert result.exit_code == 2 and "cannot make a folder under" in result.stderr
    result = export(searched, tmp_path / "m", "--pick", "params<10")
    assert result.exit_code == 2 and "no complete trial satisfies it" in result.stderr
    assert not (tmp_path / "m").exists()


def test_load_errors_as_a_subprocess(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "evaluate", str(tmp_path / "half")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "missing; the export did not finish" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "predict", str(tmp_path / "nowhere"), "x.png"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "no such model folder" in proc.stderr


def test_predict_bad_image(searched, tmp_path):
    out = tmp_path / "model"
    assert export(searched, out, "--trial", "0").exit_code == 0
    (tmp_path / "not.png").write_text("text")
    result = runner.invoke(app, ["predict", str(out), str(tmp_path / "not.png")])
    assert result.exit_code == 2 and "not an image this can read" in result.stderr
