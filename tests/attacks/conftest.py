"""The moto S3 fixtures of the ship tests, for attacks against an S3 Object Lock vault."""

from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["lock_bucket", "moto_endpoint", "s3_env"]
