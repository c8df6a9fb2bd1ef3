"""The ``views`` check of a bundle: what a person reads - each session's offline viewer data
(``viewer/<session>/data.js``) and ``report.html`` - re-derived from the bundle's own segment
copies (with the data keys) and compared byte for byte, so a bundle whose pages show
something the sealed segments do not say fails even when its manifest was re-signed.

One part of each is not re-derived: the label of a seal's RFC 3161 time depends on the TSA
roots the exporter had, so a segment's ``rfc3161`` entry is taken from the bundle when it
states the same time(s) as the one re-derived here (the token itself is checked by the
``segments`` check). Without the data keys nothing here can be checked; the report says so.

The thumbnails (``report/thumbs/…``) and ``report.pdf`` were drawn by a browser at export
time: they are checked by their hash in the signed manifest (the ``files`` check), not drawn
again. What ``report.html`` says about them - which moment has a picture, which a placeholder
and why - comes from the manifest's ``report`` entry, so a picture cannot be swapped for a
placeholder (or the reverse) without the re-derived report differing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import KeyMaterialError
from agent.journal.reader import SegmentFile
from agent.journal.store import load_session
from agent.keys import Keyring, TrustStore
from agent.replay import report
from agent.replay.assets import in_flat_dir
from agent.replay.report_view import ReportSettings, SessionView, session_view
from agent.replay.session import ReplaySession
from agent.replay.viewer_data import data_js, parse_data_js, viewer_data
from agent.seal.crypto import ChunkCipher
from agent.seal.verify import Check, TimestampVerifier, verify_paths

if TYPE_CHECKING:
    from agent.replay.bundle_verify import BundleReport

REPORT = "report.html"


def _cipher_for(
    deks: dict[str, bytes] | None, keyring: Keyring | None
) -> Callable[[SegmentFile], ChunkCipher]:
    def cipher(seg: SegmentFile) -> ChunkCipher:
        if deks is not None and seg.segment_id in deks:
            return ChunkCipher(deks[seg.segment_id])
        if keyring is not None:
            return seg.cipher(keyring)
        raise KeyMaterialError(f"{seg.path}: no data key")

    return cipher


def _times(ts: Any) -> list[datetime | str]:
    """The instants an ``rfc3161`` entry states (any ``*_time`` value), comparable."""
    if not isinstance(ts, dict):
        return []
    out: list[datetime | str] = []
    for k, v in sorted(ts.items()):
        if k.endswith("_time") and isinstance(v, str) and v:
            try:
                out.append(datetime.fromisoformat(v.replace("Z", "+00:00")))
            except ValueError:
                out.append(v)
    return sorted(out, key=str)


def _adopt_time_labels(derived: dict[str, Any], bundled: Any) -> None:
    """Take each segment's ``rfc3161`` entry from the bundle when it states the same time."""
    segs_b = bundled.get("segments") if isinstance(bundled, dict) else None
    segs_d = derived["segments"]
    if not isinstance(segs_b, list) or len(segs_b) != len(segs_d):
        return
    for d, b in zip(segs_d, segs_b, strict=True):
        if isinstance(b, dict) and _times(b.get("rfc3161")) == _times(d["rfc3161"]):
            d["rfc3161"] = b["rfc3161"]


