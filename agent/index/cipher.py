"""The index at rest: keyed word digests for search, AES-256-GCM for everything displayed.

The search index is a *blind index*. Every word of an event's text and URL is normalised the
way a search normalises it (:func:`words`) and stored in the FTS5 table only as a short keyed
digest (:meth:`IndexCipher.blind_word`: BLAKE2b keyed with the index blinding key, 48 bits,
base32), so ``MATCH`` works on whole words and phrases (positions are kept) while the file
holds no word of page text. Masking tokens are stored the same way
(:meth:`IndexCipher.blind_token`). What a hit displays - the event's path, URL, field label,
selector, click target and text, and a session's URLs and titles - is sealed with AES-256-GCM
under the index data key (random 96-bit nonce, the row's identity as associated data, so a
blob copied to another row does not open) and opened only when a result is shown.

Both keys derive from one 32-byte secret in the agent's account, :func:`index_key`
(``<home>/keys/index.key``, 0600, created on first use, refused when group- or
world-readable). Without it the file yields: counts, times, session/user/workstation ids,
hosts, actions and kinds, field names of tokens, ciphertext lengths, and which events share a
(blinded) word or token - word frequencies, not words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.errors import KeyMaterialError
from agent.mask.tokens import load_or_create_secret

INDEX_KEY_FILE = "index.key"
_WORD = re.compile(r"\w+")
_NONCE = 12
_CACHE_MAX = 1 << 16  # word digests remembered (a page repeats its words)


def index_key_path(home: Path) -> Path:
    """Where the index secret lives under the agent home."""
    return Path(home) / "keys" / INDEX_KEY_FILE


def index_key(home: Path) -> bytes:
    """The 32-byte secret the search index of ``home`` is blinded and sealed under.

    Today a 0600 file in the agent's account (created on first use); the one place that
    obtains the key, so it can move behind a key store without touching the index.
    """
    return load_or_create_secret(index_key_path(home), "index key")


def fold(word: str) -> str:
    """A word as search compares it: case-folded, diacritics removed (``Café`` = ``cafe``)."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of every word (letters, digits, ``_``) in ``text``."""
    return [(m.start(), m.end(), fold(m.group())) for m in _WORD.finditer(text)]


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return [fold(m.group()) for m in _WORD.finditer(text)]


def _subkey(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, b"sessiontape-index-v1\x00" + label, hashlib.sha256).digest()


class IndexCipher:
    """Blinds words and tokens and seals displayed values under one index secret."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyMaterialError(f"index key must be 32 bytes, found {len(key)}")
        self._blind_key = _subkey(key, b"blind")
        self._aead = AESGCM(_subkey(key, b"data"))
        self.check = _subkey(key, b"check").hex()[:16]  # stored in the index: wrong-key test
        self._words: dict[str, str] = {}

    def blind_word(self, word: str) -> str:
        """The stored form of one folded word: 10 base32 characters (48 keyed bits)."""
        b = self._words.get(word)
        if b is None:
            if len(self._words) > _CACHE_MAX:
                self._words.clear()
            d = hashlib.blake2b(
                word.encode("utf-8", "surrogatepass"),
                digest_size=6,
                key=self._blind_key,
                person=b"word",
            ).digest()
            b = self._words[word] = base64.b32encode(d).decode("ascii").lower()
        return b

    def blind_text(self, text: str) -> str:
        """The FTS5 content for ``text``: its words' digests, in order, space-separated."""
        return " ".join([self.blind_word(w) for w in words(text)])

    def blind_token(self, token: str) -> str:
        """The stored form of a ``tok_``/``esc_`` token (80 keyed bits, base32)."""
        d = hashlib.blake2b(
            token.encode("ascii", "replace"), digest_size=10, key=self._blind_key, person=b"token"
        ).digest()
        return base64.b32encode(d).decode("ascii").lower()

    def seal(self, values: list[str], aad: str) -> bytes:
        """``values`` encrypted (random nonce | AES-256-GCM ciphertext), bound to ``aad``."""
        nonce = os.urandom(_NONCE)
        plain = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return nonce + self._aead.encrypt(nonce, plain, aad.encode("utf-8"))

    def open(self, blob: bytes | None, aad: str) -> list[str]:
        """The values sealed in ``blob`` (``[]`` for an empty column)."""
        if not blob:
            return []
        try:
            plain = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise KeyMaterialError(
                f"search index row {aad} does not open with this index key "
                "(tampered or moved): run `sessiontape index rebuild`"
            ) from exc
        values = json.loads(plain)
        return [str(v) for v in values]
