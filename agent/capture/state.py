"""What capture knows about each attached target, frame and recorder instance."""

from __future__ import annotations

from dataclasses import dataclass, field

WORLD = "__sessiontape"


@dataclass
class Recorder:
    """One recorder instance: our isolated world's context in one document of one frame."""

    context_id: int
    frame_id: str
    # Expected next batch counter of each recorder running in this context: normally one;
    # two after a same-origin window.open reuse (the about:blank document's recorder keeps
    # its timers in the reused window while a new one records the new document).
    tracks: list[int] = field(default_factory=list)
    last_mono_ns: int = 0
    last_utc_ns: int = 0
    messages: int = 0
    retired: bool = False  # replaced by a fresh recorder after it fell silent
    restarts: int = 0  # __st_restart attempts while silent


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
    default_ctx: dict[str, int] = field(default_factory=dict)  # frame -> newest main world
    nav_default_ctx: dict[str, int | None] = field(default_factory=dict)  # ... at commit

    @property
    def is_page(self) -> bool:
        return self.type == "page"

    def world_context(self, frame_id: str) -> int | None:
        """Our world's live context id in ``frame_id`` (newest first)."""
        for ctx_id in sorted(self.recorders, reverse=True):
            if self.recorders[ctx_id].frame_id == frame_id:
                return ctx_id
        for ctx_id, (fid, name) in sorted(self.contexts.items(), reverse=True):
            if fid == frame_id and is_our_world(name):
                return ctx_id
        return None


def is_our_world(name: str) -> bool:
    """Our isolated world, or a fresh one made when a recorder had to be replaced."""
    return name == WORLD or name.startswith(WORLD + "_r")


class TargetRegistry:
    """The attached targets, by CDP session id and by target id."""

    def __init__(self) -> None:
        self.by_session: dict[str, Target] = {}
        self.by_target_id: dict[str, Target] = {}

    def add(self, t: Target) -> None:
        """Register a freshly attached target."""
        self.by_session[t.session_id] = t
        self.by_target_id[t.target_id] = t

    def remove(self, session_id: str) -> Target | None:
        """Forget the target of ``session_id`` (detached); None if it was not ours."""
        t = self.by_session.pop(session_id, None)
        if t is not None:
            self.by_target_id.pop(t.target_id, None)
        return t

    def get(self, session_id: str) -> Target | None:
        """The target attached on ``session_id``."""
        return self.by_session.get(session_id)

    def find(self, target_id: str) -> Target | None:
        """The target with this CDP target id."""
        return self.by_target_id.get(target_id)

    def all(self) -> list[Target]:
        """A snapshot of every attached target (safe to iterate while targets change)."""
        return list(self.by_session.values())

    def any_page(self) -> bool:
        """Whether any top-level page is still attached."""
        return any(t.is_page for t in self.by_session.values())

    def opener_of(self, page_id: str) -> str | None:
        """The page that opened ``page_id`` (a popup's opener), if known."""
        t = self.by_target_id.get(page_id)
        return t.opener_id if t else None

    def page_of_frame(self, frame_id: str) -> str | None:
        """The top-level page a frame belongs to."""
        for t in self.by_session.values():
            if frame_id in t.frame_urls or t.target_id == frame_id:
                return t.page_id
        return None
