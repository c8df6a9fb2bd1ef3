"""Attack: reveal (or search) as someone else. ``--actor`` and ``SESSIONTAPE_ACTOR`` used to set
the name the access audit recorded, and ``USER`` / ``SUDO_USER`` are the caller's to set too.
The identity in an audit record now comes from the OS account running the command (uid and
its passwd name); what the caller claims is kept only as a ``note`` beside it, and the audit
listing shows the two apart.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

from agent.audit import audit_records
from tests.cli.clirun import run
from tests.journals import write_session
from tests.mask.test_cli import _escrow_init, _record

ME = pwd.getpwuid(os.getuid())
CLAIMS = {"SESSIONTAPE_ACTOR": "alice", "USER": "alice", "LOGNAME": "alice", "SUDO_USER": "alice"}


def test_reveal_records_the_os_account_and_keeps_the_claimed_name_as_a_note(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    pem, pub = _escrow_init(home, tmp_path / "officer")
    rules = tmp_path / "masking.toml"
    rules.write_text(
        f'version = 1\n[escrow]\nofficer = "J. Smith"\npublic_key = "{pub}"\n'
        '[[rules]]\nid = "notes"\nkind = "selector"\nmode = "escrow"\nselector = "#notes"\n'
    )
    session, token = _record(home, rules, "wire 250k to ACCT-4417-2290")
    args = ["--token", token, "--key", str(pem), "--reason", "FINRA inquiry", "--actor", "alice"]
    res = run("reveal", session, *args, home=home, env=CLAIMS)
    assert res.code == 0, res.err
    (rec,) = audit_records(home, "audit.reveal")
    assert (rec["actor"], rec["actor_uid"], rec["note"]) == (ME.pw_name, ME.pw_uid, "alice")
    assert rec["who"] == ME.pw_name
    if os.getuid() == 0:  # as the task's attack runs it: root claiming to be alice
        assert (rec["actor"], rec["actor_uid"]) == ("root", 0)
    listing = run("audit", "--kind", "audit.reveal", home=home)
    assert listing.code == 0, listing.err
    (line,) = listing.out.splitlines()
    assert f'  audit.reveal       actor {ME.pw_name} (uid {ME.pw_uid})  note "alice"  ' in line
    assert "alice" not in line.split("  note ")[0]
    (as_json,) = json.loads(run("audit", "--json", home=home).out)
    assert (as_json["actor"], as_json["note"]) == (ME.pw_name, "alice")


def test_search_ignores_the_environment_for_the_identity(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_session(home)
    assert run("index", "update", home=home).code == 0
    res = run("search", "anything", home=home, env=CLAIMS)
    assert res.code == 0, res.err
    (rec,) = audit_records(home, "audit.search")
    assert (rec["actor"], rec["actor_uid"], rec["note"]) == (ME.pw_name, ME.pw_uid, "alice")
