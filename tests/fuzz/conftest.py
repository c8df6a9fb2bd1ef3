"""The fuzz tests' Hypothesis profile, loaded before their modules are imported."""

from __future__ import annotations

from tests.fuzz import profiles

profiles.load()
