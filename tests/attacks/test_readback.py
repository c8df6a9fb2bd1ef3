"""Attack: read masked or sensitive values back from the agent's files.

A session is masked by the real mask stage (SSNs escrowed to an officer key the agent does
not hold, an account number tokenized), journaled, sealed and indexed. The attacker then
reads the files: (a) every byte of the search index for the client's name, balance and SSN;
(b) the agent's HMAC key and decrypted journal, hashing every candidate SSN to match an
escrow token (the brute force that recovered an SSN from its 3-digit prefix in 0.1 s when
escrow tokens were HMACs); (c) the index files' modes.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from agent.config import Config
from agent.events import Event
from agent.index.cipher import index_key_path
from agent.index.indexer import index_new_segments, open_index
from agent.index.query import parse
from agent.journal.reader import iter_records
from agent.journal.session import SessionMeta
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.mask.escrow import generate_keypair
from agent.mask.masker import Masker
from agent.mask.patterns import NORMALIZERS
from agent.mask.rules import default_rules_path
from agent.mask.tokens import Tokenizer, hmac_key_path
from agent.testing import FakeClock, make_event
from tests.index.payloads import APP, el, full_snapshot, meta, rr_input, tx
from tests.journals import EventSpec, write_scripted_session

CLIENT = "Jane Q. Sample"
BALANCE = "1,234,567.89"
SSN = "078-05-1120"
ACCOUNT = "44172290"
_DIGITS = NORMALIZERS["digits"]


def _dom() -> dict[str, Any]:
    body = el(
        6,
        "body",
        {},
        el(7, "h2", {}, tx(8, f"Client {CLIENT}")),
        el(9, "p", {}, tx(10, f"Balance USD {BALANCE}")),
        el(11, "p", {}, tx(12, f"SSN on file {SSN}")),
        el(13, "input", {"id": "acct", "name": "account"}),
    )
    return {"type": 0, "id": 1, "childNodes": [el(2, "html", {}, body)]}


def _raw_events() -> list[EventSpec]:
    lookup = json.dumps({"client_name": CLIENT, "balance": BALANCE, "ssn": SSN})
    return [
        ("page.navigate", {"url": APP, "main_frame": True}, "P"),
        ("rrweb.meta", meta(APP), "F"),
        ("rrweb.full_snapshot", full_snapshot(_dom()), "F"),
        ("rrweb.input", rr_input(13, ACCOUNT), "F"),
        (
            "net.request",
            {
                "method": "POST",
                "url": APP + "/lookup",
                "resource_type": "Fetch",
                "headers": {"Content-Type": "application/json"},
                "post_data": lookup,
            },
            None,
        ),
    ]


@pytest.fixture
def recorded(home: Path, cfg: Config, clock: FakeClock, tmp_path: Path) -> str:
    """A masked, sealed session holding the client's name, balance, SSN and account; its id."""
    _, officer_public = generate_keypair()  # the officer keeps the private key elsewhere
    rules = tmp_path / "masking.toml"
    rules.write_text(
        default_rules_path()
        .read_text(encoding="utf-8")
        .replace('public_key = ""', f'public_key = "{officer_public}"')
        .replace(
            'id = "ssn"\nkind = "pattern"\nmode = "tokenize"',
            'id = "ssn"\nkind = "pattern"\nmode = "escrow"',
        ),
        encoding="utf-8",
    )
    masker = Masker.load(home, rules)
    masked: list[EventSpec] = []
    for kind, payload, frame in _raw_events():
        ev: Event = masker.mask_event(make_event(kind, payload, clock=clock, page="P", frame=frame))
        masked.append((kind, ev.payload, frame))
    meta_ = SessionMeta(user="trader1", workstation="ws-7")
    return write_scripted_session(home, cfg, clock, [masked], meta=meta_).session_id


def _journal_text(home: Path, session: str) -> str:
    """Every record of the session, decrypted with the agent's KEK, as JSON lines."""
    keyring = Keyring.load(home)
    return "\n".join(
        json.dumps(r.as_dict())
        for seg in find_session(home, session).segments
        for r in iter_records(seg.path, keyring)
    )


