"""What capture knows about each attached target, frame and recorder instance."""

from __future__ import annotations

from dataclasses import dataclass, field

WORLD = "__sessiontape"


@dataclass
class Recorder:
    """One recorder instance: our isolated world's context in one document of one frame."""

    context_id: int
    frame_id: str
    next_n: int = 0
    last_mono_ns: int = 0
    last_utc_ns: int = 0
    messages: int = 0


@dataclass
class Target:
    """An attached page, popup, tab or out-of-process iframe."""

    session_id: str
    target_id: str
    type: str
    page_id: str  # the top-level page this target belongs to (itself for pages)
    url: str = ""
    title: str = ""
    opener_id: str | None = None
    main_frame_id: str | None = None
    alive: bool = True
    crashed: bool = False
    dialog_open: bool = False
    attached_mono_ns: int = 0
    # execution context id -> (frame id, world name); ours are named WORLD
    contexts: dict[int, tuple[str, str]] = field(default_factory=dict)
    recorders: dict[int, Recorder] = field(default_factory=dict)
    frame_urls: dict[str, str] = field(default_factory=dict)
    sheet_frames: dict[str, str] = field(default_factory=dict)

    @property
    def is_page(self) -> bool:
        return self.type == "page"

    def world_context(self, frame_id: str) -> int | None:
        """Our world's live context id in ``frame_id`` (newest first)."""
        for ctx_id in sorted(self.recorders, reverse=True):
            if self.recorders[ctx_id].frame_id == frame_id:
                return ctx_id
        for ctx_id, (fid, name) in sorted(self.contexts.items(), reverse=True):
            if fid == frame_id and name == WORLD:
                return ctx_id
        return None
