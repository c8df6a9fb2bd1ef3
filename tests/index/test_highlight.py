"""Snippets cut from decrypted text: the query's words and phrases marked, long text cut."""

from __future__ import annotations

from agent.index.highlight import query_phrases, snippet
from agent.index.query import parse


def test_phrase_and_word_are_marked_as_they_appear_in_the_text() -> None:
    """A phrase is marked from its first to its last word, punctuation inside kept."""
    phrases = query_phrases(parse('"send (ws" CLICK'))
    assert phrases == [("click",), ("send", "ws")]
    assert snippet("click Send (WS)", phrases) == "«click» «Send (WS»)"


def test_long_text_is_cut_around_the_first_match() -> None:
    """At most 16 words, starting at the first match, cuts shown as an ellipsis."""
    text = " ".join(f"w{i}" for i in range(40)) + " margin " + " ".join(f"x{i}" for i in range(40))
    out = snippet(text, [("margin",)])
    assert out.startswith("…«margin» x0 x1") and out.endswith("x14…")
    assert snippet("no match here", [("margin",)]) == "no match here"
