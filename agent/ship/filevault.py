"""``file:///path``: the embedded local vault (software-enforced, NOT a regulatory WORM).

Layout (version 1, in ``<root>/vault.json``)::

    <root>/vault.json                      {"v": 1, "kind": "sessiontape-file-vault"}
    <root>/blobs/<aa>/<sha256 hex>         content-addressed bytes, mode 0444
    <root>/objects/<key>.obj.json          sidecar: checksum, size, mode, retain-until, hold

Blobs are written once (temp file + fsync + rename + chmod 0444). Sidecars are replaced
atomically (temp + fsync + rename) and only ever to extend retention or toggle the legal
hold. The vault refuses overwrite of a key with different bytes and any delete before
retain-until or under a hold - but only this code enforces that: anyone with write access to
the directory (root, the file owner) can change or remove files. Use it for air-gapped
staging and the demo; for SEC 17a-4(f) use S3 Object Lock in COMPLIANCE mode.

The file vault has no versions: each key has exactly one (the sidecar's ``version_id``), and
there is no delete marker - so :meth:`FileVault.versions` lists that one version and
:meth:`FileVault.list_versioned` is :meth:`FileVault.list`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any

from agent.clock import Clock, SystemClock, iso_seconds, parse_iso_seconds
from agent.errors import UnknownVersion, VaultError
from agent.ship.vault import (
    LockMode,
    NotFound,
    ObjectState,
    ObjectVersion,
    Posture,
    VaultBackend,
)

FILE_VAULT_VERSION = 1
_SUFFIX = ".obj.json"


def _write_atomic(path: Path, data: bytes, mode: int = 0o444) -> None:
    """temp + fsync + rename + fsync(dir); translate disk errors once."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VaultError(f"{path}: write failed: {exc.strerror or exc}", retryable=True) from exc


