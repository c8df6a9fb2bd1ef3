"""Retention periods and the choice of class per session."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.ship.retention import add_retention, longest_class, parse_retention

CLASSES = {"default": "6y", "communications": "3y", "orders": "7y"}


def test_years_are_calendar_years_and_leap_day_ends_on_28_february() -> None:
    """17a-4 periods in years; 2028-02-29 + 3y = 2031-02-28."""
    t = dt.datetime(2028, 2, 29, 13, 0, tzinfo=dt.UTC)
    assert add_retention(t, "3y") == dt.datetime(2031, 2, 28, 13, 0, tzinfo=dt.UTC)
    assert add_retention(t, "10d") == dt.datetime(2028, 3, 10, 13, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("spec", ["", "6", "y", "0y", "-1y", "6 years", "6m"])
def test_unparseable_periods_are_refused(spec: str) -> None:
    """Only '<n>y' and '<n>d' with n > 0."""
    with pytest.raises(ValueError, match="not a retention period"):
        parse_retention(spec)


def test_longest_class_wins_and_unknown_names_fall_back_to_default() -> None:
    """Communications + orders → orders (the longer); nothing known → default."""
    assert longest_class(CLASSES, ["communications", "orders"]) == "orders"
    assert longest_class(CLASSES, ["communications"]) == "communications"
    assert longest_class(CLASSES, ["mystery"]) == "default"
