"""Fixtures of the firm-records tests: moto S3 in server mode (versioned, Object Lock)."""

from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["lock_bucket", "moto_endpoint", "s3_env"]
