"""Attack: act on retention without a trace. Legal holds, dispositions and re-verification
results used to land only in a plain JSONL file under <home>/ship/ that anyone with the home
could edit. They now go into the sealed, verifiable (and shipped) access-audit journal with
the OS identity of whoever ran the command, and an action whose audit record cannot be
written does not happen.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from pathlib import Path

import pytest

from agent.audit import audit_records, is_audit
from agent.config import load_config
from agent.journal.store import list_sessions
from agent.keys import Keyring
from agent.ship.filevault import FileVault
from agent.ship.holds import dispose
from agent.ship.runtime import build_shipper
from agent.testing import FakeClock
from tests.cli.clirun import run
from tests.journals import write_session

ME = pwd.getpwuid(os.getuid())
YEAR_S = 366 * 86400


@pytest.fixture
def shipped(tmp_path: Path) -> tuple[Path, list[str]]:
    """(home, session ids): two real sealed sessions, shipped to the home's file vault."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    for _ in range(2):
        write_session(home, load_config(env={}, home=home), FakeClock(), chunks_per_segment=2)
    res = run("ship", "--once", home=home)
    assert res.code == 0, res.err
    assert res.out.startswith("shipped 2, quarantined 0")
    return home, sorted(s.session_id for s in list_sessions(home))


def test_hold_disposition_and_reverify_are_in_the_sealed_audit_journal(
    shipped: tuple[Path, list[str]],
) -> None:
    home, (held, other) = shipped
    env = {"SESSIONTAPE_ACTOR": "alice", "USER": "alice", "LOGNAME": "alice"}
    res = run("hold", "add", "--matter", "SEC-7", "--session", held, home=home, env=env)
    assert res.code == 0, res.err
    # A disposition pass seven years on (the shipper's clock; nothing is deleted).
    cfg = load_config(env={}, home=home)
    later = FakeClock()
    later.advance_s(7 * YEAR_S)
    out = dispose(build_shipper(home, cfg.ship, clock=later, config=cfg))
    assert [(r["session_id"], r["action"]) for r in out] == [(other, "eligible")]
    res = run("ship", "reverify", home=home, env=env)
    assert res.code == 0 and res.out.startswith("re-verified 2 object copies, 0 failed"), res.err

    hold = [r for r in audit_records(home, "audit.hold")]
    assert [(r["matter"], r["session_id"], r["action"]) for r in hold] == [("SEC-7", held, "add")]
    disp = audit_records(home, "audit.disposition")
    assert [(r["session_id"], r["action"]) for r in disp] == [(other, "eligible")]
    verified = audit_records(home, "audit.verify")
    assert len(verified) == 2 and all(r["ok"] for r in verified)
    for r in hold + disp + verified:
        assert (r["actor"], r["actor_uid"]) == (ME.pw_name, ME.pw_uid)
    assert hold[0]["note"] == "alice" and verified[0]["note"] == "alice"
    # The re-verify pass wrote one audit session for both results.
    assert len({r["audit_session"] for r in verified}) == 1
    audits = [s.session_id for s in list_sessions(home) if is_audit(s)]
    assert {r["audit_session"] for r in hold + disp + verified} <= set(audits)
    res = run("verify", home=home)
    assert res.code == 0, res.err
    assert res.out.splitlines()[-1].startswith(f"verified: {2 + len(audits)} segments")


def test_a_hold_whose_audit_record_cannot_be_written_is_not_placed(
    shipped: tuple[Path, list[str]],
) -> None:
    home, (held, _) = shipped
    journals = home / "journals"
    shutil.move(journals, home / "journals.away")
    journals.write_text("in the way\n")  # the audit journal cannot be created (ENOTDIR)
    try:
        res = run("hold", "add", "--matter", "SEC-8", "--session", held, home=home)
    finally:
        journals.unlink()
        shutil.move(home / "journals.away", journals)
    assert res.code == 2, res.err
    assert re.fullmatch(
        f"sessiontape: error: {re.escape(str(journals))}/audit-[0-9TZ]+-[0-9a-f]+: "
        "Not a directory\n",
        res.err,
    )
    assert run("hold", "list", home=home).out.strip() == "no holds"
    vault = FileVault(home / "vault")
    keys = vault.list(f"segments/{held}/")
    assert keys and not any(vault.head(k).legal_hold for k in keys)
    assert audit_records(home, "audit.hold") == []
