import pytest

from inas.search.cluster import placement
from tests.search.test_runner import settings


@pytest.mark.parametrize(
    ("resources", "node_cpus", "gpus", "cpus", "fits", "share"),
    [
        ({"CPU": 4, "GPU": 2}, [4], 0.5, 1, 4, 0.5),  # two trials on each GPU: half its memory each
        ({"CPU": 4, "GPU": 2}, [4], 1.0, 1, 2, 1.0),
        ({"CPU": 4}, [4], 0, 1, 4, 0.25),  # four CPU trials share the node's RAM
        ({"CPU": 8}, [4, 4], 0, 2, 4, 0.5),  # two nodes: two trials on each
    ],
)
def test_trials_sharing_a_device_share_its_memory(
    monkeypatch, tmp_path, tiny_space, resources, node_cpus, gpus, cpus, fits, share
):
    import ray

    monkeypatch.setattr(ray, "cluster_resources", lambda: resources)
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": c}} for c in node_cpus])
    where = placement(settings(tiny_space, tmp_path, gpus_per_trial=gpus, cpus_per_trial=cpus))
    assert (where.fits, where.memory_share) == (fits, pytest.approx(share))
