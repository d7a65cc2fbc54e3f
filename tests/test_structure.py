"""The layering the README's Layout promises: what each package may import, and a CLI that starts light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "inas"
# package -> the inas packages it may import (besides the shared top-level modules)
ALLOWED = {
    "model": set(),
    "data": set(),
    "space": {"model", "train"},  # train: only its plain recipe, checked below
    "train": {"model", "data"},
    "study": set(),
    "search": {"model", "data", "train", "space", "study"},
    "report": {"study"},
    "export": {"model", "data", "train", "study"},
    "reproduce": {"search", "study", "train"},
}
TOP_LEVEL = {"errors", "files", "checks", "limits", "registry", "lazy", "cli_common"}


def inas_imports(path: Path) -> list[str]:
    """Every `inas.x.y` module a file imports, at any depth (lazy imports inside functions count too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("inas."):
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.startswith("inas.")]
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_below_them(package):
    for path in (PACKAGE / package).glob("*.py"):
        for name in inas_imports(path):
            parts = name.split(".")
            target = parts[1]
            if target in TOP_LEVEL or target == package:
                continue
            assert target in ALLOWED[package], f"{path.relative_to(PACKAGE)} imports {name}"
            assert not (len(parts) > 2 and parts[2] == "commands"), f"{path.name} imports {name}"


def test_the_space_layer_uses_only_the_plain_recipe():
    for path in (PACKAGE / "space").glob("*.py"):
        for name in inas_imports(path):
            if name.startswith("inas.train"):
                assert name == "inas.train.recipe", f"{path.name} imports {name}"


def test_only_cli_imports_commands_of_other_packages():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        own = path.parent.name
        for name in inas_imports(path):
            parts = name.split(".")
            if parts[-1] == "commands":
                assert parts[1] == own, f"{path.relative_to(PACKAGE)} imports {name}"


@pytest.mark.parametrize(
    "code",
    [
        "import inas.cli",
        "from typer.testing import CliRunner; from inas.cli import app; "
        "[CliRunner().invoke(app, a) for a in (['--help'], ['--version'], ['space', 'list'], "
        "['space', 'show', 'googlenet_depth'], ['model', 'list'], ['space', 'sample', 'googlenet_depth', '--json'])]",
    ],
)
def test_the_cli_starts_without_torch_or_ray(code):
    check = "import sys; bad = [m for m in ('torch', 'ray') if m in sys.modules]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", f"{code}; {check}"], check=True, capture_output=True, timeout=120)


def test_reading_a_study_loads_neither_torch_nor_ray(tmp_path):
    import optuna

    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path}/s.db", directions=["minimize"] * 2)
    study.set_metric_names(["top1_error", "params"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("n", 1, 9)), n_trials=3)
    code = (
        "from typer.testing import CliRunner; from inas.cli import app; "
        "r = [CliRunner().invoke(app, a) for a in (['trials', 's.db'], ['report', 's.db', '--out', 'r.html'])]; "
        "assert all(x.exit_code == 0 for x in r), [x.output for x in r]; "
        "import sys; bad = [m for m in ('torch', 'ray') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120, cwd=tmp_path)
