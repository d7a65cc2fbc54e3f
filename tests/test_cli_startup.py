"""A bad option is refused before torch, Ray or any data load (issue 26), and `--help` reads whole at 80
columns.

Every case runs in one child process that invokes the CLI in-process, one case after another, and
records after each which of torch and Ray are imported: modules only accumulate, so the first case
that loads one is the one to blame (the later ones then fail too). Whether a study exists needs
optuna and SQLAlchemy, which is allowed; torch and Ray are not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inas.cli import app

HEAVY = ("torch", "ray")
SPACE = "name: tiny\nbase: seed/short4\n"

# (id, arguments, what stderr says, extra environment)
CASES: list[tuple[str, list[str], str, dict[str, str]]] = [
    # search: every option, the space, the study
    ("search-budget", ["search", "--space", "s.yaml", "--budget", "smok"], "unknown budget 'smok'", {}),
    ("search-sampler", ["search", "--space", "s.yaml", "--sampler", "tp"], "unknown sampler 'tp'", {}),
    ("search-objectives", ["search", "--space", "s.yaml", "--objectives", "speed"], "unknown objective 'speed'", {}),
    ("search-objective-twice", ["search", "--space", "s.yaml", "--objectives", "params,params"], "named twice", {}),
    ("search-dataset", ["search", "--space", "s.yaml", "--dataset", "cifar11"], "unknown dataset 'cifar11'", {}),
    ("search-synthetic", ["search", "--space", "s.yaml", "--dataset", "synthetic:5"], "from 10 to 200,000", {}),
    ("search-imagefolder", ["search", "--space", "s.yaml", "--dataset", "imagefolder:nope"], "no such folder", {}),
    ("search-trials", ["search", "--space", "s.yaml", "--trials", "0"], "--trials: must be at least 1", {}),
    ("search-min-epochs", ["search", "--space", "s.yaml", "--epochs", "2", "--min-epochs", "3"], "must not exceed", {}),
    ("search-epochs", ["search", "--space", "s.yaml", "--epochs", "0"], "'--epochs'", {}),
    ("search-seed", ["search", "--space", "s.yaml", "--seed", "1" * 20], "'--seed'", {}),
    ("search-cpus", ["search", "--space", "s.yaml", "--cpus-per-trial", "nan"], "'--cpus-per-trial'", {}),
    ("search-gpus", ["search", "--space", "s.yaml", "--gpus-per-trial", "-1"], "'--gpus-per-trial'", {}),
    ("search-concurrent", ["search", "--space", "s.yaml", "--max-concurrent", "0"], "--max-concurrent: must be", {}),
    ("search-prescreen", ["search", "--space", "s.yaml", "--prescreen", "99"], "--prescreen 99: must be between", {}),
    ("search-proxy", ["search", "--space", "s.yaml", "--prescreen-proxy", "x"], "choose naswot or synflow", {}),
    (
        "search-warm-start",
        ["search", "--space", "s.yaml", "--warm-start", "paper"],
        "--warm-start 'paper': no such file",
        {},
    ),
    ("search-constraint", ["search", "--space", "s.yaml", "--constraint", "speed<3"], "--constraint", {}),
    ("search-timeout", ["search", "--space", "s.yaml", "--timeout", "1d"], "--timeout '1d': give a duration", {}),
    (
        "search-gp-constraint",
        ["search", "--space", "s.yaml", "--sampler", "gp", "--constraint", "params<1e6"],
        "gp",
        {},
    ),
    ("search-precision", ["search", "--space", "s.yaml", "--precision", "fp8"], "unknown value 'fp8'", {}),
    ("search-space", ["search", "--space", "googlenet_dept"], "unknown search space 'googlenet_dept'", {}),
    ("search-space-file", ["search", "--space", "missing.yaml"], "missing.yaml", {}),
    ("search-study-name", ["search", "--space", "s.yaml", "--study", "../up"], "a study name is", {}),
    ("search-url", ["search", "--space", "s.yaml", "--storage", "not a url"], "not a SQLAlchemy URL", {}),
    ("search-exists", ["search", "--space", "s.yaml", "--study", "done"], "already exists", {}),
    ("search-resume-none", ["search", "--space", "s.yaml", "--study", "new", "--resume"], "to resume", {}),
    ("search-memory", ["search", "--space", "s.yaml"], "INAS_MAX_MEMORY=", {"INAS_MAX_MEMORY": "lots"}),
    ("search-home", ["search", "--space", "s.yaml"], "INAS_HOME='rel': a relative path", {"INAS_HOME": "rel"}),
    # train
    ("train-dataset", ["train", "--preset", "seed/short4", "--dataset", "cifar11"], "unknown dataset", {}),
    ("train-imagefolder", ["train", "--preset", "seed/short4", "--dataset", "imagefolder:x"], "no such folder", {}),
    ("train-device", ["train", "--preset", "seed/short4", "--device", "gpu"], "--device 'gpu': not a device", {}),
    ("train-preset", ["train", "--preset", "seed/googlnet"], "unknown preset", {}),
    ("train-config", ["train", "--config", "missing.json"], "missing.json: no such file", {}),
    ("train-recipe", ["train", "--preset", "seed/short4", "--recipe", "fast"], "unknown recipe 'fast'", {}),
    ("train-optimizer", ["train", "--preset", "seed/short4", "--optimizer", "adam"], "unknown value 'adam'", {}),
    ("train-lr", ["train", "--preset", "seed/short4", "--lr", "1e308"], "is over the 1e+30", {}),
    ("train-batch", ["train", "--preset", "seed/short4", "--batch-size", "0"], "'--batch-size'", {}),
    ("train-save", ["train", "--preset", "seed/short4", "--save", "s.yaml"], "not an empty folder", {}),
    # export, evaluate, predict
    ("export-study", ["export", "nosuch", "--out", "m"], "no study 'nosuch'", {}),
    ("export-file", ["export", "nosuch.db", "--out", "m"], "does not exist", {}),
    ("export-dataset", ["export", "done", "--out", "m", "--dataset", "cifar11"], "unknown dataset", {}),
    ("export-precision", ["export", "done", "--out", "m", "--precision", "fp8"], "--precision: unknown value", {}),
    ("export-device", ["export", "done", "--out", "m", "--device", "gpu"], "not a device", {}),
    ("export-out", ["export", "done", "--out", "s.yaml"], "not an empty folder", {}),
    ("evaluate-folder", ["evaluate", "nomodel"], "nomodel: no such model folder", {}),
    ("evaluate-dataset", ["evaluate", "folder", "--dataset", "cifar11"], "unknown dataset", {}),
    ("evaluate-device", ["evaluate", "folder", "--device", "gpu"], "not a device", {}),
    ("predict-folder", ["predict", "nomodel", "x.png"], "nomodel: no such model folder", {}),
    ("predict-image", ["predict", "folder", "x.png"], "x.png: no such file", {}),
    ("predict-top", ["predict", "folder", "x.png", "--top", "0"], "'--top'", {}),
    # reading studies
    ("report-study", ["report", "nosuch"], "no study 'nosuch' in ", {}),
    ("report-file", ["report", "nosuch.db"], "does not exist", {}),
    ("report-url", ["report", "done", "--storage", "not a url"], "not a SQLAlchemy URL", {}),
    ("trials-study", ["trials", "nosuch"], "no study 'nosuch' in ", {}),
    ("trials-format", ["trials", "done", "--format", "xml"], "--format 'xml'", {}),
    ("trials-home-file", ["trials", "done"], "exists and is not a folder", {"INAS_HOME": "HOME_FILE"}),
    ("compare-study", ["compare", "done", "nosuch"], "no study 'nosuch' in ", {}),
    ("compare-one", ["compare", "done"], "at least two studies", {}),
    ("dashboard-study", ["dashboard", "nosuch"], "no study 'nosuch' in ", {}),
    # reproduce
    ("seed-table-dataset", ["reproduce", "seed-table", "--dataset", "cifar11"], "unknown dataset", {}),
    ("seed-table-recipe", ["reproduce", "seed-table", "--recipe", "fast"], "--recipe 'fast'", {}),
    ("seed-table-variants", ["reproduce", "seed-table", "--variants", "Foo"], "unknown variant 'Foo'", {}),
    ("seed-table-study", ["reproduce", "seed-table", "--study", "a/b"], "a study name is", {}),
    ("seed-table-url", ["reproduce", "seed-table", "--storage", "not a url"], "not a SQLAlchemy URL", {}),
    ("seed-table-out", ["reproduce", "seed-table", "--out", "s.yaml"], "s.yaml/table.md", {}),
    ("d2l-variants", ["reproduce", "d2l", "--variants", "foo"], "unknown variant 'foo'", {}),
    ("d2l-precision", ["reproduce", "d2l", "--precision", "fp8"], "unknown value 'fp8'", {}),
    ("d2l-concurrent", ["reproduce", "d2l", "--max-concurrent", "0"], "'--max-concurrent'", {}),
    # space, model
    ("space-show", ["space", "show", "googlenet_dept"], "unknown search space", {}),
    ("space-sample", ["space", "sample", "googlenet_depth", "--n", "0"], "'--n'", {}),
    ("model-preset", ["model", "summary", "--preset", "nope"], "unknown preset 'nope'", {}),
    ("model-config", ["model", "summary", "--config", "missing.json"], "missing.json: no such file", {}),
    ("unknown-option", ["search", "--bugdet", "smoke"], "No such option", {}),
]

CHILD = """
import json, os, sys
from typer.testing import CliRunner
from inas.cli import app

