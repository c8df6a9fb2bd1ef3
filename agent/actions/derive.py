"""The one derivation from journal records to :class:`Action` s.

Feed records in seq order to :class:`ActionDeriver` (or call :func:`derive_actions`); it keeps
only what the next action needs, so a long session streams through it.

The rules, in words:

* **A field edit is one action.** Keystrokes (``input.key``) and value changes (``rrweb.input``)
  on one field coalesce until focus leaves it (blur, a click or a key elsewhere) or another
  action happens; the value is the last recorded one, masked as recorded. Ctrl/Cmd+A/C/V/X/Z/Y,
  the modifier keys themselves, and the Enter or Tab that ends the edit belong to it. The
  keystrokes stay in the journal (the raw view); ``detail["keys"]`` counts them.
* **A click that only focuses a field is not an action of its own**: a click on a text field,
  select, checkbox or radio is held, and the edit, selection or check that follows on the same
  field absorbs it (with its cause id, so requests linked to the click are the edit's). Only
  when nothing follows is it a click.
* **Keys that are not typing** - a combination with Ctrl/Alt/Meta other than the editing ones,
  Escape, F-keys, an Enter outside an edit - are ``key`` actions. Plain keys that change no
  field (grid hotkeys) and navigation keys (Tab, arrows) make no action.
* **Value changes that no user caused** (a page script writing a field, polled by the
  recorder: no ``element`` and no edit in progress, on a stream whose recorder describes
  elements) make no action.
* **A navigation** is an action only when no action of the same page came just before it
  (:data:`NAV_AFTER_ACTION_NS`); after a submit or a click it is that action's consequence
  (``detail["navigated_to"]``). A popup (``page.created`` with an opener) is an action named
  by the popup's first title; a dialog's answer, a completed download and a file-chooser
  selection are actions too.
* **Requests an action caused** come from the capture's cause links (``cause.action_id`` on
  ``net.request`` and sent ``net.ws_frame``), with their status or failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from agent.actions.inputs import Draft, InputActions, aid_of
from agent.actions.model import Action, Target, time_order
from agent.actions.requests import CausedRequests
from agent.actions.text import action_text, masked_mode
from agent.events import Record

NAV_AFTER_ACTION_NS = 3_000_000_000
"""A navigation this soon after an action of the same page is that action's consequence."""

_NAV_WORDS = {
    "typed": "typed",
    "address_bar": "typed",
    "link": "link",
    "reload": "reload",
    "auto_bookmark": "bookmark",
}


