"""``--ignore`` patterns and presets applied to both sides of a text comparison, and a
region's text change compared with the recorded one."""

from __future__ import annotations

import pytest

from agent.errors import UsageError
from agent.redrive.text import compile_ignores, normalize, region_divergence


def test_presets_hide_times_and_numbers() -> None:
    times = compile_ignores(["@times"])
    assert normalize("at 10:15:02 on 2026-12-06", times) == normalize(
        "at 9:01 PM on 2027-01-31", times
    )
    assert normalize("ticks 160  polls 3", compile_ignores(["@numbers"])) == "ticks # polls #"
    assert normalize("ticks 160", []) == "ticks 160"


def test_own_regex_and_bad_patterns() -> None:
    assert normalize("order WS-000123 ok", compile_ignores([r"WS-\d+"])) == "order # ok"
    with pytest.raises(UsageError, match="unknown preset"):
        compile_ignores(["@prices"])
    with pytest.raises(UsageError, match="not a regular expression"):
        compile_ignores(["(unclosed"])


def test_region_change_is_compared_not_the_region_itself() -> None:
    """A renamed button present before and after is no change at this step; a result the
    step shows otherwise is."""
    rec = ("Symbol Send (REST)", "Symbol Send (REST) Sent RS-1")
    now = ("Symbol Post (REST)", "Symbol Post (REST) Sent RS-1")
    assert region_divergence(rec, now, []) is None
    other = ("Symbol Send (REST)", "Symbol Send (REST) Rejected")
    assert region_divergence(rec, other, []) == (
        "region text changed otherwise: added 'Rejected'; recorded added 'RS-1 Sent'"
    )
    ticks = ("ticks 160", "ticks 171 Sent")
    numbers = compile_ignores(["@numbers"])
    assert region_divergence(("ticks 5", "ticks 9 Sent"), ticks, numbers) is None


def test_a_change_that_reached_the_recording_late_is_not_this_steps() -> None:
    """The recording's region changed during this step only because an earlier step's
    answer arrived late; the re-drive had it before the step. Both end alike: no divergence.
    Ending otherwise still diverges."""
    rec = ("Order RS-3 accepted", "Cancelled orders")
    now = ("Cancelled orders", "Cancelled orders")
    assert region_divergence(rec, now, []) is None
    assert region_divergence(rec, ("Cancelled orders", "Cancel failed"), []) == (
        "region text changed otherwise: added 'Cancel failed', removed 'Cancelled orders'; "
        "recorded added 'Cancelled orders', removed 'Order RS-3 accepted'"
    )
