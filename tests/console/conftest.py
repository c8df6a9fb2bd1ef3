"""Fixtures of the console tests: moto S3 in server mode (versioned, Object Lock), a firm home
and simulated workstations shipping real sealed segments to it."""

from __future__ import annotations

from tests.console.fleet import fleet
from tests.fsfull import small_fs
from tests.ship.conftest import lock_bucket, moto_endpoint, s3_env

__all__ = ["fleet", "lock_bucket", "moto_endpoint", "s3_env", "small_fs"]
