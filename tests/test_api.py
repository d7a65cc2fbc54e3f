"""The Python API beside the CLI: `import inas` stays light, and its names do what the README says."""

import subprocess
import sys

import pytest

import inas
from inas.errors import UnknownNameError
from tests.search.conftest import TINY_SPACE


def test_import_inas_loads_neither_torch_nor_optuna_nor_ray():
    code = (
        "import sys, inas; inas.SearchSettings; inas.Budget; inas.BUDGETS; dir(inas); "
        "bad = [m for m in ('torch', 'optuna', 'ray') if m in sys.modules]; assert not bad, bad"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_the_public_names():
    from inas.search.settings import BUDGETS, SearchSettings

    assert inas.SearchSettings is SearchSettings and inas.BUDGETS is BUDGETS
    assert set(inas.__all__) <= set(dir(inas))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        inas.nothing  # noqa: B018


def test_run_search_takes_settings_or_their_fields():
    with pytest.raises(UnknownNameError, match="budget: unknown budget 'huge'"):
        inas.run_search(space="tiny", budget="huge")
    with pytest.raises(TypeError, match="not both"):
        inas.run_search(inas.SearchSettings(space="tiny"), trials=3)


def test_a_search_through_the_python_api(tmp_path, ray_cpu):
    (tmp_path / "tiny.yaml").write_text(TINY_SPACE)
    summary = inas.run_search(
        space=str(tmp_path / "tiny.yaml"),
        trials=1,
        storage=f"sqlite:///{tmp_path}/s.db",
        dataset="synthetic:60",
        budget="smoke",
        enqueue=({"channels.multiplier": 0.0625, "recipe.lr": 0.05},),
    )
    assert isinstance(summary, inas.SearchSummary) and summary.study == "tiny" and summary.ran == 1
