"""Which version is the record: the receipt's, never the current one; every disagreement is
an anomaly naming key and version ids (memory vault; the same on moto in the attack tests)."""

from __future__ import annotations

import datetime as dt
import json

from agent.ship.receipts import RECEIPT_SUFFIX
from agent.ship.records import anomalies_of, locate, read_record, segment_keys
from agent.ship.testing import MemoryVault
from agent.ship.vault import Receipt

KEY = "segments/s1/000000-a.stj"


def _shipped(v: MemoryVault, data: bytes = b"original") -> tuple[Receipt, dict[str, object]]:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    r = v.put_immutable(KEY, data, retain_until=until, mode="COMPLIANCE")
    rr = v.put_immutable(
        KEY + RECEIPT_SUFFIX,
        json.dumps(r.to_json()).encode(),
        retain_until=until,
        mode="COMPLIANCE",
    )
    return r, {**r.to_json(), "receipt_object_version": rr.version_id}


def test_an_untouched_record_has_no_anomaly_and_reads_by_its_receipt_version() -> None:
    """The receipt object names the version; the bytes hash to its checksum."""
    v = MemoryVault()
    r, _ = _shipped(v)
    loc = locate(v, KEY)
    assert loc.anomalies == [] and loc.record is not None
    assert loc.record.version_id == r.version_id
    assert read_record(v, loc.record) == (b"original", [])


def test_a_newer_version_is_named_and_the_original_read() -> None:
    """A plain PUT's version is reported; the original is what is read."""
    v = MemoryVault()
    r, _ = _shipped(v)
    new = v.add_plain_version(KEY, b"forged")
    loc = locate(v, KEY)
    assert [a.message for a in loc.anomalies] == [
        f"vault anomaly: {KEY}: newer version {new} over locked original {r.version_id} "
        "(original read by version)"
    ]
    assert loc.record is not None and read_record(v, loc.record)[0] == b"original"


def test_a_delete_marker_hides_the_key_from_list_but_not_from_segment_keys() -> None:
    """``list`` loses the key, ``segment_keys`` does not; the marker is an anomaly."""
    v = MemoryVault()
    r, _ = _shipped(v)
    marker = v.add_delete_marker(KEY)
    assert KEY not in v.list("segments/") and segment_keys(v) == [KEY]
    assert [a.detail for a in locate(v, KEY).anomalies] == [
        f"delete marker {marker} hides locked original {r.version_id} (original read by version)"
    ]


def test_a_segment_without_receipt_is_an_anomaly_and_its_oldest_version_read() -> None:
    """No receipt object: named, and the oldest version is read unchecked."""
    v = MemoryVault()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    r = v.put_immutable(KEY, b"bare", retain_until=until, mode="COMPLIANCE")
    loc = locate(v, KEY)
    assert [a.detail for a in loc.anomalies] == [
        "segment has no receipt object (no receipt to check)"
    ]
    assert loc.record is not None and loc.record.version_id == r.version_id


def test_a_local_receipt_that_disagrees_with_the_object_is_named() -> None:
    """This home's receipt says another checksum: the version's HEAD disagrees, said so."""
    v = MemoryVault()
    r, mine = _shipped(v)
    lying = {**mine, "checksum_sha256": "0" * 64}
    details = [a.message for a in locate(v, KEY, lying).anomalies]
    assert any(
        d.startswith(f"vault anomaly: {KEY + RECEIPT_SUFFIX}: receipt object version ")
        and "says checksum_sha256" in d
        for d in details
    )
    assert any(f"but version {r.version_id} holds" in d for d in details)


def test_anomalies_of_skips_plain_records_and_names_the_others() -> None:
    """The cheap path: one version each, the shipped ones - nothing to say."""
    v = MemoryVault()
    _, mine = _shipped(v)
    assert anomalies_of(v, {KEY: mine}) == []
    v.add_delete_marker(KEY + RECEIPT_SUFFIX)
    (a,) = anomalies_of(v, {KEY: mine})
    assert a.key == KEY + RECEIPT_SUFFIX and "delete marker" in a.detail
