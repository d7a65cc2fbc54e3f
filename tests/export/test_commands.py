"""End to end on the CPU: a real search on synthetic data, then export, load, evaluate and predict."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import inas
from inas.cli import app
from inas.errors import InasError
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
    # The plan, ended by its estimate, is the first line, before the first epoch's.
    lines = result.stderr.splitlines()
    plan = lines[0]
    assert plan.startswith("exporting trial ") and " of tiny (" in plan, lines
    assert "full width, 32 px, 2 epochs (standard budget) on 60 synthetic:60 images (nothing held out)" in plan
    assert "batch 60 on cpu; about " in plan and "(measured 1 step with its warm-up at " in plan
    print(plan)  # the line the README shows
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/2: loss "))
    assert first_epoch > 0 and "epoch 2/2: loss " in result.stderr
    expected = {"model.safetensors", "config.json", "metrics.json", "README.md"} | (
        {"model.onnx"} if HAS_ONNX else set()
    )
    assert {p.name for p in out.iterdir()} == expected
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["recipe"]["val_fraction"] == 0.0 and config["recipe"]["epochs"] == 2  # train + val, --epochs
    assert config["source"]["study"] == "tiny" and config["dataset"] == "synthetic:60"
    # Searched at 16 px; exported at the network's own 32, the standard budget's.
    assert config["classes"] == [f"class{i}" for i in range(10)] and config["input_size"] == 32
    assert config["recipe"]["image_size"] == 0 and config["recipe"]["batch_size"] == 512
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
    # Progress on stderr (a bar in a terminal; here, not one, its lines), the JSON alone on stdout.
    said = evaluated.stderr.splitlines()
    assert said[0] == f"evaluating {out} on the 12 test images of synthetic:60, batch 1024 on cpu", said
    assert said[1].startswith("evaluating: 12 images in 1 batch  (")

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
    # The Python API gives what the CLI gives, from a file, a PIL image or its uint8 pixels.
    assert inas.predict(model, images) == tops
    pil = Image.open(images[1])
    pixels = torch.from_numpy(np.array(pil)).permute(2, 0, 1)
    for given in (pil, pixels, pixels.float() / 255):
        [p] = inas.predict(model, given)
        assert [c["class"] for c in p["top"]] == [c["class"] for c in tops[1]["top"]] and p["image"] == 0
        assert [c["probability"] for c in p["top"]] == pytest.approx([c["probability"] for c in tops[1]["top"]])
    with pytest.raises(InasError, match=r"must lie in \[0, 1\]"):  # 0-255 floats would be silently wrong
        inas.predict(model, pixels.float())
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


def test_export_at_another_budget(searched, tmp_path):
    out = tmp_path / "smoke"
    result = export(searched, out, "--trial", "0", "--budget", "smoke", "--epochs", "1", "--batch-size", "20")
    assert result.exit_code == 0, result.output
    plan = result.stderr.splitlines()[0]
    assert "exporting trial 0 of tiny (" in plan and "full width, 16 px, 1 epoch (smoke budget) on 60 " in plan
    assert "batch 20 on cpu; about " in plan and "(measured 2 steps at " in plan  # 3 steps: 1 warm-up, 2 timed
    config = json.loads((out / "config.json").read_text())
    assert config["input_size"] == 16 and config["recipe"]["batch_size"] == 20


def test_an_unknown_budget_is_refused_before_anything_loads(tmp_path):
    code = (
        "import sys; from typer.testing import CliRunner; from inas.cli import app; "
        "r = CliRunner().invoke(app, ['export', 'nowhere', '--out', 'm', '--budget', 'huge']); "
        "print(r.exit_code, r.stderr.strip()); "
        "bad = [m for m in ('torch', 'optuna', 'ray') if m in sys.modules]; assert not bad, bad"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        "2 error: --budget: unknown budget 'huge'; choose one of: smoke, proxy, standard, paper"
    )
