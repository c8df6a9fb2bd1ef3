"""Firm keys with the file backend: every segment's data key is also wrapped to the firm's
public keys; a home holding a firm private key opens it without the workstation's KEK; an
altered or moved wrap, an unknown firm key and a malformed or unknown genesis are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from agent.canonical import canonical_bytes
from agent.errors import ConfigError, KeyMaterialError, KeyUnavailable, NotAJournal, UnknownVersion
from agent.journal.segment import SegmentWriter
from agent.keystore.firm_files import FileFirmKeyStore
from agent.keystore.firmwrap import Recipient, open_wrap, public_pem, wrap_to
from agent.seal.segment_file import SegmentFile
from tests.journals import read_genesis, tamper
from tests.keys.firmhome import configure_recipients, firm_key, keyring, new_home, read_ns, record

EVENTS = list(range(10))  # write_session(chunks_per_segment=2): clock.tick n = 0..9


def _genesis_of(seg: Path) -> dict[str, Any]:
    g = read_genesis(seg)
    return dict(g)


def test_x25519_wrap_round_trips_and_is_bound_to_its_segment(tmp_path: Path) -> None:
    """A wrap opens to the data key for its segment id and names its algorithm and key."""
    store = FileFirmKeyStore(new_home(tmp_path / "firm") / "keys")
    pub = store.new_key()
    r = Recipient.from_pem(public_pem(pub), "mem")
    dek = bytes(range(32))
    w = wrap_to(r, dek, "seg-a")
    assert w["alg"] == "x25519-hkdf-sha256-aes256gcm" and w["kid"] == r.kid
    assert len(bytes.fromhex(w["epk"])) == 32
    assert open_wrap(store, w, "seg-a", where="here") == dek
    with pytest.raises(KeyMaterialError) as info:
        open_wrap(store, w, "seg-b", where="here")
    assert info.value.message == f"here: data key does not unwrap with firm key {r.kid}"


def test_each_of_two_recipients_opens_the_segment_without_the_kek(tmp_path: Path) -> None:
    """Primary and disaster-recovery homes each read the whole segment with only their key."""
    primary, dr = new_home(tmp_path / "primary"), new_home(tmp_path / "dr")
    kid_p, pem_p = firm_key(primary, tmp_path / "p.pem")
    kid_d, pem_d = firm_key(dr, tmp_path / "d.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, pem_p, pem_d)
    (seg,) = record(ws)
    assert [w["kid"] for w in _genesis_of(seg)["firm_wraps"]] == [kid_p, kid_d]
    assert _genesis_of(seg)["v"] == 3
    for firm in (primary, dr):
        assert read_ns(seg, keyring(firm)) == EVENTS
    assert read_ns(seg, keyring(ws)) == EVENTS  # the workstation's own KEK still opens it


def test_rotation_keeps_old_segments_readable_with_the_old_key(tmp_path: Path) -> None:
    """After the new key is added (and later the old one removed), segments written before
    open with the old key only, and segments written after with the new key."""
    old_home, new = new_home(tmp_path / "old"), new_home(tmp_path / "new")
    kid_old, pem_old = firm_key(old_home, tmp_path / "old.pem")
    kid_new, pem_new = firm_key(new, tmp_path / "new.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, pem_old)
    (before,) = record(ws)
    configure_recipients(ws, pem_old, pem_new)
    (during,) = record(ws)
    configure_recipients(ws, pem_new)
    (after,) = record(ws)
    assert read_ns(before, keyring(old_home)) == EVENTS
    assert read_ns(during, keyring(old_home)) == read_ns(during, keyring(new)) == EVENTS
    assert read_ns(after, keyring(new)) == EVENTS
    with pytest.raises(KeyUnavailable) as info:
        read_ns(before, keyring(new))
    kek = _genesis_of(before)["kek_id"]
    assert info.value.message == (
        f"{before}: cannot decrypt (key {kek} unavailable; firm keys {kid_old} not held here)"
    )
    with pytest.raises(KeyUnavailable, match=f"firm keys {kid_new} not held here"):
        read_ns(after, keyring(old_home))


def _rewrap(seg: Path, **change: str) -> None:
    """Rewrite the genesis's first firm wrap (an attacker with file access)."""
    g = _genesis_of(seg)
    wraps: list[dict[str, str]] = g["firm_wraps"]
    wraps[0] = {**wraps[0], **change}
    tamper(seg, "UPDATE segment SET genesis = ? WHERE id = 1", args=(canonical_bytes(g),))


