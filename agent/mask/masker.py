"""The masking stage: :class:`Masker` (pure per-event masking) and its page configuration.

``Masker.mask_event(ev)`` returns the masked event (the same object when nothing needed
masking). Failures to apply a rule are redacted on the spot and reported as ``mask.failed``
side events (rule id, field path, error class - never the value); escrowed values travel in
``payload["_escrow"] = {token: sealed_blob}`` of the event that carries the token, so any
exported subset of events stays revealable. :meth:`Masker.mask_events` returns each event
followed by its side events.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.events import Event
from agent.mask.compiled import RuleSet
from agent.mask.config import MaskConfig
from agent.mask.ctx import Ctx
from agent.mask.dom import DomMasker
from agent.mask.escrow import EscrowSealer
from agent.mask.net import NetMasker
from agent.mask.rules import (
    AttributeRule,
    InputTypeRule,
    MaskingFile,
    SelectorRule,
    load_rules_file,
)
from agent.mask.screenshot import mask_screenshot_regions
from agent.mask.selectors import page_selector
from agent.mask.strings import MARKER, StringMasker
from agent.mask.tokens import Tokenizer, hmac_key_path, load_or_create_hmac_key

PAGE_CONFIG_VERSION = 1
# Kinds whose payloads carry no page- or user-supplied strings.
_SKIP_KINDS = frozenset(
    {
        "capture.heartbeat",
        "mask.failed",
        "clock.jump",
        "clock.tick",
        "rrweb.mouse_move",
        "rrweb.scroll",
        "rrweb.viewport_resize",
        "rrweb.selection",
    }
)
_IMAGE_KEYS = ("data_b64", "image_b64", "png_b64", "jpeg_b64", "data", "image")


def _glob_to_css(name: str, glob: str) -> str | None:
    body = glob.strip("*")
    if any(c in body for c in '*?[]"\\'):
        return None
    if glob == body:
        return f'[{name}="{body}" i]'
    if glob == body + "*":
        return f'[{name}^="{body}" i]'
    if glob == "*" + body:
        return f'[{name}$="{body}" i]'
    return f'[{name}*="{body}" i]'


def rule_selector(rule: Any) -> str | None:
    """The CSS selector the recorder evaluates for an element rule (None if inexpressible)."""
    if isinstance(rule, SelectorRule):
        return rule.selector
    if isinstance(rule, InputTypeRule):
        return ", ".join(f'input[type="{t}" i]' for t in rule.types)
    if isinstance(rule, AttributeRule):
        if not rule.values:
            return f"[{rule.name}]"
        parts = [_glob_to_css(rule.name, g) for g in rule.values]
        return ", ".join(p for p in parts if p) or None
    return None


class Masker:
    """Masks events according to compiled rules; holds no private key, ever."""

    def __init__(
        self,
        rules: RuleSet,
        tokenizer: Tokenizer,
        sealer: EscrowSealer | None = None,
        *,
        cache_size: int = 65536,
    ) -> None:
        self.rules = rules
        self.strings = StringMasker(rules, tokenizer, sealer, cache_size)
        self.net = NetMasker(self.strings)
        self.dom = DomMasker(self.strings, self.net)
        self._side: list[Event] = []

    @classmethod
    def build(cls, file: MaskingFile, hmac_key: bytes, *, cache_size: int = 65536) -> Masker:
        """A Masker from a validated rules file and the HMAC secret."""
        rules = RuleSet(file)
        sealer = None
        if file.escrow.public_key:
            sealer = EscrowSealer(file.escrow.public_key, file.escrow.officer)
        return cls(rules, Tokenizer(hmac_key, cache_size), sealer, cache_size=cache_size)

    @classmethod
    def load(
        cls,
        home: Path,
        rules_file: Path | None = None,
        *,
        hmac_key_file: Path | None = None,
        cache_size: int = 65536,
    ) -> Masker:
        """Load rules (shipped defaults unless ``rules_file``) and the deployment's HMAC key."""
        file = load_rules_file(rules_file)
        key = load_or_create_hmac_key(hmac_key_file or hmac_key_path(home))
        return cls.build(file, key, cache_size=cache_size)

    @classmethod
    def from_config(cls, sec: MaskConfig, home: Path) -> Masker:
        """Load from the ``[mask]`` config section."""
        return cls.load(
            home,
            Path(sec.rules_file) if sec.rules_file else None,
            hmac_key_file=Path(sec.hmac_key_file) if sec.hmac_key_file else None,
            cache_size=sec.token_cache_size,
        )

    # -- the recorder's half --------------------------------------------------------------
    def page_config(self) -> dict[str, Any]:
        """The ``cfg.mask`` object for the in-page recorder (no secrets in it)."""
        rules: list[dict[str, Any]] = []
        for rule in sorted(self.rules.rules, key=lambda r: -self.rules.hits[r.id].strength):
            sel = rule_selector(rule)
            if sel is not None:
                # The recorder calls "keep" "none" (recorder_js/src/mask.js).
                mode = "none" if rule.mode == "keep" else rule.mode
                rules.append({"id": rule.id, "selector": page_selector(sel), "mode": mode})
        d = self.rules.defaults
        return {
            "version": PAGE_CONFIG_VERSION,
            "rules": rules,
            "defaultInputMode": "none" if d.input_mode == "keep" else d.input_mode,
            "maskedAttributes": list(d.masked_attributes),
            "unmaskedInputTypes": list(d.unmasked_input_types),
            "marker": MARKER,
        }

    # -- events ---------------------------------------------------------------------------
    def mask_event(self, ev: Event) -> Event:
        """The masked event; side events (``mask.failed``) wait in :meth:`take_side_events`."""
        kind = ev.kind
        if kind in _SKIP_KINDS:
            return ev
        ctx = Ctx()
        try:
            payload = self._mask_payload(ev, ctx)
        except Exception as exc:  # fail closed: a bug here must not pass the event through
            ctx.fail("*", "$", type(exc).__name__)
            payload = {"_redacted": MARKER}
        if ctx.escrow:
            payload = dict(payload) if payload is ev.payload else payload
            payload["_escrow"] = (
                {**payload.get("_escrow", {}), **ctx.escrow}
                if isinstance(payload.get("_escrow"), dict)
                else dict(ctx.escrow)
            )
        if ctx.fails:
            self._queue_failures(ev, ctx)
        if payload is ev.payload:
            return ev
        return dataclasses.replace(ev, payload=payload)

    def _mask_payload(self, ev: Event, ctx: Ctx) -> dict[str, Any]:
        """The masked payload, by the event's kind (the same object when nothing changed)."""
        kind = ev.kind
        payload = ev.payload
        if kind.startswith("rrweb."):
            return self._element(self.dom.rrweb(payload, (ev.page, ev.frame), ctx), ctx)
        if kind == "input.key":
            return self._element(self.dom.key(payload, (ev.page, ev.frame), ctx), ctx)
        if kind == "input.clipboard":
            return self.dom.clipboard(payload, (ev.page, ev.frame), ctx)
        if kind == "page.dialog" and isinstance(payload.get("user_input"), str):
            # A prompt() answer is typed by the user: the default input mode applies.
            answer = payload["user_input"]
            rest = self.net.walk({k: v for k, v in payload.items() if k != "user_input"}, ctx, "$")
            return {
                **rest,
                "user_input": ctx.take(
                    answer, self.strings.apply(answer, self.rules.default_input), "$.user_input"
                ),
            }
        if kind == "page.screenshot":
            return self._screenshot(payload, ctx)
        if kind == "page.closed":
            self.dom.forget(ev.page)
        return self.net.walk(  # type: ignore[no-any-return]
            payload,
            ctx,
            "$",
            ws=kind == "net.ws_frame",
            text_as_body=kind == "page.console",
        )

    def _element(self, payload: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        """The recorder's description of the acted-on element (``payload["element"]``: its
        name is page text) masked like other free text: sentinels become tokens, patterns
        hit."""
        el = payload.get("element")
        if not isinstance(el, dict):
            return payload
        new = self.net.walk(el, ctx, "$.element")
        return payload if new is el else {**payload, "element": new}

    def _queue_failures(self, ev: Event, ctx: Ctx) -> None:
        """One ``mask.failed`` side event per distinct (rule, path, error) of this event."""
        seen: set[tuple[str, str, str]] = set()
        for rule_id, path, err in ctx.fails:
            if (rule_id, path, err) in seen:
                continue
            seen.add((rule_id, path, err))
            self._side.append(
                Event(
                    "mask.failed",
                    {"rule": rule_id, "path": path, "error": err, "event_kind": ev.kind},
                    t_utc_ns=ev.t_utc_ns,
                    t_mono_ns=ev.t_mono_ns,
                    page=ev.page,
                    frame=ev.frame,
                )
            )

    def take_side_events(self) -> list[Event]:
        """The ``mask.failed`` events produced since the last call."""
        side, self._side = self._side, []
        return side

    def mask_events(self, events: Iterable[Event]) -> list[Event]:
        """Each event masked, followed by its side events, in order."""
        out: list[Event] = []
        for ev in events:
            out.append(self.mask_event(ev))
            if self._side:
                out.extend(self.take_side_events())
        return out

    def _screenshot(self, payload: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        import base64

        key = next((k for k in _IMAGE_KEYS if isinstance(payload.get(k), str)), None)
        if key is None:
            return self.net.walk(payload, ctx, "$")  # type: ignore[no-any-return]
        rest = self.net.walk({k: v for k, v in payload.items() if k != key}, ctx, "$")
        rects = payload.get("masked_rects")
        fmt = str(payload.get("format") or "png")
        if not isinstance(rects, list):
            ctx.fail("screenshot", f"$.{key}", "NoMaskedRects")
            return {**rest, key: None, "masked": "dropped"}
        try:
            img = base64.b64decode(payload[key])
            masked = mask_screenshot_regions(img, rects, fmt)
        except Exception as exc:
            ctx.fail("screenshot", f"$.{key}", type(exc).__name__)
            return {**rest, key: None, "masked": "dropped"}
        return {**rest, key: base64.b64encode(masked).decode("ascii"), "masked": "regions"}


_TOKEN = re.compile(r"\b(?:tok|esc)_[0-9a-f]{16}\b")


def tokens_in(value: str) -> list[str]:
    """The masking tokens that appear in a string (for search and reveal)."""
    return _TOKEN.findall(value)
