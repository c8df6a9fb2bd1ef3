"""The demo's stand-in for the firm: a firm key the session is wrapped to, and a read-back of
the shipped session from the vault by that key alone.

With no ``[seal.firm] recipients`` configured (the embedded defaults), the demo makes
``<home>/demo-firm/`` - a separate home holding a firm X25519 key (file store), its own
signing key (for its exports and audit) and, once the session is shipped, the workstation's
public signing key - and records with the firm key as the one recipient. After shipping it
restores the session in that home from the vault by receipt version and verifies it with
decryption: nothing of the workstation's KEK is used, which is how the firm reads a record
after the workstation's disk is gone. With recipients configured, the real firm holds the
key elsewhere and the demo only names them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import Config
    from agent.seal.report import VerifyReport
    from agent.ship.restore import RestoreResult

DEMO_FIRM = "demo-firm"
PEM = "firm-demo.pem"


def firm_home(home: Path) -> Path:
    """``<home>/demo-firm``: the demo firm's own home."""
    return home / DEMO_FIRM


def with_demo_recipient(cfg: Config, home: Path) -> tuple[Config, str]:
    """``cfg`` with the demo firm's public key as the only recipient (created on first use),
    and that key's id; ``cfg`` unchanged with ``""`` when recipients are configured or the
    system policy locks them (the demo adds no reader that central IT did not list)."""
    if cfg.seal.firm.recipients or "seal.firm" in cfg.locked:
        return cfg, ""
    from agent.keystore.firm_files import FileFirmKeyStore
    from agent.keystore.firmwrap import firm_key_id, parse_public_pem, public_pem
    from agent.keystore.perms import private_dir

    fhome = private_dir(firm_home(home))
    pem = fhome / PEM
    if pem.exists():
        kid = firm_key_id(parse_public_pem(pem.read_bytes(), str(pem)))
    else:
        pub = FileFirmKeyStore(fhome / "keys").new_key()
        pem.write_bytes(public_pem(pub))
        pem.chmod(0o644)
        kid = firm_key_id(pub)
    firm = cfg.seal.firm.model_copy(update={"recipients": [str(pem)]})
    seal = cfg.seal.model_copy(update={"firm": firm})
    return cfg.model_copy(update={"seal": seal}), kid


@dataclass
class ReadBack:
    """What the firm home read back: the restore and the verification with decryption."""

    home: Path
    vault_url: str
    restored: RestoreResult
    report: VerifyReport


def read_back(home: Path, cfg: Config, session_id: str) -> ReadBack:
    """Restore ``session_id`` into the demo firm home from the vault and verify it there with
    decryption, using only the firm key and the workstation's public signing key."""
    from agent.keys import Keyring
    from agent.keystore.config import FirmKeysConfig, KeysConfig
    from agent.seal.verify import verify_paths
    from agent.ship.restore import restore_session
    from agent.ship.urls import open_vault

    fhome = firm_home(home)
    Keyring.load_or_init(fhome, KeysConfig())  # its own key signs its exports and audit
    trusted = fhome / "keys" / "trusted"  # plus the workstation's, enrolled at deployment
    for pub in (home / "keys" / "trusted").glob("*.pub"):
        shutil.copyfile(pub, trusted / pub.name)
    url = cfg.ship.resolved_vault_url(home)
    restored = restore_session(fhome, session_id, open_vault(url))
    keyring = Keyring.load(fhome, KeysConfig(), FirmKeysConfig())
    report = verify_paths(
        sorted(restored.directory.glob("*.stj")), keyring.trust(), keyring=keyring, decrypt=True
    )
    return ReadBack(fhome, url, restored, report)
