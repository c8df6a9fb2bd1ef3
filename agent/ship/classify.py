"""The retention class of a session, decided from what it recorded.

A :class:`SessionClassifier` watches the events a journal writes (the URLs of
``page.navigate`` and ``page.created``) and the configured application. At each seal the
journal asks for :meth:`SessionClassifier.decision` and signs it into the seal body as
``retention = {"class", "rule"}``: the longest retention among the ``ship.class_rules`` that
matched anything seen so far and an explicit ``--class`` (which replaces ``default`` but never
shortens what a rule matched, so whoever starts a recording cannot downgrade an orders
session); otherwise ``default``. The first segment is sealed before it ships, so its class
is decided before any of the session leaves the machine. URLs are matched as they arrive
and not kept.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from agent.errors import UsageError
from agent.ship.config import ClassRule, ShipConfig
from agent.ship.retention import retention_days

if TYPE_CHECKING:
    from agent.config import Config

URL_KINDS = frozenset({"page.navigate", "page.created"})
EXPLICIT = "--class"
DEFAULT = "default"


def origin_of(url: str) -> str:
    """``https://oms.firm:8443`` of a URL ("" when it has no host)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def rule_matches_url(rule: ClassRule, url: str, application: str) -> bool:
    """Every condition of ``rule`` holds for ``url`` (and the configured application)."""
    if rule.application and rule.application != application:
        return False
    if rule.url_pattern and not fnmatch.fnmatchcase(url, rule.url_pattern):
        return False
    return not rule.origin or fnmatch.fnmatchcase(origin_of(url), rule.origin)


class SessionClassifier:
    """The running retention decision of one recording session."""

    def __init__(self, cfg: ShipConfig, application: str = "", explicit: str | None = None):
        self.cfg = cfg
        self.application = application
        try:
            self.explicit = cfg.check_class(explicit) if explicit else None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.matched: list[ClassRule] = []
        # A rule without URL conditions matches on the application alone, from the start.
        for rule in cfg.class_rules:
            if not (rule.url_pattern or rule.origin) and rule.application == application:
                self.matched.append(rule)

    @classmethod
    def of(cls, config: Config, explicit: str | None = None) -> SessionClassifier:
        """The classifier for a session recorded under ``config``.

        A ``record_class`` that is not a retention class (the access-audit journal marks its
        sessions ``audit``) is a label, not a choice: rules and ``default`` decide. Commands
        that take ``--class`` check it against ``ship.retention_classes`` first.
        """
        if explicit not in config.ship.retention_classes:
            explicit = None
        return cls(config.ship, config.agent.application, explicit)

    def observe(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Take note of one written event."""
        if kind not in URL_KINDS:
            return
        url = payload.get("url")
        if isinstance(url, str) and url:
            self.observe_url(url)

    def observe_url(self, url: str) -> None:
        """Match ``url`` against the rules not matched yet."""
        for rule in self.cfg.class_rules:
            if rule not in self.matched and rule_matches_url(rule, url, self.application):
                self.matched.append(rule)

    def observe_all(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """:meth:`observe` each (kind, payload)."""
        for kind, payload in events:
            self.observe(kind, payload)

    def decision(self) -> dict[str, str]:
        """``{"class": ..., "rule": ...}`` as it stands: what the seal body carries."""
        classes = self.cfg.retention_classes
        best: ClassRule | None = None
        for rule in self.matched:  # the first of equally long matches wins (config order)
            if best is None or retention_days(classes[rule.record_class]) > retention_days(
                classes[best.record_class]
            ):
                best = rule
        if self.explicit and (
            best is None
            or retention_days(classes[self.explicit]) >= retention_days(classes[best.record_class])
        ):  # --class replaces the default, never a longer class a rule matched
            return {"class": self.explicit, "rule": EXPLICIT}
        if best is None:
            return {"class": DEFAULT, "rule": DEFAULT}
        return {"class": best.record_class, "rule": best.label}
