"""reveal(): opens escrowed values with the officer key, audits every attempt first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from agent.errors import KeyMaterialError, UsageError
from agent.mask.escrow import generate_keypair
from agent.mask.reveal import jsonl_audit, reveal
from agent.mask.testing import build_masker, el, rr_input, rr_snapshot
from agent.testing import FakeClock, make_event


def _session(value: str) -> tuple[list[dict[str, Any]], str, X25519PrivateKey]:
    pem, pub = generate_keypair()
    priv = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(priv, X25519PrivateKey)
    m = build_masker(
        '[[rules]]\nid = "notes"\nkind = "selector"\nmode = "escrow"\nselector = "#notes"\n',
        escrow_public_key=pub,
    )
    events = [
        make_event(
            "rrweb.full_snapshot", rr_snapshot(el(3, "textarea", {"id": "notes"})), page="p"
        ),
        make_event("rrweb.input", rr_input(3, value), page="p"),
    ]
    payloads = [e.payload for e in m.mask_events(events)]
    return payloads, payloads[1]["data"]["text"], priv


def test_reveal_with_right_key_returns_value_and_audits(tmp_path: Path) -> None:
    """The value comes back; one audit line says who, when, session, token, reason."""
    payloads, token, priv = _session("wire 250k to ACCT-4417-2290")
    value = reveal(
        payloads,
        session_id="s1",
        token=token,
        private_key=priv,
        reason="FINRA inquiry 114",
        audit=jsonl_audit(tmp_path),
        actor="officer1",
        clock=FakeClock(),
    )
    assert value == "wire 250k to ACCT-4417-2290"
    lines = (tmp_path / "audit" / "reveals.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert rec["who"] == "officer1" and rec["session"] == "s1" and rec["token"] == token
    assert rec["reason"] == "FINRA inquiry 114" and rec["outcome"] == "revealed"
    assert rec["t_utc_ns"] == FakeClock().utc_ns()
    assert "4417" not in lines[0]
    assert (tmp_path / "audit" / "reveals.jsonl").stat().st_mode & 0o777 == 0o600


def test_wrong_key_fails_and_the_attempt_is_audited(tmp_path: Path) -> None:
    """Another key: KeyMaterialError, no value, audit outcome denied_wrong_key."""
    payloads, token, _ = _session("secret notes")
    other = X25519PrivateKey.generate()
    with pytest.raises(KeyMaterialError) as exc:
        reveal(
            payloads,
            session_id="s1",
            token=token,
            private_key=other,
            reason="r",
            audit=jsonl_audit(tmp_path),
            actor="x",
        )
    assert "secret notes" not in str(exc.value)
    rec = json.loads((tmp_path / "audit" / "reveals.jsonl").read_text())
    assert rec["outcome"] == "denied_wrong_key"


def test_reason_is_required_and_tok_tokens_cannot_be_revealed(tmp_path: Path) -> None:
    """An empty reason and a tok_ token are usage errors (nothing audited, nothing read)."""
    payloads, token, priv = _session("x")
    with pytest.raises(UsageError, match="reason"):
        reveal(
            payloads,
            session_id="s",
            token=token,
            private_key=priv,
            reason="  ",
            audit=jsonl_audit(tmp_path),
        )
    with pytest.raises(UsageError, match="one-way"):
        reveal(
            payloads,
            session_id="s",
            token="tok_0123456789abcdef",
            private_key=priv,
            reason="r",
            audit=jsonl_audit(tmp_path),
        )


def test_unknown_token_is_audited_as_not_found(tmp_path: Path) -> None:
    """A token that is not in the session."""
    payloads, _, priv = _session("x")
    with pytest.raises(UsageError, match="does not occur"):
        reveal(
            payloads,
            session_id="s",
            token="esc_0123456789abcdef",
            private_key=priv,
            reason="r",
            audit=jsonl_audit(tmp_path),
        )
    assert json.loads((tmp_path / "audit" / "reveals.jsonl").read_text())["outcome"] == "not_found"


def test_failing_audit_means_no_value() -> None:
    """If the audit record cannot be written, the value is not returned."""
    payloads, token, priv = _session("secret notes")

    def broken(_: dict[str, Any]) -> None:
        raise OSError("audit disk full")

    with pytest.raises(OSError):
        reveal(payloads, session_id="s", token=token, private_key=priv, reason="r", audit=broken)
