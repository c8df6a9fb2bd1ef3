"""``sessiontape search`` and ``sessiontape index update | rebuild | stats``.

Every search is written to the access audit (``audit.search``: who, when, query, result
count) before its results are shown; a search whose audit record cannot be written fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agent.cli.common import config, echo_json, home, setup_logging
from agent.errors import UsageError

index_app = typer.Typer(
    help="Build and inspect the search index (a cache of the journals).\n\n"
    "Example: sessiontape index update",
    no_args_is_help=True,
)


def _offset(ms: int) -> str:
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    hh, m = divmod(m, 60)
    return f"+{hh:d}:{m:02d}:{s:02d}.{ms:03d}" if hh else f"+{m:02d}:{s:02d}.{ms:03d}"


def search(
    query: str = typer.Argument(
        ...,
        help='Free text plus user: host: url: kind: token: value:"…" '
        "from: to: session: held: and field:tok_… (see README).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of hits."),
    limit: int = typer.Option(
        0, "--limit", min=0, max=10_000, help="Maximum hits (default: index.default_limit, 50)."
    ),
) -> None:
    """Search every recorded session; each hit names the session and event seq to open.

    Hits are newest first. Each search is recorded in the access audit. value:"ACCT-4417-2290"
    searches for the token(s) masking gives a clear value (audited like `sessiontape token`).

    Example: sessiontape search 'user:trader1 from:2026-11-26T10:00Z "Send order"'
    """
    setup_logging()
    from agent.index.search import search as run_search

    hits = run_search(home(), config(), query, limit=limit or None)
    if as_json:
        echo_json([_hit_json(x) for x in hits])
        return
    if not hits:
        typer.echo("no matches")
        return
    _print_hits(hits)


def _hit_json(x: Any) -> dict[str, Any]:
    """One hit for ``--json``, with the command that opens it."""
    return {
        "session_id": x.session_id,
        "seq": x.seq,
        "t_utc": x.t_utc,
        "t_utc_ns": x.t_utc_ns,
        "kind": x.kind,
        "action": x.action,
        "snippet": x.snippet,
        "user": x.user,
        "workstation": x.workstation,
        "host": x.host,
        "url": x.url,
        "selector": x.selector,
        "target": x.target,
        "label": x.label,
        "offset_ms": x.offset_ms,
        "open": f"sessiontape replay {x.session_id} --seq {x.seq}",
    }


def _print_hits(hits: list[Any]) -> None:
    """Hits grouped by session (sessions in hit order, hits in seq order within each)."""
    from agent.clock import utc_iso

    order: list[str] = []
    by_session: dict[str, list[Any]] = {}
    for x in hits:
        if x.session_id not in by_session:
            order.append(x.session_id)
            by_session[x.session_id] = []
        by_session[x.session_id].append(x)
    for sid in order:
        first = by_session[sid][0]
        typer.echo(
            f"{sid}  user {first.user or '-'}  on {first.workstation or '-'}  "
            f"started {utc_iso(first.session_start_ns)[:19]}Z"
        )
        for x in sorted(by_session[sid], key=lambda h: h.seq):
            typer.echo(
                f"  {_offset(x.offset_ms):>13}  seq {x.seq:<7} {x.t_utc[11:23]}Z "
                f"{x.action:<11} {x.snippet[:90]}"
            )
        typer.echo(f"  open: sessiontape replay {sid} --seq {by_session[sid][0].seq}")
    typer.echo(f"{len(hits)} hits in {len(order)} sessions")


def _print_report(rep: Any, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(rep.as_dict())
    else:
        typer.echo(
            f"{verb}: {rep.sessions} sessions, {rep.segments_indexed} segments indexed "
            f"({rep.rows} rows from {rep.events_read} events), "
            f"{rep.segments_skipped} already indexed, {rep.segments_unsealed} unsealed "
            f"(waiting), {rep.seconds:.1f} s"
        )
        for f in rep.failed:
            typer.echo(
                f"FAILED VERIFICATION {f['session_id']} segment {f['index']} "
                f"({f['segment_id']}): {f['detail']} - not indexed",
                err=True,
            )
        for u in rep.undecryptable:
            typer.echo(
                f"NOT INDEXED {u['session_id']} segment {u['index']} ({u['segment_id']}): "
                f"{u['detail']}",
                err=True,
            )
        for a in rep.anomalies:
            typer.echo(a["message"], err=True)
    if rep.failed or rep.anomalies:
        raise typer.Exit(1)
    if rep.undecryptable:  # a key problem (exit 2, like verify --decrypt), not damage
        raise typer.Exit(2)


@index_app.command("update")
def update(
    as_json: bool = typer.Option(False, "--json"),
    trust: Path | None = typer.Option(
        None, "--trust", help="Directory of trusted *.pub keys (default: this home's trust store)."
    ),
    from_vault: str | None = typer.Option(
        None,
        "--from-vault",
        help="Index what the WORM vault holds (s3://bucket/prefix or file:///path), each "
        "segment by the version its receipt records, instead of the local journals.",
    ),
) -> None:
    """Index sealed segments not indexed yet (verifying each first); exit 1 if any fails or
    the vault shows an anomaly (a newer version or delete marker over a record, ...).

    Example: sessiontape index update --from-vault s3://records/desk1
    """
    setup_logging()
    if from_vault is not None:
        from agent.index.from_vault import update_from_vault

        rep = update_from_vault(home(), config(), from_vault, trust_dir=trust)
    else:
        from agent.index.indexer import index_new_segments

        rep = index_new_segments(home(), config(), trust_dir=trust)
    _print_report(rep, as_json, "updated")


@index_app.command("rebuild")
def rebuild(
    from_dir: Path | None = typer.Option(
        None,
        "--from-dir",
        help="Rebuild from the journals in this directory (a home or a journals dir).",
    ),
    from_vault: str | None = typer.Option(
        None,
        "--from-vault",
        help="Rebuild from the WORM vault alone (s3://bucket/prefix or file:///path), each "
        "segment by the version its receipt records; vault anomalies are listed (exit 1) and "
        "the sessions indexed from the originals.",
    ),
    trust: Path | None = typer.Option(None, "--trust", help="Directory of trusted *.pub keys."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Drop the index and rebuild it from local journals (default) or from the vault.

    Exit 1 when a segment fails verification or the vault shows an anomaly (a newer version
    or a delete marker over a record, a receipt that disagrees); the originals are indexed.

    Example: sessiontape index rebuild --from-vault file:///srv/sessiontape/vault
    """
    setup_logging()
    from agent.index.from_vault import rebuild_from_vault
    from agent.index.indexer import rebuild_from_dir

    if from_dir is not None and from_vault is not None:
        raise UsageError("give --from-dir or --from-vault, not both")
    if from_vault is not None:
        rep = rebuild_from_vault(home(), config(), from_vault, trust_dir=trust)
    else:
        rep = rebuild_from_dir(home(), config(), from_dir, trust_dir=trust)
    _print_report(rep, as_json, "rebuilt")


@index_app.command("stats")
def stats(as_json: bool = typer.Option(False, "--json")) -> None:
    """Sessions, segments, events and tokens indexed; size; segments that failed verification.

    Example: sessiontape index stats --json
    """
    from agent.index.backend import open_index

    ix = open_index(home(), config(), readonly=True)
    try:
        st = ix.stats()
    finally:
        ix.close()
    if as_json:
        echo_json(st.as_dict())
        return
    d = st.as_dict()
    typer.echo(f"index     {st.location} ({st.backend}, schema {st.schema_version})")
    typer.echo(
        f"sessions  {st.sessions}   segments {st.segments}   events {st.events}   "
        f"tokens {st.tokens}"
    )
    typer.echo(
        f"size      {st.size_bytes / 1e6:.2f} MB ({d['bytes_per_session'] / 1e3:.1f} kB "
        "per session)"
    )
    for f in st.failed:
        typer.echo(f"FAILED VERIFICATION {f['session_id']} segment {f['index']}: {f['detail']}")


def register(app: typer.Typer) -> None:
    """Add ``search`` and the ``index`` sub-app."""
    app.command("search")(search)
    app.add_typer(index_app, name="index")
