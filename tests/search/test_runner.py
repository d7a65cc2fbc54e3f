"""Real Ray, locally on the CPU, with the synthetic dataset and tiny budgets."""

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState
from ray.tune import Callback

from inas.errors import InasError
from inas.search import Budget, SearchSettings, run_search
from tests.conftest import RAY_CPU

TINY_BUDGET = Budget(epochs=2, min_epochs=2, data_fraction=1.0, image_size=8, batch_size=16)
LR_OK, LR_SLOW, LR_NAN = 0.05, 1.0e-6, 1.0e30


def settings(space, tmp_path, **kw) -> SearchSettings:
    base = dict(
        space=space,
        trials=2,
        storage=f"sqlite:///{tmp_path}/s.db",
        dataset="synthetic:60",
        budget=TINY_BUDGET,
        cpus_per_trial=1,
        seed=0,
    )
    return SearchSettings(**{**base, **kw})


def load(tmp_path, name="tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path}/s.db")


def test_trials_land_in_the_study(tmp_path, tiny_space, ray_cpu):
    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    summary = run_search(
        settings(tiny_space, tmp_path, trials=2, enqueue=(point, {**point, "channels.multiplier": 0.125}))
    )
    study = load(tmp_path)
    assert summary.counts["complete"] == 2 and len(study.trials) == 2
    assert study.metric_names == ["top1_error", "params", "train_time"]
    for t in study.trials:
        assert t.state == TrialState.COMPLETE
        assert t.values[0] == t.user_attrs["val_top1"] and t.values[1] == t.user_attrs["params"]
        curve = t.user_attrs["val_top1_curve"]  # a learning curve, with three objectives
        assert [e for e, _ in curve] == [1, 2] and curve[-1][1] == t.values[0]
        assert not t.intermediate_values  # TPE would crash on pruned multi-objective trials with them
        assert t.user_attrs["epochs_done"] == 2 and t.user_attrs["arch"]["stem"] == "cifar"
        for key in (
            "recipe",
            "macs",
            "train_seconds",
            "eval_seconds",
            "test_top1",
            "device",
            "torch_version",
            "inas_version",
        ):
            assert key in t.user_attrs
    assert study.trials[0].user_attrs["params"] < study.trials[1].user_attrs["params"]
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_trial_keeps_its_reason_and_the_search_goes_on(tmp_path, tiny_space, ray_cpu):
    bad = {"channels.multiplier": 0.0625, "recipe.lr": LR_NAN}
    good = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    summary = run_search(settings(tiny_space, tmp_path, trials=2, max_concurrent=1, enqueue=(bad, good)))
    failed, complete = load(tmp_path).trials
    assert failed.state == TrialState.FAIL
    assert "FloatingPointError: training loss became nan" in failed.user_attrs["fail_reason"]
    assert complete.state == TrialState.COMPLETE
    assert summary.failure is None  # one trial finished: there is something to choose from


def test_a_search_where_every_trial_fails_says_why(tmp_path, tiny_space, ray_cpu):
    bad = {"channels.multiplier": 0.0625, "recipe.lr": LR_NAN}
    summary = run_search(settings(tiny_space, tmp_path, trials=1, enqueue=(bad,)))
    assert summary.counts["complete"] == 0
    assert summary.failure is not None and "every trial failed; the first:" in summary.failure
    assert "training loss became nan" in summary.failure


def test_early_stopped_trials_are_pruned(tmp_path, tiny_space, ray_cpu):
    budget = Budget(epochs=3, min_epochs=1, data_fraction=1.0, image_size=16, batch_size=16)
    good = {"channels.multiplier": 0.125, "recipe.lr": LR_OK}
    slow = {**good, "recipe.lr": LR_SLOW}
    run_search(
        settings(
            tiny_space,
            tmp_path,
            trials=6,
            budget=budget,
            dataset="synthetic:200",
            max_concurrent=1,
            enqueue=(good, good, slow, slow, slow, slow),
        )
    )
    trials = load(tmp_path).trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "ASHA stopped no trial"
    for t in trials:
        if t.state == TrialState.PRUNED:
            assert t.values is None and t.user_attrs["epochs_done"] < 3
        else:
            assert t.state == TrialState.COMPLETE and t.user_attrs["epochs_done"] == 3


