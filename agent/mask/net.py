"""Masking of non-DOM payloads: network requests/responses, WebSocket frames, console, ...

A generic walk over the event payload that recognises what a value *is* by its key: header
maps (``headers``, ``requestHeaders`` ..., masked by :mod:`agent.mask.headers`), bodies
(``body``, ``post_data`` ... JSON, urlencoded form, multipart, text; base64 bodies are
decoded, masked and re-encoded), URLs (by key or by scheme) and everything else as free
text. It does not depend on capture's exact field names beyond these conventions, so a field
capture adds later is still scanned as free text.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from agent.canonical import sha256_hex
from agent.mask.compiled import Hit
from agent.mask.ctx import Ctx
from agent.mask.headers import HEADER_KEYS, HEADER_TEXT_KEYS, HeaderMasker, content_type, is_url
from agent.mask.source import SourceMasker
from agent.mask.strings import MARKER, StringMasker

BODY_KEYS = frozenset(
    {
        "body",
        "post_data",
        "postdata",
        "request_body",
        "response_body",
        "body_text",
        "payload_data",
        "payloaddata",
        "body_b64",
        "post_data_b64",
        "body_base64",
    }
)
WS_BODY_KEYS = frozenset({"payload", "data", "text", "message", "payload_b64", "data_b64"})
URL_KEYS = frozenset(
    {
        "url",
        "href",
        "documenturl",
        "document_url",
        "location",
        "referrer",
        "referer",
        "redirect_url",
        "redirecturl",
        "from",
        "to",
        "request_url",
        "initiator_url",
        "opener_url",
        "frame_url",
        "src",
        "action",
    }
)
_FORM = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*")
_BOUNDARY = re.compile(r"boundary=\"?([^\";]+)\"?", re.IGNORECASE)
_PART_NAME = re.compile(r"\bname=\"([^\"]*)\"", re.IGNORECASE)
_NO_JSON = object()
_DIGIT_TABLE = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digits -> "0"
_LONG_DIGITS = b"0" * 9  # numbers >= 10**8 are pattern-scanned by the JSON walk


class NetMasker:
    """Walks a payload and masks headers, bodies, URLs and free text."""

    def __init__(self, sm: StringMasker) -> None:
        self.sm = sm
        self.rules = sm.rules
        self.source = SourceMasker(sm)
        self.header_masker = HeaderMasker(sm, self.walk)

    def walk(
        self,
        obj: Any,
        ctx: Ctx,
        path: str,
        ws: bool = False,
        ctype: str = "",
        text_as_body: bool = False,
    ) -> Any:
        """Masked copy of ``obj`` (``obj`` itself when nothing changed).

        ``text_as_body``: free text may hold JSON, form data or ``name: value`` pairs (console
        messages), so strings get the body treatment.
        """
        if isinstance(obj, str):
            if is_url(obj):
                return ctx.take(obj, self.sm.url(obj), path)
            if obj[:1] in ("{", "[") or (text_as_body and len(obj) > 3):
                return self.body(obj, "", ws, ctx, path)
            return ctx.take(obj, self.sm.scan(obj), path)
        if isinstance(obj, dict):
            return self._dict(obj, ctx, path, ws, ctype, text_as_body)
        if isinstance(obj, list):
            new: list[Any] | None = None
            for i, v in enumerate(obj):
                nv = self.walk(v, ctx, f"{path}[{i}]", ws, ctype, text_as_body)
                if nv is not v:
                    new = new if new is not None else list(obj)
                    new[i] = nv
            return obj if new is None else new
        if type(obj) is int and abs(obj) >= 100_000_000:
            s = str(obj)
            out = self.sm.scan(s)
            return obj if out is None else ctx.take(s, out, path)
        return obj

    def _dict(
        self,
        d: dict[str, Any],
        ctx: Ctx,
        path: str,
        ws: bool,
        ctype: str,
        text_as_body: bool = False,
    ) -> Any:
        ctype = content_type(d) or ctype
        b64 = bool(d.get("base64Encoded") or d.get("base64_encoded")) or "base64" in (
            d.get("body_encoding"),
            d.get("encoding"),
        )
        new: dict[str, Any] | None = None
        for k, v in d.items():
            lk = k.lower()
            p = f"{path}.{k}"
            if (lk in HEADER_KEYS or lk.endswith("headers")) and isinstance(v, dict | list):
                nv: Any = self.header_masker.headers(v, ctx, p)
            elif isinstance(v, str) and lk in HEADER_TEXT_KEYS:
                nv = self.header_masker.headers_text(v, ctx, p)
            elif isinstance(v, str) and (lk in BODY_KEYS or (ws and lk in WS_BODY_KEYS)):
                is_b64 = b64 or lk.endswith(("_b64", "_base64"))
                nv = (
                    self.body_b64(v, ctype, ws, ctx, p)
                    if is_b64
                    else self.body(v, ctype, ws, ctx, p)
                )
            elif isinstance(v, str) and lk in URL_KEYS:
                nv = ctx.take(v, self.sm.url(v), p)
            else:
                nv = self.walk(v, ctx, p, ws, ctype, text_as_body)
            if nv is not v:
                new = new if new is not None else dict(d)
                new[k] = nv
                if isinstance(nv, str) and isinstance(d.get(f"{k}_sha256"), str):
                    # The digest of the unmasked body would let anyone confirm a guessed
                    # low-entropy value (a PIN); keep the digest of what is stored instead.
                    raw = (
                        base64.b64decode(nv)
                        if b64 and lk in BODY_KEYS
                        else nv.encode("utf-8", "surrogatepass")
                    )
                    new[f"{k}_sha256"] = sha256_hex(raw)
                    new[f"{k}_masked"] = True
        return d if new is None else new

    # -- bodies -------------------------------------------------------------------------
    def body_b64(self, text: str, ctype: str, ws: bool, ctx: Ctx, path: str) -> str:
        """A base64 body: decode, mask as text when it is UTF-8, re-encode."""
        try:
            raw = base64.b64decode(text, validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            return text  # binary content: value patterns are text patterns, so it is not scanned
        masked = self.body(decoded, ctype, ws, ctx, path)
        if masked is decoded:
            return text
        return base64.b64encode(masked.encode("utf-8")).decode("ascii")

    def body(self, text: str, ctype: str, ws: bool, ctx: Ctx, path: str) -> str:
        """Mask a body according to its content type (or its look)."""
        if len(text) > self.sm.max_scan:
            ctx.fail("body", path, "TooLargeToScan")
            return MARKER
        ct = ctype.lower()
        head = text.lstrip()[:1]
        if "json" in ct or head in ("{", "["):
            if self.plainly_clean(text):
                return text
            try:
                obj = orjson.loads(text)
            except orjson.JSONDecodeError:
                obj = _NO_JSON
            if obj is not _NO_JSON:
                nobj = self.json(obj, (), "ws_path" if ws else "json_path", ctx, path)
                return text if nobj is obj else orjson.dumps(nobj).decode("utf-8")
        if (
            "x-www-form-urlencoded" in ct
            or (not ct or ct.startswith("text/plain"))
            and (_FORM.fullmatch(text.strip()))
        ):
            return self.form(text, ctx, path)
        if "multipart/form-data" in ct or (text.startswith("--") and "form-data" in text[:2048]):
            return self.multipart(text, ctype, ctx, path)
        # HTML, scripts, text, broken or truncated JSON: source-level passes, then patterns.
        if "html" in ct or head == "<":
            low = text.lower()
            if "<input" in low or "<textarea" in low:
                text = self.source.html_controls(text, ctx, path)
        if self.rules.mentions_field(text):
            text = self.source.pairs(text, ctx, path)
        return ctx.take(text, self.sm.scan(text), path)

    def plainly_clean(self, text: str) -> bool:
        """True when JSON text provably needs no masking, decided without parsing it: no
        escapes (so no sentinel), every string shorter than the shortest value pattern, no
        long digit run, and no name any field rule could match. (A WebSocket price feed.)"""
        if "\\" in text or not text.isascii():
            return False
        if max(map(len, text.split('"')[1::2]), default=0) >= self.rules.min_pattern_len:
            return False
        digits = text.encode("ascii").translate(_DIGIT_TABLE)
        at = digits.find(_LONG_DIGITS)
        while at != -1:  # long numbers (timestamps): clean only if no pattern matches them
            end = at + len(_LONG_DIGITS)
            while end < len(digits) and digits[end] == 48:
                end += 1
            if self.sm.scan(text[at:end]) is not None:
                return False
            at = digits.find(_LONG_DIGITS, end)
        return not self.rules.mentions_field(text)

    def _mask_all(self, v: Any, hit: Hit, ctx: Ctx, path: str) -> Any:
        if isinstance(v, str):
            return ctx.take(v, self.sm.apply(v, hit), path)
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int | float):
            s = str(v)
            return ctx.take(s, self.sm.apply(s, hit), path)
        if isinstance(v, dict):
            return {k: self._mask_all(x, hit, ctx, f"{path}.{k}") for k, x in v.items()}
        if isinstance(v, list):
            return [self._mask_all(x, hit, ctx, f"{path}[{i}]") for i, x in enumerate(v)]
        return v

    def json(self, obj: Any, keypath: tuple[str, ...], source: str, ctx: Ctx, path: str) -> Any:
        """Mask a decoded JSON value: fields by path, then patterns in strings and numbers."""
        if isinstance(obj, dict):
            new: dict[str, Any] | None = None
            for k, v in obj.items():
                kp = (*keypath, k)
                hit = self.rules.path_hit(source, kp)
                # Credential names from header rules count in JSON too ({"X-Api-Key": ..}).
                hh = self.rules.name_hit("header", k)
                if hh is not None and (hit is None or hh.strength > hit.strength):
                    hit = hh
                p = f"{path}.{k}"
                if hit is not None:
                    nv = self._mask_all(v, hit, ctx, p)
                elif isinstance(v, str) and v[:1] in ("{", "["):
                    nv = self.body(v, "application/json", source == "ws_path", ctx, p)
                else:
                    nv = self.json(v, kp, source, ctx, p)
                nk = ctx.take(k, self.sm.scan(k), p)
                if nv is not v or nk is not k:
                    new = new if new is not None else dict(obj)
                    if nk is not k:
                        del new[k]
                    new[nk] = nv
            return obj if new is None else new
        if isinstance(obj, list):
            out: list[Any] | None = None
            for i, v in enumerate(obj):
                nv = self.json(v, keypath, source, ctx, f"{path}[{i}]")
                if nv is not v:
                    out = out if out is not None else list(obj)
                    out[i] = nv
            return obj if out is None else out
        return self.walk(obj, ctx, path)

    def form(self, text: str, ctx: Ctx, path: str) -> str:
        """Mask an ``application/x-www-form-urlencoded`` body by field name and pattern."""
        pairs = parse_qsl(text.strip(), keep_blank_values=True)
        changed = False
        out: list[tuple[str, str]] = []
        for k, v in pairs:
            hit = self.rules.name_hit("form_field", k)
            res = self.sm.apply(v, hit) if hit is not None else self.sm.scan(v)
            nv = ctx.take(v, res, f"{path}.{k}")
            nk = ctx.take(k, self.sm.scan(k), f"{path}.{k}")
            changed = changed or nv is not v or nk is not k
            out.append((nk, nv))
        return urlencode(out) if changed else text

    def multipart(self, text: str, ct: str, ctx: Ctx, path: str) -> str:
        """Mask ``multipart/form-data`` parts by field name and pattern."""
        m = _BOUNDARY.search(ct)
        boundary = m.group(1) if m else text.split("\n", 1)[0].strip()[2:]
        if not boundary:
            return ctx.take(text, self.sm.scan(text), path)
        delim = "--" + boundary
        pieces = text.split(delim)
        changed = False
        for i, piece in enumerate(pieces):
            sep = "\r\n\r\n" if "\r\n\r\n" in piece else "\n\n"
            head, found, body = piece.partition(sep)
            if not found:
                continue
            nm = _PART_NAME.search(head)
            name = nm.group(1) if nm else ""
            trail = "\r\n" if body.endswith("\r\n") else ("\n" if body.endswith("\n") else "")
            value = body[: len(body) - len(trail)] if trail else body
            hit = self.rules.name_hit("form_field", name) if name else None
            res = self.sm.apply(value, hit) if hit is not None else self.sm.scan(value)
            nv = ctx.take(value, res, f"{path}.{name}")
            if nv is not value:
                pieces[i] = head + sep + nv + trail
                changed = True
        return delim.join(pieces) if changed else text
