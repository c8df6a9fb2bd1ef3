"""``s3://bucket/prefix``: S3 Object Lock (AWS, MinIO, Ceph RGW) through boto3.

Credentials, region and endpoint come only from boto3's standard sources
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, instance roles,
``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``) - never from sessiontape's config.

Every PUT is single-part (lock headers on multipart uploads are not honoured by every
S3-compatible server, moto included) and carries the lock mode, the retain-until date and a
SHA-256 checksum; the object is then HEAD-confirmed before a receipt is returned. Objects
larger than ``max_put_bytes`` (5 GiB, the S3 single-PUT limit) are refused; journals rotate
far below that.
"""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import email.utils
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent.clock import Clock, SystemClock, utc_seconds
from agent.errors import PostureError, VaultError
from agent.ship.vault import (
    LockMode,
    NotFound,
    ObjectState,
    ObjectVersion,
    Posture,
    VaultBackend,
)

SINGLE_PUT_MAX = 5 * 1024**3

_RETRYABLE_CODES = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "500",
    "502",
    "503",
    "504",
    "Throttling",
    "ThrottlingException",
}
_POSTURE_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "NoSuchBucket",
    "AccessDenied",
    "InvalidRequest",
    "ObjectLockConfigurationNotFoundError",
    "RequestTimeTooSkewed",
    "ExpiredToken",
    "InvalidToken",
    "403",
}


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Translate botocore errors, once, into :class:`VaultError` / :class:`PostureError`."""
    import botocore.exceptions as bex

    try:
        yield
    except bex.ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        msg = f"{what}: S3 {code or status}: {err.get('Message') or 'error'}"
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
            raise NotFound(f"{what}: not found") from exc
        if code in _POSTURE_CODES and code != "AccessDenied":
            raise PostureError(msg, retryable=False) from exc
        retryable = code in _RETRYABLE_CODES or status >= 500 or status == 429
        raise VaultError(msg, retryable=retryable) from exc
    except bex.NoCredentialsError as exc:
        raise PostureError(
            f"{what}: no AWS credentials found (boto3 standard sources)", retryable=False
        ) from exc
    except (
        bex.EndpointConnectionError,
        bex.ConnectionClosedError,
        bex.ReadTimeoutError,
        bex.ConnectTimeoutError,
        bex.ResponseStreamingError,
    ) as exc:
        raise VaultError(f"{what}: connection failed: {exc}", retryable=True) from exc
    except bex.HTTPClientError as exc:
        raise VaultError(f"{what}: HTTP failure: {exc}", retryable=True) from exc
    except bex.BotoCoreError as exc:
        raise VaultError(f"{what}: {exc}", retryable=False) from exc


_SESSIONS: dict[tuple[tuple[str, str], ...], Any] = {}


def _session() -> Any:
    """A boto3 session per distinct AWS_* environment.

    Creating a session loads the service models (~1 s), so reuse it; but a session caches
    credentials, so a changed environment (rotated keys, another endpoint) gets a new one.
    """
    import os

    import boto3

    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    if env not in _SESSIONS:
        _SESSIONS.clear()
        _SESSIONS[env] = boto3.session.Session()
    return _SESSIONS[env]


def _b64_to_hex(v: str | None) -> str | None:
    return base64.b64decode(v).hex() if v else None


def _hex_to_b64(v: str) -> str:
    return base64.b64encode(bytes.fromhex(v)).decode("ascii")


def _state(key: str, r: dict[str, Any]) -> ObjectState:
    """An :class:`ObjectState` from a HEAD response."""
    ru = r.get("ObjectLockRetainUntilDate")
    return ObjectState(
        key=key,
        mode=r.get("ObjectLockMode"),
        retain_until=utc_seconds(ru) if ru is not None else None,
        checksum_sha256=_b64_to_hex(r.get("ChecksumSHA256")),
        version_id=str(r.get("VersionId") or ""),
        legal_hold=r.get("ObjectLockLegalHoldStatus") == "ON",
        size=int(r.get("ContentLength", 0)),
        etag=str(r.get("ETag", "")).strip('"'),
    )


def _oldest_first(versions: list[ObjectVersion]) -> list[ObjectVersion]:
    """Oldest first. The store lists each kind newest first; a stable sort on the time (the
    latest version last among equal times) keeps that order where times tie."""
    ordered = list(reversed([v for v in versions if not v.is_delete_marker])) + list(
        reversed([v for v in versions if v.is_delete_marker])
    )
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(ordered, key=lambda v: (v.last_modified or never, v.is_latest))


class S3Vault(VaultBackend):
    """A :class:`~agent.ship.vault.Vault` on an S3 Object Lock bucket."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        clock: Clock | None = None,
        max_put_bytes: int = SINGLE_PUT_MAX,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self.clock = clock or SystemClock()
        self.max_put_bytes = min(max_put_bytes, SINGLE_PUT_MAX)
        if client is None:
            from botocore.config import Config as BotoConfig

            # Retries are ours (backoff + jitter in the shipper); keep boto's few and short.
            client = _session().client(
                "s3",
                config=BotoConfig(
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    retries={"total_max_attempts": max_attempts, "mode": "standard"},
                ),
            )
        self.client = client

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> S3Vault:
        """``s3://bucket/optional/prefix``."""
        rest = url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise VaultError(f"{url}: no bucket in vault URL")
        return cls(bucket, prefix, **kwargs)

    def _k(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _write_once(
        self, key: str, data: bytes, digest: str, ru: dt.datetime, mode: LockMode, hold: bool
    ) -> None:
        """Single-part PUT with lock + checksum unless the key exists (If-None-Match: *)."""
        if len(data) > self.max_put_bytes:
            raise VaultError(
                f"{key}: {len(data)} bytes exceeds the single-PUT maximum "
                f"{self.max_put_bytes}; rotate journals smaller",
                retryable=False,
            )
        import botocore.exceptions as bex

        if self._head_or_none(key) is not None:
            return
        args: dict[str, Any] = dict(
            Bucket=self.bucket,
            Key=self._k(key),
            Body=data,
            ObjectLockMode=mode,
            ObjectLockRetainUntilDate=ru,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=_hex_to_b64(digest),
            IfNoneMatch="*",
            ContentType="application/octet-stream",
        )
        if hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        with s3_errors(f"put {key}"):
            try:
                self.client.put_object(**args)
            except bex.ClientError as exc:
                # If-None-Match: a concurrent writer, or our own retried PUT whose first
                # answer was lost, got there first - the HEAD after the write decides.
                if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                    raise

    def _head_or_none(self, key: str) -> ObjectState | None:
        try:
            return self.head(key)
        except NotFound:
            return None

    def head(self, key: str) -> ObjectState:
        """HEAD the current version with checksum mode enabled."""
        with s3_errors(f"head {key}"):
            r = self.client.head_object(
                Bucket=self.bucket, Key=self._k(key), ChecksumMode="ENABLED"
            )
        return _state(key, r)

    def head_version(self, key: str, version_id: str) -> ObjectState:
        """HEAD one version by id (checksum mode enabled)."""
        with s3_errors(f"head {key} version {version_id}"):
            r = self.client.head_object(
                Bucket=self.bucket, Key=self._k(key), VersionId=version_id, ChecksumMode="ENABLED"
            )
        return _state(key, r)

    def get_version(self, key: str, version_id: str) -> bytes:
        """One version's bytes, by id (never "the current version")."""
        with s3_errors(f"get {key} version {version_id}"):
            r = self.client.get_object(Bucket=self.bucket, Key=self._k(key), VersionId=version_id)
            body: bytes = r["Body"].read()
        return body

    def versions(self, key: str) -> builtins.list[ObjectVersion]:
        """Every version and delete marker of ``key``, oldest first."""
        out: list[ObjectVersion] = []
        for k, v in self._version_entries(key):
            if k == key:
                out.append(v)
        return _oldest_first(out)

    def list_versioned(self, prefix: str = "") -> builtins.list[str]:
        """Keys under ``prefix`` with any version, delete-marked ones included, sorted."""
        return sorted({k for k, _ in self._version_entries(prefix)})

    def _version_entries(self, prefix: str) -> builtins.list[tuple[str, ObjectVersion]]:
        """(key, version) of every version and delete marker under ``prefix``, in the store's
        order (newest first per key)."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        out: list[tuple[str, ObjectVersion]] = []
        with s3_errors(f"list versions {prefix}"):
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket,
                Prefix=self._k(prefix) if prefix else (self.prefix + "/" if self.prefix else ""),
            )
            for page in pages:
                for marker, kind in ((False, "Versions"), (True, "DeleteMarkers")):
                    for o in page.get(kind, []):
                        key = str(o["Key"])[strip:]
                        lm = o.get("LastModified")
                        out.append(
                            (
                                key,
                                ObjectVersion(
                                    key=key,
                                    version_id=str(o.get("VersionId") or ""),
                                    is_delete_marker=marker,
                                    is_latest=bool(o.get("IsLatest")),
                                    size=int(o.get("Size", 0) or 0),
                                    last_modified=lm.astimezone(dt.UTC) if lm is not None else None,
                                ),
                            )
                        )
        return out

    def get(self, key: str) -> bytes:
        """The current version's bytes."""
        with s3_errors(f"get {key}"):
            r = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
            body: bytes = r["Body"].read()
        return body

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (relative to the vault prefix), sorted."""
        out: list[str] = []
        strip = len(self.prefix) + 1 if self.prefix else 0
        with s3_errors(f"list {prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=self._k(prefix) if prefix else (self.prefix + "/" if self.prefix else ""),
            )
            for page in pages:
                out.extend(o["Key"][strip:] for o in page.get("Contents", []))
        return sorted(out)

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Place or release the legal hold on the key's oldest version: the record, which a
        newer version or a delete marker must not divert the hold from."""
        real = [v for v in self.versions(key) if not v.is_delete_marker]
        if not real:
            raise NotFound(f"legal hold {key}: not found")
        vid = real[0].version_id
        with s3_errors(f"legal hold {key}"):
            self.client.put_object_legal_hold(
                Bucket=self.bucket,
                Key=self._k(key),
                VersionId=vid,
                LegalHold={"Status": "ON" if on else "OFF"},
            )
        if self.head_version(key, vid).legal_hold != on:
            raise PostureError(f"{key}: the store did not apply legal hold={on}")

    def _set_retention(self, state: ObjectState, until: dt.datetime) -> None:
        """PutObjectRetention on that version, same mode (S3 allows extending COMPLIANCE)."""
        with s3_errors(f"extend retention {state.key}"):
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=self._k(state.key),
                VersionId=state.version_id,
                Retention={"Mode": state.mode or "COMPLIANCE", "RetainUntilDate": until},
            )

    def _remove(self, state: ObjectState) -> None:
        """Delete that version by id; an unversioned DELETE (a delete marker) is never issued.

        The server should refuse a locked delete too; moto (the S3 emulator the tests use) does
        not always, so the client-side refusal in :meth:`VaultBackend.delete` never relies on it.
        """
        with s3_errors(f"delete {state.key}"):
            self.client.delete_object(
                Bucket=self.bucket, Key=self._k(state.key), VersionId=state.version_id
            )

    def posture(self) -> Posture:
        """Versioning, Object Lock and default retention of the bucket, plus server time."""
        import botocore.exceptions as bex

        with s3_errors(f"bucket {self.bucket}"):
            v = self.client.get_bucket_versioning(Bucket=self.bucket)
        server_time = None
        date = v.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if date:
            server_time = email.utils.parsedate_to_datetime(date).astimezone(dt.UTC)
        lock_enabled, mode, days = False, None, None
        try:
            with s3_errors(f"object lock configuration of {self.bucket}"):
                try:
                    lc = self.client.get_object_lock_configuration(Bucket=self.bucket)
                except bex.ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code != "ObjectLockConfigurationNotFoundError":
                        raise
                    lc = {}
        except PostureError:
            raise
        conf = lc.get("ObjectLockConfiguration", {})
        lock_enabled = conf.get("ObjectLockEnabled") == "Enabled"
        rule = conf.get("Rule", {}).get("DefaultRetention")
        if rule:
            mode = rule.get("Mode")
            days = rule.get("Days") or (365 * int(rule["Years"]) if rule.get("Years") else None)
        return Posture(
            versioning=v.get("Status"),
            object_lock=lock_enabled,
            default_mode=mode,
            default_retention_days=days,
            enforced_by="server",
            server_time=server_time,
        )
