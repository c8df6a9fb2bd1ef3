"""``--speed``: the wait before a step is the recorded gap minus what the step before took,
never negative; ``asap`` and the first step never wait; an unknown speed is a usage error."""

from __future__ import annotations

import pytest

from agent.errors import UsageError
from agent.redrive.pace import check_speed, pause_s

S = 1_000_000_000


def test_recorded_gap_minus_the_time_the_step_took() -> None:
    assert pause_s("recorded", 10 * S, 13 * S, 0.5) == pytest.approx(2.5)
    assert pause_s("recorded", 10 * S, 10 * S + S // 4, 0.0) == pytest.approx(0.25)


def test_never_negative_first_step_and_asap_do_not_wait() -> None:
    assert pause_s("recorded", 10 * S, 11 * S, 4.0) == 0.0  # the step took longer than the gap
    assert pause_s("recorded", 12 * S, 11 * S, 0.0) == 0.0  # clocks out of order
    assert pause_s("recorded", None, 11 * S, 0.0) == 0.0  # the first step
    assert pause_s("asap", 10 * S, 30 * S, 0.0) == 0.0


def test_unknown_speed_is_a_usage_error() -> None:
    assert check_speed("recorded") == "recorded" and check_speed("asap") == "asap"
    with pytest.raises(UsageError, match="--speed 'slow'"):
        check_speed("slow")
