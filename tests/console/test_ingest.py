"""The ingestion worker against moto S3: sessions of several workstations indexed once,
anomalies recorded and audited, a full index resumed without gaps or duplicates."""

from __future__ import annotations

import shutil
import time

from agent.audit import audit_records
from agent.console.ingest import IngestWorker
from agent.index.query import parse
from tests.console.fleet import Fleet


def _indexed(worker: IngestWorker) -> set[str]:
    rows = worker.state.con.execute("SELECT key FROM objects WHERE status = 'indexed'")
    return {str(r[0]) for r in rows}


def test_sessions_of_two_workstations_are_indexed_once_and_searchable(fleet: Fleet) -> None:
    """Two workstations, three sessions (one of two segments): every segment indexed."""
    a, b = fleet.add_agent(), fleet.add_agent()
    sids = fleet.record_and_ship(a, 2, 1) + fleet.record_and_ship(b, 1)
    ix = fleet.index()
    w = fleet.worker(ix)
    rep = w.run_once()
    assert rep.error == "" and rep.anomalies == []
    assert rep.indexed == 4 and rep.backlog == 0
    assert _indexed(w) == set(fleet.segment_keys())
    assert sorted(s.session_id for s in ix.sessions()) == sorted(sids)
    assert {s.user for s in ix.sessions()} == {a.user, b.user}
    assert all(s.verified == "verified" and s.source == "vault" for s in ix.sessions())
    assert {h.session_id for h in ix.search(parse("kind:response"), limit=500)} == set(sids)
    assert len(rep.lags_ms) == 4 and min(rep.lags_ms) > 0  # LastModified before indexing
    assert w.status()["lag_p95_ms"] == rep.as_dict()["lag_p95_ms"] >= rep.as_dict()["lag_p50_ms"]


def test_a_second_pass_and_a_lost_state_index_nothing_twice(fleet: Fleet) -> None:
    """Run again (nothing new), then again with the state file gone: the index, keyed by
    seal hash, skips every segment it holds; row and segment counts do not move."""
    fleet.record_and_ship(fleet.add_agent(), 2, 1)
    ix = fleet.index()
    w = fleet.worker(ix)
    assert w.run_once().indexed == 3
    before = ix.stats()
    again = w.run_once()
    assert (again.new, again.indexed) == (0, 0)
    w.close()
    shutil.rmtree(fleet.firm / "console")
    w2 = fleet.worker(ix)
    rep = w2.run_once()
    assert rep.new == 3 and rep.indexed == 3  # taken again, marked done, not re-inserted
    after = ix.stats()
    assert (after.segments, after.events) == (before.segments, before.events)


