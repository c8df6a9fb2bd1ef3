"""Journal stage: one append-only, sealed SQLite file per session segment.

Public API: :class:`Journal` (session writer), :class:`JournalSink` (async group commit),
:func:`agent.journal.store.list_sessions`, :func:`agent.journal.reader.iter_records`.
"""

from agent.journal.journal import Journal
from agent.journal.sink import JournalSink

__all__ = ["Journal", "JournalSink"]
