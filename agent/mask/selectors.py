"""A small CSS selector matcher for the agent-side (second) masking pass.

The in-page recorder evaluates selectors with the browser's own engine. The agent re-checks
the DOM it receives (rrweb serialized nodes: a tag name and an attribute map), so it needs
*compound* selectors only: ``tag``, ``*``, ``#id``, ``.class`` and attribute selectors
``[a]``, ``[a=v]``, ``[a~=v]``, ``[a|=v]``, ``[a^=v]``, ``[a$=v]``, ``[a*=v]`` with an optional
`` i`` flag, in comma-separated lists. Selectors using combinators or pseudo-classes are valid
for the page but cannot be matched here; :func:`compile_selector` returns ``None`` for them and
the rule is enforced by the recorder alone (``mask test`` says so).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Attrs = Mapping[str, object]
Matcher = Callable[[str | None, Attrs], bool]

_IDENT = r"-?[_a-zA-Z][_a-zA-Z0-9-]*"
_ATTR = re.compile(
    r"\[\s*(?P<name>[^\s~|^$*=\]]+)\s*"
    r"(?:(?P<op>[~|^$*]?=)\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\]]+))"
    r"\s*(?P<flag>[iIsS])?\s*)?\]"
)
_SIMPLE = re.compile(rf"(?P<tag>{_IDENT}|\*)|#(?P<id>{_IDENT})|\.(?P<cls>{_IDENT})")


class SelectorSyntaxError(ValueError):
    """The selector is not valid CSS (unbalanced brackets or quotes, empty)."""


@dataclass(frozen=True, slots=True)
class _AttrTest:
    name: str
    op: str | None
    value: str
    icase: bool

    def __call__(self, attrs: Attrs) -> bool:
        raw = attrs.get(self.name)
        if raw is None or raw is False:
            return False
        if self.op is None:
            return True
        have = str(raw) if raw is not True else ""
        want = self.value
        if self.icase:
            have, want = have.casefold(), want.casefold()
        if self.op == "=":
            return have == want
        if self.op == "~=":
            return want in have.split()
        if self.op == "|=":
            return have == want or have.startswith(want + "-")
        if not want:
            return False
        if self.op == "^=":
            return have.startswith(want)
        if self.op == "$=":
            return have.endswith(want)
        return want in have  # "*="


@dataclass(frozen=True, slots=True)
class _Compound:
    tag: str | None
    ident: str | None
    classes: tuple[str, ...]
    attr_tests: tuple[_AttrTest, ...]

    def __call__(self, tag: str | None, attrs: Attrs) -> bool:
        # tag None = unknown: the tag test passes (re-evaluation errs towards masking)
        if self.tag is not None and tag is not None and tag.lower() != self.tag:
            return False
        if self.ident is not None and attrs.get("id") != self.ident:
            return False
        if self.classes:
            have = str(attrs.get("class") or "").split()
            if any(c not in have for c in self.classes):
                return False
        return all(t(attrs) for t in self.attr_tests)


def _check_balanced(selector: str) -> None:
    depth = 0
    quote = ""
    for ch in selector:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise SelectorSyntaxError("unbalanced ']'")
    if quote:
        raise SelectorSyntaxError("unterminated quote")
    if depth:
        raise SelectorSyntaxError("unbalanced '['")


def _split_list(selector: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    depth, quote = 0, ""
    for ch in selector:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf).strip())
    return parts


def _compile_compound(text: str) -> _Compound | None:
    pos, tag, ident = 0, None, None
    classes: list[str] = []
    tests: list[_AttrTest] = []
    while pos < len(text):
        if text[pos] == "[":
            m = _ATTR.match(text, pos)
            if not m:
                raise SelectorSyntaxError(f"bad attribute selector at {text[pos:]!r}")
            value = (
                m.group("dq")
                if m.group("dq") is not None
                else (m.group("sq") if m.group("sq") is not None else (m.group("bare") or ""))
            )
            flag = (m.group("flag") or "").lower()
            tests.append(_AttrTest(m.group("name").lower(), m.group("op"), value, flag == "i"))
            pos = m.end()
            continue
        m = _SIMPLE.match(text, pos)
        if not m or m.end() == pos:
            return None  # combinator, pseudo-class, ...: valid CSS the agent cannot evaluate
        if m.group("tag") is not None:
            if pos != 0:
                return None
            tag = None if m.group("tag") == "*" else m.group("tag").lower()
        elif m.group("id") is not None:
            ident = m.group("id")
        else:
            classes.append(m.group("cls"))
        pos = m.end()
    return _Compound(tag, ident, tuple(classes), tuple(tests))


def compile_selector(selector: str) -> Matcher | None:
    """Compile a selector list; ``None`` when it needs features only the browser has.

    Raises :class:`SelectorSyntaxError` for selectors that are not valid CSS at all.
    """
    if not selector.strip():
        raise SelectorSyntaxError("empty selector")
    _check_balanced(selector)
    compounds: list[_Compound] = []
    for part in _split_list(selector):
        if not part:
            raise SelectorSyntaxError("empty item in selector list")
        comp = _compile_compound(part)
        if comp is None:
            return None
        compounds.append(comp)

    tags = {c.tag for c in compounds}
    if None in tags:

        def match(tag: str | None, attrs: Attrs) -> bool:
            return any(c(tag, attrs) for c in compounds)

        return match
    # Every compound names its tag (input[...], ...): other elements are ruled out at once,
    # which keeps long built-in lists cheap on a 2,000-node page.

    def match_tagged(tag: str | None, attrs: Attrs) -> bool:
        if tag is not None and tag.lower() not in tags:
            return False
        return any(c(tag, attrs) for c in compounds)

    return match_tagged
