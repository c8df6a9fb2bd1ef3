"""End to end: real Chromium -> capture -> MaskingSink -> journal; no secret reaches disk.

Two recording sessions against the demo app (with its fixture pages): the secrets fixture
page (values in text, attributes, a hidden input, placeholder/title, values set by script,
console, XHR query/headers/body, a WebSocket message), then a login and the client-lookup
form typed key by key. Afterwards every byte under the agent home - journal segments raw and
decrypted, the operational log, keys, assets, audit - is scanned for each demo secret in
plain text, base64, URL-encoding and UTF-16 (LE/BE).

The login name (``DEMO_SECRETS["username"]``) is not scanned for: who acted is recorded on
purpose (the app shows it and the journal must say who the user was).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pwd
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from agent.audit import audit_records
from agent.capture.config import CaptureConfig
from agent.capture.driver_page import PageDriver
from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.config import load_config
from agent.demo_app import DEMO_SECRETS
from agent.demo_app.server import running_demo_app
from agent.journal import Journal, JournalSink
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.logs import configure, configure_quiet
from agent.mask.escrow import generate_keypair, load_private_key, open_sealed
from agent.mask.masker import Masker
from agent.mask.rules import default_rules_path
from agent.mask.sink import MaskingSink
from tests.cli.clirun import run

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CHROMIUM = "/usr/lib/chromium/chromium"
SECRETS = {k: v for k, v in DEMO_SECRETS.items() if k != "username"}


def encodings(secret: str) -> dict[str, bytes]:
    """The forms a secret could take on disk."""
    raw = secret.encode()
    out = {
        "plain": raw,
        "utf16le": secret.encode("utf-16-le"),
        "utf16be": secret.encode("utf-16-be"),
        "url": quote(secret, safe="").encode(),
        "url_plus": quote_plus(secret).encode(),
    }
    for k in range(3):  # base64 at each alignment: the groups that hold only secret bytes
        for name, enc in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            full = enc(b"\0" * k + raw)
            start = -(-k // 3) * 4 if k else 0
            end = len(full) - (4 if (k + len(raw)) % 3 else 0)
            if end - start >= 8:
                out[f"{name}{k}"] = full[start:end]
    return out


def strings_of(obj: object) -> list[str]:
    """Every string (values and keys) inside a decoded JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in (k, *strings_of(v))]
    if isinstance(obj, list):
        return [x for v in obj for x in strings_of(v)]
    return []


def find_secrets(blob: bytes, where: str, strings: bytes | None = None) -> list[str]:
    """Secret forms found in ``blob`` (context shown, the secret itself elided).

    Forms shorter than 8 bytes (a 4-digit PIN) would match node ids and timestamps by
    chance, so they are looked for only in ``strings`` - the text values of the JSON the
    bytes hold - and must stand alone there (not inside a longer number or word).
    """
    found = []
    for key, secret in SECRETS.items():
        for form, needle in encodings(secret).items():
            if len(needle) >= 8:
                target, rx = blob, re.escape(needle)
            elif strings is not None:
                target = strings
                rx = rb"(?<![0-9A-Za-z])" + re.escape(needle) + rb"(?![0-9A-Za-z])"
            else:
                continue
            m = re.search(rx, target)
            if m is not None:
                ctx = (
                    target[max(0, m.start() - 80) : m.start()]
                    + b"<SECRET>"
                    + target[m.end() : m.end() + 40]
                )
                found.append(f"{key} ({form}) in {where}: {ctx!r}")
    return found


def json_strings(blob: bytes) -> bytes | None:
    """The strings of a JSON-lines file (the operational log), or None if it is not one."""
    out: list[str] = []
    try:
        for line in blob.decode("utf-8").splitlines():
            if line.strip():
                out += strings_of(json.loads(line))
    except ValueError:
        return None
    return "\n".join(out).encode()


Script = Callable[[PageDriver], Awaitable[None]]


async def _type(page: PageDriver, selector: str, value: str) -> None:
    await page.type(selector, value, delay_ms=5)


async def _log_in(page: PageDriver) -> None:
    await _type(page, "#username", DEMO_SECRETS["username"])
    await _type(page, "#password", DEMO_SECRETS["password"])
    await page.click("#login-submit")
    await page.wait_for_url("**/app")


async def _fixture_then_lookup(page: PageDriver, app_url: str) -> None:
    """The secrets fixture page runs to its end; then a login and the client-lookup form."""
    s = DEMO_SECRETS
    await page.wait_for_function("window.__fixtureDone === true", timeout=15)
    await page.goto(app_url)
    await _log_in(page)
    await _type(page, "#client-name", "Jane Q. Sample")
    for selector, secret in (
        ("#ssn", "ssn"),
        ("#lookup-account", "account"),
        ("#notes", "notes"),
        ("#pin", "pin"),
    ):
        await _type(page, selector, s[secret])
    await page.click("#lookup-submit")
    await page.wait_for_selector("#lookup-result .lookup-account", has_text=s["account"])


async def _second_lookup(page: PageDriver) -> None:
    """A second session: login, and the same account typed again."""
    await _log_in(page)
    await _type(page, "#lookup-account", DEMO_SECRETS["account"])


async def _record(home: Path, masker: Masker, url: str, script: Script) -> str:
    """One recording session through the real pipeline; returns the session id. Stopping
    the capture flushes what the page's recorder still holds."""
    journal = Journal.open(home, load_config(env={}))
    jsink = JournalSink(journal)
    cfg = CaptureConfig(headless="true", executable=CHROMIUM)
    cs = CaptureSession(
        cfg, MaskingSink(jsink, masker), SystemClock(), home, mask=masker.page_config()
    )
    try:
        await cs.start(url)
        await script(cs.page)
    finally:
        await cs.stop()
        jsink.close()
    return journal.session_id


