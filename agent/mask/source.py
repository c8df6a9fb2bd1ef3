"""Masking of page *source* carried in bodies: HTML documents, scripts, broken JSON.

Value patterns find SSNs and cards anywhere, but a password in a script literal
(``password: 'hunter2'``) or a server-rendered ``<input value="...">`` has no shape of its
own. Two passes cover them, using the field-name rules the agent already has:

* ``name: 'value'`` / ``"name": "value"`` / ``name = "value"`` pairs whose name a query,
  form-field or JSON-path rule names are masked with that rule (this also covers JSON that
  was truncated by capture's body cap and no longer parses);
* in HTML, ``<input>``/``<textarea>`` values are masked like the live DOM's: element rules,
  else the default input mode.
"""

from __future__ import annotations

import html
import re

from agent.mask.compiled import Hit, RuleSet
from agent.mask.ctx import Ctx
from agent.mask.rules import KEEP, NONE
from agent.mask.strings import StringMasker

_PAIR = re.compile(
    r"""(["']?)([A-Za-z_$][\w$-]*)\1\s*[:=]\s*"""
    r"""(?:(["'`])((?:\\.|(?!\3)[^\\\n])*)\3|(-?\d{4,})|([^\s&'"`,;<>(){}\[\]]+))"""
)
_TAG = re.compile(r"<(input|textarea)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")
_TEXTAREA_END = re.compile(r"</textarea\s*>", re.IGNORECASE)


def _unquote(v: str | None) -> str:
    if v is None:
        return ""
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return html.unescape(v)


class SourceMasker:
    """Name/value pairs in source text and form-control values in HTML."""

    def __init__(self, sm: StringMasker) -> None:
        self.sm = sm
        self.rules: RuleSet = sm.rules

    def name_hit(self, name: str) -> Hit | None:
        """The strongest field-name rule (query, form, JSON) naming ``name``."""
        best: Hit | None = None
        for hit in (
            self.rules.name_hit("form_field", name),
            self.rules.name_hit("query_param", name),
            self.rules.path_hit("json_path", (name,)),
            self.rules.path_hit("ws_path", (name,)),
        ):
            if hit is not None and (best is None or hit.strength > best.strength):
                best = hit
        return best

    def pairs(self, text: str, ctx: Ctx, path: str) -> str:
        """Mask the values of ``name: value`` pairs whose name a field rule covers."""

        def repl(m: re.Match[str]) -> str:
            name = m.group(2)
            hit = self.name_hit(name)
            if hit is None:
                return m.group(0)
            group = 4 if m.group(3) is not None else (5 if m.group(5) is not None else 6)
            value = m.group(group)
            new = ctx.take(value, self.sm.apply(value, hit), f"{path}.{name}")
            if new is value:
                return m.group(0)
            whole = m.group(0)
            a, b = m.start(group) - m.start(0), m.end(group) - m.start(0)
            if group == 5:
                new = f'"{new}"'
            return whole[:a] + new + whole[b:]

        return _PAIR.sub(repl, text)

    def html_controls(self, text: str, ctx: Ctx, path: str) -> str:
        """Mask ``<input value>`` and ``<textarea>`` contents in an HTML document."""
        out: list[str] = []
        pos = 0
        for m in _TAG.finditer(text):
            if m.start() < pos:
                continue
            tag = m.group(1).lower()
            attrs = {a.group(1).lower(): _unquote(a.group(2)) for a in _ATTR.finditer(m.group(2))}
            hit = self.rules.element_hit(tag, attrs)
            if hit is None:
                if tag == "input" and attrs.get("type", "").lower() in (
                    self.rules.unmasked_input_types
                ):
                    continue
                hit = self.rules.default_input
            if hit.strength <= NONE:
                continue
            out.append(text[pos : m.start()])
            out.append(self._tag(m.group(0), hit, ctx, path))
            pos = m.end()
            if tag == "textarea" and hit.strength > KEEP:
                end = _TEXTAREA_END.search(text, pos)
                stop = end.start() if end else len(text)
                content = html.unescape(text[pos:stop])
                out.append(
                    html.escape(
                        ctx.take(content, self.sm.apply(content, hit), f"{path}.textarea"),
                        quote=False,
                    )
                )
                pos = stop
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)

    def _tag(self, tag_text: str, hit: Hit, ctx: Ctx, path: str) -> str:
        names = {"value"} | (set(self.rules.masked_attributes) if hit.strength > KEEP else set())

        def repl(a: re.Match[str]) -> str:
            if a.group(1).lower() not in names or a.group(2) is None:
                return a.group(0)
            value = _unquote(a.group(2))
            new = ctx.take(value, self.sm.apply(value, hit), f"{path}.{a.group(1)}")
            if new is value:
                return a.group(0)
            return f'{a.group(1)}="{html.escape(new)}"'

        head = re.match(r"<\w+", tag_text)
        assert head is not None
        return head.group(0) + _ATTR.sub(repl, tag_text[head.end() :])
