"""The index key and the blind index's primitives: word digests, token digests, sealed rows."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.errors import KeyMaterialError
from agent.index.cipher import IndexCipher, index_key, index_key_path, words


def test_index_key_is_created_0600_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    """First use writes 32 random bytes 0600 under keys/; a group-readable key is not used."""
    key = index_key(tmp_path)
    path = index_key_path(tmp_path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert index_key(tmp_path) == key
    path.chmod(0o640)
    with pytest.raises(KeyMaterialError, match=r"index key is readable by others \(chmod 600\)"):
        index_key(tmp_path)


def test_words_fold_case_and_diacritics_and_split_on_punctuation() -> None:
    """Words are letters, digits and _; case and accents do not matter."""
    assert words("Café ORDER-42 client_name, Jane Q. Sample") == [
        "cafe",
        "order",
        "42",
        "client_name",
        "jane",
        "q",
        "sample",
    ]


def test_digests_are_keyed_and_reveal_no_word() -> None:
    """The same word blinds alike under one key, differently under another; tokens too."""
    a, b = IndexCipher(b"\x01" * 32), IndexCipher(b"\x02" * 32)
    assert a.blind_text("Sample sample") == " ".join([a.blind_word("sample")] * 2)
    assert a.blind_word("sample") != b.blind_word("sample")
    assert "sample" not in a.blind_text("Jane Q. Sample")
    tok = "tok_1b0291152bfb9d97"
    assert a.blind_token(tok) != b.blind_token(tok) and tok[4:] not in a.blind_token(tok)


def test_sealed_values_open_only_with_their_key_and_row() -> None:
    """Sealing is randomised; a blob opens under its own key and row id, nowhere else."""
    c = IndexCipher(b"\x01" * 32)
    one, two = c.seal(["Jane Q. Sample"], "event:1"), c.seal(["Jane Q. Sample"], "event:1")
    assert one != two and b"Jane" not in one
    assert c.open(one, "event:1") == ["Jane Q. Sample"]
    with pytest.raises(KeyMaterialError, match="search index row event:2 does not open"):
        c.open(one, "event:2")
    with pytest.raises(KeyMaterialError, match="does not open with this index key"):
        IndexCipher(b"\x02" * 32).open(one, "event:1")