def _record_two_sessions(home: Path, rules: Path) -> tuple[str, str]:
    """The fixture page + lookup, then a second lookup; operational logs at debug level."""

    async def scenario() -> tuple[str, str]:
        async with running_demo_app(fixtures_dir=PAGES) as app:
            first = await _record(
                home,
                Masker.load(home, rules),
                app.url + "fixtures/fx_secrets.html",
                lambda page: _fixture_then_lookup(page, app.url),
            )
            second = await _record(home, Masker.load(home, rules), app.url, _second_lookup)
        return first, second

    configure(home, "debug")
    try:
        return asyncio.run(scenario())
    finally:
        configure_quiet()


def _decrypted(home: Path, session_id: str) -> tuple[bytes, bytes]:
    """All records of a session as JSON lines, and the strings they hold."""
    keyring = Keyring.load(home)
    out: list[str] = []
    strings: list[str] = []
    for seg in find_session(home, session_id).segments:
        for rec in iter_records(seg.path, keyring):
            out.append(json.dumps(rec.as_dict(), ensure_ascii=False))
            strings += strings_of(rec.as_dict())
    return "\n".join(out).encode(), "\n".join(strings).encode()


def _leaks_on_disk(home: Path, decrypted: dict[str, tuple[bytes, bytes]]) -> tuple[list[str], int]:
    """Secret forms found in the decrypted sessions and in every file under ``home``, and
    the number of files scanned."""
    leaks: list[str] = []
    for sid, (blob, strings) in decrypted.items():
        leaks += find_secrets(blob, f"decrypted session {sid}", strings)
    files = 0
    for root, _dirs, names in os.walk(home):
        for name in names:
            p = Path(root) / name
            data = p.read_bytes()
            leaks += find_secrets(data, str(p.relative_to(home)), json_strings(data))
            files += 1
    return leaks, files


@dataclass
class Escrow:
    """An officer key pair on its own medium and masking rules that escrow the notes."""

    key_path: Path
    rules: Path


@pytest.fixture
def escrow(tmp_path: Path) -> Escrow:
    officer = tmp_path / "officer"
    officer.mkdir()
    pem, pub = generate_keypair()
    key_path = officer / "officer.pem"
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    rules = tmp_path / "masking.toml"
    rules.write_text(
        default_rules_path()
        .read_text(encoding="utf-8")
        .replace('public_key = ""', f'public_key = "{pub}"')
        + '\n[[rules]]\nid = "notes-escrow"\nkind = "selector"\nmode = "escrow"\n'
        'selector = "textarea#notes"\n',
        encoding="utf-8",
    )
    return Escrow(key_path, rules)


def _escrow_token_of(session: str, dump: bytes, value: str, key_path: Path) -> str:
    """The escrow token (random, so found by opening blobs) whose sealed value is ``value``."""
    key = load_private_key(key_path)
    for line in dump.decode().splitlines():
        for token, blob in (json.loads(line).get("payload", {}).get("_escrow") or {}).items():
            if open_sealed(blob, token, key) == value:
                return str(token)
    raise AssertionError(f"no escrow blob of the notes in session {session}")


def _reveal_is_audited(home: Path, session: str, token: str, key_path: Path) -> None:
    """``sessiontape reveal`` prints the escrowed notes and a sealed audit record names it."""
    res = run(
        "reveal",
        session,
        "--token",
        token,
        "--key",
        str(key_path),
        "--reason",
        "e2e test",
        "--actor",
        "officer1",
        home=home,
    )
    assert res.code == 0 and res.out.strip() == DEMO_SECRETS["notes"], res.err
    audit = audit_records(home, "audit.reveal")  # sealed access-audit journal
    assert audit[-1]["outcome"] == "revealed" and audit[-1]["token"] == token
    me = pwd.getpwuid(os.getuid()).pw_name  # the OS account; --actor is only a note
    assert (audit[-1]["who"], audit[-1]["note"], audit[-1]["session"]) == (me, "officer1", session)


@pytest.mark.browser
@pytest.mark.slow
def test_recorded_secrets_never_reach_disk_tokens_correlate_and_reveal_is_audited(
    tmp_path: Path, escrow: Escrow
) -> None:
    """No secret in any form on disk; same account -> same token in two sessions; the
    escrowed notes reveal with the officer key, and the reveal is audited."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    first, second = _record_two_sessions(home, escrow.rules)

    masker = Masker.load(home, escrow.rules)
    acct_token = masker.strings.apply(DEMO_SECRETS["account"], masker.rules.hits["account-fields"])
    assert acct_token is not None and acct_token[0].startswith("tok_")
    decrypted = {sid: _decrypted(home, sid) for sid in (first, second)}
    dumps = {sid: d[0] for sid, d in decrypted.items()}
    # The recording is not empty: the lookup and both sessions' account token are in it.
    assert b"rrweb.full_snapshot" in dumps[first] and b"net.ws_frame" in dumps[first]
    for sid in (first, second):
        assert acct_token[0].encode() in dumps[sid], f"account token missing in {sid}"

    # Reveal the escrowed notes with the officer key (audited), then scan everything.
    esc = _escrow_token_of(first, decrypted[first][0], DEMO_SECRETS["notes"], escrow.key_path)
    _reveal_is_audited(home, first, esc, escrow.key_path)

    leaks, files = _leaks_on_disk(home, decrypted)
    assert files >= 5 and (home / "logs" / "agent.log").is_file()
    assert leaks == []