def test_bad_input_leaves_nothing(tmp_path, tiny_space):
    with pytest.raises(InasError, match="no study .tiny. to resume"):
        run_search(settings(tiny_space, tmp_path, resume=True))
    with pytest.raises(InasError, match="unknown dataset"):
        run_search(settings(tiny_space, tmp_path, dataset="cifar11"))
    with pytest.raises(InasError, match="not a SQLAlchemy URL"):
        run_search(settings(tiny_space, tmp_path, storage="no url"))
    with pytest.raises(InasError, match="--min-epochs 3: must be between 1 and --epochs"):
        run_search(settings(tiny_space, tmp_path, budget=Budget(2, 3, 1.0, 8, 16)))
    assert list(tmp_path.iterdir()) == [tmp_path / "tiny.yaml"]


def test_existing_study_needs_resume(tmp_path, tiny_space):
    optuna.create_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/s.db", directions=["minimize"] * 3)
    with pytest.raises(InasError, match="already exists .* add --resume"):
        run_search(settings(tiny_space, tmp_path))


PEAK = {"running": 0}  # module-level: Ray runs a copy of the callback object


class PeakRunning(Callback):
    """How many trials Ray ran at once: its own count of RUNNING trials at every step."""

    def on_step_end(self, iteration, trials, **info):
        PEAK["running"] = max(PEAK["running"], sum(t.status == "RUNNING" for t in trials))


