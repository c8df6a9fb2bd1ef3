"""Snippets of decrypted event text with the query's words and phrases marked «like this».

The full-text table holds only keyed word digests, so SQLite's ``snippet()`` cannot show
words; the snippet is cut here, after a hit's text is decrypted, with the same word rules
the index uses (:func:`agent.index.cipher.word_spans`).
"""

from __future__ import annotations

from agent.index.cipher import word_spans, words
from agent.index.query import Query

SNIPPET_WORDS = 16


def query_phrases(q: Query) -> list[tuple[str, ...]]:
    """The folded word sequences a query's free text asks for (a term is a short phrase)."""
    out = [tuple(words(t)) for t in (*q.terms, *q.phrases)]
    return [p for p in out if p]


def snippet(text: str, phrases: list[tuple[str, ...]], size: int = SNIPPET_WORDS) -> str:
    """Up to ``size`` words of ``text`` around the first match, matches in «», cuts as '…'."""
    spans = word_spans(text)
    if not spans:
        return text
    matches = _matches(spans, phrases)
    first = matches[0][0] if matches else 0
    start = max(0, min(first, len(spans) - size))
    end = min(len(spans), start + size)
    lo = 0 if start == 0 else spans[start][0]
    hi = len(text) if end == len(spans) else spans[end - 1][1]
    out: list[str] = ["…"] if start else []
    pos = lo
    for i, j in matches:
        if i < start or j > end:
            continue
        a, b = spans[i][0], spans[j - 1][1]
        out += [text[pos:a], "«", text[a:b], "»"]
        pos = b
    out.append(text[pos:hi])
    if end < len(spans):
        out.append("…")
    return "".join(out)


def _matches(
    spans: list[tuple[int, int, str]], phrases: list[tuple[str, ...]]
) -> list[tuple[int, int]]:
    """Non-overlapping (first, past-last) word ranges where any phrase occurs, in order."""
    found: list[tuple[int, int]] = []
    folded = [w for _, _, w in spans]
    for p in phrases:
        n = len(p)
        for i in range(len(folded) - n + 1):
            if tuple(folded[i : i + n]) == p:
                found.append((i, i + n))
    found.sort()
    out: list[tuple[int, int]] = []
    for i, j in found:
        if not out or i >= out[-1][1]:
            out.append((i, j))
    return out
