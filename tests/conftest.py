"""Fixtures shared across test packages."""

import pytest


@pytest.fixture(scope="session")
def ray_cpu():
    """One local Ray for the tests that need one (starting Ray costs seconds)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
