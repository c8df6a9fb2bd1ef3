"""Fixtures shared by the attack tests: the moto S3 fixtures of the ship tests (attacks
against an S3 Object Lock vault), and the real demo recording, an export recipient's key pair
and a headless Chromium of the replay tests."""

from tests.replay.conftest import browser, recipient, recorded
from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["browser", "lock_bucket", "moto_endpoint", "recipient", "recorded", "s3_env"]
