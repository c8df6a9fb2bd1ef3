"""The plan of a re-drive from derived actions and records: which requests are compared, which
steps follow their click, the order of dialogs and popups, the URL rewrite, the fill file."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.actions.model import Action, CausedRequest, Target
from agent.errors import ConfigError, UsageError
from agent.redrive.plan import Expected, Rewriter, build_plan, read_fill
from tests.actions.builders import T0, Script

APP = "http://app.test:8080"


def _act(seq: int, verb: str, *, dt_ms: int = 0, page: str = "P", **kw: object) -> Action:
    return Action(seq=seq, seq_first=seq, t_utc_ns=T0 + dt_ms * 1_000_000, verb=verb, text=verb,
                  page=page, **kw)  # type: ignore[arg-type]  # fmt: skip


def _req(seq: int, method: str, path: str, status: int | None = 200) -> CausedRequest:
    return CausedRequest(seq, method, APP + path, status)


def _net(s: Script, method: str, path: str, aid: str | None) -> None:
    cause = {"action_id": aid} if aid else None
    s.add("net.request", {"request_id": str(len(s.records)), "method": method,
                          "url": APP + path, "cause": cause})  # fmt: skip


def test_requests_compared_exclude_the_pages_own_and_polls() -> None:
    """An uncaused method+path, and a GET that three actions 'caused', are not compared;
    a POST repeated by three actions still is."""
    s = Script()
    _net(s, "GET", "/static/app.css", None)
    for aid in ("a1", "a2", "a3"):
        _net(s, "GET", "/api/positions", aid)
        _net(s, "POST", "/api/orders", aid)
    click = _act(2, "click", dt_ms=10, requests=(
        _req(3, "POST", "/api/orders"), _req(4, "GET", "/api/positions"),
        _req(5, "GET", "/static/app.css"), _req(6, "GET", "/api/quote?s=1", 404),
    ))  # fmt: skip
    plan = build_plan("S", [_act(1, "navigate", url=APP + "/"), click], s.records)
    assert plan.steps[1].expected == [
        Expected("POST", "/api/orders", "2xx"),
        Expected("GET", "/api/quote", "4xx"),
    ]
    assert plan.origin == APP


def test_submit_right_after_its_click_follows_it_and_a_dialog_comes_after_its_opener() -> None:
    """The click does the submit; the confirm() listed before the click that opened it is
    answered after it; a later submit of another form is a step of its own."""
    form = Target(role="", name="Login", tag="form", form="Login")
    button = Target(role="button", name="Sign in", tag="button", form="Login")
    actions = [
        _act(1, "navigate", url=APP + "/"),
        _act(2, "click", dt_ms=100, target=button),
        _act(3, "submit", dt_ms=110, target=form),
        _act(4, "dialog", dt_ms=2000, detail={"message": "Sure?", "accepted": True}),
        _act(5, "click", dt_ms=2010, target=Target(role="button", name="Delete")),
        _act(6, "submit", dt_ms=9000, target=form),
    ]
    plan = build_plan("S", actions, [])
    assert [(s.action.seq, s.follows) for s in plan.steps] == [
        (1, False), (2, False), (3, True), (5, False), (4, False), (6, False),
    ]  # fmt: skip
    assert [s.index for s in plan.steps] == [1, 2, 3, 4, 5, 6]


def test_a_popup_journaled_before_the_last_keystrokes_and_its_click_comes_after_the_click() -> None:
    """The popup's target reached the journal before the recorder's batch with the rest of
    the typing and the click that opened it (page times say the click came first): the
    popup is driven after the click, the actions of its own page after it."""
    qty = Target(role="textbox", name="Quantity", tag="input")
    actions = [
        _act(1, "navigate", url=APP + "/"),
        _act(2, "type", dt_ms=100, target=qty, value="5"),
        _act(3, "popup", dt_ms=430, page="Q", detail={"opener": "P"}),
        _act(4, "type", dt_ms=300, target=qty, value="50000"),
        _act(5, "click", dt_ms=400, target=Target(role="button", name="Confirm big order")),
        _act(6, "click", dt_ms=900, page="Q", target=Target(role="button", name="Confirm")),
        _act(7, "click", dt_ms=1500, target=Target(role="button", name="Cancel all")),
    ]
    plan = build_plan("S", actions, [])
    assert [s.action.seq for s in plan.steps] == [1, 2, 4, 5, 3, 6, 7]


def test_a_popup_and_a_dialog_right_after_their_clicks_stay_before_the_next_click() -> None:
    """The order of a recorded demo session (times as recorded, in ms): the popup 26 ms after
    the click that opened it, then 'Cancel all' and its confirm() 5 ms later, then the
    download link and the download. Each opened action stays after its own click; none is
    moved past the next click (the re-drive would wait for a dialog nobody opened yet)."""
    big = Target(role="button", name="Confirm big order")
    actions = [
        _act(1, "navigate", url=APP + "/"),
        _act(745, "type", dt_ms=675, target=Target(role="textbox", name="Quantity")),
        _act(769, "click", dt_ms=758, target=big),
        _act(751, "popup", dt_ms=784, page="Q", detail={"opener": "P"}),
        _act(806, "click", dt_ms=1224, target=Target(role="button", name="Cancel all")),
        _act(798, "dialog", dt_ms=1229, detail={"message": "Cancel all?", "accepted": True}),
        _act(811, "click", dt_ms=1346, target=Target(role="link", name="Download report")),
        _act(801, "download", dt_ms=1356),
    ]
    plan = build_plan("S", actions, [])
    assert [s.action.seq for s in plan.steps] == [1, 745, 769, 751, 806, 798, 811, 801]


def test_a_dialog_long_before_the_next_click_is_not_moved_past_it() -> None:
    """A dialog a timer opened (no click just before it) stays where its time puts it when
    the next click comes more than a second later."""
    actions = [
        _act(1, "navigate", url=APP + "/"),
        _act(2, "dialog", dt_ms=500, detail={"message": "Session ends soon", "accepted": True}),
        _act(3, "click", dt_ms=2600, target=Target(role="button", name="Refresh")),
    ]
    assert [s.action.seq for s in build_plan("S", actions, []).steps] == [1, 2, 3]


def test_a_session_without_navigation_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no navigation"):
        build_plan("S", [_act(1, "click")], [])


def test_rewriter_moves_the_sessions_origin_and_mapped_ones_only() -> None:
    rw = Rewriter(APP, "https://staging.example/", ["http://widget.test:9000=http://w.stg:81"])
    assert rw(APP + "/app?x=1") == "https://staging.example/app?x=1"
    assert rw("http://widget.test:9000/widget") == "http://w.stg:81/widget"
    assert rw("https://cdn.example/lib.js") == "https://cdn.example/lib.js"
    with pytest.raises(UsageError, match="ORIGIN=URL"):
        Rewriter(APP, "https://s.example", ["nonsense"])
    with pytest.raises(UsageError, match="absolute URL"):
        Rewriter(APP, "staging", [])


def test_fill_file_is_a_flat_table_of_strings(tmp_path: Path) -> None:
    good = tmp_path / "qa.toml"
    good.write_text('"#password" = "s3cret"\nSSN = "078-05-1120"\n"tok_0123456789abcdef" = 7\n')
    assert read_fill(good) == {
        "#password": "s3cret", "SSN": "078-05-1120", "tok_0123456789abcdef": "7",
    }  # fmt: skip
    nested = tmp_path / "nested.toml"
    nested.write_text('[fields]\nSSN = "1"\n')
    with pytest.raises(UsageError, match="flat table"):
        read_fill(nested)
    with pytest.raises(ConfigError, match="not found"):
        read_fill(tmp_path / "missing.toml")
    assert read_fill(None) == {}
