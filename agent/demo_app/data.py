"""Deterministic data of the demo trading app: users, secrets, blotter values, clients.

Everything here is a pure function of fixed constants (and a seed), so a test can
recompute what the server sent and what the page must show. The secrets are fake but
shaped like the real thing (an SSN, a card number, account numbers, a PIN) so that the
masking tests can scan journals, logs and exports for them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Fixed, well-known secret values. The trader script types them; fixture pages embed them.
#: Masking tests scan every persisted byte for these strings.
DEMO_SECRETS: dict[str, str] = {
    "username": "trader1",
    "password": "Tr4der!Secret-2026",
    "ssn": "078-05-1120",
    "account": "ACCT-4417-2290",
    "ws_account": "ACCT-5531-0086",
    "rest_account": "ACCT-6620-3317",
    "hidden_account": "ACCT-9902-1187",
    "card": "4111 1111 1111 1111",
    "pin": "7319",
    "notes": "wire 250k to ACCT-4417-2290",
    "bearer_token": "demo-token-5f1c2a9e7b3d4e60",
    "api_key": "ak_demo_3c9e1f7a2b8d",
}

#: Users that may log in (username -> password).
DEMO_USERS: dict[str, str] = {
    DEMO_SECRETS["username"]: DEMO_SECRETS["password"],
    "supervisor1": "Sup3rvisor!Secret-2026",
}

ROWS = 50
COLS = 20
CELL_COUNT = ROWS * COLS
DEFAULT_SEED = 4511

SYMBOLS: tuple[str, ...] = (
    "AAPL",
    "MSFT",
    "AMZN",
    "GOOG",
    "META",
    "NVDA",
    "TSLA",
    "BRKB",
    "JPM",
    "V",
    "JNJ",
    "WMT",
    "PG",
    "MA",
    "UNH",
    "HD",
    "DIS",
    "BAC",
    "XOM",
    "PFE",
    "KO",
    "PEP",
    "CSCO",
    "ORCL",
    "INTC",
    "CRM",
    "ABT",
    "NKE",
    "MRK",
    "T",
    "VZ",
    "CVX",
    "MCD",
    "IBM",
    "QCOM",
    "TXN",
    "HON",
    "AMGN",
    "SBUX",
    "GS",
    "MS",
    "C",
    "BA",
    "CAT",
    "MMM",
    "GE",
    "F",
    "GM",
    "UBER",
    "ADBE",
)

COLUMNS: tuple[str, ...] = (
    "Bid",
    "Ask",
    "Last",
    "Open",
    "High",
    "Low",
    "Close",
    "VWAP",
    "Mid",
    "Mark",
    "Bid2",
    "Ask2",
    "Bid3",
    "Ask3",
    "Strike",
    "Theo",
    "Fair",
    "Ref",
    "Settle",
    "Limit",
)


def _base_price(row: int, col: int) -> int:
    """Base price of a cell in cents: one level per symbol, a small offset per column."""
    return 2_000 + (row * 3_739) % 48_000 + col * 25


def _cell_value(rng: random.Random, row: int, col: int) -> str:
    cents = _base_price(row, col) + rng.randint(-500, 500)
    return f"{cents // 100}.{cents % 100:02d}"


def blotter_initial(seed: int = DEFAULT_SEED) -> list[tuple[int, int, str]]:
    """Every cell of the blotter at tick 0, row-major: ``(row, col, value)``."""
    rng = random.Random(seed * 1_000_003)
    return [(r, c, _cell_value(rng, r, c)) for r in range(ROWS) for c in range(COLS)]


def blotter_tick(tick: int, cells: int, seed: int = DEFAULT_SEED) -> list[tuple[int, int, str]]:
    """The ``cells`` distinct cells that change at ``tick`` (>= 1), with their new values."""
    rng = random.Random(seed * 1_000_003 + tick)
    picked = rng.sample(range(CELL_COUNT), min(cells, CELL_COUNT))
    return [(i // COLS, i % COLS, _cell_value(rng, i // COLS, i % COLS)) for i in picked]


@dataclass(frozen=True, slots=True)
class Client:
    """A fake brokerage client that the lookup form can find."""

    name: str
    ssn: str
    account: str
    tier: str
    balance_cents: int

    @property
    def ssn_masked(self) -> str:
        """The SSN as the result card shows it: only the last four digits."""
        return "***-**-" + self.ssn[-4:]


CLIENTS: tuple[Client, ...] = (
    Client(
        "Jane Q. Sample", DEMO_SECRETS["ssn"], DEMO_SECRETS["account"], "Platinum", 12_345_678_90
    ),
    Client("John R. Example", "219-09-9999", "ACCT-1001-0001", "Gold", 98_765_43),
    Client("Ada B. Placeholder", "457-55-5462", DEMO_SECRETS["hidden_account"], "Silver", 4_321_00),
)


def find_client(ssn: str, account: str) -> Client | None:
    """The client whose SSN or account matches (SSN first), else None."""
    for client in CLIENTS:
        if ssn and client.ssn == ssn:
            return client
    for client in CLIENTS:
        if account and client.account == account:
            return client
    return None


def positions(poll: int) -> list[dict[str, str | int]]:
    """The positions the page polls: a few symbols whose P&L moves with the poll count."""
    rng = random.Random(DEFAULT_SEED + 7 * poll)
    return [
        {"symbol": SYMBOLS[i], "quantity": 100 * (i + 1), "pnl": f"{rng.randint(-99_999, 99_999)}"}
        for i in range(5)
    ]


def blotter_html(seed: int = DEFAULT_SEED) -> str:
    """The blotter table at tick 0 (the page then applies the WebSocket ticks)."""
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    values = blotter_initial(seed)
    rows = []
    for r in range(ROWS):
        tds = "".join(f"<td>{v}</td>" for _, _, v in values[r * COLS : (r + 1) * COLS])
        rows.append(f'<tr data-symbol="{SYMBOLS[r]}"><th>{SYMBOLS[r]}</th>{tds}</tr>')
    return (
        '<table id="blotter"><thead><tr><th>Symbol</th>'
        + head
        + "</tr></thead><tbody>"
        + "\n".join(rows)
        + "</tbody></table>"
    )


def report_csv() -> str:
    """The downloadable end-of-day report (deterministic)."""
    lines = ["symbol,quantity,last"]
    initial = {(r, c): v for r, c, v in blotter_initial()}
    for i, sym in enumerate(SYMBOLS[:10]):
        lines.append(f"{sym},{100 * (i + 1)},{initial[(i, 2)]}")
    return "\n".join(lines) + "\n"
