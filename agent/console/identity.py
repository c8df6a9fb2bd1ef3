"""Who is signed in to the console: an authenticated principal and the roles it holds.

Every console action is authorised against these roles and audited with ``subject``, the
identity the sign-in proved (a local account or an OIDC issuer's subject), never a name the
user typed.
"""

from __future__ import annotations

from dataclasses import dataclass

REVIEWER = "reviewer"  # works the supervisory review queue, searches and replays
SUPERVISOR = "supervisor"  # a reviewer who also takes escalations, holds and reveals
EXAMINER = "examiner"  # a regulator: read-only, on an account that expires
ADMIN = "admin"  # manages accounts and settings
ROLES = (REVIEWER, SUPERVISOR, EXAMINER, ADMIN)


@dataclass(frozen=True)
class Principal:
    """An authenticated console user.

    ``subject`` is stable and unique: ``local:<account>`` or ``oidc:<issuer>#<sub>``;
    ``name`` is for display only; ``expires_ns`` (UTC ns) ends an examiner's access.
    """

    subject: str
    name: str
    roles: frozenset[str]
    expires_ns: int | None = None

    def has(self, *roles: str) -> bool:
        """True when the principal holds any of ``roles``."""
        return any(r in self.roles for r in roles)
