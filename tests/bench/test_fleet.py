"""``sessiontape bench fleet`` at a tiny scale: real sealed sessions from 3 simulated agents
through moto S3 and the ingestion worker, then search at the real size and grown."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.clirun import run


def test_bench_fleet_tiny_reports_ingest_and_search_figures(tmp_path: Path) -> None:
    """Every segment written is ingested; the JSON names throughput, lag, bytes per session
    and search p95 for 1 and 8 readers, real and replicated."""
    r = run(
        "bench", "fleet", "--agents", "3", "--sessions", "12", "--scales", "30",
        "--runs", "2", "--json", home=tmp_path / "home", timeout=600,
    )  # fmt: skip
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert (out["agents"], out["sessions"], out["backend"]) == (3, 12, "sqlite")
    ing = out["ingest"]
    assert ing["segments_indexed"] == out["segments"] >= 12  # one session in three has two
    assert (ing["anomalies"], ing["backlog_left"]) == (0, 0)
    assert ing["segments_per_s"] > 0 and ing["sessions_per_s"] > 0
    assert 0 < ing["lag_p50_ms"] <= ing["lag_p95_ms"] <= ing["lag_max_ms"]
    assert ing["index_bytes_per_session"] > 0
    assert [(s["sessions"], s["filled"]) for s in out["search"]] == [
        (12, "real"),
        (30, "replicated"),
    ]
    for s in out["search"]:
        assert [x["readers"] for x in s["by_readers"]] == [1, 8]
        for x in s["by_readers"]:
            assert set(x["by_query_p95_ms"]) == {
                "full_text", "order_id", "substring_url", "facet_user_kind", "time_range",
            }  # fmt: skip
            assert x["queries"] == 2 * 5 * x["readers"] and x["p95_ms"] >= x["p50_ms"] > 0


def test_bench_fleet_postgres_without_a_dsn_is_a_usage_error(tmp_path: Path) -> None:
    """--backend postgres needs --dsn: one line, exit 2, before anything is written."""
    r = run("bench", "fleet", "--backend", "postgres", "--sessions", "1", home=tmp_path / "h")
    assert r.code == 2
    assert "--backend postgres needs --dsn" in r.err
