"""The ``[console]`` config section: where the console listens, its sign-in rules and reveal
policy."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agent.configbase import Section
from agent.console.oidc_config import OidcConfig
from agent.console.review_config import ReviewConfig


class ConsoleConfig(Section):
    """Settings of ``sessiontape console serve`` (read in the firm home)."""

    listen: str = "127.0.0.1:8600"  # HOST:PORT; anything but loopback needs tls_cert + tls_key
    tls_cert: str = ""  # PEM certificate chain for HTTPS
    tls_key: str = ""  # PEM private key for HTTPS
    public_origin: str = ""  # the origin browsers use when behind a proxy (https://console.x)
    idle_minutes: int = Field(30, ge=1, le=24 * 60)  # a session unused this long ends
    absolute_hours: int = Field(12, ge=1, le=7 * 24)  # a session ends this long after sign-in
    lockout_attempts: int = Field(5, ge=1, le=100)  # failed sign-ins in a row that lock
    lockout_minutes: int = Field(15, ge=1, le=7 * 24 * 60)  # how long a lock lasts
    reveal_requires_approval: bool = False  # a second supervisor approves each reveal first
    escrow_key: str = ""  # the escrow private key PEM that reveals open ("" = no reveals)
    vault_url: str = ""  # where records are read from ("" = ship.vault_url)
    search_limit: int = Field(200, ge=1, le=10_000)  # hits per console search
    ship_audit_seconds: int = Field(60, ge=0)  # ship the audit to the vault this often (0: off)
    oidc: OidcConfig = Field(default_factory=OidcConfig)  # [console.oidc]: SSO sign-in
    review: ReviewConfig = Field(default_factory=ReviewConfig)  # [console.review]: review policy

    def state_dir(self, home: Path) -> Path:
        """``<home>/console``: the console's database and cookie secret."""
        return Path(home) / "console"