@pytest.mark.parametrize(("gpus_per_trial", "expected"), [(0.5, 4), (1.0, 2)])
def test_gpu_fractions_pack_trials(tmp_path, tiny_space, gpus_per_trial, expected):
    """Two GPUs declared to Ray: half a GPU a trial runs four at once, a whole GPU two."""
    import ray

    shared = ray.is_initialized()  # the session's ray_cpu, started again below for the tests after this one
    if shared:
        ray.shutdown()
    ray.init(num_cpus=4, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        point = {"channels.multiplier": 0.125, "recipe.lr": LR_OK}
        budget = Budget(epochs=1, min_epochs=1, data_fraction=1.0, image_size=8, batch_size=16)
        PEAK["running"] = 0
        run_search(
            settings(
                tiny_space,
                tmp_path,
                trials=4,
                budget=budget,
                dataset="synthetic:60",
                cpus_per_trial=1,
                gpus_per_trial=gpus_per_trial,
                enqueue=(point,) * 4,
            ),
            callbacks=(PeakRunning(),),
        )
        assert all(t.state == TrialState.COMPLETE for t in load(tmp_path).trials)
        assert PEAK["running"] == expected
    finally:
        ray.shutdown()
        if shared:
            ray.init(**RAY_CPU)


def test_killed_search_resumes_to_the_full_count(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path}/s.db"
    args = [
        sys.executable,
        "-m",
        "inas",
        "search",
        "--space",
        tiny_space,
        "--storage",
        url,
        "--dataset",
        "synthetic:60",
        "--epochs",
        "2",
        "--min-epochs",
        "2",
        "--max-concurrent",
        "1",
        "--quiet",
    ]
    proc = subprocess.Popen(
        [*args, "--trials", "6"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    # Generous bounds: they only catch a hang; the test waits on the study's progress, not on a clock.
    deadline = time.time() + 600
    done = []
    while time.time() < deadline and proc.poll() is None:
        time.sleep(1)
        try:
            done = [t for t in load(tmp_path).trials if t.state.is_finished()]
        except Exception:  # the study does not exist yet
            continue
        if len(done) >= 2:
            break
    assert proc.poll() is None and len(done) >= 2, "the search finished or failed before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = load(tmp_path).trials
    before = {t.number: (t.state, t.values) for t in at_kill if t.state.is_finished()}
    left_running = [t.number for t in at_kill if t.state == TrialState.RUNNING]

    resumed = subprocess.run([*args, "--trials", "6", "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = load(tmp_path).trials
    assert sum(t.state.is_finished() for t in trials) >= 6
    assert not any(t.state == TrialState.RUNNING for t in trials)
    for number in left_running:
        assert trials[number].state == TrialState.FAIL
        assert trials[number].user_attrs["fail_reason"] == "left running by a search that stopped"
    assert all("fail_reason" in t.user_attrs for t in trials if t.state == TrialState.FAIL)
    for number, (state, values) in before.items():  # no finished trial lost or changed
        assert (trials[number].state, trials[number].values) == (state, values)


def test_impossible_resources_are_refused_before_the_study(tmp_path, tiny_space, ray_cpu):
    with pytest.raises(InasError, match=r"--gpus-per-trial 1: the Ray cluster has 0 GPUs"):
        run_search(settings(tiny_space, tmp_path, gpus_per_trial=1.0))
    with pytest.raises(InasError, match=r"--cpus-per-trial 3: the Ray cluster has 2 CPUs"):
        run_search(settings(tiny_space, tmp_path, cpus_per_trial=3))
    assert not (tmp_path / "s.db").exists()


def test_resume_proposes_new_candidates_and_ignores_comments(tmp_path, ray_cpu):
    space = tmp_path / "tiny.yaml"
    space.write_text(
        "name: tiny\nbase: seed/short4\nnum_classes: 10\n"
        "channels: {multiplier: {low: 0.05, high: 0.1}, scope: network, round_to: 4}\n"
    )
    fixed = dict(sampler="random", budget=Budget(1, 1, 1.0, 8, 16))
    run_search(settings(str(space), tmp_path, trials=2, **fixed))
    space.write_text("# reformatted, same space\n" + space.read_text().replace("{low: 0.05", "{ low: 0.05"))
    run_search(settings(str(space), tmp_path, trials=4, resume=True, **fixed))
    proposed = [t.params["channels.multiplier"] for t in load(tmp_path).trials]
    assert len(proposed) == 4 and proposed[2:] != proposed[:2]

    space.write_text(space.read_text().replace("high: 0.1", "high: 0.2"))
    with pytest.raises(InasError, match="was run with other space_fingerprint"):
        run_search(settings(str(space), tmp_path, trials=5, resume=True, **fixed))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_marks_running_trials_and_exits_130(tmp_path, tiny_space, sig):
    url = f"sqlite:///{tmp_path}/s.db"
    args = [sys.executable, "-m", "inas", "search", "--space", tiny_space, "--storage", url]
    args += ["--dataset", "synthetic:60", "--epochs", "3", "--min-epochs", "3", "--max-concurrent", "1"]
    proc = subprocess.Popen(
        [*args, "--trials", "50", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Generous bounds: they only catch a hang; the test waits on the study's progress, not on a clock.
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            if any(t.state.is_finished() for t in load(tmp_path).trials):
                break
        except Exception:  # the study does not exist yet
            continue
    if proc.poll() is not None:
        raise AssertionError(
            f"the search ended (exit {proc.returncode}) before it could be interrupted: {proc.communicate()}"
        )
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    trials = load(tmp_path).trials
    assert trials and not any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials)
    assert all(t.user_attrs.get("interrupted") for t in trials if t.state == TrialState.FAIL)


def test_the_readme_smoke_search_spreads_below_chance(tmp_path, ray_cpu):
    """The README's first command: errors differ between candidates and the best is far below chance
    (0.9 on 10 classes), while params stay those of the full-size networks (a quarter-width copy trains)."""
    from inas.model.config import ArchConfig
    from inas.model.stats import measure
    from inas.search.settings import BUDGETS

    summary = run_search(
        SearchSettings(
            space="googlenet_depth",
            trials=8,
            storage=f"sqlite:///{tmp_path}/s.db",
            dataset="synthetic",
            budget=BUDGETS["smoke"],
            cpus_per_trial=1,
        )
    )
    study = load(tmp_path, "googlenet_depth")
    errors = [t.user_attrs["val_top1"] for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert summary.counts["complete"] >= 2 and min(errors) < 0.45
    assert len({round(e, 3) for e in errors}) >= 3 and max(errors) - min(errors) >= 0.3
    t = next(t for t in study.trials if t.state == TrialState.COMPLETE)
    assert t.user_attrs["train_width"] == 0.25
    assert t.user_attrs["params"] == measure(ArchConfig.from_dict(t.user_attrs["arch"])).params
    assert "width x0.25" in study.user_attrs["settings"]["fidelity"]


def test_candidates_that_break_the_constraint_are_recorded_never_trained(tmp_path, tiny_space, ray_cpu):
    # tiny's two widths: multiplier 0.0625 has about 1.8e4 parameters, 0.125 about 4e4: half break it.
    summary = run_search(settings(tiny_space, tmp_path, trials=2, sampler="random", constraint="params<3e4"))
    trials = load(tmp_path).trials
    infeasible = [t for t in trials if "infeasible" in t.user_attrs]
    trained_ones = [t for t in trials if "infeasible" not in t.user_attrs and "duplicate_of" not in t.user_attrs]
    assert infeasible, "the random sampler proposed no wide candidate: pick another seed"
    for t in infeasible:
        assert t.state == TrialState.PRUNED and t.params["channels.multiplier"] == 0.125
        assert t.user_attrs["params"] >= 3e4 and "params" in t.user_attrs["infeasible"]
        assert "epochs_done" not in t.user_attrs and "train_seconds" not in t.user_attrs  # never trained
        assert t.constraints["params<30000.0"] > 0  # what the sampler learns from
    assert len(trained_ones) == 2 and all(t.params["channels.multiplier"] == 0.0625 for t in trained_ones)
    assert all(t.constraints == {"params<30000.0": 0.0} for t in trained_ones)
    assert summary.counts["infeasible"] == len(infeasible) and summary.failure is None


def test_a_constraint_no_candidate_meets_stops_the_search_and_says_so(tmp_path, tiny_space, ray_cpu):
    summary = run_search(settings(tiny_space, tmp_path, trials=2, sampler="random", constraint="params<1000"))
    assert summary.counts["complete"] == 0 and summary.counts["infeasible"] >= 100
    assert summary.failure.startswith("no candidate met --constraint (the first proposal: params ")


def test_a_latency_constraint_is_checked_on_the_trials_device_before_training(tmp_path, tiny_space, ray_cpu):
    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    summary = run_search(settings(tiny_space, tmp_path, trials=1, constraint="latency_ms<1e-6", enqueue=(point,)))
    (t,) = load(tmp_path).trials
    assert t.state == TrialState.PRUNED and t.user_attrs["infeasible"].startswith("latency_ms ")
    assert t.user_attrs["latency_ms"] > 0 and t.constraints["latency_ms<1e-06"] > 0
    assert "train_seconds" not in t.user_attrs and "val_top1" not in t.user_attrs  # never trained
    assert summary.counts["infeasible"] == 1 and summary.failure.startswith("no candidate met --constraint")


def test_prescreen_trains_the_best_scored_proposal(tmp_path, tiny_space, ray_cpu):
    summary = run_search(settings(tiny_space, tmp_path, trials=2, sampler="random", prescreen=3))
    trials = load(tmp_path).trials
    lost = [t for t in trials if "prescreened" in t.user_attrs]
    assert lost and summary.counts["prescreened"] == len(lost)
    for t in lost:  # each loser names the trained trial that outscored it
        winner = trials[int(t.user_attrs["prescreened"].split("trial ")[1].split()[0])]
        assert t.state == TrialState.PRUNED and "epochs_done" not in t.user_attrs
        assert winner.user_attrs["naswot"] >= t.user_attrs["naswot"] and "started_at" in winner.user_attrs
    assert load(tmp_path).user_attrs["settings"]["prescreen"] == [3, "naswot"]


def test_latency_is_measured_at_batch_one_and_at_the_training_batch(tmp_path, tiny_space, ray_cpu):
    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    run_search(settings(tiny_space, tmp_path, trials=1, objectives=("top1_error", "latency_ms"), enqueue=(point,)))
    (t,) = load(tmp_path).trials
    assert t.state == TrialState.COMPLETE and t.values[1] == t.user_attrs["latency_ms"] > 0
    assert t.user_attrs["latency_batch_ms"] > t.user_attrs["latency_ms"]  # batch 16 against batch 1
    assert (
        t.user_attrs["latency_method"]
        == "median of 20 forward passes after 3 warm-up passes, timed with the wall clock"
    )


def test_proxies_are_recorded_with_their_time(tmp_path, tiny_space, ray_cpu):
    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    run_search(settings(tiny_space, tmp_path, trials=1, proxies=True, enqueue=(point,)))
    (t,) = load(tmp_path).trials
    assert t.state == TrialState.COMPLETE
    assert t.user_attrs["synflow"] > 0 and math.isfinite(t.user_attrs["naswot"])
    assert t.user_attrs["naswot_seconds"] >= 0 and t.user_attrs["synflow_seconds"] >= 0


def test_a_study_searched_before_precision_resumes(tmp_path, tiny_space):
    """A study whose settings hold a recipe with `mixed_precision` (before `precision`) is the same search."""
    import dataclasses

    from inas.search.plan import plan_search
    from inas.search.runner import check_study
    from inas.study.keys import RECIPE_KEY, SETTINGS_KEY
    from inas.study.storage import open_storage

    plan = plan_search(settings(tiny_space, tmp_path, resume=True))
    old = plan.study_settings()
    old[RECIPE_KEY] = {k: v for k, v in old[RECIPE_KEY].items() if k != "precision"} | {"mixed_precision": True}
    storage = open_storage(plan.url, create=True)
    study = optuna.create_study(study_name=plan.study_name, storage=storage)
    study.set_user_attr(SETTINGS_KEY, old)
    assert check_study(plan, storage)
    old[RECIPE_KEY]["lr"] = 0.5
    study.set_user_attr(SETTINGS_KEY, old)
    with pytest.raises(InasError, match="was run with other recipe"):
        check_study(plan, storage)
    other = dataclasses.replace(plan.settings, resume=False)
    with pytest.raises(InasError, match="already exists"):
        check_study(dataclasses.replace(plan, settings=other), storage)


def test_each_phase_is_said_as_it_starts_and_train_time_is_the_robust_time(
    tmp_path, tiny_space, ray_cpu, capfd, monkeypatch
):
    """stderr is no terminal here: the log lines, from loading the data to the first trial's epochs
    (every phase said, however quick: `inas search` leaves out those done within a second)."""
    from inas.study.keys import TIME_OBJECTIVE_KEY

    monkeypatch.setattr("inas.search.runner.PHASE_DELAY_S", 0.0)
    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    run_search(settings(tiny_space, tmp_path, trials=1, enqueue=(point,)), view="live")
    said = [line.split("] ", 1)[-1] for line in capfd.readouterr().err.splitlines()]
    assert said[:5] == [
        "loading synthetic:60 ...",
        "loaded synthetic:60: 60 training and 12 test images",
        "using the Ray already running in this process",  # the fixture's; `inas search` starts its own
        "running 1 trial(s) on Ray (2 CPUs, 0 GPUs: 1 at a time); each trial's process starts and receives the data ...",
        "trial 0 running ...",
    ]
    assert said[5].startswith("trial 0: epoch 1/2 trained; ") and said[5].endswith(" s left")
    assert said[6] == "trial 0: epoch 2/2 trained; 0 s left"
    assert said[7].startswith("trial 0 complete top1_error=") and "[1/1 trained, " in said[7]
    study = load(tmp_path)
    (t,) = study.trials
    assert study.user_attrs[TIME_OBJECTIVE_KEY] == "robust_train_seconds"
    assert t.values[2] == t.user_attrs["robust_train_seconds"] != t.user_attrs["train_seconds"]
    assert t.user_attrs["train_steps"] == 2 * (48 // 16) and t.user_attrs["step_seconds"] > 0


def test_a_study_from_before_the_robust_time_resumes_on_the_wall_clock(tmp_path, tiny_space, ray_cpu):
    """An older study (its train_time the wall clock, no TIME_OBJECTIVE_KEY) loads, resumes, and its new
    trials' train_time is the wall clock too, so that its trials compare like with like."""
    from inas.search.plan import plan_search
    from inas.study.keys import SETTINGS_KEY, TIME_OBJECTIVE_KEY
    from inas.study.storage import open_storage

    point = {"channels.multiplier": 0.0625, "recipe.lr": LR_OK}
    s = settings(tiny_space, tmp_path, trials=2, resume=True, enqueue=(point,))
    plan = plan_search(s)
    old = optuna.create_study(
        study_name="tiny", storage=open_storage(plan.url, create=True), directions=["minimize"] * 3
    )
    old.set_metric_names(list(s.objectives))
    old.set_user_attr(SETTINGS_KEY, plan.study_settings())
    old.add_trial(
        optuna.trial.create_trial(
            params={"channels.multiplier": 0.125, "recipe.lr": LR_OK},
            distributions={
                "channels.multiplier": optuna.distributions.CategoricalDistribution([0.0625, 0.125]),
                "recipe.lr": optuna.distributions.CategoricalDistribution([LR_OK, LR_SLOW, LR_NAN]),
            },
            values=[0.5, 4e4, 9.0],
            user_attrs={"val_top1": 0.5, "params": 40000, "train_seconds": 9.0, "epochs_done": 2, "epochs_total": 2},
        )
    )
    summary = run_search(s)
    study = load(tmp_path)
    assert summary.counts["complete"] == 2 and TIME_OBJECTIVE_KEY not in study.user_attrs
    first, new = study.trials
    assert first.values[2] == 9.0 and "robust_train_seconds" not in first.user_attrs  # kept as it was
    assert new.values[2] == new.user_attrs["train_seconds"] and new.user_attrs["robust_train_seconds"] > 0


def test_a_quick_phase_goes_unsaid_and_a_slow_one_is_said_with_its_start(capfd):
    from inas.search.runner import Phases

    phases = Phases("log", time.time() - 10, delay=0.05)
    with phases.during("quick ...") as quick:
        pass
    with phases.during("slow ...") as slow:
        time.sleep(0.3)
    with Phases(None, time.time(), delay=0.0).during("silent ...") as silent:
        time.sleep(0.1)
    assert not quick.is_set() and slow.is_set() and not silent.is_set()
    assert capfd.readouterr().err == "[10 s] slow ...\n"


def test_what_the_phases_say():
    from inas.search.runner import loading_line, ray_line
    from inas.search.settings import BUDGETS

    proxy = SearchSettings(space="s", dataset="imagefolder:/data/cifar", budget=BUDGETS["proxy"])
    assert loading_line(proxy) == (
        "loading imagefolder:/data/cifar (decoded and cached on first use, read from the cache after; "
        "the budget trains on 10% of its training images) ..."
    )
    assert loading_line(SearchSettings(space="s", budget=TINY_BUDGET)) == "loading cifar10 ..."
    assert ray_line(SearchSettings(space="s", address="head:6379")) == "joining the Ray cluster at head:6379 ..."
    assert ray_line(SearchSettings(space="s", num_cpus=2)) in (
        "starting a local Ray (2 CPUs) ...",
        "using the Ray already running in this process",  # another test's Ray
    )


def test_timeout_stops_the_trials_still_training(tmp_path, tiny_space, ray_cpu):
    """At --timeout Tune stops; a trial it stopped is failed with the reason, none is left running."""
    from inas.search.runner import TIMEOUT_REASON
    from inas.study.record import fail_reason

    endless = Budget(epochs=100_000, min_epochs=100_000, data_fraction=1.0, image_size=8, batch_size=16)
    start = time.time()
    summary = run_search(settings(tiny_space, tmp_path, trials=5, budget=endless, max_concurrent=1, timeout_s=30))
    assert summary.timed_out and time.time() - start < 150
    [trial] = load(tmp_path).trials  # Ray is up (the fixture's): the first trial starts in seconds
    assert trial.state == TrialState.FAIL and fail_reason(trial) == TIMEOUT_REASON
    assert summary.failure == "--timeout (30 s) passed before any trial finished; give a longer one"


def test_a_search_done_before_its_timeout_is_not_timed_out(tmp_path, tiny_space, ray_cpu):
    summary = run_search(settings(tiny_space, tmp_path, trials=1, timeout_s=600))
    assert not summary.timed_out and summary.counts["complete"] == 1
