"""The access audit: identity fields, and the ship sink's per-pass (per-thread) sessions."""

from __future__ import annotations

import os
import pwd
import threading
from pathlib import Path

from agent.audit import SealedAuditSink, audit_records, record_access
from agent.config import load_config
from agent.events import Event
from agent.keys import Keyring

ME = pwd.getpwuid(os.getuid())


def _event(n: int) -> Event:
    return Event("audit.verify", {"key": f"k{n}", "ok": True}, 1_700_000_000_000_000_000 + n, n)


def test_a_payload_cannot_replace_the_identity(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    forged = {"query": "q", "actor": "alice", "actor_uid": 1000, "note": "forged"}
    record_access(home, cfg, "audit.search", forged, note="ticket 7")
    (rec,) = audit_records(home, "audit.search")
    assert (rec["actor"], rec["actor_uid"], rec["note"]) == (ME.pw_name, ME.pw_uid, "ticket 7")


def test_sink_batches_share_one_session_per_thread(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    sink = SealedAuditSink(home, load_config(env={}, home=home))
    sink(_event(0))  # outside a batch: its own session
    with sink.batch():
        sink(_event(1))
        with sink.batch():  # nested: the outer session
            sink(_event(2))
    gate = threading.Barrier(2)

    def worker(n: int) -> None:
        with sink.batch():
            gate.wait()  # both batches open at once
            sink(_event(n))
            gate.wait()

    threads = [threading.Thread(target=worker, args=(n,)) for n in (3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_key = {r["key"]: r["audit_session"] for r in audit_records(home, "audit.verify")}
    assert sorted(by_key) == ["k0", "k1", "k2", "k3", "k4"]
    assert by_key["k1"] == by_key["k2"]
    assert len({by_key["k0"], by_key["k1"], by_key["k3"], by_key["k4"]}) == 4
