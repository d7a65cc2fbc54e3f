"""`inas search --evaluator supernet:DIR`: candidates scored on a supernet, many per Ray task, land in the
study as trained ones do; every supernet that cannot score the search asked for is refused in one line
before Ray starts."""

import dataclasses
import json
import shutil
import subprocess
import sys

import optuna
import pytest
from typer.testing import CliRunner

from inas.cli import app
from inas.errors import ConfigError, InasError, SpaceError
from inas.search.batched import (
    MAX_CHUNK,
    ScorerSettings,
    SupernetScorer,
    chunk_size,
    supernet_budget,
)
from inas.search.candidate import InvalidCandidate
from inas.search.plan import plan_search
from inas.search.settings import BUDGETS, SUPERNET_OBJECTIVES, SearchSettings
from inas.study.keys import EVALUATOR, INTERRUPTED_KEY, LATENCY_MS, PARAMS, SETTINGS_KEY
from inas.study.record import TrialRecord, TrialStatus, trained
from inas.supernet.bundle import WEIGHTS, read_info
from tests.search.conftest import TINY_SPACE as UNHELD_SPACE
from tests.supernet.tiny_supernet import DATASET, TINY_SPACE, train_tiny_supernet, write_space

runner = CliRunner()


@pytest.fixture(autouse=True)
def torch_threads():
    """A scorer sets the threads it scores with (a Ray actor's own process); a test's process gets its back."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


CALIBRATION = "20"  # images: the tiny validation split has 20


@pytest.fixture(scope="module")
def supernets(tmp_path_factory):
    """The tiny space, its supernet, and another run's."""
    root = tmp_path_factory.mktemp("supernets")
    space = write_space(root)
    for seed in (0, 1):
        train_tiny_supernet(root / f"run{seed}", space, seed=seed)
    return root, space


def settings_for(root, space, **values) -> SearchSettings:
    info = read_info(root / "run0")
    base = dict(
        space=space,
        trials=2,
        storage=f"sqlite:///{root}/unused.db",
        dataset=info.dataset,
        budget=supernet_budget(info),
        objectives=SUPERNET_OBJECTIVES,
        evaluator=f"supernet:{root / 'run0'}",
        calibration_images=20,
    )
    return SearchSettings(**{**base, **values})


def scorer_for(plan, **values) -> SupernetScorer:
    source = plan.supernet
    settings = ScorerSettings(
        cpus=1,
        calibration_images=source.calibration_images,
        evaluator=source.fidelity,
        epochs=source.info.epochs_done,
        recipe=plan.recipe,
        **values,
    )
    return SupernetScorer(source.weights, source.layout, plan.data, settings)


# -- scoring one candidate -------------------------------------------------------------------------------


def test_a_candidate_is_scored_as_the_supernet_scores_it(supernets):
    import torch

    from inas.model.stats import measure
    from inas.supernet.bundle import load_supernet
    from inas.supernet.score import score, scoring_data

    root, space = supernets
    plan = plan_search(settings_for(root, space))
    assert plan.recipe == plan.supernet.info.recipe and plan.data.name == DATASET
    cand = plan.resolve({"channels.multiplier": 0.5, "depth.4": 1})
    record = scorer_for(plan).score_one(cand)
    assert record.status == TrialStatus.OK and record.state() == (optuna.trial.TrialState.COMPLETE, "")
    # the full candidate's size, as a trained trial records it; the errors of the copy the supernet holds
    full = measure(cand.arch, input_size=plan.recipe.image_size)
    assert (record.params, record.macs) == (full.params, full.macs) and record.train_width == 0.125
    supernet, info = load_supernet(root / "run0")
    calibration, val = scoring_data(plan.data, info.recipe, supernet.layout.widest, torch.device("cpu"), 20)
    assert (record.val_top1, record.val_top5) == score(supernet, supernet.layout.trained(cand.arch), calibration, val)
    assert record.evaluator == f"supernet:{info.hash}" and record.eval_seconds > 0
    assert record.epochs_done == record.epochs_total == info.epochs_done
    assert TrialRecord.from_report(record.to_report()) == record


