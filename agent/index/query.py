"""The search query language.

::

    query     := item*                       (items are ANDed; repeats of one operator are ORed)
    item      := word | "quoted phrase" | op ":" value | field ":" token
    op        := user | host | url | kind | token | value | from | to | session | held
    value     := word | "quoted value"
    token     := tok_<16 hex> | esc_<16 hex>   (field-scoped: account:tok_…)
    time      := 2026-11-26T10:00Z | 2026-11-26T10:00:00+05:00 | 2026-11-26T10:00[America/New_York]
                 | 2026-11-26 (a UTC day; in to: the end of that day)

Free words and phrases search the full text (visible page text at keyframes and as it
appears, typed text that was not masked, click targets, URLs, titles, request/response and
WebSocket message text, console errors). ``word*`` parses as a prefix; the SQLite backend
refuses it (its blind index matches whole words only). ``value:"ACCT-4417-2290"`` names a
clear value: :func:`agent.index.search.search` turns it into the token(s) masking gives it
(audited, like ``sessiontape token``) or, for a value recorded in clear, a phrase; a backend
never sees it. A bad item is a :class:`~agent.errors.UsageError` naming it.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.errors import UsageError

OPERATORS = ("user", "host", "url", "kind", "token", "value", "from", "to", "session", "held")
TOKEN_VALUE = re.compile(r"^(?:tok|esc)_[0-9a-f]{16}$")
_ITEM = re.compile(r'\s*(?:([A-Za-z_][\w.-]*):)?(?:"((?:[^"]|"")*)"|(\S+))')
_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"(Z|[+-]\d{2}:?\d{2}|\[[A-Za-z0-9_+\-/]+\])?$"
)
_DAY_NS = 86_400 * 1_000_000_000
_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Query:
    """A parsed query (backend neutral)."""

    raw: str
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    field_tokens: tuple[tuple[str, str], ...] = ()
    sessions: tuple[str, ...] = ()
    values: tuple[str, ...] = ()  # clear values, resolved to tokens/phrases before searching
    t_from: int | None = None
    t_to: int | None = None
    held: bool | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases or self.urls)

    @property
    def has_event_filters(self) -> bool:
        """True when hits are events; False when only session filters were given."""
        return bool(
            self.has_text or self.hosts or self.kinds or self.tokens or self.field_tokens
        ) or bool(self.values)

    def fts_expr(self) -> str | None:
        """The FTS5 MATCH expression for the text part (every term quoted), or None."""
        parts: list[str] = []
        for t in self.terms:
            if t.endswith("*") and len(t) > 1:
                parts.append(_quote(t[:-1]) + " *")
            else:
                parts.append(_quote(t))
        parts.extend(_quote(p) for p in self.phrases)
        parts.extend("url : " + _quote(u) for u in self.urls)
        return " AND ".join(parts) if parts else None


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def parse_time(value: str, *, end: bool = False, item: str = "") -> int:
    """A ``from:``/``to:`` value → UTC ns. Naive times need ``Z``, an offset or ``[Zone]``."""
    m = _TIME.match(value)
    if not m:
        raise UsageError(
            f"bad time in {item or value!r}: use 2026-11-26T10:00Z, "
            "2026-11-26T10:00+05:00 or 2026-11-26T10:00[America/New_York]"
        )
    day, clock, zone = m.group(1), m.group(2), m.group(3)
    if clock is None and zone is None:
        zone = "Z"  # a bare date is a UTC day
    if zone is None:
        raise UsageError(
            f"time in {item!r} has no zone: add Z (UTC), an offset like +05:00, "
            "or a zone like [America/New_York]"
        )
    try:
        naive = dt.datetime.fromisoformat(f"{day}T{clock or '00:00'}")
    except ValueError as exc:
        raise UsageError(f"bad time in {item!r}: {exc}") from None
    if zone == "Z":
        tz: dt.tzinfo = dt.UTC
    elif zone.startswith("["):
        try:
            tz = zoneinfo.ZoneInfo(zone[1:-1])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {zone[1:-1]!r} in {item!r}") from None
    else:
        tz = _offset_zone(zone, item)
    try:
        t = naive.replace(tzinfo=tz)
        ns = int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
    except (OverflowError, ValueError):
        ns = _NS_MIN - 1  # before year 1 in UTC: out of range below
    if end and clock is None:
        ns += _DAY_NS - 1  # to:2026-11-26 means until the end of that day
    if not _NS_MIN <= ns <= _NS_MAX:
        raise UsageError(
            f"time in {item or value!r} is outside the searchable range ({_RANGE_TEXT})"
        )
    return ns


_NS_MIN, _NS_MAX = -(2**63), 2**63 - 1  # event times are stored as signed 64-bit ns
_RANGE_TEXT = "1677-09-21T00:13Z .. 2262-04-11T23:47Z"


def _offset_zone(zone: str, item: str) -> dt.tzinfo:
    """A ``+HH:MM`` / ``-HHMM`` offset as a zone; hours 0-23 and minutes 0-59 only."""
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise UsageError(
            f"bad UTC offset {zone!r} in {item!r}: hours must be 00-23 and minutes 00-59"
        )
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _kind_ok(value: str) -> bool:
    from agent.index.extract import ACTIONS
    from agent.kinds import KINDS

    return value in ACTIONS or value in KINDS or any(k.startswith(value + ".") for k in KINDS)


def parse(text: str) -> Query:
    """Parse a query string; ``UsageError`` naming the offending item on bad syntax."""
    if text.count('"') % 2:
        raise UsageError(f"unbalanced quote in query {text!r}")
    text = text.strip()
    items = _Items()
    pos = 0
    while pos < len(text):
        m = _ITEM.match(text, pos)
        if not m or m.end() == pos:
            raise UsageError(f"cannot parse query at {text[pos : pos + 20]!r}")
        pos = m.end()
        items.add(m)
    acc = items.ops
    held = _check_operator_values(acc)
    if len(acc["from"]) > 1 or len(acc["to"]) > 1:
        raise UsageError("give from: and to: at most once each")
    t_from = parse_time(acc["from"][0], item=f"from:{acc['from'][0]}") if acc["from"] else None
    t_to = parse_time(acc["to"][0], end=True, item=f"to:{acc['to'][0]}") if acc["to"] else None
    if t_from is not None and t_to is not None and t_to < t_from:
        raise UsageError(f"to:{acc['to'][0]} is before from:{acc['from'][0]}")
    return Query(
        raw=text,
        terms=tuple(items.terms),
        phrases=tuple(items.phrases),
        users=tuple(acc["user"]),
        hosts=tuple(h.lower() for h in acc["host"]),
        urls=tuple(acc["url"]),
        kinds=tuple(acc["kind"]),
        tokens=tuple(acc["token"]),
        field_tokens=tuple(items.field_tokens),
        sessions=tuple(acc["session"]),
        values=tuple(acc["value"]),
        t_from=t_from,
        t_to=t_to,
        held=held,
    )


@dataclass
class _Items:
    """The items of a query as they are read: free words, phrases, operator values."""

    ops: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in OPERATORS})
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    field_tokens: list[tuple[str, str]] = field(default_factory=list)

    def add(self, m: re.Match[str]) -> None:
        """File one matched item; ``UsageError`` for an unknown operator or a missing value."""
        op, quoted, bare = m.group(1), m.group(2), m.group(3)
        item = m.group(0).strip()
        value = quoted.replace('""', '"') if quoted is not None else (bare or "")
        if op is None:
            if quoted is not None:
                if quoted.strip():
                    self.phrases.append(value)
            elif value:
                _check_word(value)
                self.terms.append(value)
            return
        opl = op.lower()
        if not value:
            raise UsageError(f"{item!r}: operator {opl}: needs a value")
        if opl in OPERATORS:
            self.ops[opl].append(value)
        elif TOKEN_VALUE.match(value):
            self.field_tokens.append((opl, value))
        else:
            raise UsageError(
                f"unknown operator {op + ':'!r} in {item!r} (operators: "
                f"{', '.join(o + ':' for o in OPERATORS)}; "
                'field:tok_… for a field-scoped token; value:"…" for a clear value)'
            )


def _check_operator_values(acc: dict[str, list[str]]) -> bool | None:
    """Refuse bad ``token:``/``kind:``/``held:`` values; return the ``held:`` filter."""
    for t in acc["token"]:
        if not TOKEN_VALUE.match(t):
            raise UsageError(f"'token:{t}' is not a token (tok_ or esc_ + 16 hex digits)")
    for k in acc["kind"]:
        if not _kind_ok(k):
            raise UsageError(
                f"unknown kind in 'kind:{k}' (a journal kind such as "
                "net.request, a family such as net, or an action such as click)"
            )
    held: bool | None = None
    for h in acc["held"]:
        if h.lower() not in ("yes", "no", "true", "false"):
            raise UsageError(f"'held:{h}': use held:yes or held:no")
        held = h.lower() in ("yes", "true")
    return held


def hide_values(text: str, shown: Callable[[str], str]) -> str:
    """``text`` with the value of every ``value:`` item replaced by ``shown(value)`` (what an
    audit record may hold instead of the clear value)."""

    def repl(m: re.Match[str]) -> str:
        op, quoted, bare = m.group(1), m.group(2), m.group(3)
        if op is None or op.lower() != "value":
            return m.group(0)
        value = quoted.replace('""', '"') if quoted is not None else (bare or "")
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        return f"{lead}{op}:{shown(value)}"

    return _ITEM.sub(repl, text)


def _check_word(word: str) -> None:
    if word.startswith(":") or word.endswith(":"):
        raise UsageError(f"{word!r}: an operator needs a name and a value (like user:alice)")
    if word == "*" or word.startswith("*"):
        raise UsageError(f"{word!r}: a wildcard must follow a word prefix (like acc*)")