class FileVault(VaultBackend):
    """A :class:`~agent.ship.vault.Vault` in a local directory (software-enforced)."""

    def __init__(self, root: Path, *, clock: Clock | None = None) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"
        self.clock = clock or SystemClock()
        marker = self.root / "vault.json"
        if marker.exists():
            meta = json.loads(marker.read_text(encoding="utf-8"))
            if meta.get("v") != FILE_VAULT_VERSION:
                raise UnknownVersion(f"{marker}: file vault version {meta.get('v')!r}")
        else:
            _write_atomic(
                marker,
                json.dumps({"v": FILE_VAULT_VERSION, "kind": "sessiontape-file-vault"}).encode(),
            )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> FileVault:
        """``file:///absolute/path``."""
        path = url[len("file://") :]
        if not path.startswith("/"):
            raise VaultError(f"{url}: file vault URL needs an absolute path (file:///path)")
        return cls(Path(path), **kwargs)

    def _sidecar(self, key: str) -> Path:
        return self.root / "objects" / (key + _SUFFIX)

    def _blob(self, digest: str) -> Path:
        return self.root / "blobs" / digest[:2] / digest

    def _read_sidecar(self, key: str) -> dict[str, Any]:
        p = self._sidecar(key)
        try:
            meta: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(f"{key}: not found in {self.url}") from None
        if meta.get("v") != FILE_VAULT_VERSION:
            raise UnknownVersion(f"{p}: object sidecar version {meta.get('v')!r}")
        return meta

    def _write_once(
        self, key: str, data: bytes, digest: str, ru: dt.datetime, mode: LockMode, hold: bool
    ) -> None:
        """Write the blob once, then the sidecar (a key that exists keeps its sidecar)."""
        if self._sidecar(key).exists():
            return
        blob = self._blob(digest)
        if not blob.exists():
            _write_atomic(blob, data)
        meta = {
            "v": FILE_VAULT_VERSION,
            "key": key,
            "sha256": digest,
            "size": len(data),
            "mode": mode,
            "retain_until": iso_seconds(ru),
            "legal_hold": hold,
            "version_id": uuid.uuid4().hex,
            "created": iso_seconds(self._now()),
        }
        side = self._sidecar(key)
        try:
            # O_EXCL on a temp then link(): a concurrent writer cannot replace our sidecar.
            side.parent.mkdir(parents=True, exist_ok=True)
            tmp = side.with_name(f".{side.name}.{uuid.uuid4().hex}.tmp")
            _write_atomic(tmp, json.dumps(meta, sort_keys=True).encode())
            try:
                os.link(tmp, side)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise VaultError(f"{key}: write failed: {exc}", retryable=True) from exc

    def head(self, key: str) -> ObjectState:
        """The sidecar's view, with the blob's existence checked."""
        m = self._read_sidecar(key)
        if not self._blob(m["sha256"]).exists():
            raise VaultError(f"{key}: blob {m['sha256']} missing from {self.url}")
        return ObjectState(
            key=key,
            mode=m["mode"],
            retain_until=parse_iso_seconds(m["retain_until"]),
            checksum_sha256=m["sha256"],
            version_id=m["version_id"],
            legal_hold=bool(m["legal_hold"]),
            size=int(m["size"]),
            etag=m["sha256"][:32],
        )

    def get(self, key: str) -> bytes:
        """The blob's bytes (not re-hashed here; the re-verify job does that)."""
        m = self._read_sidecar(key)
        try:
            return self._blob(m["sha256"]).read_bytes()
        except OSError as exc:
            raise VaultError(f"{key}: cannot read blob: {exc}") from exc

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""
        base = self.root / "objects"
        if not base.exists():
            return []
        keys = [
            str(p.relative_to(base))[: -len(_SUFFIX)]
            for p in base.rglob("*" + _SUFFIX)
            if not p.name.startswith(".")
        ]
        return sorted(k for k in keys if k.startswith(prefix))

    def versions(self, key: str) -> builtins.list[ObjectVersion]:
        """The key's one version (a file vault keeps no history), or none."""
        try:
            st = self.head(key)
        except NotFound:
            return []
        created = self._read_sidecar(key).get("created")
        return [
            ObjectVersion(
                key=key,
                version_id=st.version_id,
                is_delete_marker=False,
                is_latest=True,
                size=st.size,
                last_modified=parse_iso_seconds(created) if created else None,
            )
        ]

    def head_version(self, key: str, version_id: str) -> ObjectState:
        """The key's state when ``version_id`` is its one version."""
        st = self.head(key)
        if st.version_id != version_id:
            raise NotFound(f"{key} version {version_id}: not found in {self.url}")
        return st

    def get_version(self, key: str, version_id: str) -> bytes:
        """The key's bytes when ``version_id`` is its one version."""
        self.head_version(key, version_id)
        return self.get(key)

    def list_versioned(self, prefix: str = "") -> builtins.list[str]:
        """Same as :meth:`list`: a file vault has no delete markers."""
        return self.list(prefix)

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Toggle the hold in the sidecar (atomic replace)."""
        m = self._read_sidecar(key)
        m["legal_hold"] = on
        _write_atomic(self._sidecar(key), json.dumps(m, sort_keys=True).encode())

    def _set_retention(self, state: ObjectState, until: dt.datetime) -> None:
        """Move retain-until in the sidecar (atomic replace)."""
        m = self._read_sidecar(state.key)
        m["retain_until"] = iso_seconds(until)
        _write_atomic(self._sidecar(state.key), json.dumps(m, sort_keys=True).encode())

    def _remove(self, state: ObjectState) -> None:
        """Drop the sidecar; the blob goes when no other key refers to it."""
        digest = state.checksum_sha256 or ""
        self._sidecar(state.key).unlink()
        still_used = any(self.head(k).checksum_sha256 == digest for k in self.list())
        if not still_used:
            blob = self._blob(digest)
            os.chmod(blob, 0o644)
            blob.unlink()

    def posture(self) -> Posture:
        """Always versioned/locked by construction - but enforced only by this software."""
        return Posture(
            versioning="Enabled",
            object_lock=True,
            enforced_by="software",
            server_time=self._now(),
            notes=[
                "file vault: retention is enforced by sessiontape only, not "
                "by the storage; not a regulatory WORM"
            ],
        )
