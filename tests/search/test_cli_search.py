"""`inas search` through Typer's CliRunner, and optuna-dashboard reading what it wrote."""

import io
import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from inas.cli import app

runner = CliRunner()


def search(tmp_path, space, *extra):
    args = ["search", "--space", space, "--storage", f"sqlite:///{tmp_path}/s.db", "--dataset", "synthetic:60"]
    return runner.invoke(app, [*args, "--epochs", "1", "--min-epochs", "1", *extra])


def wsgi_get(application, path: str) -> tuple[str, bytes]:
    status = {}
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
    }
    body = b"".join(application(environ, lambda s, headers, exc=None: status.setdefault("s", s)))
    return status["s"], body


def test_search_command_and_dashboard(tmp_path, tiny_space, ray_cpu):
    result = search(tmp_path, tiny_space, "--trials", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert (
        "study tiny in sqlite:///" in result.stdout
        and "browse: inas dashboard tiny --storage sqlite:///" in result.stdout
    )
    # stderr is not a terminal here: a plain line per finished trial, with the progress, not a live view
    assert "trial 0 " in result.stderr and "/2 trained, " in result.stderr and " left]" in result.stderr

    from optuna_dashboard import wsgi

    status, body = wsgi_get(wsgi(f"sqlite:///{tmp_path}/s.db"), "/api/studies")
    assert status.startswith("200")
    studies = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in studies] == ["tiny"]

    again = search(tmp_path, tiny_space, "--trials", "2")
    assert again.exit_code == 2 and "already exists" in again.stderr and "--resume" in again.stderr


def test_log_lines_say_which_candidates_were_never_trained(tmp_path, tiny_space, ray_cpu):
    args = ("--trials", "2", "--sampler", "random", "--constraint", "params<3e4", "--prescreen", "2")
    result = search(tmp_path, tiny_space, *args)
    assert result.exit_code == 0, result.output
    assert re.search(r"trial \d+ broke --constraint \(params [\d.e+]+ is not < 3e\+04; not trained\)", result.stderr)
    assert re.search(
        r"trial \d+ lost --prescreen \(scored .*; trial \d+ scored .* and was trained; not trained\)", result.stderr
    )
    closing = next(line for line in result.stdout.splitlines() if line.startswith("study tiny in"))
    assert re.search(r"not trained: .*\d+ broke --constraint, \d+ lost --prescreen", closing), closing


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objectives", "top1_error,speed"], "unknown objective 'speed'"),
        (["--sampler", "grid"], "--sampler: unknown sampler 'grid'; choose one of: tpe, nsga2, random, gp"),
        (["--budget", "huge"], "--budget: unknown budget 'huge'; choose one of: smoke, proxy, standard, paper"),
        (["--min-epochs", "3"], "--min-epochs 3: must not exceed --epochs (1)"),
        (["--warm-start", "paper"], "--warm-start 'paper': no such file; give `seed` or a JSON list of candidates"),
        (["--resume"], "no study 'tiny' to resume"),
        (["--dataset", "cifar11"], "unknown dataset 'cifar11'"),
        (["--trials", "0"], "--trials: must be at least 1"),
        (["--timeout", "0"], "--timeout '0': give a duration above 0"),
        (["--dataset", "synthetic:10", "--budget", "smoke"], "10 training images leave 10 to train and 0 to validate"),
    ],
)
def test_bad_search_input(tmp_path, tiny_space, extra, message):
    result = search(tmp_path, tiny_space, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]  # nothing half-written


def test_warm_start_file_runs_its_candidates_first(tmp_path, tiny_space, ray_cpu):
    """A study's rows, fed back with --warm-start, are trained as they are; a file that is not one is refused."""
    bad = search(tmp_path, tiny_space, "--trials", "1", "--warm-start", tiny_space)
    assert bad.exit_code == 2 and "tiny.yaml: not valid JSON" in bad.stderr and bad.stderr.count("\n") == 1
    rows = [
        {"number": 7, "state": "complete", "channels.multiplier": m, "recipe.lr": 0.05, "test_top1": None}
        for m in (0.125, 0.0625)
    ]
    (tmp_path / "shortlist.json").write_text(json.dumps(rows))
    args = ("--trials", "2", "--sampler", "random", "--warm-start", str(tmp_path / "shortlist.json"))
    result = search(tmp_path, tiny_space, *args)
    assert result.exit_code == 0, result.output
    import optuna

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/s.db")
    assert [t.params for t in study.trials] == [{"channels.multiplier": m, "recipe.lr": 0.05} for m in (0.125, 0.0625)]


