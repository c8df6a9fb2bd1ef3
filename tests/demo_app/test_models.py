"""Order tickets are validated field by field before the app accepts them."""

from __future__ import annotations

import pytest

from agent.demo_app.models import OrderFields, parse_order


def test_valid_ticket_is_normalised() -> None:
    """Symbol and side are upper-cased, quantity becomes an int, price stays a string."""
    got = parse_order(
        {
            "symbol": "msft",
            "side": "buy",
            "quantity": "100",
            "price": "412.50",
            "account": " ACCT-1 ",
        }
    )
    assert got == OrderFields("MSFT", "BUY", 100, "412.50", "ACCT-1")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("symbol", "MS FT", "bad symbol"),
        ("side", "HOLD", "bad side"),
        ("quantity", "0", "bad quantity"),
        ("quantity", "1e3", "bad quantity"),
        ("price", "-1", "bad price"),
        ("price", "1.23456", "bad price"),
        ("account", "", "bad account"),
    ],
)
def test_bad_field_is_rejected_naming_it(field: str, value: str, error: str) -> None:
    """The first bad field is named in the error."""
    ticket = {"symbol": "MSFT", "side": "BUY", "quantity": "1", "price": "1.00", "account": "A"}
    ticket[field] = value
    with pytest.raises(ValueError, match=error):
        parse_order(ticket)


def test_non_object_is_rejected() -> None:
    """A JSON list is not an order."""
    with pytest.raises(ValueError, match="JSON object"):
        parse_order(["MSFT"])