def first_difference(got: Any, want: Any, path: str = "") -> str | None:
    """The path of the first place where ``got`` differs from ``want`` (None: equal)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k in [*want, *(k for k in got if k not in want)]:
            if k not in got or k not in want:
                return f"{path}.{k}".lstrip(".")
            d = first_difference(got[k], want[k], f"{path}.{k}")
            if d is not None:
                return d
        return None
    if isinstance(want, list) and isinstance(got, list):
        for i in range(max(len(got), len(want))):
            if i >= len(got) or i >= len(want):
                return f"{path}[{i}]".lstrip(".")
            d = first_difference(got[i], want[i], f"{path}[{i}]")
            if d is not None:
                return d
        return None
    return None if (type(got), got) == (type(want), want) else (path.lstrip(".") or "(top)")


def _data_js_where(got: Any, want: dict[str, Any], raw: bytes, expected: bytes) -> str:
    """Where a data.js first differs: a JSON path (with the event's seq), else a byte."""
    where = first_difference(got, want)
    if where is None:
        at = next((i for i, (a, b) in enumerate(zip(raw, expected, strict=False)) if a != b), None)
        return f"byte {at if at is not None else min(len(raw), len(expected))}"
    if where.startswith("events["):
        i = int(where[len("events[") : where.index("]")])
        if i < len(want["events"]):
            return f"{where} (seq {want['events'][i]['seq']})"
    return where


def _check_data_js(root: Path, rep: BundleReport, rs: ReplaySession) -> dict[str, Any] | None:
    """Compare one session's data.js; return the integrity badge the report must show."""
    sid = rs.info.session_id
    rel = f"viewer/{sid}/data.js"
    first, last = rs.seq_range
    recs = list(rs.records(first, last)) if first is not None and last is not None else []
    want = viewer_data(in_flat_dir(root / "viewer" / sid / "assets"), rs, recs)
    try:
        raw = (root / rel).read_bytes()
        got = parse_data_js(raw)
    except (OSError, ValueError) as exc:
        rep.checks.append(Check("views", False, f"not the viewer's data ({exc})", rel))
        return None
    bundled = got.get("session", {}).get("integrity") if isinstance(got, dict) else None
    _adopt_time_labels(want["session"]["integrity"], bundled)
    expected = data_js(want)
    if raw != expected:
        where = _data_js_where(got, want, raw, expected)
        rep.checks.append(
            Check("views", False, "differs from what the sealed segments give", f"{rel} at {where}")
        )
        return None
    return dict(want["session"]["integrity"])


def _check_report(
    root: Path, rep: BundleReport, manifest: dict[str, Any], views: list[SessionView]
) -> bool:
    """report.html against the one rendered from the segments and the signed manifest."""
    ids = [str(s.get("session_id")) for s in _sessions(manifest) if isinstance(s, dict)]
    custody = {k: manifest.get(k) for k in ("requester", "reason", "matter", "query", "approver")}
    facts = {
        "trusted_keys": sorted(
            str(f) for f in manifest.get("files") or {} if str(f).startswith("keys/trusted/")
        ),
        "decryption": manifest.get("decryption") or {},
    }
    expected = report.render(
        views,
        report.report_header(custody, ids, int(manifest.get("created_utc_ns") or 0)),
        facts,
    )
    try:
        raw = (root / REPORT).read_bytes()
    except OSError as exc:
        rep.checks.append(Check("views", False, f"unreadable ({exc.strerror})", REPORT))
        return False
    if raw == expected:
        return True
    at = next(
        (i for i, (a, b) in enumerate(zip(raw, expected, strict=False)) if a != b),
        min(len(raw), len(expected)),
    )
    got_s = raw[max(0, at - 20) : at + 20].decode("utf-8", "replace")
    want_s = expected[max(0, at - 20) : at + 20].decode("utf-8", "replace")
    rep.checks.append(
        Check(
            "views",
            False,
            "differs from what the sealed segments give",
            f"{REPORT} at byte {at}: {got_s!r}, the segments give {want_s!r}",
        )
    )
    return False


def _sessions(manifest: dict[str, Any]) -> list[Any]:
    """The manifest's session entries (nothing when it holds no list)."""
    sessions = manifest.get("sessions")
    return sessions if isinstance(sessions, list) else []


def _outcomes(rdoc: dict[str, Any], sid: str) -> dict[str, dict[str, Any]]:
    """The manifest's thumbnail outcomes of a session (what is not an outcome is left out,
    so the re-derived report differs from one built on it)."""
    by_session = rdoc.get("thumbnails")
    mine = by_session.get(sid) if isinstance(by_session, dict) else None
    if not isinstance(mine, dict):
        return {}
    return {str(k): v for k, v in mine.items() if isinstance(v, dict)}


def check_views(
    root: Path,
    rep: BundleReport,
    manifest: dict[str, Any],
    trust: TrustStore,
    tst_verifier: TimestampVerifier | None,
    deks: dict[str, bytes] | None,
    keyring: Keyring | None,
) -> None:
    """``views``: re-derive every session's data.js and the report, compare them; without
    the data keys (the ``derived`` check could not decode) say what was not re-derived."""
    ids = [str(s.get("session_id")) for s in _sessions(manifest) if isinstance(s, dict)]
    if not rep.derived_checked:
        if any(c.name == "derived" and c.ok is None for c in rep.checks):
            rep.not_rederived = [*(f"viewer/{sid}/data.js" for sid in ids), REPORT]
            rep.checks.append(
                Check(
                    "views",
                    None,
                    "no data keys: " + ", ".join(rep.not_rederived) + " were NOT re-derived "
                    "from the segments (checked by manifest hash only)",
                )
            )
        return
    cipher_for = _cipher_for(deks, keyring)
    views: list[SessionView] = []
    ok = True
    rdoc: dict[str, Any] = manifest["report"] if isinstance(manifest.get("report"), dict) else {}
    settings = ReportSettings.from_dict(rdoc)
    entries = {str(s.get("session_id")): s for s in _sessions(manifest) if isinstance(s, dict)}
    for sid in ids:
        info = load_session(root / "native" / "segments" / sid)
        vr = verify_paths([s.path for s in info.segments], trust, tst_verifier=tst_verifier)
        rs = ReplaySession.from_report(info, vr, cipher_for)
        try:
            integrity = _check_data_js(root, rep, rs)
            ok = ok and integrity is not None
            first, last = rs.seq_range
            recs = list(rs.records(first, last)) if first is not None and last is not None else []
            thumbs = _outcomes(rdoc, sid)
            views.append(session_view(rs, recs, entries[sid], thumbs, settings, integrity))
        finally:
            rs.close()
    if _check_report(root, rep, manifest, views) and ok:
        rep.checks.append(
            Check("views", True, f"{len(ids)} data.js and report.html re-derived: they match")
        )
