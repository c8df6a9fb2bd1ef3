"""What extraction produces: index :class:`Row` objects, session :class:`Facts`, and the
:class:`Limits` that bound them (from the ``[index]`` config section)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.index.text import host_of


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that bound the index size per event (from the ``[index]`` config section)."""

    keyframe_text_chars: int = 32768
    mutation_text_chars: int = 4096
    body_bytes: int = 4096
    ws_received_bytes: int = 1024
    skip_numeric_text: bool = True


@dataclass(slots=True)
class Row:
    """One indexed event: where it is (session seq/time), what it was, and its search text."""

    seq: int
    t_ns: int
    kind: str
    action: str
    page: str = ""
    host: str = ""
    path: str = ""
    url: str = ""
    method: str = ""
    status: int | None = None
    label: str = ""
    selector: str = ""
    target: str = ""
    text: str = ""
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (token, field)


@dataclass
class Facts:
    """Session-level facts gathered while extracting (URLs and titles visited)."""

    urls: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    def add_url(self, url: str) -> None:
        if url and url not in self.urls and len(self.urls) < 200:
            self.urls.append(url)
        h = host_of(url)
        if h and h not in self.hosts:
            self.hosts.append(h)

    def add_title(self, title: str) -> None:
        if title and title not in self.titles and len(self.titles) < 200:
            self.titles.append(title)
