"""Hypothesis profiles for the fuzz tests: ``ci`` (bounded, the default) and ``fuzz`` (long).

``ci`` runs in the normal suite: few examples per property, derandomized so a run is
repeatable, no example database written into the repository. ``fuzz`` (``make fuzz``, or
``HYPOTHESIS_PROFILE=fuzz``) runs many more random examples and prints a reproduction blob
for any failure. A property whose single example is expensive asks :func:`budget` for its
example count, scaled by the loaded profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
"""The profile this run uses."""

_SCALE = {"ci": 1, "fuzz": 40}


def load() -> None:
    """Make :data:`PROFILE` the default settings (called by the package's conftest)."""
    settings.load_profile(PROFILE)


def budget(ci_examples: int) -> settings:
    """Settings for a property that runs ``ci_examples`` examples in the ``ci`` profile and
    proportionally more in ``fuzz``."""
    return settings(max_examples=ci_examples * _SCALE.get(PROFILE, 1))
