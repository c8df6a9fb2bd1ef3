"""What a kiosk may do: the allowlist, downloads, printing, and the Chromium flags for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from agent.errors import ConfigError
from agent.kiosk.allowlist import SCOPES, Allowlist, Scope, SubresourcePolicy

Downloads = Literal["deny", "allow"]
Printing = Literal["dialog", "silent"]
ServiceWorkers = Literal["gated", "block"]

# Flags that make a headful Chromium a kiosk; each is checked by the kiosk tests.
# --kiosk: one fullscreen window without tab strip, address bar or menus (F11 cannot leave it).
KIOSK_ARGS = ("--kiosk",)
# --kiosk-printing: window.print() and Ctrl+P print at once to the default printer, no dialog.
SILENT_PRINTING_ARGS = ("--kiosk-printing",)


@dataclass(frozen=True)
class KioskPolicy:
    """Everything the kiosk enforcement needs; build it with :meth:`build`."""

    allowlist: Allowlist
    start_url: str
    downloads: Downloads = "deny"
    printing: Printing = "dialog"
    service_workers: ServiceWorkers = "gated"
    brand: str = ""
    extra_args: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        start_url: str,
        allow: Iterable[str],
        *,
        scopes: Iterable[Scope] = SCOPES,
        subresources: SubresourcePolicy = "allowlist",
        downloads: Downloads = "deny",
        printing: Printing = "dialog",
        service_workers: ServiceWorkers = "gated",
        brand: str = "",
    ) -> KioskPolicy:
        """A policy whose start page must itself be allowed (else a one-line ``ConfigError``)."""
        allowlist = Allowlist(allow, scopes=scopes, subresources=subresources)
        if not allowlist.decide(start_url, "top").allowed:
            raise ConfigError(f"kiosk start URL {start_url!r} is not in the allowlist")
        if downloads not in ("deny", "allow"):
            raise ConfigError(f"kiosk downloads {downloads!r}: expected deny or allow")
        if printing not in ("dialog", "silent"):
            raise ConfigError(f"kiosk printing {printing!r}: expected dialog or silent")
        if service_workers not in ("gated", "block"):
            raise ConfigError(f"kiosk service_workers {service_workers!r}: expected gated or block")
        return cls(allowlist, start_url, downloads, printing, service_workers, brand)


def kiosk_args(policy: KioskPolicy, *, headless: bool) -> list[str]:
    """Chromium flags for the policy (to add to ``capture.extra_args``); none when headless."""
    if headless:
        return []
    args = list(KIOSK_ARGS)
    if policy.printing == "silent":
        args.extend(SILENT_PRINTING_ARGS)
    return args
