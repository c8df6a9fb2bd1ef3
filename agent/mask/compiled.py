"""Rules compiled for speed: matchers per rule source, built once per Masker.

Everything here is precomputed at load (regexes, glob unions, selector matchers) and the
lookups that repeat on a stream (a header name, a JSON key path) are cached.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agent.mask.builtin import BUILTIN_RULES
from agent.mask.patterns import CHECKS, NORMALIZERS
from agent.mask.rules import (
    STRENGTH,
    AttributeRule,
    FormFieldRule,
    HeaderRule,
    InputTypeRule,
    JsonPathRule,
    MaskingFile,
    PatternRule,
    QueryParamRule,
    SelectorRule,
    WsPathRule,
    _Rule,
)
from agent.mask.selectors import UNKNOWN, Elem, compile_selector, needs_ancestors

Attrs = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that applies to a value: its id, strength and normaliser."""

    rule_id: str
    strength: int
    normalize: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    hit: Hit
    regex: re.Pattern[str]
    check: Callable[[str], bool]


def fold(name: str) -> str:
    """Field names compare case- and separator-insensitively: X-Api-Key = apiKey = api_key."""
    return name.casefold().replace("_", "").replace("-", "")


def _globs(names: list[str], folded: bool = False) -> re.Pattern[str]:
    f = fold if folded else str.casefold
    return re.compile("|".join(f"(?:{fnmatch.translate(f(n))})" for n in names))


def _hit(rule: _Rule) -> Hit:
    return Hit(rule.id, STRENGTH[rule.mode], NORMALIZERS[rule.normalize])


def _element_matcher(rule: _Rule) -> Callable[[Elem], bool] | None:
    if isinstance(rule, InputTypeRule):
        types = frozenset(t.lower() for t in rule.types)

        def by_type(el: Elem) -> bool:
            # tag None = unknown (an attribute mutation on an untracked node): assume input
            return (
                el.tag in ("input", None) and str(el.attrs.get("type") or "text").lower() in types
            )

        return by_type
    if isinstance(rule, AttributeRule):
        name = rule.name.lower()
        values = _globs(rule.values) if rule.values else None

        def by_attr(el: Elem) -> bool:
            v = el.attrs.get(name)
            if v is None or v is False:
                return False
            return values is None or values.match(str(v).casefold()) is not None

        return by_attr
    if isinstance(rule, SelectorRule):
        return compile_selector(rule.selector)
    return None


def _min_width(rx: re.Pattern[str]) -> int:
    """The shortest string a regex can match (1 when it cannot be computed)."""
    try:
        import re._parser as sre_parse  # the stdlib's own parser (3.11+)

        return max(1, int(sre_parse.parse(rx.pattern, rx.flags).getwidth()[0]))
    except Exception:
        return 1


_SEL_ATTR = re.compile(r"\[\s*([^\s~|^$*=\]]+)")


def _attributes_of(rule: _Rule) -> set[str]:
    """Attribute names an element rule looks at (a change to them means re-evaluation)."""
    if isinstance(rule, InputTypeRule):
        return {"type"}
    if isinstance(rule, AttributeRule):
        return {rule.name.lower()}
    if isinstance(rule, SelectorRule):
        names = {m.group(1).lower() for m in _SEL_ATTR.finditer(rule.selector)}
        if "#" in rule.selector:
            names.add("id")
        if "." in rule.selector:
            names.add("class")
        return names
    return set()


def _squeeze_table(cores: tuple[str, ...]) -> tuple[tuple[bytes, ...], bytes]:
    """The ASCII cores as bytes, and every byte none of them contains (the quote excepted):
    :meth:`RuleSet.mentions_field` deletes those bytes from ASCII text before searching it."""
    ascii_cores = tuple(c.encode("ascii") for c in cores if c.isascii())
    kept = {b for c in ascii_cores for b in c} | {ord('"')}
    return ascii_cores, bytes(b for b in range(256) if b not in kept)


