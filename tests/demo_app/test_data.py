"""The demo app's data is deterministic and shaped like what the masking tests look for."""

from __future__ import annotations

import re

from agent.demo_app.data import (
    CELL_COUNT,
    CLIENTS,
    COLS,
    DEMO_SECRETS,
    DEMO_USERS,
    ROWS,
    blotter_html,
    blotter_initial,
    blotter_tick,
    find_client,
    report_csv,
)

PRICE = re.compile(r"^\d+\.\d{2}$")


def test_blotter_tick_is_a_pure_function_of_tick_count_and_seed() -> None:
    """Same tick, same cells; another tick or seed, other cells."""
    assert blotter_tick(7, 200) == blotter_tick(7, 200)
    assert blotter_tick(7, 200) != blotter_tick(8, 200)
    assert blotter_tick(7, 200) != blotter_tick(7, 200, seed=1)


def test_each_tick_changes_distinct_in_range_cells_with_price_strings() -> None:
    """200 distinct (row, col) inside 50x20, every value a two-decimal price."""
    cells = blotter_tick(1, 200)
    assert len({(r, c) for r, c, _ in cells}) == 200
    assert all(0 <= r < ROWS and 0 <= c < COLS and PRICE.match(v) for r, c, v in cells)


def test_cell_count_is_capped_at_the_whole_grid() -> None:
    """Asking for more cells than the grid has changes every cell once."""
    assert sorted((r, c) for r, c, _ in blotter_tick(3, 5000)) == [
        (r, c) for r in range(ROWS) for c in range(COLS)
    ]
    assert len(blotter_initial()) == CELL_COUNT == 1000


def test_blotter_html_holds_every_initial_value_row_major() -> None:
    """The page's initial table is blotter_initial() in row-major order."""
    values = re.findall(r"<td>([^<]*)</td>", blotter_html())
    assert values == [v for _, _, v in blotter_initial()]


def test_secrets_have_the_shapes_masking_rules_match() -> None:
    """SSN, card, account numbers and PIN look like the real thing."""
    assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", DEMO_SECRETS["ssn"])
    assert re.fullmatch(r"4111( 1111){3}", DEMO_SECRETS["card"])
    for key in ("account", "ws_account", "rest_account", "hidden_account"):
        assert re.fullmatch(r"ACCT-\d{4}-\d{4}", DEMO_SECRETS[key]), key
    assert DEMO_SECRETS["pin"].isdigit()
    assert DEMO_SECRETS["bearer_token"].startswith("demo-token-")
    assert DEMO_USERS[DEMO_SECRETS["username"]] == DEMO_SECRETS["password"]
    assert DEMO_SECRETS["account"] in DEMO_SECRETS["notes"]


def test_find_client_matches_ssn_first_then_account() -> None:
    """The lookup finds Jane by SSN even with another client's account, else by account."""
    jane = find_client(DEMO_SECRETS["ssn"], "ACCT-1001-0001")
    assert jane is CLIENTS[0] and jane.ssn_masked == "***-**-1120"
    assert find_client("", "ACCT-1001-0001") is CLIENTS[1]
    assert find_client("", "") is None


def test_report_csv_is_deterministic_with_a_header_and_ten_rows() -> None:
    """The downloadable report never changes between runs."""
    lines = report_csv().splitlines()
    assert lines[0] == "symbol,quantity,last" and len(lines) == 11
    assert report_csv() == report_csv()
