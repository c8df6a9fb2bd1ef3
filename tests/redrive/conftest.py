"""One recorded demo session (real Chromium, the scripted trader, fast pace) shared by the
re-drive tests, and a ``--fill`` file with the staging values of its masked fields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.config import load_config
from agent.demo_app.data import DEMO_SECRETS
from agent.redrive.plan import Plan, load_plan


@dataclass(frozen=True)
class Recorded:
    home: Path
    session_id: str
    plan: Plan

    def fill(self, *, without: str = "") -> dict[str, str]:
        """Values for every masked field, keyed the three ways ``--fill`` allows: a CSS
        selector, a label and a recorded token (the notes); ``without`` leaves one label's
        entry out."""
        (notes,) = [s.action for s in self.plan.steps if s.action.target.name == "Notes"]
        assert notes.value is not None and notes.value.startswith("tok_")
        values = {
            "#password": DEMO_SECRETS["password"],
            "input#order-account": DEMO_SECRETS["rest_account"],
            "SSN": DEMO_SECRETS["ssn"],
            "#lookup-account": DEMO_SECRETS["account"],
            notes.value: DEMO_SECRETS["notes"],
            "Supervisor PIN": DEMO_SECRETS["pin"],
        }
        drop = {"Notes": notes.value}.get(without, without)
        return {k: v for k, v in values.items() if k != drop}


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    from agent.pipeline import record_demo

    home = tmp_path_factory.mktemp("redrive") / "home"
    cfg = load_config(env={}, home=home)
    res = asyncio.run(record_demo(cfg, home, headless=True, fast=True))
    assert res.report.ok, res.report.first_failure
    return Recorded(home, res.session_id, load_plan(home, res.session_id))
