"""Masking of single values: whole field values, free text, URLs and sentinels.

Every function returns an :data:`Out` - ``None`` when the value is unchanged (the common case,
kept allocation-free), else ``(new_value, failures, escrows)`` where failures are
``(rule_id, error_class)`` pairs (never the value) and escrows ``(token, sealed_blob)`` pairs.
Free-text and URL results are cached per string (LRU): a blotter repeats its strings, so
within one masker (one recording) an identical string reuses the random escrow token it got
first. A whole value a field rule masks is remembered (:mod:`agent.mask.memory`): the same
value gets the same replacement wherever it appears later in the recording, also as a word
inside free text, a URL or a body, and a field value escrowed once keeps its escrow token.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from agent.mask.compiled import Hit, RuleSet
from agent.mask.escrow import EscrowSealer
from agent.mask.memory import Remembered, ValueMemory
from agent.mask.patterns import NORMALIZERS
from agent.mask.rules import ESCROW, KEEP, REDACT, STRENGTH, TOKENIZE
from agent.mask.tokens import Tokenizer, new_escrow_token

MARKER = "[redacted]"
Fail = tuple[str, str]
Esc = tuple[str, str]
Out = tuple[str, tuple[Fail, ...], tuple[Esc, ...]] | None

_CTRL = re.compile("[\x01\x02\x03]")
_SENTINEL = re.compile("\x01stm:([a-z]*):([^\x01\x02\x03]*)\x02([^\x01\x02\x03]*)\x03")
_SENTINEL_HEAD = re.compile("\x01stm:[a-z]*:([a-z0-9_.-]{1,64})\x02")
_ENCODED_SEG = re.compile(r"[^\s\"'<>]*(?:%[0-9A-Fa-f]{2}|\+)[^\s\"'<>]*")
_TRIM = NORMALIZERS["trim"]
_PLUS_DIGIT = re.compile(r"\d\+\d")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class _Malformed(Exception):
    def __init__(self, rule_id: str) -> None:
        super().__init__(rule_id)
        self.rule_id = rule_id or "sentinel"


class Acc:
    """Collects failures and escrow blobs while a compound value is rebuilt."""

    __slots__ = ("fails", "escs", "changed")

    def __init__(self) -> None:
        self.fails: list[Fail] = []
        self.escs: list[Esc] = []
        self.changed = False

    def take(self, value: str, out: Out) -> str:
        """The masked value (recording failures/escrows); ``value`` when unchanged."""
        if out is None:
            return value
        self.changed = True
        self.fails.extend(out[1])
        self.escs.extend(out[2])
        return out[0]

    def out(self, value: str) -> Out:
        """Finish: ``None`` if nothing changed."""
        if not self.changed:
            return None
        return value, tuple(self.fails), tuple(self.escs)


class StringMasker:
    """Applies compiled rules to strings; owns the token and escrow machinery."""

    def __init__(
        self,
        rules: RuleSet,
        tokenizer: Tokenizer,
        sealer: EscrowSealer | None,
        cache_size: int = 65536,
    ) -> None:
        self.rules = rules
        self.tokenizer = tokenizer
        self.sealer = sealer
        self.max_scan = rules.defaults.max_scan_chars
        self.memory = ValueMemory()
        self.scan = functools.lru_cache(maxsize=cache_size)(self._scan)
        self.url = functools.lru_cache(maxsize=cache_size)(self._url)

    # -- one value, one mode -------------------------------------------------------------
    def final(self, value: str, rule_id: str, strength: int, normalize: object) -> Out:
        """Replace ``value`` according to ``strength`` (no further classification)."""
        if strength >= REDACT:
            return MARKER, (), ()
        norm = normalize(value) if callable(normalize) else value
        if strength == TOKENIZE:
            return self.tokenizer.token(norm), (), ()
        if strength == ESCROW:
            if self.sealer is None:
                return MARKER, ((rule_id, "NoEscrowKey"),), ()
            token = new_escrow_token()
            return token, (), ((token, self.sealer.seal(value, token)),)
        return None  # keep

    def field(self, value: str, rule_id: str, strength: int, normalize: object) -> Out:
        """:meth:`final` for a whole value a field rule masks, remembered for the recording:
        a value masked before at least as strongly gets its earlier replacement again."""
        held = self.memory.get(value)
        if held is not None and held.strength >= strength:
            return held.replacement, (), held.escrows
        out = self.final(value, rule_id, strength, normalize)
        if out is None or out[1]:
            return out
        if self.memory.remember(value, Remembered(out[0], strength, out[2])):
            self.scan.cache_clear()  # cached free text may hold the value in clear
            self.url.cache_clear()
        return out

    def apply(self, value: str, hit: Hit) -> Out:
        """Mask a whole field value under ``hit`` (value patterns may only strengthen it)."""
        if not value or value == MARKER:
            return None
        try:
            if _CTRL.search(value):
                return self._sentinels(value, hit)
            if not value.strip():
                return None
            cls = self.rules.classify(value)
            rule_id, strength, norm = hit.rule_id, hit.strength, hit.normalize
            if cls is not None:
                norm = cls.normalize
                if cls.strength > strength:
                    rule_id, strength = cls.rule_id, cls.strength
            if strength <= KEEP:
                return self.scan(value)
            return self.field(value, rule_id, strength, norm)
        except Exception as exc:  # fail closed: never let a broken rule pass a value through
            return MARKER, ((hit.rule_id, type(exc).__name__),), ()

    # -- sentinels from the in-page recorder ---------------------------------------------
    def _sentinels(self, s: str, outer: Hit | None) -> Out:
        acc = Acc()
        first_rule = ""

        def repl(m: re.Match[str]) -> str:
            nonlocal first_rule
            mode, rid, val = m.group(1), m.group(2), m.group(3)
            first_rule = first_rule or rid
            if mode not in STRENGTH or mode == "keep":
                raise _Malformed(rid)
            if not val.strip():
                return val
            strength, norm = STRENGTH[mode], _TRIM
            rule = self.rules.hits.get(rid)
            if rule is not None:
                strength, norm = max(strength, rule.strength), rule.normalize
            if outer is not None:
                strength = max(strength, outer.strength)
            cls = self.rules.classify(val)
            if cls is not None:
                strength, norm = max(strength, cls.strength), cls.normalize
            return acc.take(val, self.field(val, rid or "sentinel", max(strength, TOKENIZE), norm))

        try:
            new = _SENTINEL.sub(repl, s)
        except _Malformed as exc:
            return MARKER, ((exc.rule_id, "MalformedSentinel"),), ()
        if _CTRL.search(new):
            head = _SENTINEL_HEAD.search(new)
            rule = first_rule or (head.group(1) if head else "") or "sentinel"
            return MARKER, ((rule, "MalformedSentinel"),), ()
        acc.changed = True
        rest = self._patterns(new)
        return acc.out(acc.take(new, rest))

    # -- free text ----------------------------------------------------------------------
    def _scan(self, s: str) -> Out:
        if len(s) > self.max_scan:
            return MARKER, (("scan", "TooLargeToScan"),), ()
        if _CTRL.search(s):
            return self._sentinels(s, None)
        out = self._patterns(s)
        text = s if out is None else out[0]
        if "%" in text or ("+" in text and _PLUS_DIGIT.search(text)):
            acc = Acc()
            text = acc.take(text, out)
            enc = self._encoded(text)
            if enc is not None:
                text = acc.take(text, enc)
            return acc.out(text)
        return out

    def _encoded(self, s: str) -> Out:
        """Secrets hidden by URL-encoding inside free text (``4111%201111...``)."""
        acc = Acc()

        def repl(m: re.Match[str]) -> str:
            seg = m.group(0)
            dec = unquote_plus(seg)
            if dec == seg:
                return seg
            out = self._patterns(dec)
            if out is None:
                return seg
            return quote(acc.take(dec, out), safe=_PATH_SAFE + "[]")

        new = _ENCODED_SEG.sub(repl, s)
        return acc.out(new)

    def _patterns(self, s: str) -> Out:
        """Remembered field values, then value patterns, replaced inside ``s``."""
        rx = self.memory.regex() if len(self.memory) else None
        if rx is None or rx.search(s) is None:
            return self._rule_patterns(s)
        acc = Acc()

        def repl(m: re.Match[str]) -> str:
            held = self.memory.find(m.group(0))
            return acc.take(m.group(0), (held.replacement, (), held.escrows))

        text = rx.sub(repl, s)
        return acc.out(acc.take(text, self._rule_patterns(text)))

    def _rule_patterns(self, s: str) -> Out:
        rules = self.rules
        if not s or (rules.prefilter is not None and rules.prefilter.search(s) is None):
            return None
        spans: list[tuple[int, int, Hit]] = []
        for p in rules.patterns:
            try:
                for m in p.regex.finditer(s):
                    if m.end() > m.start() and p.check(m.group(0)):
                        spans.append((m.start(), m.end(), p.hit))
            except Exception as exc:  # fail closed on a rule that breaks at runtime
                return MARKER, ((p.hit.rule_id, type(exc).__name__),), ()
        if not spans:
            return None
        spans.sort(key=lambda t: (t[0], -t[1]))
        merged: list[tuple[int, int, Hit]] = []
        for a, b, hit in spans:
            if merged and a < merged[-1][1]:
                la, lb, lh = merged[-1]
                merged[-1] = (la, max(lb, b), hit if hit.strength > lh.strength else lh)
            else:
                merged.append((a, b, hit))
        acc = Acc()
        parts: list[str] = []
        pos = 0
        for a, b, hit in merged:
            parts.append(s[pos:a])
            val = s[a:b]
            parts.append(
                acc.take(
                    val, self.final(val, hit.rule_id, max(hit.strength, TOKENIZE), hit.normalize)
                )
            )
            pos = b
        parts.append(s[pos:])
        return acc.out("".join(parts))

    # -- URLs ---------------------------------------------------------------------------
    def _query(self, query: str, acc: Acc) -> str:
        pairs = parse_qsl(query, keep_blank_values=True)
        sub = Acc()
        new_pairs: list[tuple[str, str]] = []
        for k, v in pairs:
            hit = self.rules.name_hit("query_param", k)
            nv = sub.take(v, self.apply(v, hit) if hit is not None else self.scan(v))
            new_pairs.append((sub.take(k, self.scan(k)), nv))
        if not sub.changed:
            return query
        acc.take(query, sub.out(""))
        return urlencode(new_pairs, quote_via=quote, safe="[]")

    def _url(self, s: str) -> Out:
        if len(s) > self.max_scan:
            return MARKER, (("url", "TooLargeToScan"),), ()
        if s[:5].lower() == "data:":
            return None if ";base64," in s[:256] else self.scan(s)
        if _CTRL.search(s):
            return self._sentinels(s, None)
        try:
            parts = urlsplit(s)
            acc = Acc()
            netloc = parts.netloc
            if parts.password:
                netloc = netloc.replace(":" + parts.password + "@", ":" + MARKER + "@", 1)
                acc.changed = True
            path = parts.path
            dec = unquote(path)
            out = self.scan(dec)
            if out is not None:
                path = quote(acc.take(dec, out), safe=_PATH_SAFE + "[]")
            query = self._query(parts.query, acc) if parts.query else ""
            frag = parts.fragment
            if frag:
                head, sep, tail = frag.rpartition("?") if "?" in frag else ("", "", frag)
                if "=" in tail:
                    tail = self._query(tail, acc)
                head_out = self.scan(unquote(head)) if head else None
                if head_out is not None:
                    head = quote(acc.take(head, head_out), safe=_PATH_SAFE + "[]")
                frag = head + sep + tail
                if "=" not in tail:
                    out = self.scan(unquote(frag))
                    if out is not None:
                        frag = quote(acc.take(frag, out), safe=_PATH_SAFE + "[]")
            if not acc.changed:
                return None
            return acc.out(urlunsplit((parts.scheme, netloc, path, query, frag)))
        except Exception as exc:  # fail closed: an unparseable URL is not kept
            return MARKER, (("url", type(exc).__name__),), ()