class ActionDeriver:
    """Turns records (fed in seq order) into actions; :meth:`actions` reads them so far."""

    def __init__(self) -> None:
        self._drafts: list[Draft] = []
        self._urls: dict[str | None, str] = {}
        self._last_action: dict[str | None, tuple[int, int]] = {}  # page -> (t, draft index)
        self._popups: dict[str | None, int] = {}  # popup page -> its draft, until titled
        self._net = CausedRequests()
        self._inputs = InputActions(self._emit, self._activity)

    # --- feeding ------------------------------------------------------------------------
    def feed(self, r: Record) -> None:
        """Take the next record."""
        k = r.kind
        self._inputs.note(r)
        if k in ("rrweb.full_snapshot", "rrweb.mutation"):
            self._inputs.mirror(r)
        elif k == "rrweb.mouse_interaction":
            self._inputs.mouse(r)
        elif k == "rrweb.input":
            self._inputs.input(r)
        elif k == "input.key":
            self._inputs.key(r)
        elif k == "input.submit":
            self._inputs.submit(r)
        elif k == "input.file_chooser":
            self._inputs.upload(r)
        elif k.startswith("net."):
            self._net.feed(r)
        elif k == "page.navigate":
            self._navigate(r)
        elif k == "page.created":
            self._popup(r)
        elif k == "page.title":
            self._title(r)
        elif k == "page.dialog":
            self._dialog(r)
        elif k == "page.download":
            self._download(r)

    def close(self) -> None:
        """The records are over: an edit in progress is complete."""
        self._inputs.flush()

    # --- reading ------------------------------------------------------------------------
    def actions(self) -> list[Action]:
        """The actions derived so far with their caused requests and text, in the order they
        happened (time, then seq: the recorder's batch of a click can reach the journal after
        the popup or dialog the click opened)."""
        return sorted((self._build(d) for d in self._drafts), key=time_order)

    def _build(self, d: Draft) -> Action:
        a = Action(
            seq=d.seq,
            seq_first=d.seq_first,
            t_utc_ns=d.t_utc_ns,
            verb=d.verb,
            text="",
            target=d.target,
            value=d.value,
            masked=masked_mode(d.value),
            page=d.page,
            frame=d.frame,
            url=d.url,
            requests=self._net.caused_by(d.aids),
            detail=dict(d.detail),
            cause_ids=tuple(d.aids),
        )
        return dataclasses.replace(a, text=action_text(a))

    # --- drafting -----------------------------------------------------------------------
    def _emit(self, r: Record, verb: str, target: Target, **kw: Any) -> Draft:
        d = Draft(
            seq=kw.pop("seq", r.seq),
            seq_first=kw.pop("seq_first", r.seq),
            t_utc_ns=kw.pop("t_utc_ns", r.t_utc_ns),
            verb=verb,
            target=target,
            page=r.page,
            frame=r.frame,
            url=kw.pop("url", self._urls.get(r.page, "")),
            **kw,
        )
        self._drafts.append(d)
        self._last_action[r.page] = (r.t_utc_ns, len(self._drafts) - 1)
        return d

    def _activity(self, r: Record) -> None:
        """Input that is not yet an action (an edit in progress) still owns what follows."""
        self._last_action[r.page] = (r.t_utc_ns, -1)

    # --- page records -------------------------------------------------------------------
    def _navigate(self, r: Record) -> None:
        p = r.payload
        url = str(p.get("url") or "")
        if not p.get("main_frame") or not url or url == "about:blank":
            return
        before = self._urls.get(r.page)
        self._urls[r.page] = url
        if r.page in self._popups and not self._drafts[self._popups[r.page]].url:
            self._drafts[self._popups[r.page]].url = url
            return
        how = _NAV_WORDS.get(str(p.get("transition") or ""), "")
        last = self._last_action.get(r.page)
        own = how in ("typed", "bookmark")  # the person's own act, never a click's consequence
        if last is not None and r.t_utc_ns - last[0] <= NAV_AFTER_ACTION_NS and not own:
            if last[1] >= 0:
                self._drafts[last[1]].detail.setdefault("navigated_to", url)
            return
        if p.get("same_document"):
            return  # history API or fragment change of a page: not a person's navigation
        if not how and before == url:
            how = "reload"
        self._inputs.flush()
        self._emit(r, "navigate", Target(), url=url, detail={"how": how} if how else {})

    def _popup(self, r: Record) -> None:
        opener = r.payload.get("opener")
        if not opener:
            return  # the first page, or a tab the user opened: its navigation says it
        # No flush: an edit in progress goes on. The popup's record comes from CDP and can
        # reach the journal before the recorder's batch with the last keystrokes and the click
        # that opened it; the actions are ordered by time in the end (:meth:`actions`).
        url = str(r.payload.get("url") or "")
        self._emit(r, "popup", Target(), url="" if url == "about:blank" else url,
                       detail={"opener": str(opener)})  # fmt: skip
        self._popups[r.page] = len(self._drafts) - 1
        self._last_action[r.page] = (r.t_utc_ns, -1)  # its first load is not a navigation

    def _title(self, r: Record) -> None:
        i = self._popups.get(r.page)
        title = r.payload.get("title")
        if i is not None and isinstance(title, str) and title:
            d = self._drafts[i]
            d.target = dataclasses.replace(d.target, name=title)
            del self._popups[r.page]

    def _dialog(self, r: Record) -> None:
        p = r.payload
        if p.get("phase") != "closed":
            return
        self._inputs.flush()
        answer = p.get("user_input") if p.get("type") == "prompt" else None
        message = str(p.get("message") or "")
        detail = {
            "type": str(p.get("type") or ""),
            "message": message,
            "accepted": bool(p.get("accepted")),
        }
        self._emit(r, "dialog", Target(name=message), value=answer,
                   aids=aid_of(p), detail=detail)  # fmt: skip

    def _download(self, r: Record) -> None:
        p = r.payload
        if p.get("state") not in (None, "completed"):
            return
        self._inputs.flush()
        detail = {"bytes": p.get("size"), "sha256": p.get("sha256"), "url": p.get("url")}
        self._emit(r, "download", Target(), value=str(p.get("name") or ""),
                   detail={k: v for k, v in detail.items() if v is not None})  # fmt: skip


def derive_actions(records: Iterable[Record]) -> list[Action]:
    """Every action of a session's records, in the order they happened."""
    d = ActionDeriver()
    for r in records:
        d.feed(r)
    d.close()
    return d.actions()