def test_search_exit_code_as_a_subprocess(tmp_path, tiny_space):
    proc = subprocess.run(
        [sys.executable, "-m", "inas", "search", "--space", tiny_space, "--storage", "not a url"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "not a SQLAlchemy URL" in proc.stderr and "Traceback" not in proc.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cluster_leaves_no_folder(tmp_path, tiny_space):
    url = f"sqlite:///{tmp_path}/new/folder/s.db"
    args = ["search", "--space", tiny_space, "--storage", url, "--dataset", "synthetic:60"]
    args += ["--address", f"127.0.0.1:{free_port()}"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "nothing answers there" in result.stderr and "ray start --head" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.yaml"]


def test_unwritable_storage_folder(tmp_path, tiny_space):
    (tmp_path / "file").write_text("")
    url = f"sqlite:///{tmp_path}/file/s.db"
    result = runner.invoke(app, ["search", "--space", tiny_space, "--storage", url, "--dataset", "synthetic:60"])
    assert result.exit_code == 2 and "cannot write the study's folder" in result.stderr


@pytest.fixture
def no_ray(monkeypatch):
    """Fail the test if the search starts Ray."""

    def refuse(_settings):
        raise AssertionError("Ray was started before the input was checked")

    monkeypatch.setattr("inas.search.runner.ray_session", refuse)


def test_storage_and_resume_mistakes_are_found_before_ray(tmp_path, tiny_space, no_ray):
    import optuna

    optuna.create_study(study_name="tiny", storage=f"sqlite:///{tmp_path}/s.db")
    result = search(tmp_path, tiny_space)
    assert result.exit_code == 2 and "already exists" in result.stderr
    result = search(tmp_path, tiny_space, "--resume", "--study", "other")
    assert result.exit_code == 2 and "no study 'other'" in result.stderr
    (tmp_path / "plain.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    url = f"sqlite:///{tmp_path}/plain.db"
    result = runner.invoke(app, ["search", "--space", tiny_space, "--storage", url, "--dataset", "synthetic:60"])
    assert result.exit_code == 2 and "plain.db" in result.stderr
    for bad in ("a/b", "../up", ".hidden", "x" * 101):
        result = search(tmp_path, tiny_space, "--study", bad)
        assert result.exit_code == 2 and "a study name is" in result.stderr


def test_a_search_where_every_trial_fails_exits_1(tmp_path, tiny_space, monkeypatch):
    from inas.search.runner import SearchSummary

    counts = {"complete": 0, "pruned": 0, "fail": 2, "copies": 0, "infeasible": 0, "prescreened": 0}
    summary = SearchSummary(
        "tiny",
        "sqlite:///s.db",
        counts,
        0,
        {},
        1.0,
        0,
        "every trial failed; the first: FloatingPointError: loss became nan",
    )
    monkeypatch.setattr("inas.search.runner.run_search", lambda settings, view: summary)
    result = search(tmp_path, tiny_space, "--quiet")
    assert result.exit_code == 1, result.output
    assert "0 complete" in result.stdout
    assert "error: every trial failed; the first: FloatingPointError: loss became nan" in result.stderr


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        (
            "val_top1<0.5",
            "--constraint 'val_top1<0.5': unknown value 'val_top1'; constrain one of params, macs, latency_ms",
        ),
        ("params<<2", "--constraint 'params<<2': use constraints like 'params<2e6'"),
        ("params<1e999", "--constraint 'params<1e999': '1e999' is not a finite number"),
    ],
)
def test_a_bad_constraint_is_refused_before_ray(tmp_path, tiny_space, no_ray, constraint, message):
    result = search(tmp_path, tiny_space, "--constraint", constraint)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prescreen", "0"], "--prescreen 0: must be between 1 (no prescreen) and 16"),
        (["--prescreen", "2", "--prescreen-proxy", "flops"], "--prescreen-proxy 'flops': choose naswot or synflow"),
        (["--sampler", "gp", "--constraint", "params<2e6"], "--sampler gp cannot learn --constraint"),
    ],
)
def test_a_bad_prescreen_or_sampler_is_refused_before_ray(tmp_path, tiny_space, no_ray, args, message):
    result = search(tmp_path, tiny_space, *args)
    assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "s.db").exists()
