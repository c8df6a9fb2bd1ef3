"""Extraction from page, session and capture events: navigation, titles, submits, console
errors, dialogs, downloads, and the one-line rows of session/gap/tamper/crash events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.events import Record
from agent.index.dom import clean
from agent.index.rows import Row
from agent.index.text import TOKEN_RE, host_of, strip_tokens, url_text, url_tokens

if TYPE_CHECKING:
    from agent.index.extract import Extractor, Handler

CONSOLE_LEVELS = frozenset({"error", "assert", "exception", "warning", "warn"})


def _submit(x: Extractor, rec: Record) -> Row | None:
    _, d = x.doc(rec)
    p = rec.payload
    sel = str(p.get("selector") or "")
    act = str(p.get("action") or "")
    return x.row(
        rec,
        "submit",
        d.href,
        selector=sel,
        method=str(p.get("method") or "").upper(),
        text=f"submit {sel} {url_text(act)}".strip(),
    )


def _navigate(x: Extractor, rec: Record) -> Row | None:
    url = str(rec.payload.get("url") or "")
    if not url or url.startswith("about:"):
        return None
    if rec.payload.get("main_frame", True) and rec.page:
        x.page_url[rec.page] = url
    x.facts.add_url(url)
    return x.row(rec, "navigate", url, text=url_text(url), tokens=url_tokens(url))


def _title(x: Extractor, rec: Record) -> Row | None:
    title = clean(str(rec.payload.get("title") or ""))
    url = str(rec.payload.get("url") or x.page_url.get(rec.page or "", ""))
    if not title or title == host_of(url) or title.startswith(host_of(url) + ":"):
        return None
    x.facts.add_title(title)
    return x.row(rec, "title", url, text=strip_tokens(title))


def _console(x: Extractor, rec: Record) -> Row | None:
    level = str(rec.payload.get("level") or "")
    if level not in CONSOLE_LEVELS:
        return None
    url = x.page_url.get(rec.page or "", "")
    msg = str(rec.payload.get("text") or "")
    return x.row(
        rec,
        "console",
        url,
        target=level,
        text=f"console {level} {strip_tokens(msg)[:2000]}",
        tokens=[(t, "") for t in TOKEN_RE.findall(msg)],
    )


def _dialog(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    if p.get("phase") == "closed":
        return None
    url = str(p.get("url") or "")
    return x.row(
        rec,
        "dialog",
        url,
        target=str(p.get("type") or ""),
        text=f"dialog {p.get('type', '')} {strip_tokens(str(p.get('message') or ''))}",
    )


def _download(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    return x.row(
        rec,
        "download",
        url,
        target=str(p.get("name") or ""),
        text=f"download {p.get('name', '')} {url_text(url)}",
    )


def _simple(action: str, fields: tuple[str, ...]) -> Handler:
    """A handler indexing ``kind`` plus the named payload fields as one line of text."""

    def handler(x: Extractor, rec: Record) -> Row | None:
        url = x.page_url.get(rec.page or "", "")
        vals = " ".join(f"{k} {rec.payload[k]}" for k in fields if rec.payload.get(k) is not None)
        return x.row(rec, action, url, text=strip_tokens(f"{rec.kind} {vals}")[:2000])

    return handler


def _session_start(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    return x.row(
        rec, "session", text=f"session start {p.get('user', '')} {p.get('workstation', '')}".strip()
    )


HANDLERS: dict[str, Handler] = {
    "input.submit": _submit,
    "page.navigate": _navigate,
    "page.title": _title,
    "page.console": _console,
    "page.dialog": _dialog,
    "page.download": _download,
    "session.start": _session_start,
    "session.end": _simple("session", ("reason",)),
    "capture.gap": _simple("gap", ("cause", "silence_ms", "start", "end")),
    "capture.tamper": _simple("tamper", ("what", "detail", "reason")),
    "capture.degraded": _simple("degraded", ("reason", "what")),
    "page.crash": _simple("crash", ("reason", "url")),
    "net.failed": _simple("failed", ("url", "error", "error_text")),
    "mask.failed": _simple("mask_failed", ("rule", "field", "error")),
    "clock.jump": _simple("clock", ("delta_ns",)),
}
