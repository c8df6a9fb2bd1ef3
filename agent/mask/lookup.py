"""From a known clear value to the token recordings hold for it (``sessiontape token``,
``search value:"..."``).

An investigator who knows an account number needs its ``tok_`` to search for it. The token
is what the masker would store: the HMAC of the value normalised the way the rule that masks
it normalises (a value pattern that matches the whole value decides the normalisation, as it
does when masking, so ``078-05-1120`` and ``078051120`` give one token). Without ``rule_id``
every rule that could mask the value answers: the strongest pattern rule that matches it
whole, else each field rule (a field rule applies to whatever is typed or sent in its field).

Escrowed values have random tokens (nothing to compute: find them with ``reveal``'s session
and token) and redacted values have none; the answers say so. Every lookup is audited
through the ``audit`` callable *before* the tokens are returned - the record names the actor,
the rule, the reason and the tokens, never the value - and a failing audit means no answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import KeyMaterialError, UsageError
from agent.mask.compiled import RuleSet
from agent.mask.config import MaskConfig
from agent.mask.patterns import CHECKS, NORMALIZERS
from agent.mask.rules import MODE_NAME, STRENGTH, PatternRule, _Rule, load_rules_file
from agent.mask.tokens import Tokenizer, hmac_key_path, load_or_create_hmac_key

AUDIT_KIND = "audit.token"
Audit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """What one rule does to the value: its mode, and the token when it tokenizes."""

    rule_id: str
    mode: str
    token: str | None
    normalize: str

    def line(self) -> str:
        """One line for people: the token, or why there is none."""
        if self.token is not None:
            return f"{self.token}  rule {self.rule_id} (normalised: {self.normalize})"
        if self.mode == "escrow":
            return (
                f"escrowed by rule {self.rule_id}: each occurrence has its own random esc_ "
                "token (search cannot find it by value; `sessiontape reveal` opens one)"
            )
        if self.mode == "redact":
            return f"redacted by rule {self.rule_id}: recordings hold [redacted], no token"
        return f"in clear where no rule above masks it ({self.rule_id}): search the value itself"


@functools.lru_cache(maxsize=256)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


def _matches(rule: PatternRule, value: str) -> bool:
    rx = _regex(rule.regex, rule.ignore_case)
    return rx.fullmatch(value) is not None and CHECKS[rule.check](value)


def _answer(rule: _Rule, mode: str, normalize: str, value: str, tok: Tokenizer) -> TokenAnswer:
    token = tok.token(NORMALIZERS[normalize](value)) if mode == "tokenize" else None
    return TokenAnswer(rule.id, mode, token, normalize)


def token_answers(
    rules: RuleSet, tokenizer: Tokenizer, value: str, rule_id: str | None = None
) -> list[TokenAnswer]:
    """What the rules (or rule ``rule_id``) make of ``value``; one answer per distinct token.

    ``UsageError`` for an empty value, an unknown rule id, or a pattern rule that does not
    match the value.
    """
    v = value.strip()
    if not v:
        raise UsageError("give the value to look up (it is never recorded)")
    patterns = [r for r in rules.rules if isinstance(r, PatternRule)]
    whole = sorted(
        (r for r in patterns if _matches(r, v)), key=lambda r: -STRENGTH[r.mode]
    )  # the strongest pattern decides, as when masking
    if rule_id is not None:
        rule = rules.by_id.get(rule_id)
        if rule is None:
            raise UsageError(f"no masking rule {rule_id!r} (see the rules file)")
        if isinstance(rule, PatternRule) and rule not in whole:
            raise UsageError(f"rule {rule_id!r} does not match this value")
        mode = MODE_NAME[max(STRENGTH[rule.mode], STRENGTH[whole[0].mode] if whole else -1)]
        norm = whole[0].normalize if whole else rule.normalize
        return [_answer(rule, mode, norm, v, tokenizer)]
    if whole:
        return [_answer(whole[0], whole[0].mode, whole[0].normalize, v, tokenizer)]
    return _field_answers(rules, tokenizer, v)


def _field_answers(rules: RuleSet, tokenizer: Tokenizer, v: str) -> list[TokenAnswer]:
    """Each distinct token a tokenize field rule gives ``v`` (rule ids joined), then one
    line per escrowing field rule; a value no such rule could mask is kept in clear."""
    by_token: dict[str, list[_Rule]] = {}
    escrowing: list[_Rule] = []
    for rule in rules.rules:
        if isinstance(rule, PatternRule):
            continue
        if rule.mode == "tokenize":
            token = tokenizer.token(NORMALIZERS[rule.normalize](v))
            by_token.setdefault(token, []).append(rule)
        elif rule.mode == "escrow":
            escrowing.append(rule)
    out = [
        TokenAnswer(
            ", ".join(r.id for r in rs),
            "tokenize",
            token,
            ", ".join(sorted({r.normalize for r in rs})),
        )
        for token, rs in by_token.items()
    ]
    out += [TokenAnswer(r.id, "escrow", None, r.normalize) for r in escrowing]
    if rules.defaults.input_mode == "keep":
        out.append(TokenAnswer("default.input", "keep", None, "none"))
    return out


def pattern_decides(rules: RuleSet, value: str) -> bool:
    """True when a value pattern matches the whole value: it is masked the same way in every
    place, so its answer is the only one (no field rule and no clear copy to look for)."""
    v = value.strip()
    return any(_matches(r, v) for r in rules.rules if isinstance(r, PatternRule))


def load_lookup(sec: MaskConfig, home: Path) -> tuple[RuleSet, Tokenizer]:
    """The deployment's rules and tokenizer; ``KeyMaterialError`` when the masking key does
    not exist (a new key would give tokens no recording holds)."""
    key_path = Path(sec.hmac_key_file) if sec.hmac_key_file else hmac_key_path(home)
    if not key_path.exists():
        raise KeyMaterialError(f"{key_path}: no masking key: nothing here was tokenized with it")
    rules = RuleSet(load_rules_file(Path(sec.rules_file) if sec.rules_file else None))
    return rules, Tokenizer(load_or_create_hmac_key(key_path))


def lookup_tokens(
    rules: RuleSet,
    tokenizer: Tokenizer,
    value: str,
    *,
    audit: Audit,
    rule_id: str | None = None,
    reason: str = "",
    via: str = "token",
) -> list[TokenAnswer]:
    """:func:`token_answers`, audited first (``audit.token``: rule, reason, tokens, ``via``
    the command that asked; never the value). Nothing is returned if the audit fails."""
    answers = token_answers(rules, tokenizer, value, rule_id)
    audit(
        {
            "rule": rule_id or "*",
            "reason": reason.strip(),
            "via": via,
            "rules": [a.rule_id for a in answers],
            "tokens": [a.token for a in answers if a.token is not None],
        }
    )
    return answers
