"""Per-event accumulator: failures (with field paths, never values) and escrow blobs."""

from __future__ import annotations

from agent.mask.strings import Out


class Ctx:
    """What masking one event produced besides the masked payload."""

    __slots__ = ("fails", "escrow")

    def __init__(self) -> None:
        self.fails: list[tuple[str, str, str]] = []  # (rule id, field path, error class)
        self.escrow: dict[str, str] = {}  # token -> sealed blob

    def take(self, value: str, out: Out, path: str) -> str:
        """The masked value (recording failures and escrow blobs); ``value`` if unchanged."""
        if out is None:
            return value
        for rule_id, err in out[1]:
            self.fails.append((rule_id, path, err))
        for token, blob in out[2]:
            self.escrow[token] = blob
        return out[0]

    def fail(self, rule_id: str, path: str, err: str) -> None:
        """Record a failure that was already handled by redacting."""
        self.fails.append((rule_id, path, err))
