"""One real recorded demo session shared by the replay tests (recording takes ~45-110 s), and
per test module an export recipient's key pair and a headless Chromium (Playwright).

The recording is read-only for tests: a test that tampers with data works on a copy
(:func:`tests.replay.helpers.copy_home`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from agent.config import load_config
from agent.pipeline import record_demo
from agent.seal.tsa_local import LocalTSA
from tests.replay.helpers import CHROMIUM, Recorded, write_recipient_keys


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory, local_tsa: LocalTSA) -> Recorded:
    """The demo trading app recorded end to end (sealed, RFC 3161 timestamped)."""
    home = tmp_path_factory.mktemp("replay") / "home"
    cfg = load_config(env={}, home=home)
    res = asyncio.run(record_demo(cfg, home, headless=True, fast=True, tsa=local_tsa))
    assert res.report.ok, res.report.first_failure
    root = home.parent / "tsa-root.pem"
    root.write_bytes(local_tsa.root_pem)
    return Recorded(home, res.session_id, cfg, root)


@pytest.fixture(scope="module")
def recipient(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(private key PEM, public key PEM) of an export bundle's recipient (X25519)."""
    return write_recipient_keys(tmp_path_factory.mktemp("rcpt"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, closed after the module."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()