def test_a_candidate_that_cannot_be_scored_fails_with_its_reason(supernets):
    root, space = supernets
    plan = plan_search(settings_for(root, space))
    scorer = scorer_for(plan)
    failed = scorer.score_one(InvalidCandidate({"x": 1}, "ConfigError: no such network"))
    assert failed.status == TrialStatus.FAIL and failed.fail_reason == "ConfigError: no such network"
    cand = plan.resolve({"channels.multiplier": 0.25, "depth.4": 1})
    first = cand.arch.stages[0]
    wide = dataclasses.replace(first, modules=(dataclasses.replace(first.modules[0], c1=10_000),))
    broken = dataclasses.replace(cand, arch=dataclasses.replace(cand.arch, stages=(wide, *cand.arch.stages[1:])))
    record = scorer.score_one(broken)  # wider than the supernet
    assert record.status == TrialStatus.FAIL and record.fail_reason and "\n" not in record.fail_reason


def test_a_latency_bound_is_checked_before_scoring(supernets):
    root, space = supernets
    plan = plan_search(settings_for(root, space))
    scorer = scorer_for(plan, measure_latency=True, constraints=((LATENCY_MS, "<", 1e-9),))
    record = scorer.score_one(plan.resolve({"channels.multiplier": 0.25, "depth.4": 1}))
    assert record.status == TrialStatus.INFEASIBLE and record.latency_ms > 0 and record.val_top1 is None
    assert record.state()[0] == optuna.trial.TrialState.PRUNED and "latency_ms" in record.infeasible


def test_proxies_are_recorded_beside_the_score(supernets):
    root, space = supernets
    plan = plan_search(settings_for(root, space, proxies=True))
    record = scorer_for(plan, proxies=True).score_one(plan.resolve({"channels.multiplier": 0.25, "depth.4": 1}))
    assert record.status == TrialStatus.OK and record.naswot is not None and record.synflow is not None


def test_the_default_calibration_is_the_scorers():
    from inas.search import settings
    from inas.supernet import score

    assert settings.CALIBRATION_IMAGES == score.CALIBRATION_IMAGES == SearchSettings(space="s").calibration_images


def test_chunks_share_the_work_among_the_scorers():
    assert chunk_size(1, 1) == 1 and chunk_size(1000, 1) == MAX_CHUNK
    assert chunk_size(16, 2) == 2  # two chunks queued on each of two scorers, each chunk of 2
    assert all(1 <= chunk_size(r, n) <= MAX_CHUNK for r in (1, 7, 100) for n in (1, 3, 64))


# -- what the plan refuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"dataset": "synthetic:300"}, ConfigError, "was trained on synthetic:200"),
        ({"budget": BUDGETS["smoke"]}, ConfigError, "was trained at 100% of the training set, 8 px, width x0.125"),
        ({"objectives": ("top1_error", "train_time")}, ConfigError, "has no training time"),
        ({"evaluator": "supernet:"}, ConfigError, "give `train`"),
        ({"evaluator": "weights"}, ConfigError, "`supernet:DIR`"),
        ({"calibration_images": 0}, ConfigError, "--calibration-images 0"),
        ({"evaluator": "supernet:/nowhere"}, InasError, "no such supernet folder"),
    ],
)
def test_a_search_the_supernet_cannot_score_is_refused(supernets, values, error, message):
    root, space = supernets
    with pytest.raises(error) as e:
        plan_search(settings_for(root, space, **values))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_space_it_cannot_hold_and_another_space_are_refused(supernets, tmp_path):
    root, _ = supernets
    unheld = write_space(tmp_path, UNHELD_SPACE, "unheld.yaml")  # its recipe varies
    with pytest.raises(SpaceError, match="recipe.lr: varies"):
        plan_search(settings_for(root, unheld))
    other = write_space(tmp_path, TINY_SPACE.replace("[0.25, 0.5]", "[0.25, 0.75]"), "other.yaml")
    with pytest.raises(ConfigError, match="holds space .*tinynet.yaml .another space"):
        plan_search(settings_for(root, other))


def test_the_study_settings_name_the_supernet(supernets):
    root, space = supernets
    plan = plan_search(settings_for(root, space))
    settings = plan.study_settings()
    assert settings["fidelity"] == plan.supernet.fidelity == f"supernet:{read_info(root / 'run0').hash}"
    assert settings["calibration_images"] == 20 and settings["dataset"] == DATASET and settings["width"] == 0.125


