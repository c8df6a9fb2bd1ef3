"""Attack: a recorded page whose DOM references its own site (images, stylesheets, fonts,
srcsets, CSS rules added later) - opening the exported offline viewer from ``file://`` must
not contact that site (which would tell it, or anyone on the path, that the record is being
examined, and could serve different content than what was recorded).

A real local server plays the recorded origin and counts every hit; a real export (CLI);
real Chromium with every request and console message watched.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from agent.config import load_config
from agent.keys import Keyring
from agent.replay.viewer_data import OFFLINE_CSP
from agent.rrweb import EventType, IncrementalSource, NodeType
from agent.testing import FakeClock
from tests.attacks.hits import HitServer, hit_server
from tests.journals import EventSpec, write_scripted_session
from tests.replay.helpers import CHROMIUM, Recorded, cli, copy_home

pytestmark = pytest.mark.browser

BODY, STYLE, IMG1 = 5, 7, 10
LOCAL = ("data:", "about:blank")
"""URLs that never leave the browser (what a URL without an archived copy becomes)."""


def _png() -> bytes:
    """A real 4x4 red PNG."""

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _el(nid: int, tag: str, attrs: dict[str, str], kids: list[Any] | None = None) -> Any:
    return {
        "type": NodeType.ELEMENT,
        "tagName": tag,
        "attributes": attrs,
        "childNodes": kids or [],
        "id": nid,
    }


def _document(o: str) -> Any:
    """The recorded page: two URLs of one archived image, and many unarchived references."""
    css = f'body{{background:url("{o}/bg.png")}} @import "{o}/more.css";'
    head = _el(
        3,
        "head",
        {},
        [
            _el(4, "link", {"rel": "stylesheet", "href": f"{o}/site.css"}),
            _el(
                STYLE,
                "style",
                {},
                [{"type": NodeType.TEXT, "textContent": css, "isStyle": True, "id": 8}],
            ),
            _el(9, "link", {"rel": "icon", "href": f"{o}/favicon.ico"}),
        ],
    )
    body = _el(
        BODY,
        "body",
        {},
        [
            _el(IMG1, "img", {"src": f"{o}/img/logo.png", "id": "first"}),
            _el(11, "img", {"src": f"{o}/img/logo-copy.png", "id": "second"}),
            _el(12, "img", {"src": f"{o}/img/never-archived.png"}),
            _el(13, "img", {"srcset": f"{o}/x1.png 1x, {o}/img/logo.png 2x"}),
            _el(14, "div", {"style": f"background-image:url('{o}/div.png')"}),
            _el(15, "video", {"poster": f"{o}/poster.png"}),
            _el(16, "iframe", {"src": f"{o}/frame.html"}),
            _el(
                17,
                "a",
                {"href": f"{o}/next"},
                [{"type": NodeType.TEXT, "textContent": "next", "id": 18}],
            ),
        ],
    )
    return {
        "type": NodeType.DOCUMENT,
        "id": 1,
        "childNodes": [
            {
                "type": NodeType.DOCUMENT_TYPE,
                "name": "html",
                "publicId": "",
                "systemId": "",
                "id": 2,
            },
            _el(19, "html", {}, [head, body]),
        ],
    }


def _events(o: str) -> list[EventSpec]:
    """Meta, the full snapshot, then a mutation and an inserted CSS rule with more URLs."""
    doc = _document(o)
    t = 1_700_000_000_000
    mutation = {
        "source": IncrementalSource.MUTATION,
        "texts": [],
        "removes": [],
        "attributes": [{"id": IMG1, "attributes": {"style": {"background": f"url({o}/m.png)"}}}],
        "adds": [
            {"parentId": BODY, "nextId": None, "node": _el(30, "img", {"src": f"{o}/added.png"})}
        ],
    }
    rule = {
        "source": IncrementalSource.STYLE_SHEET_RULE,
        "id": STYLE,
        "adds": [{"rule": f"p{{background:url({o}/rule.png)}}", "index": 0}],
    }
    return [
        (
            "rrweb.meta",
            {
                "type": EventType.META,
                "data": {"href": f"{o}/", "width": 800, "height": 600},
                "timestamp": t,
            },
            "P",
        ),
        (
            "rrweb.full_snapshot",
            {
                "type": EventType.FULL_SNAPSHOT,
                "data": {"node": doc, "initialOffset": {"left": 0, "top": 0}},
                "timestamp": t + 1,
            },
            "P",
        ),
        (
            "rrweb.mutation",
            {"type": EventType.INCREMENTAL_SNAPSHOT, "data": mutation, "timestamp": t + 2},
            "P",
        ),
        (
            "rrweb.style_sheet_rule",
            {"type": EventType.INCREMENTAL_SNAPSHOT, "data": rule, "timestamp": t + 3},
            "P",
        ),
    ]


@pytest.fixture(scope="module")
def origin() -> Iterator[HitServer]:
    """The recorded site, still live: it counts every request it gets."""
    with hit_server() as hs:
        yield hs


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, origin: HitServer) -> tuple[Path, str]:
    """(bundle dir, session id): the session exported through the real CLI."""
    home = tmp_path_factory.mktemp("off") / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    png = _png()
    sha = hashlib.sha256(png).hexdigest()
    (home / "assets" / sha[:2]).mkdir(parents=True)
    (home / "assets" / sha[:2] / sha[2:]).write_bytes(png)
    o = origin.origin
    assets: list[EventSpec] = [
        ("net.asset", {"url": f"{o}/img/{n}", "sha256": sha, "mime": "image/png"}, "P")
        for n in ("logo.png", "logo-copy.png")
    ]
    sid = write_scripted_session(home, cfg, FakeClock(), [assets + _events(o)]).session_id
    out = home.parent / "bundle"
    r = cli(home, "export", sid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out, sid


def _open_watched(viewer: Path, seek_last: bool) -> tuple[list[str], list[str], dict[str, Any]]:
    """Open the offline viewer from file:// in real Chromium; return every request URL, every
    console message, and what the replay shows."""
    requests: list[str] = []
    console: list[str] = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            ctx = b.new_context()
            ctx.on("request", lambda r: requests.append(r.url))
            page = ctx.new_page()
            page.on("console", lambda m: console.append(m.text))
            page.goto(viewer.as_uri(), wait_until="domcontentloaded")
            page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
            if seek_last:
                last = page.evaluate("window.__ST_OFFLINE.session.seq_last")
                page.evaluate(f"window.__st.seek({last})")
                page.wait_for_selector(
                    f"body[data-state=ready][data-seq='{last}']", state="attached", timeout=60_000
                )
            shown = page.evaluate(
                """() => { const d = document.querySelector('#replay iframe').contentDocument;
                const im = (id) => { const e = d.getElementById(id);
                  return e ? [e.getAttribute('src'), e.complete && e.naturalWidth] : null; };
                return {first: im('first'), second: im('second'),
                        imgs: d.querySelectorAll('img').length}; }"""
            )
        finally:
            b.close()
    return requests, console, shown


def test_offline_viewer_carries_a_strict_csp(exported: tuple[Path, str]) -> None:
    """viewer.html of the bundle: the policy is a meta tag before anything loads."""
    out, sid = exported
    html = (out / "viewer" / sid / "viewer.html").read_text()
    meta = f'<meta http-equiv="Content-Security-Policy" content="{OFFLINE_CSP}">'
    assert html.index(meta) < html.index("<link") < html.index("<script")
    assert "connect-src 'none'" in OFFLINE_CSP and OFFLINE_CSP.startswith("default-src 'none'")


def test_offline_viewer_never_contacts_the_recorded_site(
    exported: tuple[Path, str], origin: HitServer
) -> None:
    """Opened from file:// and stepped to the last event: the recorded site gets no request,
    every request stays in the bundle, nothing had to be blocked by the policy (the URLs
    were rewritten), and both recorded URLs of the archived image show the archived copy."""
    out, sid = exported
    vdir = out / "viewer" / sid
    requests, console, shown = _open_watched(vdir / "viewer.html", seek_last=True)
    assert origin.hits == []
    outside = [u for u in requests if not u.startswith((vdir.as_uri() + "/", *LOCAL))]
    assert outside == []
    assert [m for m in console if "Content Security Policy" in m] == []
    sha = next((vdir / "assets").iterdir()).name
    assert shown["first"] == [f"assets/{sha}", 4]
    assert shown["second"] == [f"assets/{sha}", 4]
    assert shown["imgs"] == 5


def test_demo_export_offline_viewer_stays_in_the_bundle(recorded: Recorded, tmp_path: Path) -> None:
    """The real demo recording's offline viewer, opened from file://: no request leaves the
    bundle and no load had to be blocked."""
    home = copy_home(recorded.home, tmp_path / "h")
    out = tmp_path / "bundle"
    assert cli(home, "export", recorded.session_id, "--out", str(out)).returncode == 0
    vdir = out / "viewer" / recorded.session_id
    requests, console, _ = _open_watched(vdir / "viewer.html", seek_last=False)
    outside = [u for u in requests if not u.startswith((vdir.as_uri() + "/", *LOCAL))]
    assert outside == []
    assert [m for m in console if "Content Security Policy" in m] == []