class RuleSet:
    """The built-in floor plus a masking file, compiled."""

    def __init__(self, file: MaskingFile) -> None:
        self.file = file
        self.defaults = file.defaults
        self.escrow = file.escrow
        self.rules: list[_Rule] = [*BUILTIN_RULES, *file.rules]
        self.by_id: dict[str, _Rule] = {r.id: r for r in self.rules}
        self.hits: dict[str, Hit] = {r.id: _hit(r) for r in self.rules}
        self.default_input = Hit(
            "default.input", STRENGTH[self.defaults.input_mode], NORMALIZERS["trim"]
        )
        # Rule ids the recorder uses for its own built-ins (recorder_js/src/mask.js).
        self.hits.setdefault("default", self.default_input)
        self.hits.setdefault("password", self.hits["builtin.password"])
        self.masked_attributes = frozenset(a.lower() for a in self.defaults.masked_attributes)
        self.unmasked_input_types = frozenset(t.lower() for t in self.defaults.unmasked_input_types)
        self.element_rules: list[tuple[Hit, Callable[[Elem], bool]]] = []
        # Some selector has a combinator: the DOM pass must know each element's ancestors.
        self.needs_ancestors = any(
            isinstance(r, SelectorRule) and needs_ancestors(r.selector) for r in self.rules
        )
        self.patterns: list[CompiledPattern] = []
        self._names: dict[str, list[tuple[Hit, re.Pattern[str]]]] = {
            "query_param": [],
            "header": [],
            "form_field": [],
        }
        self._paths: dict[str, list[tuple[Hit, bool, tuple[re.Pattern[str], ...]]]] = {
            "json_path": [],
            "ws_path": [],
        }
        for rule in self.rules:
            hit = self.hits[rule.id]
            if isinstance(rule, SelectorRule | InputTypeRule | AttributeRule):
                m = _element_matcher(rule)
                if m is not None:
                    self.element_rules.append((hit, m))
            elif isinstance(rule, PatternRule):
                flags = re.IGNORECASE if rule.ignore_case else 0
                self.patterns.append(
                    CompiledPattern(hit, re.compile(rule.regex, flags), CHECKS[rule.check])
                )
            elif isinstance(rule, QueryParamRule | HeaderRule | FormFieldRule):
                self._names[rule.kind].append((hit, _globs(rule.names, folded=True)))
            elif isinstance(rule, JsonPathRule | WsPathRule):
                for p in rule.paths:
                    anydepth = p.startswith("$..")
                    segs = p[3:] if anydepth else p[2:]
                    compiled = tuple(
                        re.compile(fnmatch.translate(fold(s))) for s in segs.split(".")
                    )
                    self._paths[rule.kind].append((hit, anydepth, compiled))
        # Strongest first, so the first full match of a whole value is the one to apply.
        self.patterns.sort(key=lambda p: -p.hit.strength)
        self.prefilter = self._union([p.regex for p in self.patterns])
        self.min_pattern_len = min((_min_width(p.regex) for p in self.patterns), default=1)
        self.referenced_attributes = frozenset(a for r in self.rules for a in _attributes_of(r))
        self.name_cores = self._cores()
        self._ascii_cores, self._not_in_cores = _squeeze_table(self.name_cores)
        self.name_hit = functools.lru_cache(maxsize=4096)(self._name_hit)
        self.path_hit = functools.lru_cache(maxsize=4096)(self._path_hit)

    def _cores(self) -> tuple[str, ...]:
        """The literal part of every field-name rule (folded), for cheap "could a name rule
        apply to this text at all" checks: a text that contains none of them cannot."""
        cores: set[str] = set()
        for rule in self.rules:
            globs: list[str] = []
            if isinstance(rule, QueryParamRule | HeaderRule | FormFieldRule):
                globs = rule.names
            elif isinstance(rule, JsonPathRule | WsPathRule):
                globs = [p.rsplit(".", 1)[-1] for p in rule.paths]
            for g in globs:
                parts = [x for x in re.split(r"[*?\[\]]+", fold(g)) if x]
                if not parts:
                    return ("",)  # a bare "*" names everything
                cores.add(max(parts, key=len))
        return tuple(sorted(cores))

    def mentions_field(self, text: str) -> bool:
        """False only when no field-name rule can match any name in ``text``.

        ASCII text (a price feed's JSON) is first squeezed: lower-cased, and every byte that no
        core contains is deleted (quotes stay, to keep names apart). An occurrence of a core
        survives the squeeze intact, so a "no" stays exact, and the cores are searched in a
        fraction of the text.
        """
        if text.isascii():
            squeezed = text.encode("ascii").lower().translate(None, self._not_in_cores)
            return any(c in squeezed for c in self._ascii_cores)
        folded = fold(text)
        return any(c in folded for c in self.name_cores)

    @staticmethod
    def _union(regexes: list[re.Pattern[str]]) -> re.Pattern[str] | None:
        """One regex that finds any candidate, or None if the rules cannot be joined."""
        if not regexes:
            return None
        try:
            return re.compile(
                "|".join(f"(?:{r.pattern})" for r in regexes),
                re.IGNORECASE if any(r.flags & re.IGNORECASE for r in regexes) else 0,
            )
        except re.error:
            return None  # e.g. duplicate group names across rules: scan rule by rule

    def element_hit(
        self, tag: str | None, attrs: Attrs, parent: Elem | None = UNKNOWN
    ) -> Hit | None:
        """The strongest element rule matching a DOM element, if any.

        ``parent`` is the element's parent chain (``None``: a tree's top; :data:`UNKNOWN`:
        not known, so no selector with a combinator matches).
        """
        el = Elem(tag, attrs, parent)
        best: Hit | None = None
        for hit, match in self.element_rules:
            if (best is None or hit.strength > best.strength) and match(el):
                best = hit
        return best

    def _name_hit(self, source: str, name: str) -> Hit | None:
        key = fold(name)
        best: Hit | None = None
        for hit, rx in self._names[source]:
            if (best is None or hit.strength > best.strength) and rx.match(key):
                best = hit
        return best

    def _path_hit(self, source: str, keypath: tuple[str, ...]) -> Hit | None:
        best: Hit | None = None
        folded = tuple(fold(k) for k in keypath)
        for hit, anydepth, segs in self._paths[source]:
            n = len(segs)
            if len(folded) < n or (not anydepth and len(folded) != n):
                continue
            tail = folded[-n:]
            if (best is None or hit.strength > best.strength) and all(
                s.match(k) for s, k in zip(segs, tail, strict=True)
            ):
                best = hit
        return best

    def classify(self, value: str) -> Hit | None:
        """The strongest pattern rule matching the whole ``value`` (checks applied)."""
        v = value.strip()
        if self.prefilter is not None and self.prefilter.search(v) is None:
            return None
        for p in self.patterns:
            if p.regex.fullmatch(v) and p.check(v):
                return p.hit
        return None