def _forms(value: str) -> list[bytes]:
    return [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]


def _index_files(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if p.name.startswith("index.db"))


def _leaks(files: list[Path]) -> list[str]:
    secrets = [CLIENT, "Sample", BALANCE, "567.89", SSN, _DIGITS(SSN), ACCOUNT]
    return [
        f"{p.name}: {s!r}"
        for p in files
        for s in secrets
        if any(f in p.read_bytes() for f in _forms(s))
    ]


def test_index_files_hold_no_clear_value_yet_search_finds_them(
    home: Path, cfg: Config, recorded: str
) -> None:
    """Every byte of index.db and its -wal/-shm (read while the indexer's connection is open
    and after it closed) is free of the client's name, balance, SSN and account; the values
    are in the session (the decrypted journal) and search still finds them."""
    journal = _journal_text(home, recorded)
    assert CLIENT in journal and BALANCE in journal  # the record really holds them
    ix = open_index(home, cfg)
    try:
        from agent.index.custody import ship_custody
        from agent.index.indexer import index_dir

        keyring = Keyring.load(home)
        rep = index_dir(ix, home, keyring, keyring.trust(), custody=ship_custody(home))
        assert rep.ok and rep.rows >= 4
        open_files = _index_files(home)
        assert any(p.name.endswith("-wal") and p.stat().st_size for p in open_files)
        assert _leaks(open_files) == []
    finally:
        ix.close()
    assert _leaks(_index_files(home)) == []

    # The SSN's escrow token in the request body (search indexes body tokens by field).
    body = re.search(r'post_data": "(.*?)", "', journal)
    assert body is not None
    escrowed = re.findall(r"esc_[0-9a-f]{16}", body.group(1))
    assert len(escrowed) == 1
    ix = open_index(home, cfg, readonly=True)
    try:
        for q in (f'"{CLIENT}"', BALANCE, f"token:{escrowed[0]}", f"ssn:{escrowed[0]}"):
            hits = ix.search(parse(q), 10)
            assert {h.session_id for h in hits} == {recorded}, q
        client = ix.search(parse(f'"{CLIENT}"'), 10)
        assert any(f"«{CLIENT}»" in h.snippet for h in client)
    finally:
        ix.close()


def test_escrow_tokens_cannot_be_enumerated_with_the_agents_files(
    home: Path, recorded: str
) -> None:
    """With the agent's HMAC key and its decrypted journal (not the officer's key), hashing
    every SSN candidate around the real one matches no escrow token; the same enumeration does
    recover the tokenized account number (what the key file allows, and why it stays in the
    agent's account). The SSN, escrowed twice (page text and request body), has two tokens."""
    journal = _journal_text(home, recorded)
    assert SSN not in journal and _DIGITS(SSN) not in journal
    escrowed = set(re.findall(r"esc_([0-9a-f]{16})", journal))
    tokenized = set(re.findall(r"tok_([0-9a-f]{16})", journal))
    assert len(escrowed) >= 2  # one SSN, escrowed in two places: two unrelated tokens
    tokenizer = Tokenizer(hmac_key_path(home).read_bytes())
    area_group = _DIGITS(SSN)[:5]
    candidates = [f"{area_group}{n:04d}" for n in range(10_000)]
    found = [c for c in candidates if tokenizer.token(c)[4:] in escrowed]
    assert found == []
    accounts = [f"{ACCOUNT[:4]}{n:04d}" for n in range(10_000)]
    assert [a for a in accounts if tokenizer.token(a)[4:] in tokenized] == [ACCOUNT]


def test_index_and_its_key_are_private_to_the_agent(home: Path, cfg: Config, recorded: str) -> None:
    """index.db, its -wal/-shm and the index key are mode 0600 (owner only)."""
    ix = open_index(home, cfg)
    try:
        rep = index_new_segments(home, cfg)
        assert rep.ok and rep.segments_indexed == 1
        files = [*_index_files(home), index_key_path(home)]
        assert {p.name for p in files} >= {"index.db", "index.db-wal", "index.key"}
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {
            p.name: 0o600 for p in files
        }
    finally:
        ix.close()
