"""Which recorded moment a step is compared with, and when an element has moved."""

from __future__ import annotations

from agent.actions.model import Action, Target
from agent.redrive.checks import moment_seqs, moved, unsettled_steps
from agent.redrive.plan import build_plan
from tests.actions.builders import T0

APP = "http://app.test:8080"


def _act(seq: int, first: int, verb: str, dt_ms: int, **kw: object) -> Action:
    return Action(seq=seq, seq_first=first, t_utc_ns=T0 + dt_ms * 1_000_000, verb=verb,
                  text=verb, page="P", **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_steps_moment_is_just_before_the_next_action_it_did_not_cause() -> None:
    form = Target(role="", name="Login", tag="form", form="Login")
    button = Target(role="button", name="Sign in", tag="button", form="Login")
    plan = build_plan("S", [
        _act(1, 1, "navigate", 0, url=APP + "/"),
        _act(9, 5, "type", 100, target=Target(tag="input", name="User", form="Login")),
        _act(12, 12, "click", 200, target=button),
        _act(13, 13, "submit", 210, target=form),
        _act(30, 30, "click", 5000, target=Target(role="button", name="Go")),
    ], [])  # fmt: skip
    assert moment_seqs(plan, 99) == {1: 4, 2: 11, 3: 29, 4: 29, 5: 99}
    # the page opened at 0 ms was still loading when the typing began at 100 ms: its moment
    # is not compared on screen; the typing's is, though the click came 100 ms later (the
    # page had loaded)
    assert unsettled_steps(plan) == {1}


def test_moved_means_further_than_its_own_size() -> None:
    button = (400, 540, 460, 562)  # 60 x 22
    assert not moved(button, (440, 540, 500, 562))  # shifted by a wider neighbour
    assert not moved(button, (400, 570, 460, 592))  # a row added above
    assert moved(button, (400, 380, 460, 402))  # to the top of its form
