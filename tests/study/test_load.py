"""Opening a study to read: by name, by .db path; nothing is created when it is missing."""

import optuna
import pytest

from inas.errors import InasError
from inas.study.load import open_study


def test_a_db_path_with_one_study_opens_it(tmp_path):
    url = f"sqlite:///{tmp_path}/one.db"
    optuna.create_study(study_name="only", storage=url)
    ref = open_study(str(tmp_path / "one.db"))
    assert ref.name == "only" and ref.url == url and ref.study_id == ref.storage.get_study_id_from_name("only")


def test_a_missing_file_is_an_error_and_is_not_created(tmp_path):
    with pytest.raises(InasError, match="does not exist"):
        open_study("nosuch", f"sqlite:///{tmp_path}/nosuch.db")
    assert not (tmp_path / "nosuch.db").exists()


def test_an_unknown_name_lists_the_studies_there(tmp_path):
    url = f"sqlite:///{tmp_path}/two.db"
    for name in ("a", "b"):
        optuna.create_study(study_name=name, storage=url)
    with pytest.raises(InasError, match="no study 'c' in .*; studies there: a, b"):
        open_study("c", url)
    with pytest.raises(InasError, match="holds 2 studies"):
        open_study(str(tmp_path / "two.db"))


def _varied_study(url: str) -> optuna.Study:
    """Every kind of value a trial holds: int, float (log), categorical (numbers, text, None) choices,
    several objectives with an infinite one, intermediate values with a NaN, user and system attributes
    (constraints), and every state."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState, create_trial

    study = optuna.create_study(study_name="varied", storage=url, directions=["minimize", "maximize"])
    dists = {
        "n": IntDistribution(1, 9),
        "lr": FloatDistribution(1e-4, 1.0, log=True),
        "kind": CategoricalDistribution(["a", 2, None, 0.5]),
    }
    for i, state in enumerate([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.COMPLETE]):
        study.add_trial(
            create_trial(
                state=state,
                values=[0.1 * i, float("inf") if i == 3 else i] if state == TrialState.COMPLETE else None,
                params={"n": i + 1, "lr": 10.0 ** -(i + 1), "kind": ["a", 2, None, 0.5][i]},
                distributions=dists,
                user_attrs={"arch": {"stages": [[1, 2], [3]]}, "curve": [[1, 0.5]], "note": f"trial {i}"},
                system_attrs={"constraints": [0.0, -1.0]},
                intermediate_values={1: 0.5, 2: float("nan") if i == 1 else 0.25},
            )
        )
    trial = study.ask({"n": dists["n"]})  # a RUNNING trial, with no values
    trial.set_user_attr("started", True)
    return study


def test_the_snapshot_reads_every_trial_as_optuna_does(tmp_path):
    import math

    url = f"sqlite:///{tmp_path}/v.db"
    _varied_study(url)
    ref = open_study(str(tmp_path / "v.db"))
    expected = optuna.load_study(study_name="varied", storage=url).get_trials(deepcopy=False)
    got = ref.study.get_trials(deepcopy=False)
    assert [t.number for t in got] == [0, 1, 2, 3, 4]
    for a, b in zip(got, expected, strict=True):
        nan = {k for k, v in b.intermediate_values.items() if math.isnan(v)}  # NaN is never equal to itself
        assert {k for k, v in a.intermediate_values.items() if math.isnan(v)} == nan
        a.intermediate_values = {k: v for k, v in a.intermediate_values.items() if k not in nan}
        b.intermediate_values = {k: v for k, v in b.intermediate_values.items() if k not in nan}
        assert a == b and a._trial_id == b._trial_id and a.distributions == b.distributions
    assert [t.number for t in ref.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))] == [0, 3]


def test_a_write_through_the_study_is_read_back(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    _varied_study(url)
    ref = open_study(str(tmp_path / "v.db"))
    assert len(ref.study.get_trials(deepcopy=False)) == 5
    ref.study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    ref.study.get_trials(deepcopy=False)[1].user_attrs["changed here"] = 1  # deepcopy=False: ours to not touch
    assert len(ref.study.get_trials(deepcopy=False)) == 6


def test_another_schema_is_read_through_optuna(tmp_path, monkeypatch):
    from inas.study import snapshot

    url = f"sqlite:///{tmp_path}/v.db"
    _varied_study(url)
    monkeypatch.setattr(snapshot, "KNOWN_SCHEMAS", ("v0.0.0",))
    ref = open_study(str(tmp_path / "v.db"))
    assert snapshot.read_trials(ref.storage, ref.study_id) is None
    assert len(ref.study.get_trials(deepcopy=False)) == 5


def test_a_refreshing_snapshot_reads_what_a_search_wrote_since(tmp_path):
    from inas.study.snapshot import Snapshot

    url = f"sqlite:///{tmp_path}/v.db"
    study = _varied_study(url)  # trial 4 is RUNNING
    ref = open_study(str(tmp_path / "v.db"))
    live = optuna.load_study(study_name="varied", storage=Snapshot(ref.storage, max_age_s=0.0))
    assert [t.state.name for t in live.get_trials(deepcopy=False)][-1] == "RUNNING"
    study.tell(4, [0.5, 1.0])  # the search, through its own storage
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    states = [t.state.name for t in live.get_trials(deepcopy=False)]
    assert states == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE", "COMPLETE", "FAIL"]
    frozen = optuna.load_study(study_name="varied", storage=Snapshot(ref.storage))
    n = len(frozen.get_trials(deepcopy=False))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    assert len(frozen.get_trials(deepcopy=False)) == n  # without max_age_s: read once