def test_a_newer_tampered_version_is_an_anomaly_and_the_original_is_indexed(fleet: Fleet) -> None:
    """A plain PUT of flipped bytes over a segment key adds a newer version: the worker reads
    the locked original by its receipt's version, records the anomaly (state and sealed
    audit) and indexes every segment."""
    fleet.record_and_ship(fleet.add_agent(), 1, 1)
    keys = fleet.segment_keys()
    vault = fleet.vault
    data = bytearray(vault.get(keys[0]))
    data[len(data) // 2] ^= 0xFF
    vault.client.put_object(Bucket=vault.bucket, Key=vault._k(keys[0]), Body=bytes(data))  # type: ignore[attr-defined]
    w = fleet.worker(fleet.index())
    rep = w.run_once()
    assert rep.indexed == 2
    (line,) = [a for a in rep.anomalies if "newer version" in a]
    assert line.startswith(f"vault anomaly: {keys[0]}: newer version ")
    assert [a["message"] for a in w.state.anomalies()] == [line]
    audited = audit_records(fleet.firm, "audit.ingest")
    assert [(r["key"], r["message"]) for r in audited] == [(keys[0], line)]


def test_a_forged_segment_is_not_indexed_and_the_others_are(fleet: Fleet) -> None:
    """A segment object with flipped bytes under a new key (no receipt): one line naming the
    object and why, not indexed; the real segments are indexed."""
    fleet.record_and_ship(fleet.add_agent(), 1, 1)
    vault = fleet.vault
    real = fleet.segment_keys()
    data = bytearray(vault.get(real[0]))
    data[-200] ^= 0x01
    forged = f"segments/{real[0].split('/')[1]}/000001-00000000deadbeef.stj"
    vault.client.put_object(Bucket=vault.bucket, Key=vault._k(forged), Body=bytes(data))  # type: ignore[attr-defined]
    w = fleet.worker(fleet.index(), receipt_grace_s=0)
    rep = w.run_once()
    assert rep.indexed == 2 and _indexed(w) == set(real)
    (line,) = [a for a in rep.anomalies if "not indexed" in a]
    assert line.startswith(f"{forged}: not indexed: ")
    assert f"vault anomaly: {forged}: segment has no receipt object" in " ".join(rep.anomalies)
    assert "tampered: the object holds segment 0 " in line
    audited = {r["message"] for r in audit_records(fleet.firm, "audit.ingest")}
    assert line in audited


def test_a_segment_sealed_to_another_firm_key_is_not_decryptable_with_the_firm_key(
    fleet: Fleet,
) -> None:
    """A workstation wrapping its data keys to another firm's key: verified, not indexed,
    one anomaly naming the object; the firm's own workstation is indexed."""
    from agent.bench.fleet_agents import make_firm

    other_pem = make_firm(fleet.root / "other-firm")
    mine, foreign = fleet.add_agent(), fleet.add_agent(other_pem)
    fleet.record_and_ship(mine, 1)
    (foreign_sid,) = fleet.record_and_ship(foreign, 1)
    w = fleet.worker(fleet.index())
    rep = w.run_once()
    assert rep.indexed == 1
    (line,) = rep.anomalies
    assert line.startswith(f"segments/{foreign_sid}/")
    assert ": not indexed: not decryptable with the firm key: " in line
    assert w.state.counts() == {"indexed": 1, "anomaly": 1}
    assert w.run_once().anomalies == []  # recorded once, not retried every pass
    assert len(audit_records(fleet.firm, "audit.ingest")) == 1


def test_a_segment_signed_by_a_workstation_the_firm_does_not_trust_is_an_anomaly(
    fleet: Fleet,
) -> None:
    """A workstation whose public key was never enrolled: not indexed, named as signed by an
    unknown key."""
    (sid,) = fleet.record_and_ship(fleet.add_agent(enroll=False), 1)
    w = fleet.worker(fleet.index())
    rep = w.run_once()
    (line,) = rep.anomalies
    assert rep.indexed == 0
    assert line.startswith(f"segments/{sid}/")
    assert ": not indexed: signed by an unknown key: key: " in line
    assert " signed by untrusted key ed25519:" in line


def test_a_late_shipped_session_is_found_by_the_next_full_listing(fleet: Fleet) -> None:
    """Between full listings a pass lists only sessions started in the last day: a session
    that started earlier (here: the worker's clock is two days ahead) is not listed until
    the next full listing, which indexes it."""
    from agent.ship.urls import open_vault
    from agent.testing import FakeClock

    agent = fleet.add_agent()
    fleet.record_and_ship(agent, 1)
    clock = FakeClock(utc_ns=time.time_ns() + 2 * 86_400 * 10**9)
    w = IngestWorker(
        fleet.firm, fleet.config, fleet.index(), open_vault(fleet.url), clock=clock,
        full_every_s=600,
    )  # fmt: skip
    first = w.run_once()
    assert (first.full, first.indexed) == (True, 1)
    (late,) = fleet.record_and_ship(agent, 1)
    clock.advance_s(60)
    recent = w.run_once()
    assert (recent.full, recent.listed, recent.indexed) == (False, 0, 0)
    clock.advance_s(600)
    full = w.run_once()
    assert (full.full, full.listed, full.indexed) == (True, 2, 1)
    assert late in {s.session_id for s in w.index.sessions()}