# -- the command -----------------------------------------------------------------------------------------------


def search(root, space, storage, *extra, run="run0"):
    args = ["search", "--space", space, "--storage", storage, "--evaluator", f"supernet:{root / run}"]
    return runner.invoke(app, [*args, "--calibration-images", CALIBRATION, "--quiet", *extra])


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(_settings):
        raise AssertionError("Ray was started before the input was checked")

    monkeypatch.setattr("inas.search.runner.ray_session", refuse)


def test_search_over_a_supernet_lands_in_the_study(supernets, tmp_path, ray_cpu):
    root, space = supernets
    url = f"sqlite:///{tmp_path}/s.db"
    result = search(root, space, url, "--trials", "3", "--seed", "1")
    assert result.exit_code == 0, result.output
    info = read_info(root / "run0")
    assert f"errors measured on supernet {info.hash}" in result.stdout and "20 training images" in result.stdout
    assert "scored 3/3" in result.stderr
    study = optuna.load_study(study_name="tinynet", storage=url)
    # the supernet's fidelity and objectives, unasked
    assert study.user_attrs[SETTINGS_KEY]["fidelity"] == f"supernet:{info.hash}"
    assert study.user_attrs[SETTINGS_KEY]["objectives"] == list(SUPERNET_OBJECTIVES)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) >= 3 and all(t.user_attrs[EVALUATOR] == f"supernet:{info.hash}" for t in done)
    assert all(t.values[1] == t.user_attrs[PARAMS] for t in done)  # the full candidate's

    for command in (["trials", "tinynet"], ["report", "tinynet", "--out", str(tmp_path / "r.html")]):
        shown = runner.invoke(app, [*command, "--storage", url])
        assert shown.exit_code == 0, shown.output
    assert f"supernet:{info.hash}" in (tmp_path / "r.html").read_text()
    optuna.copy_study(from_study_name="tinynet", from_storage=url, to_storage=f"sqlite:///{tmp_path}/copy.db")
    compared = runner.invoke(app, ["compare", str(tmp_path / "s.db"), str(tmp_path / "copy.db")])
    assert compared.exit_code == 0, compared.output
    # export retrains the chosen candidate from scratch, at full width, on the study's dataset
    args = ["export", "tinynet", "--storage", url, "--budget", "smoke", "--epochs", "1", "--out", str(tmp_path / "m")]
    exported = runner.invoke(app, args)
    assert exported.exit_code == 0 and "full width" in exported.stderr and DATASET in exported.stderr, exported.output

    other = search(root, space, url, "--trials", "4", "--resume", run="run1")
    assert other.exit_code == 2 and "fidelity" in other.stderr and other.stderr.count("\n") == 1
    again = search(root, space, url, "--trials", "4", "--resume")
    assert again.exit_code == 0, again.output
    assert trained(study) == 4 and "scored 1/1" in again.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--dataset", "synthetic:300"), "was trained on synthetic:200"),
        (("--budget", "smoke"), "was trained at 100% of the training set, 8 px"),
        (("--objectives", "top1_error,train_time"), "has no training time"),
        (("--epochs", "3"), "--epochs: a candidate scored on a supernet is not trained"),
        (("--precision", "fp32"), "--precision: a candidate scored on a supernet is not trained"),
        (("--calibration-images", "0"), "--calibration-images 0: must be between 1"),
    ],
)
def test_options_the_supernet_cannot_score_are_refused(supernets, tmp_path, no_ray, extra, message):
    root, space = supernets
    result = search(root, space, f"sqlite:///{tmp_path}/s.db", *extra)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no study written


def test_the_supernets_own_dataset_and_budget_are_accepted(supernets, tmp_path, monkeypatch):
    root, space = supernets
    asked = {}
    monkeypatch.setattr("inas.search.runner.run_search", lambda s, view: asked.setdefault("s", s) and 1 / 0)
    result = search(root, space, f"sqlite:///{tmp_path}/s.db", "--dataset", DATASET, "--objectives", "top1_error")
    assert isinstance(result.exception, ZeroDivisionError)  # past every check
    s = asked["s"]
    assert s.dataset == DATASET and s.budget == supernet_budget(read_info(root / "run0"))
    assert s.objectives == ("top1_error",) and s.calibration_images == 20