cases, out = json.loads(sys.argv[1]), []
for args, env in cases:
    r = CliRunner().invoke(app, args, env=env)
    out.append({"code": r.exit_code, "stderr": r.stderr, "stdout": r.stdout,
                "heavy": [m for m in HEAVY if m in sys.modules]})
print(json.dumps(out))
""".replace("HEAVY", repr(HEAVY))


def make_workdir(root: Path) -> None:
    """A folder as a user's might be: a space file, a study `done` in studies/, an empty model folder."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    (root / "s.yaml").write_text(SPACE)
    (root / "studies").mkdir()
    optuna.create_study(study_name="done", storage=f"sqlite:///{root}/studies/done.db", directions=["minimize"] * 3)
    (root / "folder").mkdir()
    (root / "home-file").write_text("not a folder")


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("startup")
    make_workdir(root)
    env = {k: v for k, v in os.environ.items() if k not in ("INAS_HOME", "INAS_MAX_MEMORY")}
    cases = [
        (args, {k: str(root / "home-file") if v == "HOME_FILE" else v for k, v in extra.items()})
        for _, args, _, extra in CASES
    ]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cases)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    return {case[0]: result for case, result in zip(CASES, results, strict=True)}


@pytest.mark.parametrize(("name", "args", "message", "env"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_option_is_refused_before_torch_or_ray(answers, name, args, message, env):
    r = answers[name]
    assert r["code"] == 2, r
    assert message in r["stderr"], r["stderr"]
    if "No such option" not in message and "'--" not in message:  # Click's own usage errors print in main()
        assert r["stderr"].startswith("error: ") and r["stderr"].count("\n") == 1, r["stderr"]
    assert r["stdout"] == ""
    first = next((n for n, a in answers.items() if a["heavy"]), None)
    assert r["heavy"] == [], f"{r['heavy']} imported (first by case {first})"


def test_the_early_checks_agree_with_the_late_ones():
    """What the commands check before torch is what the library checks after it."""
    from inas.cli_common import DATASETS
    from inas.data.datasets import DATASETS as LOADED
    from inas.model.proxies import PROXIES
    from inas.search.commands import CONSTRAINABLE, PRESCREEN_PROXIES
    from inas.search.plan import CONSTRAINED_BEFORE_TRAINING

    assert DATASETS.names() == LOADED.names()
    assert tuple(PROXIES) == PRESCREEN_PROXIES
    assert tuple(CONSTRAINED_BEFORE_TRAINING) == CONSTRAINABLE


def test_an_existing_study_is_refused_as_a_subprocess(tmp_path):
    """Exit code 2 and one line, no traceback, the study named with its absolute URL; nothing written."""
    make_workdir(tmp_path)
    before = sorted(p.name for p in (tmp_path / "studies").iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "search", "--space", "s.yaml", "--study", "done", "--dataset", "synthetic"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "INAS_HOME"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert f"already exists in sqlite:///{tmp_path}/studies/done.db; add --resume" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "studies").iterdir()) == before


def help_text(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.stdout


def commands(group=None, path=()):
    """Every command of the app, as (path, click command)."""
    import typer.main

    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def test_search_help_at_80_columns():
    text = help_text("search")
    assert "<bool>" not in text and "…" not in text
    assert " top1_error,params,train_time]" in text  # the default whole (Click wraps between words only)
    assert "--resume " in text and "--cpus-per-trial C" in text and "--max-concurrent K" in text
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("path", [p for p, _ in commands()], ids=" ".join)
def test_every_option_has_help_and_no_line_is_cut(path):
    cmd = dict(commands())[path]
    for param in cmd.params:
        assert getattr(param, "help", None), f"inas {' '.join(path)} {param.opts}: no help"
    text = help_text(*path)
    assert "<bool>" not in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
