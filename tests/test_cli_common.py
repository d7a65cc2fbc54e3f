"""The option checks commands share, made before anything heavy loads."""

import pytest

from inas.cli_common import parse_duration
from inas.errors import ConfigError
from inas.limits import MAX_TIMEOUT_S


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600), ("90m", 5400), ("1.5h", 5400), (" 45s ", 45), (".5h", 1800), (None, None)]
)
def test_durations_in_seconds_minutes_or_hours(text, seconds):
    assert parse_duration(text, "--timeout") == seconds


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1d", "1e9", "", "nan", "inf", "9" * 400, f"{MAX_TIMEOUT_S + 1}"])
def test_a_bad_duration_is_refused_naming_the_option(text):
    with pytest.raises(ConfigError, match=r"^--timeout .*: give a duration above 0 and at most a year"):
        parse_duration(text, "--timeout")
