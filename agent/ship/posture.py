"""Posture check: is the store WORM enough for our policy? Run at start and daily.

Requirements (any deviation is a :class:`PostureError`, and the shipper pauses):

* bucket versioning ``Enabled`` (locks exist only on versions; a suspended bucket lets an
  unversioned DELETE remove data on some servers - moto among them);
* Object Lock enabled;
* a bucket default retention, *if* one is configured, must use the policy's mode and be at
  least the shortest retention class. Every PUT we make carries explicit retention, so a
  missing default is accepted (and noted), but a weaker default signals a misconfigured bucket;
* the store's clock (HTTP ``Date``) within ``max_clock_skew_seconds`` of ours, since
  retain-until is computed from our clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from agent.errors import PostureError
from agent.ship.config import ShipConfig
from agent.ship.retention import retention_days
from agent.ship.vault import Posture, Vault


@dataclass(frozen=True)
class PostureReport:
    """The result of a posture check: the store's answer, and the problems found."""

    url: str
    posture: Posture | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def evaluate(posture: Posture, cfg: ShipConfig, now: dt.datetime, url: str = "") -> list[str]:
    """The policy deviations of ``posture`` (empty when it is fine)."""
    problems: list[str] = []
    if posture.versioning != "Enabled":
        problems.append(
            f"bucket versioning is {posture.versioning or 'not enabled'} (must be Enabled)"
        )
    if not posture.object_lock:
        problems.append("Object Lock is not enabled on the bucket")
    floor = min(retention_days(s) for s in cfg.retention_classes.values())
    if posture.default_mode is not None and posture.default_mode != cfg.lock_mode:
        problems.append(
            f"bucket default retention mode is {posture.default_mode}, policy "
            f"requires {cfg.lock_mode}"
        )
    if posture.default_retention_days is not None and posture.default_retention_days < floor:
        problems.append(
            f"bucket default retention is {posture.default_retention_days} days, "
            f"shorter than the policy's {floor} days"
        )
    if posture.server_time is not None:
        skew = abs((posture.server_time - now).total_seconds())
        if skew > cfg.max_clock_skew_seconds:
            problems.append(
                f"clock is {int(skew)} s off the store's clock "
                f"(max {cfg.max_clock_skew_seconds} s); retain-until would be wrong"
            )
    return problems


def check(vault: Vault, cfg: ShipConfig, now: dt.datetime) -> PostureReport:
    """Ask the store and evaluate; store errors (bad credentials, no bucket) are problems too."""
    try:
        posture = vault.posture()
    except PostureError as exc:
        return PostureReport(vault.url, None, [exc.message])
    except Exception as exc:  # VaultError and friends: the store cannot be checked
        msg = getattr(exc, "message", str(exc))
        if getattr(exc, "retryable", False):
            raise
        return PostureReport(vault.url, None, [msg])
    return PostureReport(vault.url, posture, evaluate(posture, cfg, now, vault.url))


def require(vault: Vault, cfg: ShipConfig, now: dt.datetime) -> PostureReport:
    """:func:`check`, raising :class:`PostureError` naming every problem."""
    report = check(vault, cfg, now)
    if not report.ok:
        raise PostureError(f"{vault.url}: " + "; ".join(report.problems))
    return report