def lie(folder, how: str, other) -> None:
    if how == "edited json":
        raw = json.loads((folder / "supernet.json").read_text())
        raw["width"] = 0.5
        (folder / "supernet.json").write_text(json.dumps(raw))
    elif how == "weights of another run":
        shutil.copy(other / WEIGHTS, folder / WEIGHTS)
    elif how == "sha mismatch":
        raw = json.loads((folder / "supernet.json").read_text())
        raw["weights_sha256"] = "f" * 64
        (folder / "supernet.json").write_text(json.dumps(raw))
    elif how == "missing weights":
        (folder / WEIGHTS).unlink()
    elif how == "missing json":
        (folder / "supernet.json").unlink()


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("edited json", "its widest network is not the space's"),  # the width it says is not its network's
        ("weights of another run", "its SHA-256 differs"),
        ("sha mismatch", "its SHA-256 differs"),
        ("missing weights", "supernet.safetensors: missing"),
        ("missing json", "supernet.json: missing"),
    ],
)
def test_a_supernet_folder_that_lies_is_refused(supernets, tmp_path, no_ray, how, message):
    root, space = supernets
    shutil.copytree(root / "run0", tmp_path / "lying")
    lie(tmp_path / "lying", how, root / "run1")
    args = ["search", "--space", space, "--storage", f"sqlite:///{tmp_path}/s.db"]
    result = runner.invoke(app, [*args, "--evaluator", f"supernet:{tmp_path / 'lying'}", "--quiet"])
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.output
    assert not (tmp_path / "s.db").exists()


def test_a_supernet_of_another_space_is_refused(supernets, tmp_path, no_ray):
    root, _ = supernets
    other = write_space(tmp_path, TINY_SPACE.replace("[0.25, 0.5]", "[0.25, 0.75]"), "other.yaml")
    result = search(root, other, f"sqlite:///{tmp_path}/s.db")
    assert result.exit_code == 2 and "holds space" in result.stderr and result.stderr.count("\n") == 1
    unheld = write_space(tmp_path, UNHELD_SPACE, "unheld.yaml")
    result = search(root, unheld, f"sqlite:///{tmp_path}/s.db")
    assert result.exit_code == 2 and "a supernet holds spaces of stage depths" in result.stderr


def test_a_lying_supernet_exits_2_as_a_subprocess(supernets, tmp_path):
    root, space = supernets
    shutil.copytree(root / "run0", tmp_path / "lying")
    lie(tmp_path / "lying", "weights of another run", root / "run1")
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "search", "--space", space, "--storage", f"sqlite:///{tmp_path}/s.db"]
        + ["--evaluator", f"supernet:{tmp_path / 'lying'}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "its SHA-256 differs" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_a_stopped_search_marks_what_it_was_scoring(supernets, tmp_path, ray_cpu, monkeypatch):
    from inas.search import batched
    from inas.search.stop import STOP_REQUESTED

    def stop_once_asked(remaining, scorers):  # as Ctrl-C would, once the first chunks are out
        STOP_REQUESTED.set()
        return 1

    monkeypatch.setattr(batched, "chunk_size", stop_once_asked)
    root, space = supernets
    url = f"sqlite:///{tmp_path}/s.db"
    result = search(root, space, url, "--trials", "2")
    assert result.exit_code == 130 and "marked failed" in result.stderr and "--resume" in result.stderr
    study = optuna.load_study(study_name="tinynet", storage=url)
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert failed and all(t.user_attrs[INTERRUPTED_KEY] for t in failed)
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))


def test_timeout_stops_asking_and_keeps_what_was_scored(supernets, tmp_path, ray_cpu):
    """--timeout on a supernet: no candidate is asked for after it; those out with a scorer are scored."""
    root, space = supernets
    url = f"sqlite:///{tmp_path}/s.db"
    result = search(root, space, url, "--trials", "100000", "--timeout", "30s")
    assert result.exit_code == 0, result.output
    assert "stopped at --timeout (30 s; --resume goes on)" in result.stdout
    study = optuna.load_study(study_name="tinynet", storage=url)
    states = {t.state for t in study.trials}
    assert 0 < len(study.trials) < 100000 and states <= {optuna.trial.TrialState.COMPLETE}
