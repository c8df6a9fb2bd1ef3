"""Masking rules: the TOML file format, its validation, and the built-in floor.

``config/masking.toml`` ships the defaults (every key commented there). A deployment points
``[mask] rules_file`` at its own copy. Whatever the file says, the built-in rules
(:mod:`agent.mask.builtin`) are always added: passwords, PINs, one-time codes and payment
cards (numbers and CVVs) are redacted and nothing can configure that away (when several rules
match a value, the strongest mode wins: redact > escrow > tokenize > keep). A form-control
value no rule matches is kept in clear (``defaults.input_mode = "keep"``): an order's symbol,
side, quantity and price are what a supervisor must read, and value patterns (SSN, IBAN,
card ...) are still applied inside it.

A bad file (unknown key, unknown mode, bad regex or selector, escrow without a key) raises
:class:`agent.errors.MaskError` naming the file and the key.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import ConfigError, MaskError
from agent.mask.selectors import SelectorSyntaxError, compile_selector
from agent.tomlfile import read_toml

Mode = Literal["redact", "tokenize", "escrow", "keep"]
Normalize = Literal["none", "trim", "digits", "alnum_upper", "casefold"]

# Strength order; NONE means "no rule matched".
NONE, KEEP, TOKENIZE, ESCROW, REDACT = -1, 0, 1, 2, 3
STRENGTH: dict[str, int] = {"keep": KEEP, "tokenize": TOKENIZE, "escrow": ESCROW, "redact": REDACT}
MODE_NAME: dict[int, str] = {v: k for k, v in STRENGTH.items()}

RULE_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
DOM_KINDS = frozenset({"selector", "input_type", "attribute"})
_JSON_PATH = re.compile(r"^\$(\.\.|\.)[^.]+(\.[^.]+)*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Model):
    id: str = Field(pattern=RULE_ID)
    mode: Mode
    normalize: Normalize = "trim"
    description: str = ""

    def page_only(self) -> bool:
        """True when the agent cannot evaluate this rule itself (browser-only selector)."""
        return False


class SelectorRule(_Rule):
    kind: Literal["selector"]
    selector: str

    @field_validator("selector")
    @classmethod
    def _valid_selector(cls, v: str) -> str:
        try:
            compile_selector(v)
        except SelectorSyntaxError as exc:
            raise ValueError(f"bad CSS selector {v!r}: {exc}") from None
        return v


class InputTypeRule(_Rule):
    kind: Literal["input_type"]
    types: list[str] = Field(min_length=1)


class AttributeRule(_Rule):
    kind: Literal["attribute"]
    name: str = Field(min_length=1)
    values: list[str] = []  # globs on the attribute value; empty = the attribute is present


class PatternRule(_Rule):
    kind: Literal["pattern"]
    regex: str
    check: Literal["none", "luhn", "mod97", "aba"] = "none"
    ignore_case: bool = False

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as exc:
            raise ValueError(f"bad regex {v!r}: {exc}") from None
        if rx.match(""):
            raise ValueError(f"regex {v!r} matches the empty string")
        return v


class _NamesRule(_Rule):
    names: list[str] = Field(min_length=1)  # case-insensitive globs


class QueryParamRule(_NamesRule):
    kind: Literal["query_param"]


class HeaderRule(_NamesRule):
    kind: Literal["header"]


class FormFieldRule(_NamesRule):
    kind: Literal["form_field"]


class _PathsRule(_Rule):
    paths: list[str] = Field(min_length=1)

    @field_validator("paths")
    @classmethod
    def _valid_paths(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _JSON_PATH.match(p) or "..." in p or p.count("..") > 1:
                raise ValueError(f"bad JSON path {p!r} (use $.a.b, $..name, * and globs)")
        return v


class JsonPathRule(_PathsRule):
    kind: Literal["json_path"]


class WsPathRule(_PathsRule):
    kind: Literal["ws_path"]


Rule = Annotated[
    SelectorRule
    | InputTypeRule
    | AttributeRule
    | PatternRule
    | QueryParamRule
    | HeaderRule
    | FormFieldRule
    | JsonPathRule
    | WsPathRule,
    Field(discriminator="kind"),
]


class Defaults(_Model):
    input_mode: Mode = "keep"
    masked_attributes: list[str] = [
        "value",
        "placeholder",
        "title",
        "aria-label",
        "aria-description",
        "aria-valuetext",
        "alt",
        "label",
        "data-value",
    ]
    unmasked_input_types: list[str] = [
        "submit",
        "button",
        "reset",
        "image",
        "checkbox",
        "radio",
        "range",
        "color",
        "file",
    ]
    max_scan_chars: int = Field(default=4_000_000, ge=1024)


class EscrowSettings(_Model):
    officer: str = ""
    public_key: str = ""  # base64 of the raw 32-byte X25519 public key

    @field_validator("public_key")
    @classmethod
    def _valid_key(cls, v: str) -> str:
        if v:
            try:
                raw = base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("public_key is not base64") from None
            if len(raw) != 32:
                raise ValueError("public_key must be 32 bytes (raw X25519), base64")
        return v


class MaskingFile(_Model):
    version: Literal[1]
    defaults: Defaults = Defaults()
    escrow: EscrowSettings = EscrowSettings()
    rules: list[Rule] = []


# Every rule kind, once (the discriminator of the rule union).
RULE_KINDS = (
    "selector",
    "input_type",
    "attribute",
    "pattern",
    "query_param",
    "header",
    "form_field",
    "json_path",
    "ws_path",
)


def default_rules_path() -> Path:
    """The shipped ``masking.toml`` (package data when installed, else the repo's config/)."""
    here = Path(__file__).resolve().parent
    packaged = here.parent / "config_default" / "masking.toml"
    if packaged.is_file():
        return packaged
    return here.parent.parent / "config" / "masking.toml"


def _locate(data: Any, loc: tuple[int | str, ...]) -> str:
    """Human path for a pydantic error location, naming the rule id when there is one."""
    parts: list[str] = []
    node = data
    for i, p in enumerate(loc):
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
            if isinstance(node, list) and p < len(node):
                node = node[p]
                if isinstance(node, dict) and "id" in node and i == 1:
                    parts[-1] += f" (id={node['id']!r})"
            continue
        if i > 0 and isinstance(loc[i - 1], int) and p in RULE_KINDS and isinstance(node, dict):
            continue  # the discriminator tag pydantic inserts
        parts.append(str(p))
        node = node.get(p) if isinstance(node, dict) else None
    return ".".join(parts)


def parse_rules(data: dict[str, Any], source: str) -> MaskingFile:
    """Validate a decoded masking file; ``MaskError`` names ``source`` and the key."""
    try:
        parsed = MaskingFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _locate(data, tuple(err["loc"]))
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "union_tag_invalid":
            msg = (
                f"unknown rule kind {err.get('input', {}).get('kind')!r}"
                if isinstance(err.get("input"), dict)
                else msg
            )
        raise MaskError(f"{source}: {where}: {msg}") from None
    seen: set[str] = set()
    for i, rule in enumerate(parsed.rules):
        if rule.id.startswith("builtin."):
            raise MaskError(f"{source}: rules[{i}].id: {rule.id!r} is reserved for built-ins")
        if rule.id in seen:
            raise MaskError(f"{source}: rules[{i}].id: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        if rule.mode == "keep" and rule.kind not in DOM_KINDS:
            raise MaskError(
                f"{source}: rules[{i}] (id={rule.id!r}).mode: 'keep' is only for "
                "selector, input_type and attribute rules"
            )
        if rule.mode == "escrow" and not parsed.escrow.public_key:
            raise MaskError(
                f"{source}: rules[{i}] (id={rule.id!r}).mode: escrow needs "
                "[escrow] public_key (see `sessiontape keys escrow-init`)"
            )
    if parsed.defaults.input_mode == "escrow" and not parsed.escrow.public_key:
        raise MaskError(f"{source}: defaults.input_mode: escrow needs [escrow] public_key")
    return parsed


def load_rules_file(path: Path | None = None) -> MaskingFile:
    """Read and validate a masking TOML file (the shipped defaults when ``path`` is None)."""
    path = path or default_rules_path()
    try:
        data = read_toml(path, "masking rules file")
    except ConfigError as exc:
        raise MaskError(exc.message) from exc
    return parse_rules(data, str(path))
