"""Fixtures shared by the attack tests: the moto S3 fixtures of the ship tests (attacks
against an S3 Object Lock vault), and the real demo recording and an export recipient's key
pair of the replay tests."""

from tests.replay.conftest import recipient, recorded
from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["lock_bucket", "moto_endpoint", "recipient", "recorded", "s3_env"]
