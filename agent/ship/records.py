"""Which version of a vault object is the record, and reading it by that version.

Object Lock protects each *version*, not the key: anyone with write access to the bucket can
still add a newer version with a plain PUT, or hide the key behind a delete marker with a
DELETE that names no version. Neither touches the locked original, but anything that reads
"the current version" is then fooled or finds nothing. So every record read goes by version:

1. The record's version id comes from its receipt: the ``state.db`` receipt when this home
   shipped it, else the receipt object ``<key>.receipt.json`` beside the segment - its
   *oldest* version, since the receipt object can be overwritten the same way.
2. It is cross-checked with the segment key's oldest version and with the receipt's checksum
   and size (HEAD of that version), and the bytes fetched by that version id must hash to the
   receipt's SHA-256.
3. Whatever disagrees is an :class:`Anomaly`, named by key and version ids: a newer version
   or a delete marker over the original, a receipt object with several versions or one that
   disagrees with this home's receipt, a receipt whose checksum or size does not match the
   object version, a segment with no receipt. An anomaly never hides the original: it is
   still read (by version) and verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.canonical import sha256_hex
from agent.errors import SessiontapeError, VaultError
from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.vault import ObjectVersion, Vault

ANOMALY_PREFIX = "vault anomaly: "


@dataclass(frozen=True)
class Anomaly:
    """Something in the vault that disagrees with the record, naming key and version ids."""

    key: str
    detail: str

    @property
    def message(self) -> str:
        """One line: ``vault anomaly: <key>: <detail>``."""
        return f"{ANOMALY_PREFIX}{self.key}: {self.detail}"

    def as_dict(self) -> dict[str, str]:
        """For ``--json`` output and audit records."""
        return {"key": self.key, "detail": self.detail, "message": self.message}


@dataclass(frozen=True)
class RecordVersion:
    """The version of ``key`` that is the record, and what its receipt says it holds.

    ``checksum_sha256`` is empty when no receipt names one (the oldest version is then read,
    unchecked, and the missing receipt is an anomaly).
    """

    key: str
    version_id: str
    checksum_sha256: str
    size: int
    receipt_from: str


@dataclass
class Located:
    """The record version of one key (``None`` when the vault holds no version of it)."""

    record: RecordVersion | None
    anomalies: list[Anomaly] = field(default_factory=list)


def _real(versions: list[ObjectVersion]) -> list[ObjectVersion]:
    return [v for v in versions if not v.is_delete_marker]


def _over(key: str, versions: list[ObjectVersion], original: str, what: str) -> list[Anomaly]:
    """A newer version or delete marker after ``original`` in ``versions`` (oldest first)."""
    ids = [v.version_id for v in versions]
    after = versions[ids.index(original) + 1 :] if original in ids else []
    out = []
    for v in after:
        how = (
            f"delete marker {v.version_id} hides"
            if v.is_delete_marker
            else (f"newer version {v.version_id} over")
        )
        out.append(Anomaly(key, f"{how} {what} {original} (original read by version)"))
    return out


def vault_receipt(vault: Vault, key: str) -> tuple[dict[str, Any] | None, str, list[Anomaly]]:
    """The receipt object of segment ``key``: its oldest version's JSON, that version's id,
    and the anomalies of the receipt object itself."""
    rkey = key + RECEIPT_SUFFIX
    versions = vault.versions(rkey)
    real = _real(versions)
    if not real:
        return None, "", [Anomaly(key, "segment has no receipt object (no receipt to check)")]
    first = real[0].version_id
    anomalies = _over(rkey, versions, first, "original receipt")
    try:
        doc = json.loads(vault.get_version(rkey, first))
        if not isinstance(doc, dict) or not doc.get("version_id"):
            raise ValueError("not a receipt")
    except (ValueError, VaultError) as exc:
        what = exc.message if isinstance(exc, SessiontapeError) else str(exc)
        return None, first, [*anomalies, Anomaly(rkey, f"version {first} unreadable: {what}")]
    return doc, first, anomalies


def _receipt_disagrees(rkey: str, rvid: str, doc: dict[str, Any], local: dict[str, Any]) -> str:
    for name in ("version_id", "checksum_sha256", "size"):
        if str(doc.get(name)) != str(local.get(name)):
            return (
                f"receipt object version {rvid} says {name} {doc.get(name)}, this home shipped "
                f"{name} {local.get(name)}"
            )
    return ""


def locate(vault: Vault, key: str, local: dict[str, Any] | None = None) -> Located:
    """Which version of segment ``key`` is the record (``local``: this home's receipt)."""
    doc, rvid, anomalies = vault_receipt(vault, key)
    rkey = key + RECEIPT_SUFFIX
    if local is not None and doc is not None:
        why = _receipt_disagrees(rkey, rvid, doc, local)
        if why:
            anomalies.append(Anomaly(rkey, why))
    receipt, source = (local, "state.db") if local is not None else (doc, f"receipt {rvid}")
    versions = vault.versions(key)
    real = _real(versions)
    if not real:
        named = f" (its receipt names version {receipt['version_id']})" if receipt else ""
        return Located(None, [*anomalies, Anomaly(key, f"no version in the vault{named}")])
    oldest = real[0].version_id
    if receipt is None:
        chosen, digest, size = oldest, "", real[0].size
        source = "none: oldest version"
    else:
        chosen = str(receipt["version_id"])
        digest, size = str(receipt.get("checksum_sha256") or ""), int(receipt.get("size") or 0)
        if chosen not in {v.version_id for v in real}:
            anomalies.append(
                Anomaly(
                    key,
                    f"receipt ({source}) names version {chosen}, which the vault does not hold; "
                    f"reading the oldest version {oldest}",
                )
            )
            chosen, digest = oldest, ""
        elif chosen != oldest:
            anomalies.append(
                Anomaly(key, f"receipt ({source}) names version {chosen}, not the oldest {oldest}")
            )
    anomalies.extend(_over(key, versions, chosen, "locked original"))
    if digest:
        anomalies.extend(_check_head(vault, key, chosen, digest, size, source))
    return Located(RecordVersion(key, chosen, digest, size, source), anomalies)


def _check_head(
    vault: Vault, key: str, vid: str, digest: str, size: int, source: str
) -> list[Anomaly]:
    """The version's stored checksum and size against the receipt's."""
    st = vault.head_version(key, vid)
    if (st.checksum_sha256 and st.checksum_sha256 != digest) or st.size != size:
        return [
            Anomaly(
                key,
                f"receipt ({source}) says sha256 {digest[:16]}/{size} B but version {vid} holds "
                f"{(st.checksum_sha256 or 'no checksum')[:16]}/{st.size} B",
            )
        ]
    return []


def read_record(vault: Vault, rec: RecordVersion) -> tuple[bytes, list[Anomaly]]:
    """The record's bytes, fetched by version id and hashed against the receipt."""
    data = vault.get_version(rec.key, rec.version_id)
    if rec.checksum_sha256 and sha256_hex(data) != rec.checksum_sha256:
        return data, [
            Anomaly(
                rec.key,
                f"version {rec.version_id} hashes to {sha256_hex(data)[:16]}, its receipt "
                f"({rec.receipt_from}) says {rec.checksum_sha256[:16]}",
            )
        ]
    return data, []


def segment_keys(vault: Vault, session_id: str | None = None) -> list[str]:
    """Every segment key ``segments/<session>/<file>.stj`` the vault holds any version of,
    including those hidden by a delete marker (``session_id`` limits to one session)."""
    prefix = f"segments/{session_id}/" if session_id else "segments/"
    return [
        k for k in vault.list_versioned(prefix) if k.endswith(".stj") and len(k.split("/")) == 3
    ]


def vault_sessions(vault: Vault) -> list[str]:
    """The session ids the vault holds segments of (delete-marked ones included)."""
    return sorted({k.split("/")[1] for k in segment_keys(vault)})


def anomalies_of(vault: Vault, receipts: dict[str, dict[str, Any]]) -> list[Anomaly]:
    """The anomalies of the shipped segments ``receipts`` names (key -> this home's receipt).

    Cheap first: a segment and its receipt object that each hold exactly one version, the
    shipped one, cannot disagree with it; only the others are located in full.
    """
    out: list[Anomaly] = []
    for key, receipt in sorted(receipts.items()):
        seg = vault.versions(key)
        rec = vault.versions(key + RECEIPT_SUFFIX)
        plain = (
            len(seg) == 1
            and len(rec) == 1
            and not seg[0].is_delete_marker
            and not rec[0].is_delete_marker
            and seg[0].version_id == receipt.get("version_id")
            and rec[0].version_id == receipt.get("receipt_object_version", rec[0].version_id)
        )
        if not plain:
            out.extend(locate(vault, key, receipt).anomalies)
    return out


def shipped_anomalies(rows: list[Any], vaults: dict[str, Vault]) -> list[dict[str, str]]:
    """Vault anomalies over shipped records (``rows``: state rows with ``key`` and
    ``receipts`` by vault name): a newer version or a delete marker over one, a receipt
    object that disagrees; an unreachable vault says so."""
    out: list[dict[str, str]] = []
    for name, vault in vaults.items():
        mine = {r.key: r.receipts[name] for r in rows if name in r.receipts}
        try:
            found = anomalies_of(vault, mine)
        except VaultError as exc:
            out.append({"vault": vault.url, "key": "", "message": f"cannot check: {exc}"})
            continue
        out.extend({"vault": vault.url, **a.as_dict()} for a in found)
    return out
