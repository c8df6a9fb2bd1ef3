"""``sessiontape console ingest`` and ``console ingest-status`` as separate processes."""

from __future__ import annotations

import json

from tests.cli.clirun import run
from tests.console.fleet import Fleet, fleet
from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["fleet", "lock_bucket", "moto_endpoint", "s3_env"]


def test_console_ingest_once_indexes_and_status_reports_it(fleet: Fleet) -> None:
    """One pass as JSON (exit 0), a second finds nothing new; the status shows the lag."""
    (sid,) = fleet.record_and_ship(fleet.add_agent(), 2)
    r = run("console", "ingest", "--once", "--vault", fleet.url, "--json", home=fleet.firm)
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert (rep["indexed"], rep["anomalies"], rep["error"], rep["ok"]) == (2, [], "", True)
    r = run("console", "ingest", "--once", "--vault", fleet.url, home=fleet.firm)
    assert r.code == 0, r.err
    assert r.out.startswith("ingest: 0 indexed, 0 anomalies")
    st = json.loads(run("console", "ingest-status", home=fleet.firm).out)
    assert st["objects"] == {"indexed": 2} and st["last_error"] == ""
    assert st["lag_p95_ms"] >= st["lag_p50_ms"] > 0
    r = run("search", "kind:submit", home=fleet.firm)
    assert r.code == 0 and sid in r.out


def test_console_ingest_once_exits_1_on_an_anomaly_and_2_when_the_vault_is_unreachable(
    fleet: Fleet,
) -> None:
    """A segment from a workstation the firm does not trust: exit 1, the line on stderr.
    A vault that does not exist: exit 2, one line naming it."""
    fleet.record_and_ship(fleet.add_agent(enroll=False), 1)
    r = run("console", "ingest", "--once", "--vault", fleet.url, home=fleet.firm)
    assert r.code == 1
    assert ": not indexed: signed by an unknown key: " in r.err
    r = run("console", "ingest", "--once", "--vault", "s3://no-such-bucket/x", home=fleet.firm)
    assert r.code == 2
    assert "stopped: vault unavailable: " in r.out
