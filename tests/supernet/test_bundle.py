"""A supernet folder is trusted in nothing: every lie it can tell (an edited description, the weights of
another run, a missing file, a space that changed since) is refused in one line, never used."""

import json
import shutil

import pytest
import torch

from inas.supernet.bundle import CONFIG, WEIGHTS, SupernetError, load_supernet, read_info
from tests.supernet.tiny_supernet import TINY_SPACE, train_tiny_supernet, write_space


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two supernets of the same space, trained with different seeds (two runs)."""
    root = tmp_path_factory.mktemp("supernets")
    space = write_space(root)
    infos = [train_tiny_supernet(root / f"run{seed}", space, seed=seed) for seed in (0, 1)]
    return root, space, infos


@pytest.fixture
def folder(trained, tmp_path):
    root, _, _ = trained
    shutil.copytree(root / "run0", tmp_path / "sn")
    return tmp_path / "sn"


def edit(folder, **values):
    path = folder / CONFIG
    raw = json.loads(path.read_text())
    raw.update(values)
    path.write_text(json.dumps(raw))


def one_line(e: pytest.ExceptionInfo) -> str:
    message = str(e.value)
    assert "\n" not in message
    return message


def test_a_trained_folder_loads_as_its_description_says(trained):
    root, space, (info, other) = trained
    supernet, loaded = load_supernet(root / "run0")
    assert loaded == read_info(root / "run0") == info
    assert loaded.space == space and loaded.epochs_done == 1 and loaded.hash == info.weights_sha256[:12]
    assert info.hash != other.hash  # another run, other weights
    assert not supernet.training and all(t.device.type == "cpu" for t in supernet.state_dict().values())


def test_weights_of_another_run_are_refused(trained, folder):
    root, _, _ = trained
    shutil.copy(root / "run1" / WEIGHTS, folder / WEIGHTS)
    read_info(folder)  # the description alone is sound
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert "its SHA-256 differs" in one_line(e) and "different epochs or runs" in str(e.value)


def test_an_edited_hash_is_refused(folder):
    edit(folder, weights_sha256="0" * 64)
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert WEIGHTS in one_line(e) and "SHA-256" in str(e.value)


def test_weights_edited_in_place_are_refused(folder):
    data = bytearray((folder / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (folder / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(SupernetError, match="SHA-256"):
        load_supernet(folder)


@pytest.mark.parametrize("name", [WEIGHTS, CONFIG])
def test_a_missing_file_is_refused(folder, name):
    (folder / name).unlink()
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert name in one_line(e) and "missing" in str(e.value)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(SupernetError) as e:
        read_info(tmp_path / "nowhere")
    assert "no such supernet folder" in one_line(e) and "inas supernet train" in str(e.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"format": "inas-supernet/0"}, "not a supernet description"),
        ({"width": 2.0}, "`width` is 2.0"),
        ({"classes": "ten"}, "`classes` is 'ten'"),
        ({"data_fraction": 0}, "`data_fraction` is 0"),
        ({"mean": [0.5] * 9}, "`mean` is"),
        ({"recipe": {"lr": -1}}, "recipe"),
        ({"recipe": "sgd"}, "`recipe` is not an object"),
        ({"history": "none"}, "`history` is not a list"),
        ({"weights_sha256": 7}, "`weights_sha256` is 7"),
        ({"rule": "spos"}, "`rule` is 'spos'"),
        ({"widest": {"stages": "deep"}}, "does not load"),
    ],
)
def test_an_edited_description_is_refused(folder, values, message):
    edit(folder, **values)
    with pytest.raises(SupernetError) as e:
        read_info(folder)
    assert message in one_line(e) and "train the supernet again" in str(e.value)


def test_a_description_that_is_not_json_is_refused(folder):
    (folder / CONFIG).write_text("{not json")
    with pytest.raises(SupernetError) as e:
        read_info(folder)
    one_line(e)


def test_an_edited_widest_network_is_refused(folder):
    raw = json.loads((folder / CONFIG).read_text())
    raw["widest"]["stages"][0]["modules"][0][0] += 4  # one more channel than the space asks for
    (folder / CONFIG).write_text(json.dumps(raw))
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert "widest network is not the space's" in one_line(e)


def test_a_space_changed_since_training_is_refused(trained, folder, tmp_path):
    root, space, _ = trained
    changed = write_space(tmp_path, TINY_SPACE.replace("[0.25, 0.5]", "[0.25, 0.75]"), "tinynet.yaml")
    edit(folder, space=changed)  # the folder names a space file whose dimensions are not those it was trained on
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert "another version of space" in one_line(e)


def test_a_linked_description_is_refused(folder, tmp_path):
    target = tmp_path / "elsewhere.json"
    shutil.move(folder / CONFIG, target)
    (folder / CONFIG).symlink_to(target)
    with pytest.raises(SupernetError, match="not a regular file"):
        read_info(folder)


def test_weights_that_do_not_fit_the_space_are_refused(folder):
    from safetensors.torch import save_file

    from inas.train.bundle import sha256

    save_file({"net.fc.weight": torch.zeros(2, 2)}, folder / WEIGHTS)
    edit(folder, weights_sha256=sha256(folder / WEIGHTS))  # a consistent folder, of another network
    with pytest.raises(SupernetError) as e:
        load_supernet(folder)
    assert "does not fit the space's supernet" in one_line(e)


@pytest.mark.parametrize(
    ("where", "values", "message"),
    [
        ("resume", {"optimizer": {"state": {"first": {}}, "param_groups": []}}, "optimizer state or the history"),
        ("resume", {"rng": [3]}, "`rng` is not a generator's state"),
        ("resume", {"epoch": 7}, "not of the epoch supernet.json records"),
        ("config", {"history": [{"epoch": 1, "loss": "low"}]}, "optimizer state or the history"),
    ],
)
def test_a_resume_state_that_lies_is_refused(folder, where, values, message):
    from inas.supernet.bundle import RESUME_JSON, resume_state

    if where == "config":
        edit(folder, **values)
    else:
        path = folder / RESUME_JSON
        raw = json.loads(path.read_text())
        raw.update(values)
        path.write_text(json.dumps(raw))
    supernet, info = load_supernet(folder)
    with pytest.raises(SupernetError) as e:
        resume_state(folder, info, supernet)
    assert message in one_line(e)
