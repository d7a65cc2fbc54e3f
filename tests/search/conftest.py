import pytest

TINY_SPACE = """\
name: tiny
description: Two small networks for fast search tests.
base: seed/short4
num_classes: 10
channels: {multiplier: {choices: [0.0625, 0.125]}, scope: network, round_to: 4}
recipe: {lr: {choices: [0.05, 1.0e-6, 1.0e+30]}}
"""


@pytest.fixture
def tiny_space(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return str(path)
