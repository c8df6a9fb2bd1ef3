"""The retention class of a session, decided from what it recorded: rules on URLs, origins
and the configured application, an explicit class, the default; signed into the seal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.clock import ns_to_dt
from agent.config import Config, load_config
from agent.errors import UsageError
from agent.journal.session import SessionMeta
from agent.seal.segment_file import SegmentFile
from agent.seal.verify import verify_paths
from agent.ship.classify import SessionClassifier
from agent.ship.config import ShipConfig
from agent.ship.retention import add_retention
from agent.testing import FakeClock
from tests.journals import write_scripted_session

CFG = ShipConfig.model_validate(
    {
        "retention_classes": {"default": "3y", "communications": "3y", "orders": "6y"},
        "class_rules": [
            {"url_pattern": "https://chat.firm/*", "class": "communications"},
            {"origin": "https://oms.firm", "class": "orders"},
            {"application": "blotter", "class": "orders"},
        ],
    }
)

POLICY_TOML = """
[journal]
rotate_seconds = 60  # rotation by fake time stays well within the vault's clock-skew limit

[ship]
retention_classes = {default = "3y", communications = "3y", orders = "6y"}
class_rules = [
  {url_pattern = "https://chat.firm/*", class = "communications"},
  {url_pattern = "https://oms.firm/*", class = "orders"},
]
"""


def policy_config(tmp_path: Path, home: Path) -> Config:
    """A home's config with the chat (3y) and OMS (6y) rules."""
    f = tmp_path / "policy.toml"
    f.write_text(POLICY_TOML)
    return load_config(f, env={}, home=home)


def test_nothing_matched_is_the_default_class_and_says_so() -> None:
    """No rule matched: class ``default``, rule ``default``."""
    c = SessionClassifier(CFG)
    c.observe("page.navigate", {"url": "https://intranet.firm/"})
    assert c.decision() == {"class": "default", "rule": "default"}


def test_url_and_origin_rules_match_navigations_and_the_longest_wins() -> None:
    """Chat → communications; chat then OMS → orders (6y beats 3y), named by its origin rule."""
    c = SessionClassifier(CFG)
    c.observe("page.navigate", {"url": "https://chat.firm/room/1"})
    assert c.decision() == {"class": "communications", "rule": "url_pattern=https://chat.firm/*"}
    c.observe("page.created", {"url": "https://oms.firm/blotter?acct=1"})
    assert c.decision() == {"class": "orders", "rule": "origin=https://oms.firm"}


def test_urls_of_other_kinds_do_not_count() -> None:
    """A console message quoting an OMS URL is not a visit."""
    c = SessionClassifier(CFG)
    c.observe("page.console", {"url": "https://oms.firm/x"})
    assert c.decision()["class"] == "default"


def test_application_rule_applies_from_the_first_event() -> None:
    """``agent.application = "blotter"`` matches before any URL is seen."""
    assert SessionClassifier(CFG, application="blotter").decision() == {
        "class": "orders",
        "rule": "application=blotter",
    }


def test_explicit_class_replaces_the_default_but_never_shortens_a_matched_rule() -> None:
    """``--class orders`` on a chat session is orders; ``--class communications`` on an orders
    visit stays orders (whoever starts the recording cannot downgrade it); ``--class nope``
    is refused."""
    c = SessionClassifier(CFG, explicit="communications")
    assert c.decision() == {"class": "communications", "rule": "--class"}
    c.observe("page.navigate", {"url": "https://oms.firm/"})
    assert c.decision() == {"class": "orders", "rule": "origin=https://oms.firm"}
    up = SessionClassifier(CFG, explicit="orders")
    up.observe("page.navigate", {"url": "https://chat.firm/room"})
    assert up.decision() == {"class": "orders", "rule": "--class"}
    with pytest.raises(UsageError, match=r"unknown retention class 'nope' .*communications"):
        SessionClassifier(CFG, explicit="nope")


def test_a_rule_without_a_condition_is_refused_at_config_load() -> None:
    """``{class = "orders"}`` alone would match everything by accident."""
    with pytest.raises(ValueError, match="needs url_pattern, origin or application"):
        ShipConfig.model_validate({"class_rules": [{"class": "orders"}]})


