"""The kiosk policy: its checks, its Chromium flags, downloads and service workers in a real
Chromium."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.kiosk.policy import DEAD_PROXY, KioskPolicy, kiosk_args, proxy_args
from tests.kiosk.sites import DOWNLOAD_BODY, blocked, kiosk, kiosk_sites
from tests.waiting import wait_until_async


def test_start_url_must_be_allowed() -> None:
    with pytest.raises(ConfigError, match="start URL 'https://other.example/' is not in"):
        KioskPolicy.build("https://other.example/", ["https://bank.example"])


def test_unknown_choices_are_refused() -> None:
    good = ("https://bank.example/", ["https://bank.example"])
    with pytest.raises(ConfigError, match="downloads"):
        KioskPolicy.build(*good, downloads="ask")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="printing"):
        KioskPolicy.build(*good, printing="never")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="service_workers"):
        KioskPolicy.build(*good, service_workers="some")  # type: ignore[arg-type]


def test_kiosk_args_follow_the_policy() -> None:
    policy = KioskPolicy.build("https://bank.example/", ["https://bank.example"])
    silent = KioskPolicy.build("https://bank.example/", ["https://bank.example"], printing="silent")
    proxy = proxy_args(policy)
    assert kiosk_args(policy, headless=False) == [*proxy, "--kiosk"]
    assert kiosk_args(silent, headless=False) == [*proxy, "--kiosk", "--kiosk-printing"]
    assert kiosk_args(policy, headless=True) == proxy


def test_proxy_rules_send_what_is_not_allowed_to_a_proxy_that_cannot_exist() -> None:
    """Allowed origins (and their WebSocket twins) bypass the dead proxy; loopback is not
    bypassed implicitly; ``any-https`` proxies http/ws only; ``any`` or an unenforced scope
    proxies nothing."""
    allow = ["https://bank.example", "http://*.branch.example:8080/app", "https://[::1]:*"]
    policy = KioskPolicy.build("https://bank.example/", allow)
    assert proxy_args(policy) == [
        f"--proxy-server={DEAD_PROXY}",
        "--proxy-bypass-list=<-loopback>;https://bank.example:443;wss://bank.example:443;"
        "http://*.branch.example:8080;ws://*.branch.example:8080;https://[::1];wss://[::1]",
    ]
    https = KioskPolicy.build("https://bank.example/", allow[:1], subresources="any-https")
    assert proxy_args(https)[0] == f"--proxy-server=http={DEAD_PROXY}"
    anything = KioskPolicy.build("https://bank.example/", allow[:1], subresources="any")
    assert proxy_args(anything) == []
    tops = KioskPolicy.build("https://bank.example/", allow[:1], scopes=["top", "frame"])
    assert proxy_args(tops) == []


def _download(tmp_path: Path, downloads: str) -> list[str]:
    """Click a download link; the pages.download events' states."""

    async def main() -> list[str]:
        async with (
            kiosk_sites() as s,
            kiosk(tmp_path, s, downloads=downloads) as (cs, sink, _policy),
        ):
            await cs.page.click("#dl")
            done = await wait_until_async(
                lambda: [e for e in sink.events if e.kind == "page.download"],
                what="the download settled",
                timeout_s=20,
            )
            assert "/download" in s.hits_a
            files = [p for p in cs.browser.downloads_dir.iterdir() if p.is_file()]
            assert [p.read_bytes() for p in files] == (
                [DOWNLOAD_BODY] if downloads == "allow" else []
            )
            return [str(e.payload.get("state")) for e in done]

    return asyncio.run(main())


@pytest.mark.browser
def test_downloads_are_denied_by_default(tmp_path: Path) -> None:
    assert _download(tmp_path, "deny") == ["canceled"]


@pytest.mark.browser
def test_downloads_allowed_by_policy_complete(tmp_path: Path) -> None:
    assert _download(tmp_path, "allow") == ["completed"]


@pytest.mark.browser
def test_service_workers_blocked_by_policy_never_run(tmp_path: Path) -> None:
    """With ``service_workers = "block"`` the worker's own script fetch is refused: the
    registration fails, and the page's navigations go to the network."""

    async def main() -> None:
        async with (
            kiosk_sites() as s,
            kiosk(tmp_path, s, "/sw.html", service_workers="block") as (cs, sink, _policy),
        ):
            assert str(await cs.page.evaluate("window.swReady")).startswith("failed: ")
            ev = await wait_until_async(
                lambda: [e for e in blocked(sink) if e.payload["how"] == "service-worker"],
                what="the service worker refused",
                timeout_s=20,
            )
            assert [e.payload["url"] for e in ev] == [s.a + "/sw.js"]
            assert ev[0].payload["reason"] == "service workers are blocked"
            assert "/sw.js" not in s.hits_a
            await cs.page.goto(s.a + "/sw-proxy", wait_until="domcontentloaded")
            assert "/sw-proxy" in s.hits_a  # the network answered, not a worker

    asyncio.run(main())
