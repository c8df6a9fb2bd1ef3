"""CLI: keys escrow-init, reveal (real journal), mask test --file (real Chromium)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agent.cli.mask import keys_escrow_init
from agent.config import load_config
from agent.journal import Journal, JournalSink
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.mask.masker import Masker
from agent.mask.sink import MaskingSink
from agent.mask.testing import el, rr_input, rr_snapshot
from agent.mask.tokens import hmac_key_path
from agent.testing import make_event
from tests.cli.clirun import run


def _escrow_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("escrow-init")(keys_escrow_init)
    return app


def _escrow_init(home: Path, out: Path) -> tuple[Path, str]:
    res = CliRunner().invoke(
        _escrow_app(),
        ["escrow-init", "--officer", "J. Smith", "--out", str(out)],
        env={"SESSIONTAPE_HOME": str(home)},
    )
    assert res.exit_code == 0, res.output
    pem = re.search(r"private key \(keep offline, 0600\): (\S+)", res.output)
    pub = re.search(r'public_key = "([^"]+)"', res.output)
    assert pem is not None and pub is not None, res.output
    return Path(pem.group(1)), pub.group(1)


def test_escrow_init_writes_private_key_0600_outside_home_and_prints_config(tmp_path: Path) -> None:
    """The PEM lands in --out with mode 0600; the public key and [escrow] lines are printed;
    nothing is written into the agent home."""
    home, out = tmp_path / "home", tmp_path / "usb"
    home.mkdir(mode=0o700)
    pem, pub = _escrow_init(home, out)
    assert pem.parent == out and stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert len(pub) == 44 and list(home.iterdir()) == []


def test_escrow_init_refuses_the_agent_home(tmp_path: Path) -> None:
    """--out inside the agent home is a usage error (exit 2, one line naming the rule), and
    no key is written."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    res = run("keys", "escrow-init", "--officer", "x", "--out", str(home / "keys"), home=home)
    assert res.code == 2 and not (home / "keys").exists()
    assert res.err.startswith("sessiontape: error: --out ")
    assert "is inside the agent home" in res.err and len(res.err.strip().splitlines()) == 1


def _record(home: Path, rules: Path, value: str) -> tuple[str, str]:
    """A masked session with one escrowed input; returns (session id, the esc token the
    journal holds: escrow tokens are random, so it is read back, not recomputed)."""
    masker = Masker.load(home, rules)
    journal = Journal.open(home, load_config(env={}))
    jsink = JournalSink(journal)
    sink = MaskingSink(jsink, masker)
    events = [
        make_event(
            "rrweb.full_snapshot", rr_snapshot(el(3, "textarea", {"id": "notes"})), page="p"
        ),
        make_event("rrweb.input", rr_input(3, value), page="p"),
    ]
    asyncio.run(sink.append_many(events))
    jsink.close()
    recs = [
        r
        for s in find_session(home, journal.session_id).segments
        for r in iter_records(s.path, Keyring.load(home))
    ]
    token = next(r.payload["data"]["text"] for r in recs if r.kind == "rrweb.input")
    return journal.session_id, str(token)


def test_reveal_cli_with_right_and_wrong_key(tmp_path: Path) -> None:
    """reveal prints the value with the right key (exit 0, audited); another key: exit 2,
    one error line, no value."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    pem, pub = _escrow_init(home, tmp_path / "officer")
    other, _ = _escrow_init(home, tmp_path / "other")
    rules = tmp_path / "masking.toml"
    rules.write_text(
        'version = 1\n[escrow]\nofficer = "J. Smith"\npublic_key = "'
        + pub
        + '"\n[[rules]]\nid = "notes"\nkind = "selector"\nmode = "escrow"\n'
        'selector = "#notes"\n',
        encoding="utf-8",
    )
    session, token = _record(home, rules, "wire 250k to ACCT-4417-2290")
    assert token.startswith("esc_") and hmac_key_path(home).is_file()
    ok = run(
        "reveal",
        session,
        "--token",
        token,
        "--key",
        str(pem),
        "--reason",
        "FINRA inquiry",
        "--actor",
        "officer1",
        home=home,
    )
    assert ok.code == 0 and ok.out.strip() == "wire 250k to ACCT-4417-2290"
    bad = run("reveal", session, "--token", token, "--key", str(other), "--reason", "x", home=home)
    assert bad.code == 2 and "wrong escrow key" in bad.err and "4417" not in bad.out + bad.err
    from agent.audit import audit_records

    audit = audit_records(home, "audit.reveal")  # sealed access-audit journal
    assert [a["outcome"] for a in audit] == ["revealed", "denied_wrong_key"]
    me = pwd.getpwuid(os.getuid()).pw_name  # the OS account; --actor is only a note
    assert (audit[0]["who"], audit[0]["actor"], audit[0]["note"]) == (me, me, "officer1")
    assert audit[0]["session"] == session


def test_reveal_cli_requires_reason(tmp_path: Path) -> None:
    """--reason is mandatory (click usage error, exit 2)."""
    res = run("reveal", "s", "--token", "esc_0123456789abcdef", "--key", "k.pem", home=tmp_path)
    assert res.code == 2 and "--reason" in res.err


@pytest.mark.browser
def test_mask_test_file_lists_hits_per_rule_with_masked_previews(tmp_path: Path) -> None:
    """mask test --file on a saved page: password, SSN pattern, data-sensitive and default
    input hits, with masked previews only."""
    page = tmp_path / "saved.html"
    page.write_text(
        '<html><body><input type="password" id="pw" value="hunter2">'
        '<input id="acct" name="acct" value="ACCT-4417-2290">'
        '<p id="s">SSN 078-05-1120</p><div data-sensitive id="d">Jane</div>'
        '<input id="q" value="hello"></body></html>',
        encoding="utf-8",
    )
    res = run("mask", "test", "--file", str(page), "--json", home=tmp_path / "h")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    hits = {(h["rule"], h["where"]) for h in report["hits"]}
    assert ("builtin.password", "input#pw") in hits
    assert ("account-fields", "input#acct") in hits
    assert ("data-sensitive", "div#d") in hits
    assert ("default.input", "input#q") in hits
    assert any(r == "ssn" and w.startswith("p#s") for r, w in hits)
    for secret in ("hunter2", "4417-2290", "078-05-1120", "Jane"):
        assert secret not in res.out, secret


def test_a_rules_file_with_an_unsupported_selector_exits_2_naming_the_rule(tmp_path: Path) -> None:
    """A selector outside the shared grammar stops the command before anything runs: exit 2,
    one line naming the file, the rule and why."""
    rules = tmp_path / "masking.toml"
    rules.write_text(
        'version = 1\n[[rules]]\nid = "late-fields"\nkind = "selector"\nmode = "tokenize"\n'
        'selector = "label + input"\n',
        encoding="utf-8",
    )
    page = tmp_path / "saved.html"
    page.write_text("<html><body><input id='q' value='x'></body></html>", encoding="utf-8")
    res = run("mask", "test", "--file", str(page), "--rules", str(rules), home=tmp_path / "h")
    assert res.code == 2, (res.code, res.err)
    line = res.err.strip()
    assert "\n" not in line and "late-fields" in line and str(rules) in line
    assert "sibling combinators are not supported" in line