def test_each_seal_carries_the_decision_so_far_and_verifies(tmp_path: Path) -> None:
    """Segment 0 (chat) is sealed communications, segment 1 (OMS) orders; both verify."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    cfg = policy_config(tmp_path, home)
    chat = ("page.navigate", {"url": "https://chat.firm/r/1", "transition": "link"}, "F")
    oms = ("page.navigate", {"url": "https://oms.firm/blotter", "transition": "link"}, "F")
    j = write_scripted_session(home, cfg, FakeClock(), [[chat], [oms]])
    seals = [SegmentFile(p).seal() for p in j.segments]
    assert [s.body["retention"] for s in seals if s] == [
        {"class": "communications", "rule": "url_pattern=https://chat.firm/*"},
        {"class": "orders", "rule": "url_pattern=https://oms.firm/*"},
    ]
    assert [s.body["v"] for s in seals if s] == [2, 2]
    from agent.keys import Keyring

    assert verify_paths(j.segments, Keyring.load(home).trust()).ok


def test_explicit_class_from_session_meta_is_sealed(tmp_path: Path) -> None:
    """``SessionMeta.record_class`` (``record --class``) goes into the seal as ``--class``."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    cfg = policy_config(tmp_path, home)
    oms = ("page.navigate", {"url": "https://oms.firm/blotter", "transition": "link"}, "F")
    meta = SessionMeta(user="u", workstation="w", record_class="orders")
    j = write_scripted_session(home, cfg, FakeClock(), [[oms]], meta=meta)
    seal = SegmentFile(j.segments[0]).seal()
    assert seal is not None
    assert seal.body["retention"] == {"class": "orders", "rule": "--class"}


RECORD_TOML = """
[ship]
vault_url = "{vault}"
retention_classes = {{default = "3y", communications = "3y", orders = "6y"}}
class_rules = [{{url_pattern = "http://127.0.0.1:*/index.html", class = "orders"}}]
"""


def _record_and_ship(tmp_path: Path, *extra: str) -> tuple[dict[str, str], dt.datetime, int]:
    """Record the one-page site with Chromium, ship to a file vault; return the seal's
    retention, the shipped object's retain-until (HEAD) and its sealed time."""
    from agent.journal.store import list_sessions
    from agent.ship.filevault import FileVault
    from tests.cli.clirun import run
    from tests.pipeline.site import serve_page

    home = tmp_path / "h"
    cfg = tmp_path / "c.toml"
    cfg.write_text(RECORD_TOML.format(vault=f"file://{tmp_path / 'v'}"))
    site = tmp_path / "site"
    site.mkdir()
    with serve_page(site, b"<html><body><h1>Blotter</h1></body></html>") as url:
        r = run(
            "--config", str(cfg), "record", url, "--headless", "--duration", "2", *extra, home=home
        )
    assert r.code == 0, r.err
    (s,) = list_sessions(home)
    seg = s.segments[0]
    seal = SegmentFile(seg.path).seal()
    assert seal is not None
    r = run("--config", str(cfg), "ship", "--once", home=home)
    assert r.code == 0, r.err
    key = f"segments/{s.session_id}/{seg.path.name}"
    until = FileVault(tmp_path / "v").head(key).retain_until
    assert until is not None
    return seal.body["retention"], until, seg.sealed_utc_ns


@pytest.mark.browser
def test_recording_an_orders_url_is_sealed_orders_and_shipped_locked_6_years(
    tmp_path: Path,
) -> None:
    """A real Chromium recording of a page matching the orders rule: the seal says
    ``orders`` and the rule, and the vault object is locked until sealed + 6y."""
    retention, until, sealed = _record_and_ship(tmp_path)
    assert retention == {"class": "orders", "rule": "url_pattern=http://127.0.0.1:*/index.html"}
    assert until == add_retention(ns_to_dt(sealed), "6y").replace(microsecond=0)


@pytest.mark.browser
def test_record_class_option_cannot_downgrade_a_matched_rule(tmp_path: Path) -> None:
    """``record --class communications`` on the same orders page: still sealed orders and
    locked 6 years (the option replaces the default, never a longer matched class)."""
    retention, until, sealed = _record_and_ship(tmp_path, "--class", "communications")
    assert retention == {"class": "orders", "rule": "url_pattern=http://127.0.0.1:*/index.html"}
    assert until == add_retention(ns_to_dt(sealed), "6y").replace(microsecond=0)


def test_record_with_an_unknown_class_exits_2_listing_the_classes(tmp_path: Path) -> None:
    """Refused before any browser starts; nothing is recorded."""
    from tests.cli.clirun import run

    r = run("record", "http://127.0.0.1:9/", "--class", "forever", home=tmp_path / "h")
    assert r.code == 2
    assert r.err == (
        "sessiontape: error: unknown retention class 'forever' "
        "(ship.retention_classes: communications, default, orders)\n"
    )
    assert not (tmp_path / "h" / "journals").exists()


def test_agent_with_an_unknown_class_exits_2(tmp_path: Path) -> None:
    """``sessiontape agent --class`` is checked the same way before the scheduler starts."""
    from tests.cli.clirun import run

    r = run("agent", "--class", "forever", "--run-seconds", "1", home=tmp_path / "h")
    assert r.code == 2 and "unknown retention class 'forever'" in r.err
