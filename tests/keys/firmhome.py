"""Homes for firm-key tests: a firm home whose firm key store holds keys, and a workstation
home whose config wraps every data key to given firm public keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import load_config
from agent.journal.reader import iter_records
from agent.keys import Keyring, configure
from agent.keystore.config import FirmKeysConfig, KeysConfig
from agent.keystore.firm_files import FileFirmKeyStore
from agent.keystore.firmwrap import firm_key_id, public_pem
from agent.testing import FakeClock
from tests.journals import write_session


@pytest.fixture
def key_settings_restored() -> Iterator[None]:
    """In-process CLI runs configure this process's key stores from their home's config (a
    token, a KMS key); put the defaults back so later tests do not open those stores."""
    yield
    configure(KeysConfig(), FirmKeysConfig())


def new_home(path: Path) -> Path:
    """An empty 0700 state directory."""
    path.mkdir(mode=0o700, parents=True)
    return path


def firm_key(firm_home: Path, out: Path) -> tuple[str, Path]:
    """A new firm X25519 key in ``firm_home``'s file store; its public PEM written to ``out``."""
    pub = FileFirmKeyStore(firm_home / "keys").new_key()
    out.write_bytes(public_pem(pub))
    return firm_key_id(pub), out


def configure_recipients(home: Path, *pems: Path, extra: str = "") -> None:
    """Write ``home``'s config: [seal.firm] recipients = ``pems`` (plus ``extra`` TOML)."""
    listed = ", ".join(f'"{p}"' for p in pems)
    (home / "sessiontape.toml").write_text(f"[seal.firm]\nrecipients = [{listed}]\n{extra}")


def record(home: Path) -> list[Path]:
    """A closed one-segment session written in ``home`` with its config; its segments."""
    j = write_session(home, load_config(env={}, home=home), FakeClock(), chunks_per_segment=2)
    return list(j.segments)


def keyring(home: Path, firm: FirmKeysConfig | None = None) -> Keyring:
    """``home``'s keyring with the file KEK backend and ``firm`` (default: file) firm store."""
    return Keyring.load(home, KeysConfig(), firm or FirmKeysConfig())


def read_ns(segment: Path, kr: Keyring) -> list[int]:
    """The ``n`` of every ``clock.tick`` event in ``segment``, decrypted with ``kr``."""
    return [int(r.payload["n"]) for r in iter_records(segment, kr) if r.kind == "clock.tick"]
