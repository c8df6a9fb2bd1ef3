"""The one registry of event kinds.

Every event written to a journal has a ``kind`` registered here, with a one-line
description. ``tests/test_kinds.py`` checks names are unique, well-formed and documented
in README.md. Stages add their kinds here, never ad hoc.

rrweb-compatible DOM events use the ``rrweb.*`` family: their payload is the rrweb 2.x
event object itself (``{"type", "data", "timestamp"}``) so a replay can hand the stream
to rrweb's replayer unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    """A registered event kind."""

    name: str
    description: str
    user_action: bool = False


_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

KINDS: dict[str, Kind] = {}


def register(name: str, description: str, *, user_action: bool = False) -> Kind:
    """Register an event kind; a duplicate or malformed name is a programming error."""
    if not _NAME.match(name):
        raise ValueError(f"bad kind name {name!r}")
    if name in KINDS:
        raise ValueError(f"duplicate kind {name!r}")
    kind = Kind(name, description, user_action)
    KINDS[name] = kind
    return kind


def is_registered(name: str) -> bool:
    """True when ``name`` is a registered kind."""
    return name in KINDS


# --- session / agent lifecycle -------------------------------------------------------------
register("session.start", "A recording session begins (user, workstation, agent version).")
register("session.end", "A recording session ends normally (reason).")
register("agent.start", "The agent process started or restarted (pid, version).")
register(
    "agent.browser_relaunch",
    "The user closed the recorded browser's last window; the agent opened it again at its "
    "start pages (reason, start_pages).",
)
register("clock.jump", "The wall clock jumped against the monotonic clock (delta_ns).")
register("clock.tick", "Synthetic/demo event used by benchmarks and the synthetic demo.")

# --- capture health ------------------------------------------------------------------------
register("capture.gap", "A period with no capture: start/end UTC ns and cause.")

# The ``cause`` of a ``capture.gap``: every cause a gap is written with, and what it means.
GAP_CAUSES: dict[str, str] = {
    "recorder_silent": "A live recorder sent nothing (not even its heartbeat) for a while.",
    "renderer_crash": "A renderer crashed; the page was reloaded.",
    "browser_exited": "Chromium died while tabs were open; it was relaunched.",
    "batch_lost": "A hole in a recorder's batch counter.",
    "sink_failed": "The sink refused events (lost_events counts them).",
    "agent_crash": "The agent stopped mid-segment; recovery sealed what was committed.",
    "disk_full": "The journal could not write: no space left on device (lost_events).",
    "write_failed": "The journal could not write for another reason, e.g. I/O (lost_events).",
}
register("capture.heartbeat", "Recorder heartbeat from a page (once per second).")
register("capture.degraded", "Capture reduced fidelity on purpose (flood, budget) and why.")
register("capture.tamper", "Page JavaScript tried to find, call or silence the recorder.")
register("capture.injected", "The recorder was injected into a page/frame.")
register(
    "indicator.tampered",
    "Page script removed, hid, restyled or covered the recording notice; it was put back "
    "(how, count of attempts, detail).",
)

# --- rrweb-compatible DOM stream (payload is the rrweb event) ------------------------------
register("rrweb.meta", "rrweb Meta event (href, width, height).")
register("rrweb.full_snapshot", "rrweb FullSnapshot: the whole DOM (keyframe).")
register("rrweb.mutation", "rrweb IncrementalSnapshot/Mutation.")
register("rrweb.mouse_move", "rrweb IncrementalSnapshot/MouseMove.")
register(
    "rrweb.mouse_interaction",
    "rrweb MouseInteraction (click, focus, blur...); clicks carry `element`.",
    user_action=True,
)
register("rrweb.scroll", "rrweb IncrementalSnapshot/Scroll.", user_action=True)
register("rrweb.viewport_resize", "rrweb IncrementalSnapshot/ViewportResize.")
register(
    "rrweb.input",
    "rrweb IncrementalSnapshot/Input (masked value); a user edit's first carries `element`.",
    user_action=True,
)
register("rrweb.selection", "rrweb IncrementalSnapshot/Selection.")
register("rrweb.style_sheet_rule", "rrweb IncrementalSnapshot/StyleSheetRule.")
register("rrweb.adopted_style_sheet", "rrweb IncrementalSnapshot/AdoptedStyleSheet.")
register("rrweb.style_declaration", "rrweb IncrementalSnapshot/StyleDeclaration.")
register("rrweb.canvas", "rrweb canvas snapshot (image data URL).")
register("rrweb.custom", "rrweb Custom event (tag + payload).")
register("rrweb.other", "Any other rrweb event, kept verbatim.")

# --- user input beyond rrweb ---------------------------------------------------------------
register(
    "input.key",
    "A keystroke (key, code, modifiers, target; masked in masked fields); shortcuts carry "
    "`element`.",
    user_action=True,
)
register(
    "input.clipboard", "Copy / cut / paste (target; content only if configured).", user_action=True
)
register(
    "input.submit",
    "A form submission (form selector, action, method, `element`).",
    user_action=True,
)
register("input.file_chooser", "A file chooser selection (file names only).", user_action=True)

# --- page / browser ------------------------------------------------------------------------
register("page.navigate", "A frame navigated (url, frame, transition).", user_action=True)
register("page.created", "A page, popup or tab appeared (opener, url).")
register("page.closed", "A page, popup or tab closed.")
register("page.title", "A page title changed.")
register(
    "page.dialog", "alert/confirm/prompt/beforeunload: message and the answer.", user_action=True
)
register("page.download", "A download: file name, size and SHA-256.")
register("page.console", "A console message or uncaught exception.")
register("page.screenshot", "A reduced-size screenshot at a user action (masked).")
register("page.crash", "A renderer crashed or a target vanished.")
register("page.load_failed", "A page's main-frame navigation failed (url, net error text).")

# --- network -------------------------------------------------------------------------------
register("net.request", "An HTTP request (method, url, headers, post data, initiator, cause).")
register("net.response", "An HTTP response (status, headers, timing, body/hash).")
register("net.failed", "A request that failed (error text).")
register("net.redirect", "A redirect hop (from, to, status).")
register("net.ws_open", "A WebSocket opened (url).")
register("net.ws_frame", "A WebSocket frame (direction, opcode, payload or budget note).")
register("net.ws_close", "A WebSocket closed.")
register("net.asset", "An asset (CSS, font, image) archived by content hash.")

# --- QA re-drive ----------------------------------------------------------------------------
register(
    "redrive.start",
    "A QA re-drive began (redrive_of: the re-driven session's id, its integrity status, "
    "base URL, origin map, speed, stub_network).",
)
register(
    "redrive.step",
    "One re-driven step: status, locator strategy, requests, divergences, unmatched stubbed "
    "requests, duration, screenshot SHA-256s.",
)
register("redrive.end", "A QA re-drive ended (redrive_of, ok, counts per status, duration).")

# --- kiosk ---------------------------------------------------------------------------------
register(
    "kiosk.blocked",
    "A kiosk refused a URL outside its allowlist (url, how, scope) and showed its block page.",
)
register(
    "kiosk.session_start",
    "A kiosk customer session began on the operator's Start (operator, customer number, url, "
    "allow, idle and warning ms, end keys).",
)
register(
    "kiosk.session_end",
    "A kiosk customer session ended (reason: operator, idle, supervisor, browser_closed, "
    "shutdown; operator; the supervisor who ended it; supervisors joined); its browser and "
    "profile are then deleted.",
)
register(
    "kiosk.idle_warning",
    "The idle countdown was shown to the kiosk customer (ms left, pages it shows on).",
)
register(
    "kiosk.idle_cleared",
    "Input (or a supervisor's pause, paused: true) during the idle countdown hid it; the "
    "session goes on.",
)
register(
    "kiosk.supervisor_join",
    "A supervisor joined the kiosk session (supervisor, via, at UTC; before_start: joined "
    "before this session began).",
)
register("kiosk.supervisor_leave", "A supervisor left the kiosk session (supervisor, via, at).")
register(
    "kiosk.paused",
    "The kiosk customer's input was blocked behind a 'please wait for assistance' screen "
    "(supervisor, reason: supervisor or no_supervisor, pages shown, at).",
)
register(
    "kiosk.resumed",
    "A paused kiosk session was given back to the customer (supervisor, reason: supervisor "
    "or supervisor_joined, at).",
)
register(
    "kiosk.supervisor_end",
    "A supervisor ended the kiosk customer session (supervisor, at); kiosk.session_end follows.",
)
register(
    "kiosk.start_refused",
    "The kiosk's Start was refused before this session (reason: no supervisor had joined); "
    "recorded on the start screen and written with this session's first events.",
)

# --- masking -------------------------------------------------------------------------------
register("mask.failed", "A masking rule failed to apply; the value was redacted (no value).")

# --- access audit (audit journals) ---------------------------------------------------------
register("audit.search", "Someone searched the index (who, query, result count).")
register("audit.view", "Someone opened a replay (who, session).")
register("audit.reveal", "Someone revealed an escrowed value (who, session, token, reason).")
register(
    "audit.token",
    "Someone looked up the token of a known value (who, rule, reason, tokens; never the value).",
)
register("audit.export", "Someone exported evidence (custody record).")
register("audit.verify", "A stored object was re-verified (ship job result).")
register("audit.hold", "A legal hold was placed or released.")
register("audit.disposition", "A record was disposed of after its retention.")
register(
    "audit.ingest",
    "The console's ingestion worker did not index a vault object, or found the vault disagreeing "
    "with a receipt (object, reason).",
)
register("audit.retention", "A stored record's retention was extended to a longer retention class.")
register(
    "audit.review.sample",
    "A supervisory review sampling ran (day, policy, key fingerprint, sessions considered).",
)
register("audit.review.item", "A session was queued for supervisory review, with why (reasons).")
register("audit.review.claim", "A reviewer took a review item.")
register("audit.review.disposition", "A review item was closed with a disposition and a note.")
register("audit.review.escalate", "A review item was escalated to a supervisor, with a note.")
register(
    "audit.signin", "A console sign-in or sign-out: outcome (ok, wrong password, locked, expired)."
)
register(
    "audit.refused",
    "The console refused a request: missing role, CSRF, foreign origin or a forged session.",
)
register("audit.user", "A console account was added, disabled or unlocked (by whom).")
register(
    "audit.reveal_request", "A reveal of an escrowed value was requested, approved or refused."
)
