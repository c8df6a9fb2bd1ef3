"""``sessiontape search`` and ``sessiontape index ...`` as a user runs them."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.config import Config
from agent.journal.store import find_session
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.index.payloads import ticket_session
from tests.journals import flip_byte


def _run(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(home), *args)


@pytest.fixture
def session(home: Path, cfg: Config, clock: FakeClock) -> str:
    return ticket_session(home, cfg, clock)


def test_update_then_search_table_and_json(
    home: Path, session: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """index update, then search prints session, offsets, seqs; --json gives hit objects."""
    rc, out, _ = _run(home, "index", "update", capsys=capsys)
    assert rc == 0 and "3 segments indexed" in out
    rc, out, _ = _run(home, "search", '"Send (WS)" kind:click', capsys=capsys)
    assert rc == 0 and session in out and "user trader1" in out
    assert "clicked button '«Send (WS»)' in 'Order ticket'" in out
    assert f"open: sessiontape replay {session} --seq " in out
    rc, out, _ = _run(home, "search", "account:tok_1b0291152bfb9d97", "--json", capsys=capsys)
    hits = json.loads(out)
    assert rc == 0 and {h["kind"] for h in hits} == {"rrweb.input", "net.ws_frame"}
    assert all(set(h) >= {"session_id", "seq", "t_utc", "kind", "snippet"} for h in hits)
    assert all(h["t_utc"].endswith("Z") and h["session_id"] == session for h in hits)


def test_each_cli_search_is_audited(
    home: Path, session: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two searches → two audit.search records naming the OS account (the note from
    $SESSIONTAPE_ACTOR beside it), query and result count."""
    _run(home, "index", "update", capsys=capsys)
    monkeypatch.setenv("SESSIONTAPE_ACTOR", "examiner-7")
    me = pwd.getpwuid(os.getuid()).pw_name
    _run(home, "search", "margin", capsys=capsys)
    _run(home, "search", "nothing-here", "--limit", "5", capsys=capsys)
    recs = audit_records(home, "audit.search")  # same-second audit sessions: any order
    assert sorted(
        (r["actor"], r["note"], r["query"], r["result_count"], r["limit"]) for r in recs
    ) == [
        (me, "examiner-7", "margin", 1, 50),
        (me, "examiner-7", "nothing-here", 0, 5),
    ]


def test_bad_query_is_exit_2_with_one_line(
    home: Path, session: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A syntax error names the item, exits 2, and searches nothing (no audit record)."""
    _run(home, "index", "update", capsys=capsys)
    rc, out, err = _run(home, "search", "acount:bob", capsys=capsys)
    assert rc == 2 and "'acount:'" in err and err.count("\n") == 1 and out == ""
    assert audit_records(home, "audit.search") == []


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("from:0001-01-01T00:00+05:00", "time in 'from:0001-01-01T00:00+05:00' is outside"),
        ("from:9999-12-31T23:59-05:00", "time in 'from:9999-12-31T23:59-05:00' is outside"),
        ("from:2026-01-01T00:00+99:99", "bad UTC offset '+99:99'"),
    ],
)
def test_out_of_range_times_are_query_errors_not_crashes(
    home: Path, session: str, capsys: pytest.CaptureFixture[str], query: str, names: str
) -> None:
    """Times the index cannot hold and impossible offsets: exit 2 naming the item."""
    _run(home, "index", "update", capsys=capsys)
    rc, out, err = _run(home, "search", query, capsys=capsys)
    assert rc == 2, err
    assert err.startswith("sessiontape: error: ") and names in err and err.count("\n") == 1
    assert out == ""


def test_search_before_any_index_says_what_to_run(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No index yet: exit 2 and the command that builds it."""
    rc, _, err = _run(home, "search", "x", capsys=capsys)
    assert rc == 2 and "sessiontape index update" in err


def test_update_exits_1_naming_a_tampered_segment(
    home: Path, session: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed verification is reported (session, segment, check) with exit code 1."""
    flip_byte(find_session(home, session).segments[2].path)
    rc, out, err = _run(home, "index", "update", capsys=capsys)
    assert rc == 1 and f"FAILED VERIFICATION {session} segment 2" in err
    rc, out, _ = _run(home, "index", "stats", capsys=capsys)
    assert rc == 0 and f"FAILED VERIFICATION {session} segment 2" in out
    rc, out, _ = _run(home, "index", "stats", "--json", capsys=capsys)
    st = json.loads(out)
    assert (st["sessions"], st["segments"], len(st["failed"])) == (1, 2, 1)


def test_rebuild_options(home: Path, session: str, capsys: pytest.CaptureFixture[str]) -> None:
    """rebuild --from-dir works; giving both sources is a usage error."""
    rc, out, _ = _run(home, "index", "rebuild", "--from-dir", str(home / "journals"), capsys=capsys)
    assert rc == 0 and "rebuilt: 1 sessions, 3 segments indexed" in out
    rc, _, err = _run(
        home, "index", "rebuild", "--from-dir", "x", "--from-vault", "file:///x", capsys=capsys
    )
    assert rc == 2 and "not both" in err
