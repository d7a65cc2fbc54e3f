"""Fixtures shared across test packages."""

import json
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Tests keep inas's cache (decoded image folders) to themselves, never in the user's ~/.cache, and
    find studies where each test runs, whatever INAS_HOME the developer's shell sets (a test that wants
    one sets it itself)."""
    os.environ["INAS_CACHE"] = str(tmp_path_factory.mktemp("inas-cache"))
    home = os.environ.pop("INAS_HOME", None)
    yield
    os.environ.pop("INAS_CACHE", None)
    if home is not None:
        os.environ["INAS_HOME"] = home


@pytest.fixture(scope="session")
def ray_cpu():
    """One local Ray for the tests that need one (starting Ray costs seconds). A test that needs a Ray
    of its own (other resources declared) starts this one again when it is done."""
    import ray

    ray.init(**RAY_CPU)
    yield ray
    ray.shutdown()


RAY_CPU = dict(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)


# A network small enough to train in seconds, as a config file for `inas train --config`.
TINY_ARCH = {
    "stem": "cifar",
    "stages": [{"modules": [[8, 8, 8, 4, 8, 8]], "downsample": False}, {"modules": [[8, 8, 8, 4, 8, 8]]}],
    "input_size": 12,
}


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY_ARCH))
    return path