@pytest.mark.parametrize("field", ["wrapped", "epk", "moved"])
def test_altered_or_moved_wrap_fails_naming_the_firm_key(tmp_path: Path, field: str) -> None:
    """A flipped byte in ``wrapped`` or ``epk``, or a wrap copied from another segment, does
    not open: ``data key does not unwrap with firm key firm:…``, not a crash or a format error."""
    firm = new_home(tmp_path / "firm")
    kid, pem = firm_key(firm, tmp_path / "f.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, pem)
    (seg,) = record(ws)
    w = _genesis_of(seg)["firm_wraps"][0]
    if field == "moved":
        (other,) = record(ws)
        moved = _genesis_of(other)["firm_wraps"][0]
        _rewrap(seg, epk=moved["epk"], wrapped=moved["wrapped"])
    else:
        b = bytearray(bytes.fromhex(w[field]))
        b[-1] ^= 0x01
        _rewrap(seg, **{field: b.hex()})
    with pytest.raises(KeyMaterialError) as info:
        read_ns(seg, keyring(firm))
    assert not isinstance(info.value, KeyUnavailable)
    assert info.value.message == f"{seg}: data key does not unwrap with firm key {kid}"


def test_wrap_to_an_unknown_firm_key_is_unavailable_naming_it(tmp_path: Path) -> None:
    """A home whose firm store holds another firm key names the key the segment needs."""
    other = new_home(tmp_path / "other")
    firm_key(other, tmp_path / "o.pem")
    kid, pem = firm_key(new_home(tmp_path / "firm"), tmp_path / "f.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, pem)
    (seg,) = record(ws)
    with pytest.raises(KeyUnavailable) as info:
        read_ns(seg, keyring(other))
    kek = _genesis_of(seg)["kek_id"]
    assert info.value.message == (
        f"{seg}: cannot decrypt (key {kek} unavailable; firm keys {kid} not held here)"
    )


def test_no_recipients_writes_an_empty_list_and_require_refuses(tmp_path: Path) -> None:
    """Without recipients the genesis has ``firm_wraps: []``; with ``require`` recording is
    refused; an unreadable or malformed recipient file is a config error naming it."""
    ws = new_home(tmp_path / "ws")
    with capture_logs() as logs:
        (seg,) = record(ws)
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["seal.no_firm_recipients"]
    assert _genesis_of(seg)["firm_wraps"] == []
    configure_recipients(ws, extra="require = true\n")
    with pytest.raises(ConfigError, match="seal.firm.require is true but seal.firm.recipients"):
        record(ws)
    missing = tmp_path / "absent.pem"
    configure_recipients(ws, missing)
    with pytest.raises(ConfigError) as info:
        record(ws)
    assert info.value.message.startswith(f"seal.firm.recipients: {missing}: cannot read")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    configure_recipients(ws, bad)
    with pytest.raises(ConfigError) as info:
        record(ws)
    assert info.value.message == f"seal.firm.recipients: {bad}: not a PEM public key"


def test_a_recipient_file_other_accounts_could_replace_is_refused(tmp_path: Path) -> None:
    """Whoever could swap the recipient key would choose who reads future records: a
    group-writable recipient file refuses to record, naming it."""
    ws = new_home(tmp_path / "ws")
    kid, pem = firm_key(tmp_path / "firm", tmp_path / "firm.pem")
    pem.chmod(0o664)
    configure_recipients(ws, pem)
    with pytest.raises(ConfigError) as info:
        record(ws)
    assert info.value.message == (
        f"seal.firm.recipients: {pem}: has mode 0664; other users can replace it"
    )
    pem.chmod(0o644)
    (seg,) = record(ws)
    assert [w["kid"] for w in _genesis_of(seg)["firm_wraps"]] == [kid]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("x", "firm_wraps is not a list"),
        ([{"kid": "firm:00"}], "firm_wraps[0] is not a {kid, alg, epk, wrapped} object"),
    ],
)
def test_malformed_firm_wraps_is_not_a_journal_naming_the_file(
    tmp_path: Path, value: object, why: str
) -> None:
    """A genesis whose ``firm_wraps`` has the wrong shape is refused on opening, not a crash."""
    ws = new_home(tmp_path / "ws")
    (seg,) = record(ws)
    g = {**_genesis_of(seg), "firm_wraps": value}
    tamper(seg, "UPDATE segment SET genesis = ? WHERE id = 1", args=(canonical_bytes(g),))
    with pytest.raises(NotAJournal) as info:
        SegmentFile(seg)
    assert info.value.message == f"{seg}: genesis {why}"


def test_unknown_genesis_version_is_refused_naming_it(tmp_path: Path) -> None:
    """A genesis version this build does not know is ``UnknownVersion`` with the file."""
    (seg,) = record(new_home(tmp_path / "ws"))
    g = {**_genesis_of(seg), "v": 4}
    tamper(seg, "UPDATE segment SET genesis = ? WHERE id = 1", args=(canonical_bytes(g),))
    with pytest.raises(UnknownVersion) as info:
        SegmentFile(seg)
    assert info.value.message == (
        f"{seg}: genesis version 4 is not supported (this build reads versions 1, 2, 3)"
    )


def test_version_1_genesis_without_firm_wraps_still_reads_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment written as the previous build did (genesis v1, no ``firm_wraps``) decrypts
    with its KEK, verifies, and without the KEK says it has no firm wraps."""
    from agent.seal.verify import verify_paths

    create = SegmentWriter.create.__func__  # type: ignore[attr-defined]

    def v1(cls: type, path: Path, genesis: dict[str, Any], *rest: Any) -> Any:
        old = {k: v for k, v in genesis.items() if k != "firm_wraps"}
        return create(cls, path, {**old, "v": 1}, *rest)

    monkeypatch.setattr(SegmentWriter, "create", classmethod(v1))
    ws = new_home(tmp_path / "ws")
    (seg,) = record(ws)
    monkeypatch.undo()
    g = _genesis_of(seg)
    assert g["v"] == 1 and "firm_wraps" not in g
    assert read_ns(seg, keyring(ws)) == EVENTS
    kr = keyring(ws)
    assert verify_paths([seg], kr.trust(), keyring=kr, decrypt=True).ok
    with pytest.raises(KeyUnavailable, match="no firm key wraps in this segment"):
        read_ns(seg, keyring(new_home(tmp_path / "empty")))
