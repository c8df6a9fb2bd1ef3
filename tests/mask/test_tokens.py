"""The per-deployment HMAC key and keyed tokens."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from agent.errors import KeyMaterialError
from agent.mask.escrow import generate_keypair
from agent.mask.masker import Masker
from agent.mask.rules import ESCROW
from agent.mask.testing import build_masker
from agent.mask.tokens import Tokenizer, hmac_key_path, load_or_create_hmac_key, new_escrow_token


def test_key_is_created_0600_on_first_use_and_reused(tmp_path: Path) -> None:
    """First use creates 32 random bytes with mode 0600; later loads return the same key."""
    path = hmac_key_path(tmp_path)
    k1 = load_or_create_hmac_key(path)
    assert len(k1) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_hmac_key(path) == k1


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A group/world-readable key is not used."""
    path = hmac_key_path(tmp_path)
    load_or_create_hmac_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyMaterialError, match="chmod 600"):
        load_or_create_hmac_key(path)


def test_token_format_is_tok_plus_16_hex() -> None:
    """tok_ + 16 lowercase hex chars; an escrow token is esc_ + 16 hex of its own."""
    t = Tokenizer(b"\x07" * 32)
    tok = t.token("078051120")
    assert re.fullmatch(r"tok_[0-9a-f]{16}", tok), tok
    esc = new_escrow_token()
    assert re.fullmatch(r"esc_[0-9a-f]{16}", esc) and esc[4:] != tok[4:]


def test_escrowing_one_value_twice_gives_unrelated_tokens() -> None:
    """Escrow tokens carry no digest of the value: the same SSN escrowed twice differs."""
    _, pub = generate_keypair()
    m = build_masker(escrow_public_key=pub)
    hit = m.rules.hits["ssn"]
    outs = [m.strings.final("078-05-1120", "ssn", ESCROW, hit.normalize) for _ in range(2)]
    tokens = [o[0] for o in outs if o is not None]
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert m.strings.tokenizer.token("078051120")[4:] not in tokens[0] + tokens[1]


def test_same_value_same_token_across_two_maskers_with_the_same_key(tmp_path: Path) -> None:
    """Two Masker instances (two sessions) loading the same home key agree on tokens."""
    a = Masker.load(tmp_path)
    b = Masker.load(tmp_path)
    hit = a.rules.hits["ssn"]
    assert a.strings.apply("078-05-1120", hit) == b.strings.apply("078-05-1120", hit)


def test_another_key_gives_another_token() -> None:
    """A different deployment secret gives unrelated tokens."""
    a = build_masker(key=b"\x01" * 32)
    b = build_masker(key=b"\x02" * 32)
    hit = a.rules.hits["ssn"]
    out_a, out_b = a.strings.apply("078-05-1120", hit), b.strings.apply("078-05-1120", hit)
    assert out_a is not None and out_b is not None and out_a[0] != out_b[0]


def test_ssn_formats_normalise_to_one_token() -> None:
    """078-05-1120, 078 05 1120 and 078051120 tokenize alike."""
    m = build_masker()
    hit = m.rules.hits["ssn"]
    outs = [m.strings.apply(v, hit) for v in ("078-05-1120", "078 05 1120", "078051120")]
    toks = {out[0] for out in outs if out is not None}
    assert None not in outs
    assert len(toks) == 1 and next(iter(toks)).startswith("tok_")
