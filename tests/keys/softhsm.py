"""A real SoftHSM2 token for tests: a private ``SOFTHSM2_CONF`` and token directory, a token
initialised with ``softhsm2-util``, a 0600 PIN file and a config file selecting it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "20261206"
SO_PIN = "99887766"


@dataclass
class Token:
    """One initialised SoftHSM2 token and the sessiontape config that uses it."""

    module: str
    label: str
    conf: Path  # SOFTHSM2_CONF
    pin_file: Path
    config: Path  # a sessiontape.toml with [seal.keys] backend = "pkcs11"

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf), "SESSIONTAPE_CONFIG": str(self.config)}


def _module() -> str:
    found = next((m for m in MODULES if Path(m).is_file()), None)
    if shutil.which("softhsm2-util") is None or found is None:
        pytest.skip("SoftHSM2 is not installed (apt-get install -y softhsm2; .ci/setup.sh does)")
    return found


def write_config(path: Path, token: Token, **overrides: str) -> Path:
    """A config file selecting ``token`` (``overrides`` replace [seal.keys] values)."""
    keys = {
        "backend": "pkcs11",
        "pkcs11_module": token.module,
        "token_label": token.label,
        "pin_file": str(token.pin_file),
        **overrides,
    }
    body = "".join(f'{k} = "{v}"\n' for k, v in keys.items())
    path.write_text("[seal.keys]\n" + body)
    return path


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Token]:
    """A fresh token; this process's PKCS#11 library is re-initialised to see it."""
    module = _module()
    d = tmp_path / "softhsm"
    (d / "tokens").mkdir(parents=True)
    conf = d / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    label = "st-" + secrets.token_hex(4)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label]
        + ["--pin", PIN, "--so-pin", SO_PIN],
        check=True,
        capture_output=True,
        env=env,
    )
    pin_file = d / "pin"
    pin_file.write_text(PIN + "\n")
    pin_file.chmod(0o600)
    tok = Token(module, label, conf, pin_file, d / "sessiontape.toml")
    write_config(tok.config, tok)
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    from agent.keystore import pkcs11 as backend

    lib = backend._libs.get(module)
    if lib is not None:  # SoftHSM reads its config and token list at C_Initialize
        lib.reinitialize()
    yield tok
